"""The compiled pipeline.json, run task by task as Vertex AI runs it, three times.

What is emulated and what is real is listed in `vertex_emulator` (orchestration, Vertex ML
Metadata's resolver queries and Cloud Storage are emulated; the compiled JSON, TFX's
container entry point, every executor, Beam and the gs:// clients are real). The
pipeline is the project's own DAG on the census sample, compiled by `python -m pipeline
compile` with a deployment whose roots are on gs://, and run three times against one
metadata store:

1. good data: every step runs, the model is blessed and pushed, the report written;
2. the same data with 40% of `workclass` moved: the DriftCheck, comparing it with the
   statistics run 1 approved, stops the run before Transform;
3. the good data again, submitted with one training step (`submit --train-steps 1`): the
   DriftCheck's reference is still run 1's approved statistics (not run 2's drifted
   ones), the Evaluator compares the new model with run 1's blessed model, which it
   does not match, so nothing is pushed, and the report says why.

VERTEX_EMULATOR_FRESH=1 starts a new interpreter for every step instead of forking one
that imported TFX (slower: about 20 s of imports per step).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import cli
from pipeline.project import ROOT
from pipeline.runners.kubeflow_v2 import parameter_values
from pipeline.spec import load_spec
from tests.conftest import SAMPLE_ABLATION, make_census_sample
from tests.e2e import vertex_emulator as emulator
from tests.e2e.gcs_gateway import GcsGateway, start_gateway

# The three runs (about 3 CPU-minutes) happen in the fixture, inside the first test's limit;
# beside other test runs on two cores they can take several times their CPU time.
pytestmark = [pytest.mark.vertex, pytest.mark.timeout(1800)]

BUCKET = "vertex-emulation"
ROOT_URI = f"gs://{BUCKET}/pipelines/census"
DATA_URI = f"gs://{BUCKET}/data/census_sample"
SERVING_URI = f"gs://{BUCKET}/serving/census"
GOOD, DRIFTED, AGAIN = 0, 1, 2


@dataclasses.dataclass
class Emulation:
    """The three runs and what they ran on."""

    work: Path
    spec_path: Path
    config_path: Path
    job: dict
    gateway: GcsGateway
    launcher: emulator.Launcher
    runs: list[emulator.PipelineRun]

    def executor_input(self, run: int, task: str) -> dict:
        return self.runs[run].tasks[task].executor_input or {}


def _drifted(train_csv: bytes) -> bytes:
    """The same rows with 40% of them moved to another (known) workclass."""
    rows = list(csv.reader(io.StringIO(train_csv.decode())))
    column = rows[0].index("workclass")
    for row in rows[1 : 1 + len(rows) * 2 // 5]:
        row[column] = "Self-emp-inc"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _deployment(directory: Path) -> Path:
    """A deployment file with every root on the emulated gs://; Beam runs in each step's
    container, in memory (the sample is tiny; Dataflow cannot be emulated)."""
    config = {
        "gcp": {"project": "emulated-project", "region": emulator.REGION},
        "display_name": "census-emulated",
        "pipeline_root": ROOT_URI,
        "data_root": DATA_URI,
        "image": "us-central1-docker.pkg.dev/emulated-project/tfx/census-pipeline:test",
        "beam": {"runner": "DirectRunner",
                 "extra_args": ["--direct_running_mode=in_memory", "--direct_num_workers=1"]},
        "serving": {"directory": SERVING_URI},
        # Pipeline parameters, as in deploy/vertex.yaml: a run may override them.
        "runtime_parameters": {"train_steps": 60, "eval_steps": 5},
    }  # fmt: skip
    path = directory / "vertex.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def emulation(tmp_path_factory) -> Emulation:
    work = tmp_path_factory.mktemp("vertex")
    spec_path = make_census_sample(work / "data" / "census_sample", ablation=SAMPLE_ABLATION)
    gateway = start_gateway(work / "gcs", [BUCKET])
    good = (spec_path.parent / "train.csv").read_bytes()
    for name in ("train.csv", "test.csv", "dataset.yaml"):
        gateway.write(f"{DATA_URI}/{name}", (spec_path.parent / name).read_bytes())
    config_path = _deployment(work)
    build = work / "build"
    assert cli.main(["compile", "--data", str(spec_path), "--cloud-config", str(config_path),
                     "--build-dir", str(build)]) == 0  # fmt: skip
    job = json.loads((build / "pipeline.json").read_text())
    env = emulator.container_env(ROOT / "Dockerfile", gateway)
    if os.environ.get("VERTEX_EMULATOR_FRESH") == "1":
        launcher: emulator.Launcher = emulator.FreshLauncher(env)
    else:
        preload = emulator.preload_modules(job)
        launcher = emulator.ForkLauncher(env, preload, work / "zygote.log")
    vertex = emulator.VertexEmulator(job, gateway, launcher, work / "runs")
    runs = []
    one_step = parameter_values(load_spec(spec_path), {"train_steps": 1})
    # A scheduled pipeline reads whatever data_root holds when it starts.
    for index, (train, parameters) in enumerate(
        ((good, None), (_drifted(good), None), (good, one_step))
    ):
        gateway.write(f"{DATA_URI}/train.csv", train)
        runs.append(vertex.run(f"census-pipeline-run{index + 1}", parameters))
    yield Emulation(work, spec_path, config_path, job, gateway, launcher, runs)
    launcher.close()
    gateway.stop()


def _failures(run: emulator.PipelineRun) -> str:
    return "\n".join(f"--- {t.name}:\n{t.error()}" for t in run.tasks.values()
                     if t.state == "FAILED")  # fmt: skip


def test_first_run_runs_every_step_on_cloud_storage(emulation):
    run = emulation.runs[GOOD]
    assert run.state == "SUCCEEDED", _failures(run)
    containers = [t for t in run.tasks.values() if t.kind == "container"]
    assert {t.name for t in containers} >= {
        "ExampleGen", "TestExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator",
        "DataGate", "DriftCheck", "Transform", "Trainer", "Evaluator", "Pusher", "Ablation",
        "Report",
    }  # fmt: skip
    for task in containers:
        log = task.log.read_text()
        # TFX's own entry point ran the step, with the compiled executor input.
        assert "kubeflow_v2_run_executor" in log and "Starting executor" in log, task.name
        for artifacts in task.outputs.values():
            assert all(a.uri.startswith(f"{ROOT_URI}/") for a in artifacts), task.name
    # Nothing was written to a container's own disk (an executor that used open() or
    # os.makedirs on a gs:// URI would leave a 'gs:' folder there and lose the file).
    assert run.local_writes(emulation.work / "runs") == []
    # ExampleGen's driver (the preCacheCheck hook) ran first and fingerprinted the input.
    examples = run.output("ExampleGen", "examples")
    assert "preCacheCheck" in run.tasks["ExampleGen"].log.read_text()
    assert examples.metadata.get("input_fingerprint", "").startswith("split:train,num_files:1")


def test_first_run_is_blessed_pushed_and_leaves_its_artifacts_on_gs(emulation):
    run, gcs = emulation.runs[GOOD], emulation.gateway
    assert run.output("Evaluator", "blessing").metadata["blessed"] == 1
    pushed = run.output("Pusher", "pushed_model").metadata
    assert pushed["pushed"] == 1 and pushed["pushed_destination"].startswith(f"{SERVING_URI}/")
    assert gcs.read(f"{pushed['pushed_destination']}/saved_model.pb")
    ablation = json.loads(gcs.read(f"{run.output('Ablation', 'report').uri}/ablation.json"))
    assert [g["name"] for g in ablation["groups"]] == ["relationship"]
    report = gcs.read(f"{run.output('Report', 'report').uri}/report.html").decode()
    assert "BLESSED: every threshold passed" in report
    assert 'id="ablation"' in report and "relationship, marital_status" in report
    # The first run has no reference statistics and no baseline model: nothing resolved.
    assert run.tasks["LastApprovedStatisticsResolver"].outputs == {"statistics": []}
    assert run.tasks["LatestBlessedModelResolver-model-resolver"].outputs == {"model": []}
    assert (
        "baseline_model" not in emulation.executor_input(GOOD, "Evaluator")["inputs"]["artifacts"]
    )


def test_drifted_data_is_stopped_by_the_drift_check(emulation):
    first, run = emulation.runs[GOOD], emulation.runs[DRIFTED]
    approved = first.output("DriftCheck", "approved_statistics")
    # The reference is what run 1's DriftCheck approved, found by the compiled query.
    assert [a.name for a in run.tasks["LastApprovedStatisticsResolver"].outputs["statistics"]] == [
        approved.name
    ]
    drift_check = run.tasks["DriftCheck"]
    assert drift_check.state == "FAILED"
    error = drift_check.error()
    assert "DataDriftError" in error and "column 'workclass'" in error
    assert approved.uri in error
    for task in ("Transform", "Trainer", "Evaluator", "Pusher", "Ablation", "Report"):
        assert run.tasks[task].state == "NOT_RUN", task
    assert emulation.gateway.list(f"{ROOT_URI}/{emulator.PROJECT_NUMBER}/{run.job_id}/Trainer")\
        == []  # fmt: skip


def test_third_run_compares_with_the_first_runs_approved_data_and_blessed_model(emulation):
    first, run = emulation.runs[GOOD], emulation.runs[AGAIN]
    assert run.state == "SUCCEEDED", _failures(run)
    # Run 2's statistics are newer, but its DriftCheck approved nothing.
    approved = run.tasks["LastApprovedStatisticsResolver"].outputs["statistics"]
    assert [a.name for a in approved] == [first.output("DriftCheck", "approved_statistics").name]
    # The blessing query found run 1's blessing; the model query, the model it blessed.
    blessing = run.tasks["LatestBlessedModelResolver-model-blessing-resolver"].outputs
    assert [a.name for a in blessing["model_blessing"]] == [
        first.output("Evaluator", "blessing").name
    ]
    baseline = first.output("Trainer", "model")
    resolved = run.tasks["LatestBlessedModelResolver-model-resolver"].outputs["model"]
    assert [a.name for a in resolved] == [baseline.name]
    given = emulation.executor_input(AGAIN, "Evaluator")["inputs"]["artifacts"]["baseline_model"]
    assert [a["uri"] for a in given["artifacts"]] == [baseline.uri]
    # This run's parameter reached the Trainer.
    parameters = emulation.executor_input(AGAIN, "Trainer")["inputs"]["parameterValues"]
    assert json.loads(parameters["train_args"])["numSteps"] == 1
    # TFMA evaluated both; the blessing names them by their Vertex artifact names.
    blessing = run.output("Evaluator", "blessing").metadata
    assert blessing["baseline_model_id"] == baseline.name
    assert blessing["current_model_id"] == run.output("Trainer", "model").name
    assert blessing["blessed"] == 0
    assert run.output("Pusher", "pushed_model").metadata["pushed"] == 0
    pushed_before = first.output("Pusher", "pushed_model").metadata["pushed_destination"]
    models = [u for u in emulation.gateway.list(f"{SERVING_URI}/") if u.endswith("/saved_model.pb")]
    assert models == [f"{pushed_before}/saved_model.pb"]
    # The report is written all the same, and says why nothing was pushed.
    report = emulation.gateway.read(f"{run.output('Report', 'report').uri}/report.html").decode()
    assert "NOT blessed, so not pushed" in report and baseline.uri in report
    assert run.local_writes(emulation.work / "runs") == []


def test_cli_reads_a_cloud_runs_report_from_gs(emulation, tmp_path):
    """`python -m pipeline report --cloud-config ...`, in a process that sees the emulated
    Cloud Storage as a user's shell sees the real one."""
    out = tmp_path / "report.html"
    env = emulator.container_env(ROOT / "Dockerfile", emulation.gateway)
    run = emulation.runs[AGAIN]
    command = [sys.executable, "-m", "pipeline", "report", "--data", str(emulation.spec_path),
               "--cloud-config", str(emulation.config_path), "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Report of Vertex AI run {run.job_id}:" in done.stdout  # the newest by default
    expected = emulation.gateway.read(f"{run.output('Report', 'report').uri}/report.html")
    assert out.read_bytes() == expected
    done = subprocess.run([*command, "--run-id", emulation.runs[DRIFTED].job_id], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert "no report.html of run census-pipeline-run2" in done.stderr
    assert "Traceback" not in done.stderr
