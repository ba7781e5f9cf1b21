"""The real pipeline (LocalDagRunner, Beam, SQLite ML Metadata) on a census sample.

One pipeline root is shared by every run in this module, in order: a cold run, a run
with nothing changed, a third run, a run with an impossible threshold, and a run on data
with an anomaly. Every assertion on what ran reads ML Metadata.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import tensorflow as tf

from pipeline import cli, local_runner
from pipeline.dataset_spec import load_spec
from pipeline.run_summary import RunSummary, latest_output_uri, summarize_run
from tests.conftest import make_census_sample, write_spec

ALL_COMPONENTS = {
    "ExampleGen", "TestExampleGen", "StatisticsGen", "TestStatisticsGen", "SchemaGen",
    "ExampleValidator", "TestExampleValidator", "DataGate", "Transform", "Trainer",
    "LatestBlessedModelResolver", "Evaluator", "Pusher",
}  # fmt: skip


def _not_cached(summary: RunSummary) -> set[str]:
    return {c.node_id for c in summary.components if c.state != "cached"}


def _versions(serving_dir: Path) -> list[str]:
    return sorted(p.name for p in serving_dir.iterdir()) if serving_dir.exists() else []


class Workspace:
    """A sample data set, its output root, and the summary of each run so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec_path = make_census_sample(root / "data")
        self.output_dir = root / "outputs"
        self.spec = load_spec(self.spec_path)
        self.paths = local_runner.paths_for(self.spec, self.output_dir)
        self.summaries: list[RunSummary] = []
        self.versions_after: list[list[str]] = []

    def run(self, spec_path: Path | None = None) -> RunSummary:
        spec = load_spec(spec_path or self.spec_path)
        try:
            local_runner.run(spec, self.output_dir)
        finally:
            summary = summarize_run(
                self.paths.metadata_path, local_runner.pipeline_name(spec), spec=spec
            )
            self.summaries.append(summary)
            self.versions_after.append(_versions(self.paths.serving_dir))
        return summary


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("census_e2e"))
    for _ in range(3):
        workspace.run()
    return workspace


def test_first_run_executes_every_component_and_pushes_a_blessed_model(workspace):
    first = workspace.summaries[0]
    assert {c.node_id for c in first.components} == ALL_COMPONENTS
    assert {c.state for c in first.components} == {"ran"}
    assert first.blessed is True
    assert workspace.versions_after[0] and len(workspace.versions_after[0]) == 1
    pushed = Path(first.pushed_to)
    assert pushed.parent == workspace.paths.serving_dir and (pushed / "saved_model.pb").exists()
    # The metrics cover overall, each slice column, the age buckets and the sex x race cross.
    names = set(first.metrics)
    assert {"Overall", "sex=Female", "sex=Male", "race=White"} <= names
    assert any(n.startswith("age ") for n in names)
    assert any(n.startswith("race=") and ", sex=" in n for n in names)
    assert first.metrics["Overall"]["n"] == 600


def test_pushed_model_scores_raw_examples(workspace):
    model = tf.saved_model.load(workspace.summaries[0].pushed_to)
    with (workspace.spec.directory / "test.csv").open() as f:
        row = next(csv.DictReader(f))
    features = {
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[name])]))
        if name in workspace.spec.numeric_features
        else tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[name].encode()]))
        for name in workspace.spec.raw_feature_columns
        if row[name]
    }
    example = tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()
    probability = float(
        model.signatures["serving_default"](examples=tf.constant([example]))["probabilities"][0, 0]
    )
    assert 0.0 <= probability <= 1.0


def test_second_run_reexecutes_only_what_the_new_baseline_changes(workspace):
    # The Resolver now finds the blessed model, so the Evaluator's inputs changed.
    second = workspace.summaries[1]
    assert _not_cached(second) == {"LatestBlessedModelResolver", "Evaluator", "Pusher"}
    assert second.blessed is True


def test_third_run_is_fully_cached(workspace):
    third = workspace.summaries[2]
    # A Resolver is not an executor: it resolves every run and has nothing to cache.
    assert _not_cached(third) <= {"LatestBlessedModelResolver"}
    assert third.state_of("Evaluator") == "cached" and third.state_of("Pusher") == "cached"


def test_impossible_threshold_leaves_the_model_unpushed(workspace):
    before = _versions(workspace.paths.serving_dir)
    # As a user would: edit the thresholds in the data set's own spec file.
    strict = write_spec(
        workspace.spec_path.parent,
        "census",
        name="census_sample",
        training=workspace_training(workspace),
        evaluation={"thresholds": [{"metric": "auc", "lower_bound": 0.9999}]},
    )
    assert strict == workspace.spec_path
    summary = workspace.run(strict)
    assert summary.blessed is False
    assert summary.pushed_to is None
    assert any(
        "auc" in line and "below the lower bound 0.9999" in line
        for line in summary.failed_thresholds
    )
    assert _versions(workspace.paths.serving_dir) == before
    # Only the thresholds changed: Transform and Trainer were reused.
    assert summary.state_of("Transform") == "cached" and summary.state_of("Trainer") == "cached"


def workspace_training(workspace: Workspace) -> dict:
    t = workspace.spec.training
    return {
        "train_steps": t.train_steps, "steps_per_evaluation": t.steps_per_evaluation,
        "eval_steps": t.eval_steps, "batch_size": t.batch_size, "learning_rate": t.learning_rate,
    }  # fmt: skip


def test_data_with_an_anomaly_stops_before_transform(workspace):
    before = _versions(workspace.paths.serving_dir)
    # Curate the schema inferred by the first run, then feed data it does not allow.
    data = workspace.root / "drifted"
    schema_uri = latest_output_uri(
        workspace.paths.metadata_path, "census_sample_pipeline", "SchemaGen", "schema"
    )
    data.mkdir()
    shutil.copy(Path(schema_uri) / "schema.pbtxt", data / "schema.pbtxt")
    shutil.copy(workspace.spec.file_path("test"), data / "test.csv")
    with workspace.spec.file_path("train").open() as f:
        rows = list(csv.reader(f))
    for row in rows[1:40]:
        row[1] = "Martian-corp"  # workclass
    with (data / "train.csv").open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    spec_path = write_spec(
        data, "census", name="census_sample", schema_file="schema.pbtxt",
        training=workspace_training(workspace),
    )  # fmt: skip

    with pytest.raises(Exception, match=r"column 'workclass'.*Martian-corp") as error:
        workspace.run(spec_path)
    assert "nothing is trained or pushed" in str(error.value)
    summary = workspace.summaries[-1]
    assert summary.state_of("DataGate") == "failed"
    assert summary.state_of("Transform") is None and summary.state_of("Trainer") is None
    assert _versions(workspace.paths.serving_dir) == before


def test_cli_summary_reads_the_latest_run(workspace, capsys):
    code = cli.main(
        ["summary", "--data", str(workspace.spec_path), "--output-dir", str(workspace.output_dir)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "DataGate" in out and "failed" in out  # the anomaly run is the latest


def test_cli_rejects_a_bad_spec_with_its_key(tmp_path, capsys):
    bad = make_census_sample(
        tmp_path / "data", train_rows=20, test_rows=10, evaluation={"thresholds": []}
    )
    assert cli.main(["run", "--data", str(bad), "--output-dir", str(tmp_path / "out")]) == 2
    assert "evaluation.thresholds" in capsys.readouterr().err
