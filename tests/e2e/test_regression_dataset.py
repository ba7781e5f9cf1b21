"""A regression data set runs end to end from its spec: scikit-learn's diabetes data.

`data/diabetes/dataset.yaml` declares `task: regression` and a numeric label; no code
names a column or the task's metrics. Two runs share one pipeline root:
(0) the bundled spec as it is: trained with a linear head and squared error, evaluated on
RMSE, RMSLE, R2, adjusted R2 and MAE per slice with bootstrap intervals, against the
mean and linear baselines, with an ablation, blessed and pushed;
(1) the same spec with an RMSE upper bound no model can meet: only the Evaluator re-runs
(Transform and Trainer are cached), the model is not blessed and nothing new is pushed;
(2) `python -m pipeline run` again: nothing changed, so it starts nothing and repeats
run 1's summary; (3) the same with `--always-run`: TFX finds every component cached,
as the runner's record predicted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.reports import evaluation_tables as tables
from pipeline.reports.artifacts import find_run
from pipeline.reports.summary import RunSummary, summarize_run
from pipeline.runners import local as local_runner
from pipeline.spec import load_spec
from tests.conftest import DATA, write_spec

FIRST, TIGHT = range(2)
UNCHANGED_MESSAGE = "Nothing changed since run"
# No model of this data reaches an RMSE of 20 (the label's deviation is 77).
IMPOSSIBLE_RMSE = 20.0


class RegressionRuns:
    """The diabetes data in a temporary directory, its output root, the runs' summaries."""

    def __init__(self, root: Path) -> None:
        data = root / "data"
        shutil.copytree(DATA / "diabetes", data)
        self.spec = load_spec(data)
        self.output_dir = root / "outputs"
        self.paths = local_runner.paths_for(self.spec, self.output_dir)
        self.name = local_runner.pipeline_name(self.spec)
        self.summaries: list[RunSummary] = []
        self.versions: list[list[str]] = []
        self.specs = [self.spec]
        self.cli_outputs: list[tuple[int, str, str]] = []

    def run(self, spec_path: Path | None = None) -> None:
        spec = load_spec(spec_path) if spec_path else self.spec
        local_runner.run(spec, self.output_dir)
        self.specs.append(spec)
        self.summaries.append(summarize_run(self.paths.metadata_path, self.name, spec=spec))
        serving = self.paths.serving_dir
        self.versions.append(sorted(p.name for p in serving.iterdir()) if serving.exists() else [])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> RegressionRuns:
    root = tmp_path_factory.mktemp("diabetes")
    runs = RegressionRuns(root)
    runs.run()
    # Edited in place, as a user would: the same data files, a new bound.
    tight = write_spec(
        root / "data",
        "diabetes",
        evaluation={"thresholds": [{"metric": "rmse", "upper_bound": IMPOSSIBLE_RMSE}]},
    )
    runs.run(tight)
    runs.cli_outputs = [
        _cli(runs, root / "data", []),
        _cli(runs, root / "data", ["--always-run"]),
    ]
    return runs


def _cli(runs: RegressionRuns, data: Path, options: list[str]) -> tuple[int, str, str]:
    """`python -m pipeline run` in this process: (exit code, stdout, latest run id after)."""
    import contextlib
    import io

    from pipeline import cli
    from pipeline.reports.artifacts import find_run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["run", "--data", str(data), "--output-dir", str(runs.output_dir), *options]
        )
    latest = find_run(runs.paths.metadata_path, runs.name).run_id
    return code, out.getvalue(), latest


def _frame(runs: RegressionRuns, index: int) -> pd.DataFrame:
    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[index].run_id)
    return tables.metrics_frame(run.evaluation.uri, runs.spec)


def test_the_regression_pipeline_is_blessed_and_pushed(runs):
    summary = runs.summaries[FIRST]
    assert {c.state for c in summary.components} == {"ran"}
    assert summary.blessed is True and summary.pushed_to
    assert len(runs.versions[FIRST]) == 1
    overall = summary.metrics["Overall"]
    # The spec's bounds: RMSE <= 65 and R2 >= 0.3; the label's deviation is 77.
    assert overall["RMSE"] <= 65 and overall["R2"] >= 0.3
    assert overall["MAE"] < overall["RMSE"]
    # About a fifth of the 442 rows land in the hash-split test split.
    assert 60 < overall["n"] < 130
    assert {"sex=1", "sex=2", "bmi >= 30", "age < 45"} <= set(summary.metrics)


def test_every_regression_metric_has_an_interval_per_slice(runs):
    table = tables.slice_table(_frame(runs, FIRST), kinds=("overall", "feature"))
    for metric in ("RMSE", "RMSLE", "MAE", "R2", "adjusted R2"):
        assert table[metric].notna().all(), metric
        inside = (table[f"{metric} low"] <= table[metric]) & (
            table[metric] <= table[f"{metric} high"]
        )
        assert inside.all(), table[[metric, f"{metric} low", f"{metric} high"]]
    # Adjusted R2 pays for the 10 features: below R2 on every slice.
    assert (table["adjusted R2"] < table["R2"]).all()
    # No classification metric is reported for a regression model.
    assert not {"AUC", "accuracy", "KS"} & set(table.columns)


def test_the_model_beats_the_mean_baseline(runs):
    frame = _frame(runs, FIRST)
    rmse = tables.baseline_table(frame, "root_mean_squared_error").loc["Overall"]
    r2 = tables.baseline_table(frame, "r_squared").loc["Overall"]
    assert {"model", "linear", "mean"} <= set(rmse.index)
    # The mean baseline predicts the training mean: an R2 near 0 on the test split.
    assert abs(r2["mean"]) < 0.1
    assert rmse["model"] < rmse["mean"] - 15
    assert r2["model"] > r2["mean"] + 0.3


def test_the_served_model_predicts_in_the_label_units(runs):
    import tensorflow as tf

    from pipeline.serving.raw_examples import schema_types, serialize_rows

    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    model = tf.saved_model.load(runs.summaries[FIRST].pushed_to)
    rows = pd.read_csv(DATA / "diabetes" / "diabetes.csv", dtype=str)
    types = schema_types(run.schema.uri)
    examples = serialize_rows(runs.spec, rows.to_dict("records"), types)
    predictions = model.signatures["serving_default"](tf.constant(examples))["predictions"]
    predictions = np.asarray(predictions).reshape(-1)
    labels = rows["progression"].astype(float)
    assert predictions.shape == (len(rows),)
    # In the label's units (25 to 346, mean 152), and tracking it.
    assert abs(predictions.mean() - labels.mean()) < 20
    assert np.corrcoef(predictions, labels)[0, 1] > 0.6


def test_predict_appends_the_prediction_in_the_label_units(runs, tmp_path, capsys):
    import csv

    import tensorflow as tf

    from pipeline import cli
    from pipeline.serving.raw_examples import schema_types, serialize_rows

    data = tmp_path / "new.csv"
    rows = pd.read_csv(DATA / "diabetes" / "diabetes.csv", dtype=str).drop(columns="progression")
    rows.to_csv(data, index=False)
    args = ["predict", "--data", str(data), "--dataset", str(runs.spec.spec_path)]
    args += ["--output-dir", str(runs.output_dir), "--output", str(tmp_path / "p.csv")]
    assert cli.main(args) == 0
    assert "the input's columns, then prediction" in capsys.readouterr().out
    with (tmp_path / "p.csv").open(newline="") as f:
        header, *scored = csv.reader(f)
    assert header == [*rows.columns, "prediction"]
    assert [r[:-1] for r in scored] == rows.values.tolist()
    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    examples = serialize_rows(runs.spec, rows.to_dict("records"), schema_types(run.schema.uri))
    model = tf.saved_model.load(runs.summaries[FIRST].pushed_to)
    direct = model.signatures["serving_default"](tf.constant(examples))["predictions"]
    np.testing.assert_allclose(
        [float(r[-1]) for r in scored], np.asarray(direct).reshape(-1), rtol=1e-6
    )


def test_an_rmse_upper_bound_blocks_the_push(runs):
    summary = runs.summaries[TIGHT]
    assert summary.state_of("Trainer") == "cached"
    assert summary.state_of("Transform") == "cached"
    assert summary.state_of("Evaluator") == "ran"
    assert summary.blessed is False and summary.pushed_to is None
    assert runs.versions[TIGHT] == runs.versions[FIRST]
    (failure,) = summary.failed_thresholds
    assert "root_mean_squared_error" in failure
    assert f"above the upper bound {IMPOSSIBLE_RMSE:g}" in failure


def test_the_ablation_reports_rmse_changes(runs):
    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    table = tables.ablation_table(run.ablation.uri)
    assert set(table.index) == {"body", "serum", "demographics"}
    assert table.attrs["metric"] == "RMSE" and table.attrs["lower_is_better"]
    for metric in ("RMSE", "R2"):
        change = table[f"{metric} without"] - table[f"{metric} with"]
        assert np.allclose(change, table[f"{metric} change"])
        assert (table[f"{metric} change low"] <= table[f"{metric} change high"]).all()
    # Costliest first: the largest RMSE increase leads.
    assert list(table["RMSE change"]) == sorted(table["RMSE change"], reverse=True)


def test_the_report_shows_regression_sections_only(runs):
    reports = runs.paths.reports_dir
    first = (reports / f"run-{runs.summaries[FIRST].run_id.replace(':', '-')}.html").read_text()
    assert "a number (regression)" in first
    assert 'id="baselines-root_mean_squared_error"' in first
    assert 'id="baselines-r_squared"' in first
    assert 'id="ablation"' in first
    for classification_only in ("Fairness indicators", "cumulative gain", "confusion-matrix"):
        assert classification_only not in first
    tight = (reports / "latest.html").read_text()
    assert "NOT blessed" in tight and "above the upper bound" in tight


def test_an_unchanged_run_starts_nothing_and_repeats_the_last_summary(runs):
    code, output, latest = runs.cli_outputs[0]
    tight = runs.summaries[TIGHT].run_id
    assert code == 0
    assert f"{UNCHANGED_MESSAGE} {tight}" in output
    assert latest == tight  # no new run in ML Metadata
    assert "NOT blessed" in output and "above the upper bound" in output


def test_mlflow_logged_each_run_that_started_and_not_the_unchanged_one(runs):
    from pipeline.tracking import default_tracking_uri, keys, list_runs

    uri = default_tracking_uri(runs.paths.root)
    logged = list_runs(uri, keys.experiment_name(runs.spec), limit=10)
    always = runs.cli_outputs[1][2]
    first, tight = (s.run_id for s in runs.summaries)
    assert [r.mlmd_run_id for r in logged] == [always, tight, first]
    # A regression model's metrics, under TFMA's names.
    rmse = runs.summaries[FIRST].metrics["Overall"]["RMSE"]
    assert logged[-1].metrics["root_mean_squared_error"] == pytest.approx(rmse)
    assert logged[-1].blessed == "true" and logged[-2].blessed == "false"


def test_always_run_finds_every_component_cached_as_predicted(runs):
    code, output, latest = runs.cli_outputs[1]
    assert code == 0 and UNCHANGED_MESSAGE not in output
    assert latest != runs.summaries[TIGHT].run_id
    summary = summarize_run(runs.paths.metadata_path, runs.name, latest, runs.specs[-1])
    executed = {c.node_id for c in summary.components if c.state != "cached"}
    assert executed == {"LatestBlessedModelResolver"}  # a resolver resolves every run
