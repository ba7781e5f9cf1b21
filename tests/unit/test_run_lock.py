"""One run at a time per output root: a second run refuses with the holder's pid, and a
killed holder (SIGKILL) leaves no stale lock. The holder is a real separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.project import ROOT
from pipeline.runners.run_lock import LOCK_FILE, RunInProgressError, run_lock
from tests.conftest import make_census_sample

HOLDER = """
import sys, time
from pathlib import Path
from pipeline.runners.run_lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def _hold(root: Path) -> subprocess.Popen:
    """A process that holds the lock on `root` until killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_run_refuses_while_the_first_holds_the_root(tmp_path):
    holder = _hold(tmp_path)
    try:
        with (
            pytest.raises(
                RunInProgressError, match=rf"another run is using .* \(pid {holder.pid}, started"
            ),
            run_lock(tmp_path),
        ):
            pytest.fail("entered a locked root")
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    holder = _hold(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / LOCK_FILE).exists()  # the file stays, the lock does not
    with run_lock(tmp_path):
        pass


def test_lock_is_released_after_a_run_and_after_an_error(tmp_path):
    with run_lock(tmp_path):
        pass
    with pytest.raises(ValueError), run_lock(tmp_path):
        raise ValueError("a failed run")
    with run_lock(tmp_path):  # still free
        pass


def test_cli_run_refuses_and_touches_nothing(tmp_path, capsys):
    spec = make_census_sample(tmp_path / "data", train_rows=200, test_rows=60)
    root = tmp_path / "outputs" / "census_sample"
    holder = _hold(root)
    try:
        started = time.monotonic()
        code = cli.main(["run", "--data", str(spec), "--output-dir", str(tmp_path / "outputs")])
        assert code == 2 and time.monotonic() - started < 120
    finally:
        holder.kill()
        holder.wait()
    assert f"pid {holder.pid}" in capsys.readouterr().err
    assert not (root / "metadata.sqlite").exists() and not (root / "pipeline_root").exists()
