"""What a local run shows on the console (one line per component) and keeps in its log."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class _ProgressHandler(logging.Handler):
    """Turns LocalDagRunner's log records into one console line per component."""

    _RUNNING = re.compile(r"Component (\S+) is running\.")
    _FINISHED = re.compile(r"Component (\S+) is finished\.")
    _CACHED = re.compile(r"A cached execution \d+ is used\.")

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        super().__init__(level=logging.INFO)
        self.stream = stream
        self.started: dict[str, float] = {}
        self.current: str | None = None
        self.cached: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := self._RUNNING.search(message):
            self.current = match.group(1)
            self.started[self.current] = time.monotonic()
            print(f"  … {self.current}", file=self.stream, flush=True)
        elif self._CACHED.search(message) and self.current:
            self.cached.add(self.current)
        elif match := self._FINISHED.search(message):
            node = match.group(1)
            seconds = time.monotonic() - self.started.get(node, time.monotonic())
            how = "cached" if node in self.cached else "ran"
            print(f"  ✓ {node:<28} {how:<6} {seconds:6.1f} s", file=self.stream, flush=True)


class _KnownNoise(logging.Filter):
    """Drops, from the console only, TFX warnings that every run logs and no user can act
    on (the full log keeps them)."""

    MESSAGES = ("ArtifactQuery.property_predicate is not supported",)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.MESSAGES)


@contextmanager
def console_progress(log_file: Path) -> Iterator[None]:
    """Shows component progress on stdout and writes the full TFX log to `log_file`."""
    from absl import logging as absl_logging

    log_file.parent.mkdir(parents=True, exist_ok=True)
    absl_logger = absl_logging.get_absl_logger()
    root = logging.getLogger()
    saved_levels = [(h, h.level) for h in root.handlers]
    saved_logger_level = absl_logger.level
    saved_verbosity = absl_logging.get_verbosity()
    quiet = _KnownNoise()
    for handler in root.handlers:  # absl's own console handler: warnings only
        handler.setLevel(logging.WARNING)
        handler.addFilter(quiet)
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    progress = _ProgressHandler()
    absl_logging.set_verbosity(absl_logging.INFO)
    absl_logger.setLevel(logging.INFO)
    absl_logger.addHandler(file_handler)
    absl_logger.addHandler(progress)
    try:
        yield
    finally:
        absl_logger.removeHandler(file_handler)
        absl_logger.removeHandler(progress)
        file_handler.close()
        absl_logger.setLevel(saved_logger_level)
        absl_logging.set_verbosity(saved_verbosity)
        for handler, level in saved_levels:
            handler.setLevel(level)
            handler.removeFilter(quiet)
