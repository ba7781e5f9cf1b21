"""What a local run shows on the console, and the log file that keeps everything else.

A run's noise comes from everywhere: TensorFlow and XLA log from C++ straight to file
descriptor 2, Beam's worker processes write to the descriptors they inherit, Keras prints
epochs on stdout, and TFX, TFT and TFMA log and warn in Python. A logging handler catches
only the last. So, for the length of a run, `run_console` points descriptors 1 and 2 at
the run's log file (and `sys.stdout`, `sys.stderr`, Python's logging and warnings with
them): everything any of them writes lands there, complete. The console gets only the
runner's own lines, written through `RunConsole` to the terminal (or pipe) the run
started on: its header, one line per component, and what the caller prints after.

On a terminal, the running component's line shows its elapsed time, rewritten in place
every second; elsewhere (CI, a pipe) each line is written once, plain, and a long
component adds a line every `STILL_RUNNING_EVERY` seconds, so that a CI job shows life.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

STILL_RUNNING_EVERY = 60.0
_CLEAR_LINE = "\r\x1b[2K"


class RunConsole:
    """The runner's lines, on the console the run started on.

    On a terminal, one "status" line (the running component) may stand below the
    finished lines, rewritten in place; `line` writes above it.
    """

    def __init__(self, stream: TextIO, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self._status = ""
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        """Writes one finished line."""
        with self._lock:
            if self._status:
                self.stream.write(_CLEAR_LINE)
            self.stream.write(text + "\n")
            if self._status:
                self.stream.write(self._status)
            self.stream.flush()

    def status(self, text: str) -> None:
        """Shows `text` as the line in progress (terminals only; '' clears it)."""
        if not self.interactive or text == self._status:
            return
        with self._lock:
            self.stream.write(_CLEAR_LINE + text)
            self.stream.flush()
            self._status = text


class Progress(logging.Handler):
    """Turns LocalDagRunner's log records into one console line per component."""

    _RUNNING = re.compile(r"Component (\S+) is running\.")
    _FINISHED = re.compile(r"Component (\S+) is finished\.")
    _CACHED = re.compile(r"A cached execution \d+ is used\.")

    def __init__(self, console: RunConsole, node_ids: Iterable[str] = ()) -> None:
        super().__init__(level=logging.INFO)
        self.console = console
        self.width = max((len(n) for n in node_ids), default=28)
        self.running: dict[str, float] = {}
        self.reported: dict[str, float] = {}  # when a long component last got a line
        self.cached: set[str] = set()
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        with self._lock:
            if match := self._RUNNING.search(message):
                node = match.group(1)
                self.running[node] = self.reported[node] = time.monotonic()
                self._show_running()
            elif self._CACHED.search(message) and self.running:
                self.cached.add(next(reversed(self.running)))
            elif match := self._FINISHED.search(message):
                node = match.group(1)
                how = "cached" if node in self.cached else "ran"
                self._finish(node, "✓", how)

    def tick(self) -> None:
        """Updates the running component's elapsed time (called every second)."""
        with self._lock:
            if self.console.interactive:
                self._show_running()
                return
            now = time.monotonic()
            for node, started in self.running.items():
                if now - self.reported[node] >= STILL_RUNNING_EVERY:
                    self.reported[node] = now
                    self.console.line(self._line("…", node, "running", now - started))

    def fail_running(self) -> None:
        """Marks every component still running as failed (the run raised)."""
        with self._lock:
            for node in list(self.running):
                self._finish(node, "✗", "failed")

    def _finish(self, node: str, mark: str, how: str) -> None:
        started = self.running.pop(node, time.monotonic())
        self.reported.pop(node, None)
        self.console.status("")
        self.console.line(self._line(mark, node, how, time.monotonic() - started))
        self._show_running()

    def _show_running(self) -> None:
        now = time.monotonic()
        shown = [
            self._line("…", n, "running", now - started) for n, started in self.running.items()
        ]
        self.console.status(shown[-1] if shown else "")

    def _line(self, mark: str, node: str, how: str, seconds: float) -> str:
        return f"  {mark} {node:<{self.width}}  {how:<7} {seconds:6.1f} s"


@contextmanager
def component_progress(console: RunConsole, node_ids: Iterable[str]) -> Iterator[Progress]:
    """One console line per component of the run inside the block, from TFX's log."""
    from absl import logging as absl_logging

    absl_logger = absl_logging.get_absl_logger()
    progress = Progress(console, node_ids)
    absl_logger.addHandler(progress)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            progress.tick()

    ticker = threading.Thread(target=tick, name="console-progress", daemon=True)
    ticker.start()
    try:
        yield progress
    except BaseException:
        progress.fail_running()
        raise
    finally:
        stop.set()
        ticker.join()
        absl_logger.removeHandler(progress)
        console.status("")


@contextmanager
def run_console(log_file: Path) -> Iterator[RunConsole]:
    """Sends everything the process (and its children) writes to `log_file`, and gives
    the runner a `RunConsole` on the original stdout.

    TensorFlow should first be imported inside the block: it logs its start-up from C++.
    """
    from absl import logging as absl_logging

    log_file.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    console_stream, owned = _console_stream()
    console = RunConsole(console_stream, interactive=_is_terminal(console_stream))
    saved_fds = (os.dup(1), os.dup(2))
    saved_streams = (sys.stdout, sys.stderr)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    muted = _mute_console_handlers()
    root = logging.getLogger()
    root.addHandler(handler)
    saved_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    logging.captureWarnings(True)
    try:
        yield console
    finally:
        logging.captureWarnings(False)
        absl_logging.set_verbosity(saved_verbosity)
        root.removeHandler(handler)
        for muted_handler, level in muted:
            muted_handler.setLevel(level)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            stream.close()
        sys.stdout, sys.stderr = saved_streams
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in saved_fds:
            os.close(fd)
        if owned:
            console_stream.close()


def _console_stream() -> tuple[TextIO, bool]:
    """A stream to the console the run started on, and whether it is ours to close.

    When `sys.stdout` writes to descriptor 1, a duplicate of that descriptor (descriptor 1
    itself is about to point at the log); otherwise (a test's capture, a notebook) the
    `sys.stdout` object itself.
    """
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        descriptor = None
    if descriptor != 1:
        return sys.stdout, False
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return open(os.dup(1), "w", buffering=1, encoding=encoding, errors="replace"), True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, OSError, ValueError):
        return False


def _mute_console_handlers() -> list[tuple[logging.Handler, int]]:
    """Silences, for the run, the handlers that print to a stream (`basicConfig`'s,
    TensorFlow's own): the log's handler has every record already, and their lines would
    appear twice in the log. Returns what to restore."""
    muted = []
    for logger in (logging.getLogger(), logging.getLogger("tensorflow")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                muted.append((handler, handler.level))
                handler.setLevel(logging.CRITICAL + 1)
    return muted
