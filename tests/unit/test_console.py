"""The run's console and its log: what the person running the pipeline sees, and that
everything else (C++ writes to descriptor 2, child processes, prints, Python logging and
warnings) lands in the log file instead."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

from pipeline.project import ROOT
from pipeline.runners import console as run_console_module
from pipeline.runners.console import Progress, RunConsole

NODES = ["ExampleGen", "LastApprovedStatisticsResolver", "Transform"]


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("absl", logging.INFO, __file__, 1, message, (), None)


def _run_components(progress: Progress) -> None:
    progress.emit(_record("Component ExampleGen is running."))
    progress.emit(_record("A cached execution 3 is used."))
    progress.emit(_record("Component ExampleGen is finished."))
    progress.emit(_record("Component LastApprovedStatisticsResolver is running."))
    progress.emit(_record("Component LastApprovedStatisticsResolver is finished."))
    progress.emit(_record("Component Transform is running."))


def test_one_plain_line_per_component_off_a_terminal(monkeypatch):
    out = io.StringIO()
    progress = Progress(RunConsole(out, interactive=False), NODES)
    _run_components(progress)
    progress.tick()  # Transform just started: nothing to add
    monkeypatch.setattr(run_console_module, "STILL_RUNNING_EVERY", 0.0)
    progress.tick()  # a long component gets a line now and then
    progress.fail_running()
    lines = out.getvalue().splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["✓", "ExampleGen", "cached"],
        ["✓", "LastApprovedStatisticsResolver", "ran"],
        ["…", "Transform", "running"],
        ["✗", "Transform", "failed"],
    ]
    # Aligned on the longest component name, and no control characters in a pipe or file.
    assert len({line.index(" s") for line in lines}) == 1
    assert not any(ch in out.getvalue() for ch in "\r\x1b")


def test_on_a_terminal_the_running_line_is_rewritten_in_place():
    out = io.StringIO()
    progress = Progress(RunConsole(out, interactive=True), NODES)
    _run_components(progress)
    progress.running["Transform"] -= 12  # started 12 s ago
    progress.tick()
    text = out.getvalue()
    # The running component shows with its elapsed time, on a line rewritten in place.
    assert text.count("\r\x1b[2K  … Transform") == 2
    assert text.rsplit("\r\x1b[2K", 1)[-1].split()[-3:] == ["running", "12.0", "s"]
    finished = [line.rsplit("\r\x1b[2K", 1)[-1] for line in text.split("\n")[:-1]]
    assert [line.split()[1] for line in finished] == ["ExampleGen", NODES[1]]


CHILD = r"""
import logging, os, subprocess, sys, warnings
from pathlib import Path
from pipeline.runners.console import run_console

print("before the run")
with run_console(Path(sys.argv[1])) as console:
    console.line("Pipeline 'x' on spec.yaml")
    os.write(2, b"E external/local_xla/cuda_dnn.cc] Unable to register cuDNN factory\n")
    print("Epoch 1/10")
    logging.getLogger("absl").warning("custom_executor_spec is deprecated")
    logging.getLogger("absl").info("Component Trainer is running.")
    warnings.warn("You are using a Python version", FutureWarning)
    subprocess.run([sys.executable, "-c", "import sys; print('worker says hi'); "
                    "print('worker warns', file=sys.stderr)"], check=True)
    console.line("  ✓ Trainer  ran  1.0 s")
print("after the run")
print("and stderr after", file=sys.stderr)
"""


def test_everything_but_the_runners_lines_goes_to_the_log(tmp_path):
    log = tmp_path / "logs" / "run.log"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(log)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "before the run",
        "Pipeline 'x' on spec.yaml",
        "  ✓ Trainer  ran  1.0 s",
        "after the run",
    ]
    assert done.stderr == "and stderr after\n"
    text = log.read_text()
    for noise in ("cuDNN factory", "Epoch 1/10", "custom_executor_spec is deprecated",
                  "Component Trainer is running.", "FutureWarning", "worker says hi",
                  "worker warns"):  # fmt: skip
        assert noise in text, noise
    assert "Pipeline 'x'" not in text and "after the run" not in text
