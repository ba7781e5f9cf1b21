"""`python -m pipeline run` as a user runs it, three times on a small census sample with
nothing changed in between, reading only what the CLI prints, the log file, ML Metadata
and the serving directory.

(0) a first run: every component runs, the model is blessed and pushed;
(1) the same command: nothing changed, nothing starts, and the model is already serving;
(2) the same with `--always-run`: TFX starts, finds the Evaluator and the Pusher cached (no
    comparison of the model with itself, no new version), and says it is already serving;
(3) the same command again: nothing changed;
(4) data whose workclass shares drifted beyond the spec's bound: the DriftCheck fails, and
    the console says so in one line, with the log's path, and nothing else.

The console of a run shows only the runner's own lines (defined below); everything else
TensorFlow, Keras, Beam and TFX write goes to the run's log file.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.project import ROOT
from pipeline.reports.artifacts import find_run
from pipeline.runners import fingerprint as run_fingerprint
from pipeline.runners import local as local_runner
from pipeline.spec import load_spec
from tests.conftest import make_census_sample

FIRST, UNCHANGED, ALWAYS_RUN, AGAIN, DRIFTED = range(5)
# What a noise line looks like: warnings (Python's, absl's W/E lines, TF's), XLA's GPU
# factory lines, Keras epochs, protobuf dumps.
NOISE = re.compile(r'warn|\b[WE]\d{4}\b|cuDNN|cuBLAS|cuFFT|Epoch|FutureWarning|value: "', re.I)
# The runner's own lines before the summary: the header, and one line per component.
HEADER = (
    re.compile(r"Pipeline '\w+' on \S+dataset\.yaml"),
    re.compile(r"  Beam DirectRunner in_memory \(\d+ MB of data; .*\)"),
    re.compile(r"  artifacts and ML Metadata under \S+; full log in (?P<log>\S+\.log)"),
)
PROGRESS = re.compile(
    r"  (?P<mark>[✓…✗]) (?P<node>\w+) +(?P<how>ran|cached|running|failed) +[\d.]+ s"
)
# After the components: where the run was logged to MLflow (pipeline.tracking).
MLFLOW = re.compile(r"  MLflow: run logged to sqlite:///\S+ \(python -m pipeline runs \| ui\)")


class Runs:
    def __init__(self, root: Path) -> None:
        self.spec_path = make_census_sample(
            root / "data",
            train_rows=400,
            test_rows=300,
            name="cli_sample",
            training={"train_steps": 50, "steps_per_evaluation": 25, "eval_steps": 5,
                      "batch_size": 64, "learning_rate": 0.01},
        )  # fmt: skip
        self.output_dir = root / "outputs"
        spec = load_spec(self.spec_path)
        self.paths = local_runner.paths_for(spec, self.output_dir)
        self.pipeline_name = local_runner.pipeline_name(spec)
        self.outputs: list[subprocess.CompletedProcess] = []
        self.run_ids: list[str] = []
        self.versions: list[list[str]] = []
        self.records: list[run_fingerprint.LastRun | None] = []

    def drifted(self) -> Path:
        """The sample with 40% of the training rows moved to one (known) workclass."""
        data = self.spec_path.parent.parent / "drifted"
        data.mkdir()
        shutil.copy(self.spec_path.parent / "test.csv", data / "test.csv")
        with (self.spec_path.parent / "train.csv").open() as f:
            rows = list(csv.reader(f))
        column = rows[0].index("workclass")
        for row in rows[1 : 1 + len(rows) * 2 // 5]:
            row[column] = "Self-emp-inc"
        with (data / "train.csv").open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        # The same spec (its files are named relative to its folder).
        return Path(shutil.copy(self.spec_path, data / "dataset.yaml"))

    def run(self, *options: str, spec_path: Path | None = None) -> None:
        # A user's shell: no TF_CPP_MIN_LOG_LEVEL (the tests' conftest sets one).
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", "--data", str(spec_path or self.spec_path),
             "--output-dir", str(self.output_dir), *options],
            cwd=ROOT, capture_output=True, text=True, env=env, timeout=900,
        )  # fmt: skip
        self.outputs.append(done)
        self.run_ids.append(find_run(self.paths.metadata_path, self.pipeline_name).run_id)
        serving = self.paths.serving_dir
        self.versions.append(sorted(os.listdir(serving)) if serving.exists() else [])
        self.records.append(run_fingerprint.read_last_run(self.paths.root))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    runs = Runs(tmp_path_factory.mktemp("cli_console"))
    runs.run()
    runs.run()
    runs.run("--always-run")
    runs.run()
    runs.run(spec_path=runs.drifted())
    return runs


def _run_lines(output: str, record: run_fingerprint.LastRun) -> tuple[Path, list[re.Match]]:
    """Checks that `output` is header, progress lines, the MLflow line, a blank line and
    the recorded summary, and nothing else; returns the log file and the progress lines."""
    lines = output.splitlines()
    header = [pattern.fullmatch(line) for pattern, line in zip(HEADER, lines, strict=False)]
    assert all(header), lines[:3]
    summary = record.summary.splitlines()
    assert lines[-len(summary) :] == summary
    middle = lines[len(HEADER) : -len(summary)]
    assert middle[-1] == "" and MLFLOW.fullmatch(middle[-2]), middle[-2:]
    progress = [PROGRESS.fullmatch(line) for line in middle[:-2]]
    assert all(progress), middle
    return Path(header[2]["log"]), progress


def test_a_run_prints_only_its_header_progress_and_summary(runs):
    done = runs.outputs[FIRST]
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    log, progress = _run_lines(done.stdout, runs.records[FIRST])
    assert not [line for line in done.stdout.splitlines() if NOISE.search(line)]
    finished = [(p["node"], p["how"]) for p in progress if p["mark"] == "✓"]
    executions = find_run(runs.paths.metadata_path, runs.pipeline_name, runs.run_ids[FIRST])
    assert finished == [(e.node_id, "ran") for e in executions.executions]
    summary = runs.records[FIRST].summary
    assert "Model: BLESSED" in summary and "Pushed to: " in summary
    assert re.search(r"\n  AUC +0\.\d{4}  \[0\.\d{4}, [01]\.\d{4}\]\n", summary), summary
    assert f"report       {runs.paths.reports_dir}" in summary
    assert "tensorboard --logdir " in summary and " -m pipeline notebook " in summary
    # Everything else went to the log: TensorFlow's C++ and Python lines, Keras, TFX.
    text = log.read_text()
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] ", text, re.M)
    assert "WARNING tensorflow: " in text and "Epoch 1/" in text
    assert "Component Evaluator is running." in text
    # TFX's deprecation of `custom_executor_spec`, and Beam's missing python-snappy, are gone.
    assert "custom_executor_spec" not in text and "python-snappy" not in text


def test_an_unchanged_run_starts_nothing_and_says_the_model_is_serving(runs):
    done = runs.outputs[UNCHANGED]
    assert done.returncode == 0 and done.stderr == ""
    serving = runs.records[FIRST].serving
    assert serving and Path(serving).parent == runs.paths.serving_dir
    first_line = done.stdout.splitlines()[0]
    assert first_line.startswith(f"Nothing changed since run {runs.run_ids[FIRST]} ")
    assert first_line.endswith(f"Its model is already serving: {serving}.")
    assert runs.run_ids[UNCHANGED] == runs.run_ids[FIRST]  # no new run in ML Metadata
    assert runs.versions[UNCHANGED] == runs.versions[FIRST] == [Path(serving).name]


def test_a_started_rerun_does_no_evaluator_work_and_pushes_nothing(runs):
    done = runs.outputs[ALWAYS_RUN]
    assert done.returncode == 0 and done.stderr == ""
    _, progress = _run_lines(done.stdout, runs.records[ALWAYS_RUN])
    states = {p["node"]: p["how"] for p in progress if p["mark"] == "✓"}
    assert states["Trainer"] == states["Evaluator"] == states["Pusher"] == "cached"
    run = find_run(runs.paths.metadata_path, runs.pipeline_name, runs.run_ids[ALWAYS_RUN])
    assert runs.run_ids[ALWAYS_RUN] != runs.run_ids[FIRST]
    assert run.execution("Evaluator").state == "cached" and run.baseline_model is None
    assert runs.versions[ALWAYS_RUN] == runs.versions[FIRST]
    assert (
        f"Already serving: {runs.records[FIRST].serving} (pushed by an earlier run)" in done.stdout
    )
    assert not [line for line in done.stdout.splitlines() if NOISE.search(line)]


def test_then_nothing_changed_again(runs):
    done = runs.outputs[AGAIN]
    assert done.returncode == 0
    assert done.stdout.startswith(f"Nothing changed since run {runs.run_ids[ALWAYS_RUN]} ")
    assert runs.versions[AGAIN] == runs.versions[FIRST]


def test_a_failed_component_gets_one_line_the_log_and_its_error(runs):
    done = runs.outputs[DRIFTED]
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    header = [pattern.fullmatch(line) for pattern, line in zip(HEADER, lines, strict=False)]
    assert all(header), lines[:3]
    progress = [PROGRESS.fullmatch(line) for line in lines[len(HEADER) : -2]]
    assert all(progress), lines
    assert (progress[-1]["mark"], progress[-1]["node"]) == ("✗", "DriftCheck")
    assert lines[-2] == f"  full log: {header[2]['log']}"
    assert MLFLOW.fullmatch(lines[-1]), lines[-1]  # a failed run is logged too
    # The error itself, on stderr: the CLI's one line naming the column and the distance.
    error = done.stderr.strip()
    assert error.startswith("error: the pipeline stopped: ")
    assert "column 'workclass'" in error and "drifted from the last validated data" in error
    assert not NOISE.search(done.stdout) and "Traceback" not in done.stderr
    assert runs.versions[DRIFTED] == runs.versions[FIRST]
