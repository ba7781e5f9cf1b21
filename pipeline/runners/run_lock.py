"""One run at a time per pipeline root.

Two LocalDagRunner processes on the same SQLite ML Metadata store and pipeline root would
race: both resolve the same baseline, both push, and SQLite may refuse a writer mid-run.
`run_lock` takes an exclusive `flock` on `<root>/run.lock` for the whole run; a second run
refuses at once with the holder's pid and start time. The kernel releases the lock when
the holder exits, even on SIGKILL, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "run.lock"


class RunInProgressError(RuntimeError):
    """Another run holds the pipeline root."""


@contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """Holds `<root>/run.lock` for the duration of the block.

    Raises:
        RunInProgressError: Another process holds it; the message says which.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        try:
            info = json.loads(holder)
            who = f"pid {info['pid']}, started {info['started']}"
        except (ValueError, KeyError):
            who = "another process"
        raise RunInProgressError(
            f"another run is using {root} ({who}); wait for it to finish, or stop it, "
            "then run again. Runs of one pipeline share its ML Metadata store and cannot "
            "overlap."
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        )
        handle.flush()
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
