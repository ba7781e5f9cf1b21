"""A real run killed with SIGKILL in the middle of the Trainer, while a second run tries to
start: the second refuses, and the run after the kill completes from the cache and pushes
exactly one model. Every assertion reads ML Metadata and the serving directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ml_metadata.proto import metadata_store_pb2

from pipeline import cli
from pipeline.project import ROOT
from pipeline.reports.artifacts import find_run, node_ids, open_store
from pipeline.runners import local as local_runner
from pipeline.spec import load_spec
from tests.conftest import make_census_sample


def _start_run(spec_path: Path, output_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--data", str(spec_path),
         "--output-dir", str(output_dir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _wait_for_training(
    process: subprocess.Popen, pipeline_root: Path, timeout: float = 600
) -> Path:
    """Waits until the Trainer's run_fn is training: its TensorBoard event file exists.

    A file the Trainer writes from inside `model.fit`, not a delay: the kill then lands
    in the executor whatever the machine's speed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = sorted((pipeline_root / "Trainer").glob("model_run/*/**/events.out.tfevents*"))
        if events:
            return events[0]
        assert process.poll() is None, f"the run ended (code {process.returncode}) first"
        time.sleep(0.2)
    raise AssertionError(f"the Trainer wrote no TensorBoard events within {timeout} s")


def test_killed_mid_trainer_then_rerun(tmp_path, capsys):
    spec_path = make_census_sample(tmp_path / "data", name="crash_sample")
    output = tmp_path / "outputs"
    spec = load_spec(spec_path)
    paths = local_runner.paths_for(spec, output)

    first = _start_run(spec_path, output)
    try:
        _wait_for_training(first, paths.pipeline_root)
        # A second run on the same root while the first runs: refused, nothing touched.
        assert cli.main(["run", "--data", str(spec_path), "--output-dir", str(output)]) == 2
        assert f"pid {first.pid}" in capsys.readouterr().err
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert not paths.serving_dir.exists() or not os.listdir(paths.serving_dir)

    local_runner.run(spec, output)
    run = find_run(paths.metadata_path, local_runner.pipeline_name(spec))
    states = {e.node_id: e.state for e in run.executions}
    # Everything before the Trainer came from the killed run's cache.
    for node in ("ExampleGen", "StatisticsGen", "SchemaGen", "DataGate", "Transform"):
        assert states[node] == "cached", node
    assert states["Trainer"] == "ran" and run.blessed is True
    assert len(os.listdir(paths.serving_dir)) == 1  # exactly one model pushed

    # The killed Trainer never completed, and its half-written model is used by nothing.
    store = open_store(paths.metadata_path)
    trainer_runs = sorted(
        e
        for e, node in node_ids(store, local_runner.pipeline_name(spec)).items()
        if node == "Trainer"
    )
    assert len(trainer_runs) == 2
    killed, completed = store.get_executions_by_id(trainer_runs)
    assert killed.last_known_state != metadata_store_pb2.Execution.COMPLETE
    assert completed.last_known_state == metadata_store_pb2.Execution.COMPLETE
    assert run.input("Evaluator", "model").id == run.model.id
    killed_outputs = {
        e.artifact_id
        for e in store.get_events_by_execution_ids([killed.id])
        if e.type == metadata_store_pb2.Event.OUTPUT
    }
    assert run.model.id not in killed_outputs
    assert run.input("Pusher", "model").id == run.model.id
