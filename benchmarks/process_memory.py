"""Memory of a process and its descendants (Beam's workers), as the benchmarks sample it."""

from __future__ import annotations

import contextlib


def tree_memory(pid: int) -> dict[int, tuple[int, int]]:
    """(RSS, PSS) in bytes of `pid` and of each of its descendants; empty once it is gone.

    PSS counts a page shared by n processes 1/n in each, so PSS sums to what the tree
    holds; RSS counts shared pages in every process that maps them.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    sizes = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):  # ended between listing and reading
            memory = process.memory_full_info()
            sizes[process.pid] = (memory.rss, memory.pss)
    return sizes
