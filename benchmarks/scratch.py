"""The benchmarks' working folder: kept when asked or when a run failed (for its logs)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_dir(prefix: str, keep: bool) -> Iterator[Path]:
    """A fresh temporary folder; removed on success unless `keep`, kept on failure."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    print(f"Working in {root} (logs in {root / 'logs'})", flush=True)
    finished = False
    try:
        yield root
        finished = True
    finally:
        if keep or not finished:  # a failed run keeps its logs
            print(f"\nKept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
