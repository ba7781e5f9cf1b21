"""The real pipeline (LocalDagRunner, Beam, SQLite ML Metadata) on a census sample.

The ten runs of the shared workspace are listed in tests/e2e/conftest.py. Every
assertion on what ran reads ML Metadata.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import tensorflow as tf

from pipeline import cli
from pipeline.reports.artifacts import find_run
from pipeline.reports.evaluation_tables import (
    ablation_table,
    baseline_table,
    fairness_gaps,
    gain_table,
    metrics_frame,
    slice_table,
)
from pipeline.reports.summary import RunSummary
from tests.conftest import make_census_sample
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

ALL_COMPONENTS = {
    "ExampleGen", "TestExampleGen", "StatisticsGen", "TestStatisticsGen", "SchemaGen",
    "ExampleValidator", "TestExampleValidator", "DataGate", "Transform", "Trainer",
    "LatestBlessedModelResolver", "Evaluator", "Pusher",
    "LastApprovedStatisticsResolver", "DriftCheck", "Ablation",
}  # fmt: skip
# Every run: resolvers resolve, and the drift check compares with the last approved data.
EVERY_RUN = {"LatestBlessedModelResolver", "LastApprovedStatisticsResolver", "DriftCheck"}


def _evaluation(workspace, index: int) -> str:
    """The Evaluator output of the workspace's run `index`."""
    run_id = workspace.summaries[index].run_id
    return find_run(workspace.paths.metadata_path, workspace.pipeline_name, run_id).evaluation.uri


def _not_cached(summary: RunSummary) -> set[str]:
    return {c.node_id for c in summary.components if c.state != "cached"}


def test_first_run_executes_every_component_and_pushes_a_blessed_model(workspace):
    first = workspace.summaries[FIRST]
    assert {c.node_id for c in first.components} == ALL_COMPONENTS
    assert {c.state for c in first.components} == {"ran"}
    assert first.blessed is True
    assert workspace.versions_after[FIRST] and len(workspace.versions_after[FIRST]) == 1
    pushed = Path(first.pushed_to)
    assert pushed.parent == workspace.paths.serving_dir and (pushed / "saved_model.pb").exists()
    # The metrics cover overall, each slice column, the age buckets and the sex x race cross.
    names = set(first.metrics)
    assert {"Overall", "sex=Female", "sex=Male", "race=White"} <= names
    assert any(n.startswith("age ") for n in names)
    assert any(n.startswith("race=") and ", sex=" in n for n in names)
    assert first.metrics["Overall"]["n"] == 600


def _example(workspace, **changes: str) -> bytes:
    """The first test row as a serialized tf.Example, with `changes`; empty cells omitted.

    As a client sends it: numeric columns as floats (whole numbers in the CSV or not)."""
    with (workspace.spec.directory / "test.csv").open() as f:
        row = {**next(csv.DictReader(f)), **changes}
    features = {
        name: tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[name])]))
        if name in workspace.spec.numeric_features
        else tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[name].encode()]))
        for name in workspace.spec.raw_feature_columns
        if row[name]
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def test_pushed_model_scores_raw_examples(workspace):
    model = tf.saved_model.load(workspace.summaries[FIRST].pushed_to)
    serve = model.signatures["serving_default"]
    probability = float(serve(examples=tf.constant([_example(workspace)]))["probabilities"][0, 0])
    assert 0.0 <= probability <= 1.0
    # An unseen category goes to the OOV bucket; a missing feature is imputed.
    unseen = _example(workspace, workclass="Martian-corp", occupation="")
    assert 0.0 <= float(serve(examples=tf.constant([unseen]))["probabilities"][0, 0]) <= 1.0


def test_serving_rejects_a_malformed_request_and_keeps_serving(workspace):
    model = tf.saved_model.load(workspace.summaries[FIRST].pushed_to)
    serve = model.signatures["serving_default"]
    good = tf.constant([_example(workspace)])
    expected = serve(examples=good)["probabilities"].numpy()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"(?i)parse"):
        serve(examples=tf.constant([b"not a serialized tf.Example"]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        serve(examples=tf.constant([_example(workspace, age="")[:-3] + b"\xff\xff\xff"]))
    # The same model object answers the next request, with the same answer.
    assert (serve(examples=good)["probabilities"].numpy() == expected).all()


def test_a_retrained_model_is_compared_with_the_first_and_pushed(workspace):
    # More training steps: the Trainer re-runs; the data components and the ablation (it
    # trains its own number of steps) come from the cache.
    second = workspace.summaries[BASELINE]
    assert _not_cached(second) == EVERY_RUN | {"Trainer", "Evaluator", "Pusher"}
    assert second.blessed is True and not second.already_serving
    assert len(workspace.versions_after[BASELINE]) == 2
    assert Path(second.pushed_to).name == workspace.versions_after[BASELINE][-1]


def test_third_run_is_fully_cached(workspace):
    third = workspace.summaries[CACHED]
    # A Resolver is not an executor: it resolves every run and has nothing to cache; the
    # drift check's reference is a new artifact each run, so it re-runs (under a second).
    assert _not_cached(third) <= EVERY_RUN
    assert third.state_of("Transform") == "cached" and third.state_of("Trainer") == "cached"
    # The model just blessed is not its own baseline: the Evaluator's inputs are those of
    # the run before, so it does no work, and the model is not pushed again.
    assert third.state_of("Evaluator") == "cached" and third.state_of("Pusher") == "cached"
    assert workspace.versions_after[CACHED] == workspace.versions_after[BASELINE]
    assert third.pushed_to == workspace.summaries[BASELINE].pushed_to and third.already_serving


def test_the_runner_knows_which_runs_leave_work_for_the_next(workspace):
    """The record `python -m pipeline run` uses to skip a run that would change nothing."""
    records = workspace.records
    # A blessed model never becomes its own baseline: every finished run leaves nothing to
    # do for a next run with the same inputs (CACHED had every component cached, as the
    # record predicted, with the same fingerprint).
    assert records[FIRST].settled is True and records[BASELINE].settled is True
    assert records[BASELINE].serving == workspace.summaries[BASELINE].pushed_to
    assert records[CACHED].fingerprint == records[BASELINE].fingerprint
    assert records[CACHED].run_id == workspace.summaries[CACHED].run_id
    # An edited spec is another fingerprint; a not-blessed model leaves nothing to do.
    assert records[NOT_BLESSED].fingerprint != records[CACHED].fingerprint
    assert records[NOT_BLESSED].settled is True
    # A failed run leaves no record: the next run starts the pipeline whatever it reads.
    assert records[ANOMALY] is None and records[DRIFT] is None


def test_impossible_threshold_leaves_the_model_unpushed(workspace):
    summary = workspace.summaries[NOT_BLESSED]
    assert workspace.errors[NOT_BLESSED] is None
    assert summary.blessed is False
    assert summary.pushed_to is None
    assert any(
        "auc" in line and "below the lower bound 0.9999" in line
        for line in summary.failed_thresholds
    )
    assert workspace.versions_after[NOT_BLESSED] == workspace.versions_after[CACHED]
    # The README's row, as it says it: a threshold edit re-runs only the Evaluator and the
    # Pusher (the ablation stays on and cached; the resolvers and the drift check run on
    # every run).
    assert _not_cached(summary) == EVERY_RUN | {"Evaluator", "Pusher"}
    assert summary.state_of("Ablation") == "cached"


def test_data_with_an_anomaly_stops_before_transform(workspace):
    error = str(workspace.errors[ANOMALY])
    assert "column 'workclass'" in error and "Martian-corp" in error
    assert "nothing is trained or pushed" in error
    summary = workspace.summaries[ANOMALY]
    assert summary.state_of("DataGate") == "failed"
    assert summary.state_of("Transform") is None and summary.state_of("Trainer") is None
    assert workspace.versions_after[ANOMALY] == workspace.versions_after[CACHED]


def test_drifted_data_stops_before_transform(workspace):
    error = str(workspace.errors[DRIFT])
    assert "column 'workclass'" in error and "Linfty distance" in error
    assert "drifted from the last validated data" in error and "nothing is trained" in error
    summary = workspace.summaries[DRIFT]
    assert summary.state_of("DataGate") == "ran"  # valid data: no anomaly
    assert summary.state_of("DriftCheck") == "failed"
    assert summary.state_of("Transform") is None and summary.state_of("Trainer") is None
    assert workspace.versions_after[DRIFT] == workspace.versions_after[CACHED]


def test_first_run_drift_check_has_no_reference_and_passes(workspace):
    assert workspace.summaries[FIRST].state_of("DriftCheck") == "ran"


def test_a_module_file_edit_reruns_exactly_what_depends_on_it(workspace):
    summary = workspace.summaries[MODULE_EDIT]
    assert workspace.errors[MODULE_EDIT] is None
    # The data and the spec are those of earlier runs: their components come from cache.
    assert _not_cached(summary) == EVERY_RUN | {
        "Transform",
        "Trainer",
        "Ablation",
        "Evaluator",
        "Pusher",
    }
    # The spec still holds the impossible threshold of run 3: evaluated, not pushed.
    assert summary.blessed is False and summary.pushed_to is None
    assert workspace.versions_after[MODULE_EDIT] == workspace.versions_after[CACHED]


def _serving_log(workspace, path: Path, age_shift: int = 0) -> Path:
    """The training rows as a serving log would hold them: no label, maybe older people."""
    with workspace.spec.file_path("train").open() as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in rows[0] if c != workspace.spec.label.column]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "age": str(int(row["age"]) + age_shift)})
    return path


def test_skew_check_compares_serving_data_with_the_training_statistics(workspace, tmp_path, capsys):
    args = ["skew", "--data", str(workspace.spec_path), "--output-dir", str(workspace.output_dir)]
    same = _serving_log(workspace, tmp_path / "same.csv")
    assert cli.main([*args, "--serving-data", str(same)]) == 0
    assert "No skew beyond the bounds" in capsys.readouterr().out
    older = _serving_log(workspace, tmp_path / "older.csv", age_shift=30)
    assert cli.main([*args, "--serving-data", str(older)]) == 1
    out = capsys.readouterr().out
    assert "column 'age'" in out and "Jensen-Shannon" in out and "column 'sex'" not in out


def test_a_configured_slice_too_small_or_missing_blocks_the_push(workspace):
    summary = workspace.summaries[SLICES]
    assert summary.blessed is False and summary.pushed_to is None
    assert any(
        "slice race=Other has 5 test examples, fewer than evaluation.min_slice_size = 30" in line
        for line in summary.failed_thresholds
    ), summary.failed_thresholds
    assert any(
        "slice race=Martian has a threshold but no examples" in line
        for line in summary.failed_thresholds
    ), summary.failed_thresholds
    # Only the evaluation changed: nothing upstream of the Evaluator re-ran.
    assert summary.state_of("Transform") == "cached" and summary.state_of("Trainer") == "cached"
    assert workspace.versions_after[SLICES] == workspace.versions_after[CACHED]


def test_fairness_gate_blocks_the_model_trained_on_biased_data(workspace):
    biased = workspace.summaries[BIASED]
    assert workspace.summaries[FIRST].blessed is True
    # The fair model passed the gate: every gated group within the bounds.
    frame = metrics_frame(_evaluation(workspace, FIRST))
    gaps = fairness_gaps(frame, workspace.spec)
    assert set(gaps["rate"]) == {"FNR", "FPR"} and gaps["ok"].dropna().all(), gaps
    assert biased.blessed is False and biased.pushed_to is None
    gate = [line for line in biased.failed_thresholds if line.startswith("fairness gate")]
    assert len(gate) == 1 and "FNR" in gate[0] and "sex=Female by +" in gate[0], gate
    frame = metrics_frame(_evaluation(workspace, BIASED))
    female = fairness_gaps(frame, workspace.spec).set_index(["group", "rate"]).loc["Female", "FNR"]
    assert female["gap"] > 0.25 and not female["ok"]
    assert workspace.versions_after[BIASED] == workspace.versions_after[CACHED]


def test_evaluator_wrote_ks_lift_gain_and_intervals(workspace):
    frame = metrics_frame(_evaluation(workspace, FIRST), workspace.spec)
    table = slice_table(frame)
    assert {"KS", "KS low", "KS high", "lift top 10%", "AUC low", "AUC high"} <= set(table)
    for name, row in table.iterrows():
        if row["n"] >= 30:  # smaller slices may be one-class: no AUC, no interval
            assert row["AUC low"] <= row["AUC"] <= row["AUC high"], name
            assert 0 < row["KS"] <= 1, name
    gains = gain_table(frame)
    assert gains["gain"].is_monotonic_increasing and gains["gain"].iloc[-1] == pytest.approx(1)
    assert (gains["gain low"] <= gains["gain"] + 1e-12).all()
    # Every fairness rate at every threshold got an interval too.
    rates = frame[(frame["slice"] == "Overall") & frame["metric"].isin(["fall_out", "miss_rate"])]
    assert len(rates) == 2 * len(workspace.spec.fairness_thresholds)
    assert rates["lower"].notna().all()


def test_the_model_beats_the_simple_baselines(workspace):
    frame = metrics_frame(_evaluation(workspace, FIRST), workspace.spec)
    auc = baseline_table(frame, "auc").loc["Overall"]
    # A constant scores exactly 0.5; a score unrelated to the label about 0.5.
    assert auc["majority"] == pytest.approx(0.5) and abs(auc["chance"] - 0.5) < 0.1
    assert auc["linear"] > 0.7 and auc["model"] > auc["chance"] + 0.2
    accuracy = baseline_table(frame, "binary_accuracy").loc["Overall"]
    overall = frame[(frame["slice"] == "Overall") & (frame["metric"] == "mean_label")]
    # The majority class (<=50K) is right on every negative example.
    assert accuracy["majority"] == pytest.approx(1 - overall["value"].iloc[0])
    assert accuracy["above best"] == pytest.approx(
        accuracy["model"] - accuracy[["linear", "majority", "chance"]].max()
    )


def test_ablation_reports_what_removing_each_group_costs(workspace):
    first = find_run(
        workspace.paths.metadata_path, workspace.pipeline_name, workspace.summaries[FIRST].run_id
    )
    table = ablation_table(first.ablation.uri)
    assert list(table.index) == list(workspace.spec.ablation.groups)
    row = table.loc["relationship"]
    assert row["columns"] == "relationship, marital_status"
    assert row["AUC change low"] <= row["AUC change"] <= row["AUC change high"]
    assert row["AUC without"] == pytest.approx(row["AUC with"] + row["AUC change"])
    # It reads Transform's output and the model's settings, not the Trainer's step counts:
    # the run that trained the model with more steps re-used it.
    assert workspace.summaries[BASELINE].state_of("Ablation") == "cached"


def test_cli_summary_reads_the_latest_run(workspace, capsys):
    code = cli.main(
        ["summary", "--data", str(workspace.spec_path), "--output-dir", str(workspace.output_dir)]
    )
    out = capsys.readouterr().out
    assert code == 0
    # The biased run is the latest: the summary names the group and the gap.
    assert "NOT blessed" in out and "fairness gate" in out and "sex=Female" in out


def test_cli_rejects_a_bad_spec_with_its_key(tmp_path, capsys):
    bad = make_census_sample(
        tmp_path / "data", train_rows=20, test_rows=10, evaluation={"thresholds": []}
    )
    assert cli.main(["run", "--data", str(bad), "--output-dir", str(tmp_path / "out")]) == 2
    assert "evaluation.thresholds" in capsys.readouterr().err
