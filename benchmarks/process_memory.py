"""Memory of a process and its descendants (Beam's workers), as the benchmarks sample it."""

from __future__ import annotations

import contextlib
import os
import threading


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


class MemorySampler:
    """Samples the PSS of this process and its children (Beam's workers) in a thread.

    PSS counts a page shared by n processes 1/n in each: the sum is what the tree holds.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_sum = 0
        self.at_peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            sizes = {
                "this process" if pid == me else f"child {pid}": pss
                for pid, (_, pss) in tree_memory(me).items()
            }
            if sum(sizes.values()) > self.peak_sum:
                self.peak_sum, self.at_peak = sum(sizes.values()), sizes

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        mib = 1024 * 1024
        parts = ", ".join(  # the workers' shell wrappers hold a few hundred KiB
            f"{name} {size / mib:,.0f}" for name, size in self.at_peak.items() if size >= mib
        )
        return f"peak PSS {self.peak_sum / mib:,.0f} MiB ({parts})"
