"""Run history in MLflow, on the census workspace's ten real runs (tests/e2e/conftest.py).

Every run the workspace made logged itself to `<output>/census_sample/mlflow.db` through the
local runner's hook; the tests read that store back with MLflow's client and through
`python -m pipeline runs`. The last test logs two of the runs to a new store, starts
`python -m pipeline ui` (MLflow's server) on a free loopback port, reads both runs through
MLflow's REST API and opens its compare page in headless Chromium (tests/e2e/devtools.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.model.outputs import MODEL_OUTPUTS
from pipeline.reports.artifacts import find_run
from pipeline.reports.evaluation_tables import metrics_frame
from pipeline.reports.html import report_path
from pipeline.reports.model_card import served_card_path
from pipeline.tracking import keys, log_latest_run, log_run, store
from pipeline.tracking.mlflow_log import SERVING_ALIAS
from pipeline.tracking.server import free_port, wait_until_healthy
from tests.e2e.conftest import (
    ANOMALY,
    BASELINE,
    BIASED,
    CACHED,
    DRIFT,
    FIRST,
    MODULE_EDIT,
    NOT_BLESSED,
    SLICES,
)
from tests.e2e.devtools import Browser


@pytest.fixture(scope="module")
def client(workspace):
    return store.client(store.default_tracking_uri(workspace.paths.root))


@pytest.fixture(scope="module")
def logged(workspace, client) -> dict[str, object]:
    """MLflow's runs of the workspace's experiment, by ML Metadata run id."""
    experiment = client.get_experiment_by_name(keys.experiment_name(workspace.spec))
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    return {r.data.tags[store.TAG_MLMD_RUN_ID]: r for r in runs}


def _logged(workspace, logged, index: int):
    return logged[workspace.summaries[index].run_id]


def _candidate(workspace, index: int, spec=None):
    """The evaluated model's rows of `metrics_frame`, as TFMA wrote them."""
    run = find_run(
        workspace.paths.metadata_path, workspace.pipeline_name, workspace.summaries[index].run_id
    )
    frame = metrics_frame(run.evaluation.uri, spec or workspace.spec)
    own = frame["output"].isin(MODEL_OUTPUTS)  # not the linear, majority, chance baselines
    return frame[(frame["model"] == "candidate") & ~frame["is_diff"].astype(bool) & own]


def test_every_run_is_logged_once_with_its_verdict(workspace, logged):
    assert set(logged) == {s.run_id for s in workspace.summaries}
    blessed = {True: "true", False: "false", None: "none"}
    for summary in workspace.summaries:
        run = logged[summary.run_id]
        assert run.info.run_name == summary.run_id
        assert run.data.tags[store.TAG_BLESSED] == blessed[summary.blessed], summary.run_id
    # The runs that failed say where they stopped.
    for index, component in ((ANOMALY, "DataGate"), (DRIFT, "DriftCheck")):
        run = _logged(workspace, logged, index)
        assert run.info.status == "FAILED" and run.data.tags["stopped_at"] == component
        note = run.data.tags["mlflow.note.content"]
        assert note == f"Not evaluated: the run stopped at {component}."
    finished = set(range(len(workspace.summaries))) - {ANOMALY, DRIFT}
    assert {_logged(workspace, logged, i).info.status for i in finished} == {"FINISHED"}
    # The blessing and why: the description holds each failed threshold's line.
    assert _logged(workspace, logged, FIRST).data.tags["mlflow.note.content"] == (
        "BLESSED: every threshold passed."
    )
    for index in (NOT_BLESSED, SLICES, BIASED):
        note = _logged(workspace, logged, index).data.tags["mlflow.note.content"]
        assert note.startswith("NOT blessed, so not pushed. Failed thresholds:\n")
        for line in workspace.summaries[index].failed_thresholds:
            assert f"- {line}" in note.splitlines()
    assert (
        "below the lower bound 0.9999"
        in (_logged(workspace, logged, NOT_BLESSED).data.tags["mlflow.note.content"])
    )


def test_metrics_are_the_evaluators_overall_and_per_slice_with_intervals(workspace, logged):
    metrics = _logged(workspace, logged, BASELINE).data.metrics
    rows = _candidate(workspace, BASELINE)
    checked = 0
    for row in rows.itertuples(index=False):
        threshold = None if row.threshold != row.threshold else row.threshold
        headline = row.metric in ("auc", "binary_accuracy", "example_count") and threshold is None
        rate = row.metric in ("fall_out", "miss_rate") and threshold is not None
        if not (headline or (rate and (row.kind == "overall" or row.slice.startswith("sex=")))):
            continue
        key = keys.metric_key(row.metric, row.slice, threshold)
        if row.value != row.value:  # undefined (an AUC of a one-class slice): not logged
            assert key not in metrics, key
            continue
        assert metrics[key] == pytest.approx(row.value), key
        if row.lower == row.lower:  # an interval
            assert metrics[f"{key}/ci_lower"] == pytest.approx(row.lower), key
            assert metrics[f"{key}/ci_upper"] == pytest.approx(row.upper), key
        checked += 1
    assert checked > 40
    # The documented names, as a user types them.
    summary = workspace.summaries[BASELINE].metrics
    assert metrics["auc"] == pytest.approx(summary["Overall"]["AUC"])
    assert metrics["auc/ci_lower"] < metrics["auc"] < metrics["auc/ci_upper"]
    assert metrics["auc/sex:Female"] == pytest.approx(summary["sex=Female"]["AUC"])
    assert metrics["binary_accuracy/race:Black/sex:Female"] == pytest.approx(
        summary["race=Black, sex=Female"]["accuracy"]
    )
    assert metrics["example_count/age:under 25"] == summary["age < 25"]["n"]
    assert {"miss_rate_at_0.5/sex:Female/ci_upper", "lift_at_10pct", "ks_statistic"} <= set(metrics)
    assert "fairness_gap/fnr/sex" in metrics and metrics["seconds/Evaluator"] > 0
    # A run stopped before the Evaluator has its components' seconds only.
    stopped = _logged(workspace, logged, ANOMALY).data.metrics
    assert stopped and all(k.startswith("seconds/") for k in stopped)


def test_params_hold_the_training_settings_and_the_data_fingerprint(workspace, logged):
    params = _logged(workspace, logged, FIRST).data.params
    training = workspace.spec.training
    assert params["training.train_steps"] == str(training.train_steps)
    assert params["training.learning_rate"] == str(training.learning_rate)
    assert params["training.hidden_units"] == ",".join(map(str, training.hidden_units))
    assert params["dataset"] == "census_sample"
    first = find_run(
        workspace.paths.metadata_path, workspace.pipeline_name, workspace.summaries[FIRST].run_id
    )
    assert params["data.ExampleGen"] == first.examples.properties["input_fingerprint"]
    assert params["data.TestExampleGen"].startswith("split:test,num_files:1,total_bytes:")

    def fingerprint(index: int) -> str:
        return _logged(workspace, logged, index).data.params["data.fingerprint"]

    # The same data files, the same fingerprint; new data (drifted, biased), another.
    same = {fingerprint(i) for i in (FIRST, BASELINE, CACHED, NOT_BLESSED, MODULE_EDIT)}
    assert len(same) == 1 and len(fingerprint(FIRST)) == 16
    assert len(same | {fingerprint(DRIFT), fingerprint(BIASED), fingerprint(ANOMALY)}) == 4
    # The spec's thresholds as they were in each run.
    assert params["evaluation.thresholds"] == "auc >= 0.7, max regression 0.05"
    strict = _logged(workspace, logged, NOT_BLESSED).data.params["evaluation.thresholds"]
    assert strict == "auc >= 0.9999"


def test_the_report_is_an_artifact_of_the_run(workspace, logged, client, tmp_path):
    run_id = workspace.summaries[NOT_BLESSED].run_id
    mlflow_run = logged[run_id]
    folder = Path(client.download_artifacts(mlflow_run.info.run_id, "report", str(tmp_path)))
    (report,) = folder.iterdir()
    assert report.read_bytes() == report_path(workspace.paths.reports_dir, run_id).read_bytes()
    # Artifacts live under the output root, not in the working directory's ./mlruns.
    root = (workspace.paths.root / "mlflow-artifacts").as_uri()
    assert mlflow_run.info.artifact_uri.startswith(root)


def test_the_pushed_models_card_is_an_artifact_of_the_run(workspace, logged, client, tmp_path):
    first = workspace.summaries[FIRST]
    mlflow_run = logged[first.run_id]
    folder = Path(client.download_artifacts(mlflow_run.info.run_id, "model_card", str(tmp_path)))
    (card,) = folder.iterdir()
    served = Path(served_card_path(first.pushed_to))
    assert card.read_bytes() == served.read_bytes()
    # A run that pushed nothing logs no card.
    unpushed = logged[workspace.summaries[NOT_BLESSED].run_id]
    assert [a.path for a in client.list_artifacts(unpushed.info.run_id)] == ["report"]


def test_pushed_models_are_registered_with_the_serving_alias(workspace, logged, client):
    name = keys.registered_model_name(workspace.spec)
    pushed = list(dict.fromkeys(s.pushed_to for s in workspace.summaries if s.pushed_to))
    assert len(pushed) >= 2
    versions = sorted(
        client.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version)
    )
    # One version per pushed model, its source the serving directory (nothing copied).
    assert [v.source for v in versions] == pushed
    serving = client.get_model_version_by_alias(name, SERVING_ALIAS)
    assert serving.source == pushed[-1] and Path(serving.source).is_dir()
    for summary in workspace.summaries:
        tags = logged[summary.run_id].data.tags
        if summary.pushed_to:
            version = next(v for v in versions if v.source == summary.pushed_to)
            assert tags[store.TAG_REGISTERED_VERSION] == str(version.version)
            assert tags[store.TAG_PUSHED_VERSION] == Path(summary.pushed_to).name
        else:
            assert store.TAG_REGISTERED_VERSION not in tags


def test_logging_a_run_again_adds_nothing(workspace, logged, client):
    run = find_run(
        workspace.paths.metadata_path, workspace.pipeline_name, workspace.summaries[FIRST].run_id
    )
    uri = store.default_tracking_uri(workspace.paths.root)
    assert log_run(run, workspace.spec, uri) == logged[run.run_id].info.run_id
    experiment = client.get_experiment_by_name(keys.experiment_name(workspace.spec))
    assert len(client.search_runs([experiment.experiment_id])) == len(logged)


def test_a_tracking_failure_is_one_line_and_not_an_error(workspace, capsys, caplog, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # the first retry is at once
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert log_latest_run(workspace.spec, workspace.paths, workspace.pipeline_name, uri) is None
    out = capsys.readouterr()
    assert out.out.startswith(f"  (not logged to MLflow at {uri}: MlflowException: API request")
    assert out.out.count("\n") == 1 and "Connection refused" in out.out
    assert "Traceback" not in out.err
    # urllib3's warning at each retry stays off the console.
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]


def _cli_runs(workspace, *options: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["runs", "--data", str(workspace.spec_path), "--output-dir",
                str(workspace.output_dir), *options]  # fmt: skip
        assert cli.main(args) == 0
    return out.getvalue().splitlines()


def test_cli_runs_lists_local_runs_newest_first(workspace, logged):
    lines = _cli_runs(workspace, "--limit", "4")
    uri = store.default_tracking_uri(workspace.paths.root)
    assert lines[0] == f"Runs of census_sample in {uri}, newest first:"
    assert lines[1].split() == [
        "run", "id", "started", "status", "blessed", "AUC", "accuracy", "AUC-PR",
        "calibration", "pushed",
    ]  # fmt: skip
    newest = [s.run_id for s in workspace.summaries[::-1][:4]]
    assert [line.split()[0] for line in lines[2:]] == newest
    model = keys.registered_model_name(workspace.spec)
    for line, index in zip(lines[2:], (BIASED, SLICES, MODULE_EDIT, DRIFT), strict=True):
        summary = workspace.summaries[index]
        cells = line.split()  # id, date, time, status, blessed, 4 metrics, pushed
        assert cells[4] == {True: "true", False: "false", None: "none"}[summary.blessed]
        if summary.blessed is None:
            assert cells[3] == "FAILED" and cells[5:] == ["-"] * 5
            continue
        assert cells[3] == "FINISHED"
        assert float(cells[5]) == pytest.approx(summary.metrics["Overall"]["AUC"], abs=5e-5)
        assert float(cells[6]) == pytest.approx(summary.metrics["Overall"]["accuracy"], abs=5e-5)
        if summary.pushed_to:
            version = logged[summary.run_id].data.tags[store.TAG_REGISTERED_VERSION]
            pushed = f"{model} v{version} ({Path(summary.pushed_to).name})"
            assert line.endswith(pushed)
        else:
            assert line.endswith(" -")
    assert len(_cli_runs(workspace)) == 2 + len(workspace.summaries)


@contextlib.contextmanager
def _ui(workspace, uri: str, log: Path):
    """`python -m pipeline ui` on `uri` in its own process group; killed on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "pipeline", "ui", "--data", str(workspace.spec_path),
        "--output-dir", str(workspace.output_dir), "--tracking-uri", uri, "--port", str(port),
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=os.setsid
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, timeout=120)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _rest(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_mlflow_ui_serves_two_runs_and_compares_them_in_chromium(workspace, tmp_path):
    root = tmp_path / "store"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    root.mkdir()
    two = {}
    # The newer run first: the `serving` alias follows the pushed version, not the order.
    for index in (BASELINE, FIRST):
        run = find_run(
            workspace.paths.metadata_path, workspace.pipeline_name,
            workspace.summaries[index].run_id,
        )  # fmt: skip
        two[run.run_id] = log_run(
            run, workspace.spec, uri, artifact_location=(root / "artifacts").as_uri(),
            report=report_path(workspace.paths.reports_dir, run.run_id),
        )  # fmt: skip
    with _ui(workspace, uri, tmp_path / "ui.log") as url:
        assert f"MLflow UI on {uri}: {url} (Ctrl-C stops it)" in (tmp_path / "ui.log").read_text()
        # MLflow's REST API: both runs, their params and metrics.
        name = keys.experiment_name(workspace.spec)
        query = urllib.parse.urlencode({"experiment_name": name})
        experiment = _rest(url, f"experiments/get-by-name?{query}")["experiment"]
        found = _rest(url, "runs/search", {"experiment_ids": [experiment["experiment_id"]]})
        runs = {r["info"]["run_id"]: r for r in found["runs"]}
        assert set(runs) == set(two.values())
        for mlmd_run_id, mlflow_run_id in two.items():
            data = runs[mlflow_run_id]["data"]
            tags = {t["key"]: t["value"] for t in data["tags"]}
            metrics = {m["key"]: m["value"] for m in data["metrics"]}
            params = {p["key"]: p["value"] for p in data["params"]}
            assert tags[store.TAG_MLMD_RUN_ID] == mlmd_run_id and tags["blessed"] == "true"
            index = next(i for i, s in enumerate(workspace.summaries) if s.run_id == mlmd_run_id)
            auc = workspace.summaries[index].metrics["Overall"]["AUC"]
            assert metrics["auc"] == pytest.approx(auc)
            assert params["training.train_steps"] == str(workspace.spec.training.train_steps)
        # The registry: the newer pushed model serves, although it was registered first.
        query = urllib.parse.urlencode({"name": keys.registered_model_name(workspace.spec),
                                        "alias": SERVING_ALIAS})  # fmt: skip
        version = _rest(url, f"registered-models/alias?{query}")["model_version"]
        assert version["source"] == workspace.summaries[BASELINE].pushed_to
        assert version["version"] == "1"
        # The UI's compare page (a hash route of its single-page app) in headless Chromium.
        ids = list(two.values())
        page = (
            f"{url}/#/compare-runs?runs={urllib.parse.quote(json.dumps(ids))}"
            f"&experiments={urllib.parse.quote(json.dumps([experiment['experiment_id']]))}"
        )
        screenshot = tmp_path / "mlflow-compare.png"
        with Browser(tmp_path / "chromium") as browser:
            browser.open(page)
            # Both runs, by ML Metadata id (the run name) and MLflow id, once the app has
            # fetched them; their params; their metrics, sorted by key (the table shows its
            # first rows: `auc`, then the first age bucket's).
            runs = ["Comparing 2 Runs from 1 Experiment", *two, *two.values()]
            params = ["data.fingerprint", "training.train_steps", "evaluation.thresholds"]
            browser.wait_for_text([*runs, *params, "auc/age:25 to 35"])
            dom = browser.dom()
            browser.screenshot(screenshot)
    assert all(name in dom for name in [*runs, *params, "auc/age:25 to 35"])
    assert screenshot.stat().st_size > 50_000
