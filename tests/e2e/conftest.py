"""The census workspace: one pipeline root, ten real runs, shared by the e2e modules.

Runs, in order: (0) a cold run, (1) the same data trained with more steps (a new model,
compared with the first: the Resolver's baseline), (2) nothing changed since (fully cached:
the baseline is still the first model, never the candidate itself), (3) the same with a
`score:` file added to the spec (only the scoring steps run: the blessed model scores it),
(4) an impossible threshold edited into the spec (not blessed), (5) data with an anomaly
against a curated schema (stops at the DataGate), (6) valid data whose workclass shares
moved beyond the spec's drift bound (stops at the DriftCheck), (7) the original data again
with an edited copy of the module file, (8) bounds on a slice too small to judge and on a
slice absent from the test data, (9) training data in which no woman earns >50K, and the
score file (a biased model: the fairness gate blocks it, so nothing is scored). The tests
only read what the runs left: ML Metadata, artifacts, the serving directory and the HTML
reports.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from pipeline.project import MODULE_FILE
from pipeline.reports.summary import RunSummary, latest_output_uri, summarize_run
from pipeline.runners import fingerprint as run_fingerprint
from pipeline.runners import local as local_runner
from pipeline.spec import load_spec
from tests.conftest import (
    SAMPLE_ABLATION,
    SAMPLE_CHANGES,
    SAMPLE_THRESHOLDS,
    make_census_sample,
    write_spec,
)

(
    FIRST, BASELINE, CACHED, SCORED, NOT_BLESSED, ANOMALY, DRIFT, MODULE_EDIT, SLICES, BIASED,
) = range(10)  # fmt: skip
# The training-step override of the BASELINE, CACHED and SCORED runs: another model on the
# same data.
MORE_STEPS = {"train_steps": 90}
# The file the scoring runs score: the sample's test rows, an id column first, no label.
SCORE_FILE = "score.csv"


def versions(serving_dir: Path) -> list[str]:
    return sorted(p.name for p in serving_dir.iterdir()) if serving_dir.exists() else []


class Workspace:
    """A sample data set, its output root, and the summary of each run so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec_path = make_census_sample(root / "data", ablation=SAMPLE_ABLATION)
        self.output_dir = root / "outputs"
        self.spec = load_spec(self.spec_path)
        self.paths = local_runner.paths_for(self.spec, self.output_dir)
        self.pipeline_name = local_runner.pipeline_name(self.spec)
        self.summaries: list[RunSummary] = []
        self.versions_after: list[list[str]] = []
        self.errors: list[Exception | None] = []
        # What the runner recorded after each run (None after a failed one).
        self.records: list[run_fingerprint.LastRun | None] = []

    def run(
        self,
        spec_path: Path | None = None,
        module_file: Path | None = None,
        expect_failure: bool = False,
        overrides: dict | None = None,
    ) -> RunSummary:
        """Runs the pipeline. A run meant to fail records its error in `errors`; any other
        run that fails stops the workspace with that error (the runs after it would test
        nothing)."""
        spec = load_spec(spec_path or self.spec_path, overrides)
        try:
            local_runner.run(
                spec, self.output_dir, module_file=str(module_file) if module_file else None
            )
            self.errors.append(None)
        except Exception as e:
            if not expect_failure:
                raise AssertionError(f"run {len(self.errors)} failed: {e}") from e
            self.errors.append(e)
        else:
            assert not expect_failure, f"run {len(self.errors) - 1} was meant to fail"
        summary = summarize_run(self.paths.metadata_path, self.pipeline_name, spec=spec)
        self.summaries.append(summary)
        self.versions_after.append(versions(self.paths.serving_dir))
        self.records.append(run_fingerprint.read_last_run(self.paths.root))
        return summary

    def training(self) -> dict:
        t = self.spec.training
        return {
            "train_steps": t.train_steps, "steps_per_evaluation": t.steps_per_evaluation,
            "eval_steps": t.eval_steps, "batch_size": t.batch_size,
            "learning_rate": t.learning_rate,
        }  # fmt: skip

    def write_score_file(self, directory: Path) -> Path:
        """`SCORE_FILE` in `directory`: the test rows without their label, with an id."""
        with self.spec.file_path("test").open() as f:
            header, *rows = csv.reader(f)
        label = header.index(self.spec.label.column)
        with (directory / SCORE_FILE).open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["id", *header[:label], *header[label + 1 :]])
            writer.writerows([f"r{i}", *r[:label], *r[label + 1 :]] for i, r in enumerate(rows))
        return directory / SCORE_FILE

    def scoring_spec(self) -> Path:
        """The spec of the first runs, edited in place to add a `score:` file."""
        self.write_score_file(self.spec_path.parent)
        return write_spec(
            self.spec_path.parent, "census", **{**SAMPLE_CHANGES, "ablation": SAMPLE_ABLATION},
            training=self.training(), evaluation=SAMPLE_THRESHOLDS, score=SCORE_FILE,
        )  # fmt: skip

    def impossible_threshold_spec(self) -> Path:
        """As a user would: edit the thresholds in the data set's own spec file."""
        return write_spec(
            self.spec_path.parent,
            "census",
            # The ablation stays on: a threshold edit must leave it cached too.
            **{**SAMPLE_CHANGES, "ablation": SAMPLE_ABLATION},
            training=self.training(),
            evaluation={"thresholds": [{"metric": "auc", "lower_bound": 0.9999}]},
        )

    def anomalous_data_spec(self) -> Path:
        """The inferred schema, curated, and training data with a value it does not allow."""
        data = self.root / "drifted"
        schema_uri = latest_output_uri(
            self.paths.metadata_path, self.pipeline_name, "SchemaGen", "schema"
        )
        data.mkdir()
        shutil.copy(Path(schema_uri) / "schema.pbtxt", data / "schema.pbtxt")
        shutil.copy(self.spec.file_path("test"), data / "test.csv")
        with self.spec.file_path("train").open() as f:
            rows = list(csv.reader(f))
        for row in rows[1:40]:
            row[1] = "Martian-corp"  # workclass
        with (data / "train.csv").open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        return write_spec(
            data, "census", **SAMPLE_CHANGES, schema_file="schema.pbtxt",
            training=self.training(),
        )  # fmt: skip

    def drifted_data_spec(self) -> Path:
        """Valid rows, but 40% of them moved to another (known) workclass."""
        data = self.root / "moved"
        data.mkdir()
        shutil.copy(self.spec.file_path("test"), data / "test.csv")
        with self.spec.file_path("train").open() as f:
            rows = list(csv.reader(f))
        column = rows[0].index("workclass")
        for row in rows[1 : 1 + len(rows) * 2 // 5]:
            row[column] = "Self-emp-inc"
        with (data / "train.csv").open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        return write_spec(
            data,
            "census",
            **SAMPLE_CHANGES,
            training=self.training(),
        )

    def slice_thresholds_spec(self) -> Path:
        """Overall bound as usual, plus bounds on a 5-example slice and on an absent one."""
        thresholds = [
            {"metric": "auc", "lower_bound": 0.7},
            {"metric": "auc", "lower_bound": 0.5, "slice": {"race": "Other"}},
            {"metric": "auc", "lower_bound": 0.5, "slice": {"race": "Martian"}},
        ]
        return write_spec(
            self.spec_path.parent, "census", **SAMPLE_CHANGES, training=self.training(),
            evaluation={"thresholds": thresholds, "min_slice_size": 30},
        )  # fmt: skip

    def biased_data_spec(self) -> Path:
        """The sample, but every woman's label in the training data is `<=50K`."""
        data = self.root / "biased"
        data.mkdir()
        shutil.copy(self.spec.file_path("test"), data / "test.csv")
        with self.spec.file_path("train").open() as f:
            rows = list(csv.reader(f))
        sex, income = rows[0].index("sex"), rows[0].index("income")
        for row in rows[1:]:
            if row[sex] == "Female":
                row[income] = "<=50K"
        with (data / "train.csv").open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        self.write_score_file(data)
        return write_spec(
            data, "census", **SAMPLE_CHANGES,
            training=self.training(), score=SCORE_FILE,
        )  # fmt: skip


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("census_e2e"))
    workspace.run()
    workspace.run(overrides=MORE_STEPS)
    workspace.run(overrides=MORE_STEPS)
    assert workspace.scoring_spec() == workspace.spec_path
    workspace.run(overrides=MORE_STEPS)
    strict = workspace.impossible_threshold_spec()
    assert strict == workspace.spec_path  # the same file, edited in place
    workspace.run(strict)
    workspace.run(workspace.anomalous_data_spec(), expect_failure=True)
    workspace.run(workspace.drifted_data_spec(), expect_failure=True)
    edited = workspace.root / "module_file.py"
    edited.write_text(MODULE_FILE.read_text() + "\n# An edit: TFX fingerprints the file.\n")
    workspace.run(module_file=edited)
    workspace.run(workspace.slice_thresholds_spec())
    workspace.run(workspace.biased_data_spec())
    return workspace
