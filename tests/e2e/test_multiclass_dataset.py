"""A multi-class data set runs end to end from its spec: Palmer penguins, three species.

`data/penguins/dataset.yaml` declares `task: multiclass_classification` and the species;
no code names a column, a class or the task's metrics. Two runs share one pipeline root:
(0) the bundled spec as it is: a softmax model, evaluated on top-1 accuracy, each
species' precision, recall, F1 and one-vs-rest AUC, the macro averages and the confusion
matrix per slice and cross, with bootstrap intervals, against the majority, chance and
linear baselines, with an ablation and a fairness gate per species; blessed and pushed;
(1) the same spec with a bound on one species' recall that no model meets, trained with
more steps: Transform and the ablation are cached, the new model is evaluated against the
first one as its baseline (a no-regression bound on accuracy compares the two), it is not
blessed and nothing new is pushed.
The run summary, the HTML report (in a real browser) and the model notebook (on a real
kernel) show all of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.metrics import catalogue
from pipeline.model.outputs import PREDICTED_CLASS_KEY, PREDICTION_KEY
from pipeline.reports import evaluation_tables as tables
from pipeline.reports.artifacts import find_run
from pipeline.reports.html import report_path
from pipeline.reports.summary import RunSummary, format_summary, summarize_run
from pipeline.runners import local as local_runner
from pipeline.spec import load_spec
from tests.conftest import DATA, write_spec
from tests.e2e.browser import open_page
from tests.e2e.notebook import execute_notebook

FIRST, TIGHT = range(2)
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
# Recall is at most 1: no model meets this bound on one species.
IMPOSSIBLE_RECALL = 1.01
# The second run's training steps: a new model, so the first one is its baseline (a run
# whose model is the first one's would have no other blessed model to compare with).
MORE_STEPS = {"train_steps": 650}


class MulticlassRuns:
    """The penguins data in a temporary directory, its output root, the runs' summaries."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        shutil.copytree(DATA / "penguins", self.data)
        self.spec = load_spec(self.data)
        self.output_dir = root / "outputs"
        self.paths = local_runner.paths_for(self.spec, self.output_dir)
        self.name = local_runner.pipeline_name(self.spec)
        self.summaries: list[RunSummary] = []
        self.versions: list[list[str]] = []

    def run(self, spec_path: Path | None = None, overrides: dict | None = None) -> None:
        spec = load_spec(spec_path, overrides) if spec_path else self.spec
        local_runner.run(spec, self.output_dir)
        self.summaries.append(summarize_run(self.paths.metadata_path, self.name, spec=spec))
        serving = self.paths.serving_dir
        self.versions.append(sorted(p.name for p in serving.iterdir()) if serving.exists() else [])

    def evaluation(self, index: int) -> str:
        run = find_run(self.paths.metadata_path, self.name, self.summaries[index].run_id)
        return run.evaluation.uri

    def frame(self, index: int) -> pd.DataFrame:
        return tables.metrics_frame(self.evaluation(index), self.spec)

    def report(self, index: int) -> Path:
        return report_path(self.paths.reports_dir, self.summaries[index].run_id)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> MulticlassRuns:
    root = tmp_path_factory.mktemp("penguins")
    runs = MulticlassRuns(root)
    runs.run()
    # Edited in place, as a user would: the same data, one more bound.
    bounds = [
        {"metric": "accuracy", "lower_bound": 0.9, "max_regression": 0.05},
        {"metric": "recall", "class": "Gentoo", "lower_bound": IMPOSSIBLE_RECALL},
    ]
    runs.run(write_spec(runs.data, "penguins", evaluation={"thresholds": bounds}), MORE_STEPS)
    return runs


def test_the_multiclass_pipeline_is_blessed_and_pushed(runs):
    summary = runs.summaries[FIRST]
    assert {c.state for c in summary.components} == {"ran"}
    assert {"Ablation", "Evaluator", "Pusher"} <= {c.node_id for c in summary.components}
    assert summary.blessed is True and summary.pushed_to
    assert len(runs.versions[FIRST]) == 1
    overall = summary.metrics["Overall"]
    # The spec's bounds: accuracy >= 0.9, macro F1 >= 0.85 (and Chinstrap recall >= 0.7).
    assert overall["accuracy"] >= 0.9 and overall["macro F1"] >= 0.85
    # About a fifth of the 344 birds land in the hash-split test split.
    assert 50 < overall["n"] < 100
    assert {"island=Biscoe", "island=Dream", "sex=female", "sex=male"} <= set(summary.metrics)
    assert "island=Dream, sex=female" in summary.metrics
    # The console's summary: the multi-class columns, each once.
    printed = format_summary(summary)
    header = next(line for line in printed.splitlines() if line.strip().startswith("slice"))
    lines = [line.strip() for line in printed.splitlines()]
    for title in ("accuracy", "macro F1", "macro AUC"):  # overall, with intervals
        assert sum(line.startswith(f"{title}  ") and "[" in line for line in lines) == 1, title
    # Per slice, the task's compared pair.
    assert header.split() == ["slice", "n", "accuracy", "macro", "F1"]


def test_accuracy_per_class_and_macro_metrics_have_intervals_per_slice(runs):
    frame = runs.frame(FIRST)
    table = tables.slice_table(frame, kinds=("overall", "feature"))
    for title in ("accuracy", "macro F1", "macro AUC", "macro precision", "macro recall"):
        assert f"{title} low" in table, title
        defined = table[title].notna()
        inside = (table[f"{title} low"] <= table[title] + 1e-9) & (
            table[title] <= table[f"{title} high"] + 1e-9
        )
        assert inside[defined].all(), table[[title, f"{title} low", f"{title} high"]]
    # No binary metric is reported for a multi-class model.
    assert not {"AUC", "AUC-PR", "KS", "calibration"} & set(table.columns)
    # Each species against the others, per slice, under its name.
    classes = tables.class_table(frame, runs.spec)
    assert list(classes.index) == CLASSES
    for title in ("precision", "recall", "F1", "AUC"):
        assert classes[title].between(0.8, 1).all() and f"{title} low" in classes
    # Biscoe has no Chinstrap in these data: its recall there does not exist.
    biscoe = tables.class_table(frame, runs.spec, "island=Biscoe")
    assert np.isnan(biscoe.loc["Chinstrap", "recall"]) and biscoe.loc["Gentoo", "recall"] > 0.8


def test_the_confusion_matrix_plot_is_written_per_slice_and_cross(runs):
    matrices = tables.class_confusion(runs.evaluation(FIRST), runs.spec)
    summary = runs.summaries[FIRST]
    for name in ("Overall", "island=Dream", "sex=male", "island=Biscoe, sex=female"):
        matrix = matrices[(name, "")]
        assert list(matrix.index) == CLASSES and list(matrix.columns) == CLASSES
        assert matrix.to_numpy().sum() == summary.metrics[name]["n"], name
    overall = matrices[("Overall", "")]
    accuracy = np.trace(overall.to_numpy()) / overall.to_numpy().sum()
    assert accuracy == pytest.approx(summary.metrics["Overall"]["accuracy"])
    # Gentoo live on Biscoe only: no Gentoo row on Dream.
    assert matrices[("island=Dream", "")].loc["Gentoo"].sum() == 0


def test_the_model_beats_the_majority_and_chance_baselines(runs):
    frame = runs.frame(FIRST)
    for metric in catalogue.COMPARED[catalogue.MULTICLASS]:
        scores = tables.baseline_table(frame, metric.tfma_name).loc["Overall"]
        assert {"model", "linear", "majority", "chance"} <= set(scores.index)
        assert scores["model"] > max(scores["majority"], scores["chance"]) + 0.3, metric.name
    accuracy = tables.baseline_table(frame, catalogue.TOP1_ACCURACY.tfma_name).loc["Overall"]
    # The majority baseline says Adelie (152 of the 344 birds) for every bird.
    matrix = tables.class_confusion(runs.evaluation(FIRST), runs.spec)[("Overall", "")]
    adelie_share = matrix.loc["Adelie"].sum() / matrix.to_numpy().sum()
    assert accuracy["majority"] == pytest.approx(adelie_share)
    assert 0.15 < accuracy["chance"] < 0.55


def test_fairness_rates_per_class_and_the_gate_on_them(runs):
    frame = runs.frame(FIRST)
    gaps = tables.fairness_gaps(frame, runs.spec)
    # The sexed birds: two gated groups x two bounded rates x three species (the few
    # unsexed birds are a group too small to gate).
    gated = gaps[gaps["ok"].notna()]
    assert set(gated["group"]) == {"female", "male"} and set(gated["class"]) == set(CLASSES)
    assert len(gated) == 2 * 2 * 3 and gated["ok"].all()
    assert set(gaps.loc[gaps["ok"].isna(), "group"]) <= {tables.MISSING_GROUP}
    rates = tables.fairness_table(frame, runs.spec)
    assert set(rates["class"]) == set(CLASSES) and {"FPR", "FNR", "FNR gap"} <= set(rates)


def test_the_ablation_reports_accuracy_and_macro_f1_changes(runs):
    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    table = tables.ablation_table(run.ablation.uri)
    assert set(table.index) == {"bill", "body", "context"}
    assert table.attrs["metric"] == "accuracy" and not table.attrs["lower_is_better"]
    for title in ("accuracy", "macro F1"):
        change = table[f"{title} without"] - table[f"{title} with"]
        assert np.allclose(change, table[f"{title} change"])
        assert (table[f"{title} change low"] <= table[f"{title} change high"]).all()


def test_the_served_model_names_each_birds_species(runs):
    import tensorflow as tf

    from pipeline.serving.raw_examples import schema_types, serialize_rows

    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    model = tf.saved_model.load(runs.summaries[FIRST].pushed_to)
    rows = pd.read_csv(DATA / "penguins" / "penguins.csv", dtype=str, keep_default_na=False)
    examples = serialize_rows(runs.spec, rows.to_dict("records"), schema_types(run.schema.uri))
    out = model.signatures["serving_default"](tf.constant(examples))
    probabilities = out[PREDICTION_KEY].numpy()
    names = [n.decode() for n in out[PREDICTED_CLASS_KEY].numpy()]
    assert probabilities.shape == (len(rows), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert names == [CLASSES[i] for i in probabilities.argmax(axis=1)]
    assert np.mean(np.array(names) == rows["species"].to_numpy()) > 0.9


def test_an_impossible_bound_on_one_species_blocks_the_push(runs):
    summary = runs.summaries[TIGHT]
    assert summary.state_of("Transform") == "cached" and summary.state_of("Ablation") == "cached"
    assert summary.state_of("Trainer") == "ran" and summary.state_of("Evaluator") == "ran"
    assert summary.blessed is False and summary.pushed_to is None
    assert runs.versions[TIGHT] == runs.versions[FIRST]
    (failure,) = summary.failed_thresholds
    assert failure.startswith("recall of class Gentoo = ")
    assert f"below the lower bound {IMPOSSIBLE_RECALL:g} (Overall)" in failure


def test_the_report_shows_classes_confusion_baselines_fairness_and_ablation(runs, tmp_path):
    page = open_page(runs.report(FIRST), tmp_path / "report.png")
    assert page.console == []
    assert "one of 3 classes (multi-class)" in page.dom
    # The decision: each bound with its value, the one on a species named so.
    header, *rows = page.tables["thresholds"]
    decisions = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert decisions["recall of Chinstrap (recall)"]["bound"] == "pass"
    assert decisions["accuracy (sparse_categorical_accuracy)"]["bound"] == "pass"
    # Slices with intervals, the classes, the confusion matrix, baselines, gate, ablation.
    header = page.tables["slice-metrics"][0]
    assert header[:4] == ["slice", "n", "accuracy", "macro AUC"]
    matrix = tables.class_confusion(runs.evaluation(FIRST), runs.spec)[("Overall", "")]
    shown = page.tables["class-confusion"]
    assert shown[0] == ["actual", *CLASSES]
    assert [row[1:] for row in shown[1:]] == [
        [str(int(v)) for v in row] for row in matrix.to_numpy()
    ]
    classes = {row[0]: row for row in page.tables["class-metrics"][1:]}
    assert set(classes) == set(CLASSES) and "[" in classes["Chinstrap"][3]  # an interval
    assert page.tables["class-recall"][0] == ["slice", "n", *CLASSES]
    for table_id in ("baselines-sparse_categorical_accuracy", "baselines-macro_f1",
                     "fairness-gate", "fairness-sex", "ablation"):  # fmt: skip
        assert table_id in page.tables, table_id
    gate = page.tables["fairness-gate"]
    assert gate[0][:3] == ["column", "group", "class"]
    assert len(page.images) >= 4  # accuracy per slice, confusion matrix, fairness, ablation
    for binary_only in ("gain-lift", "confusion-matrix"):
        assert binary_only not in page.tables
    tight = open_page(runs.report(TIGHT), tmp_path / "tight.png")
    assert "NOT blessed" in tight.dom and "recall of class Gentoo" in tight.dom
    header, *rows = tight.tables["thresholds"]
    decisions = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    accuracy = decisions["accuracy (sparse_categorical_accuracy)"]
    assert accuracy["bound"] == "pass" and accuracy["change"] == "pass"
    assert decisions["recall of Gentoo (recall)"]["bound"] == "fail"
    # Candidate against the baseline (the first run's model): the multi-class headline.
    compared = {row[0] for row in tight.tables["comparison-overall"][1:]}
    assert {"accuracy", "macro F1", "macro AUC"} <= compared


def test_mlflow_logs_each_classs_metrics_under_its_own_key(runs):
    from pipeline.tracking.mlflow_log import run_metrics, run_params

    run = find_run(runs.paths.metadata_path, runs.name, runs.summaries[FIRST].run_id)
    metrics = run_metrics(run, runs.spec)
    frame = runs.frame(FIRST)
    classes = tables.class_table(frame, runs.spec)
    rates = tables.fairness_table(frame, runs.spec).set_index(["group", "class"])
    for name in CLASSES:
        assert metrics[f"recall_of_{name}"] == pytest.approx(classes.loc[name, "recall"])
        assert metrics[f"auc_of_{name}/ci_lower"] == pytest.approx(classes.loc[name, "AUC low"])
        assert metrics[f"miss_rate_of_{name}/sex:female"] == pytest.approx(
            rates.loc[("female", name), "FNR"]
        )
        assert f"fairness_gap/fnr/sex_of_{name}" in metrics
    overall = runs.summaries[FIRST].metrics["Overall"]
    assert metrics["sparse_categorical_accuracy"] == pytest.approx(overall["accuracy"])
    assert metrics["macro_f1/island:Dream"] == pytest.approx(
        runs.summaries[FIRST].metrics["island=Dream"]["macro F1"]
    )
    assert not {"auc", "recall", "fairness_gap/fnr/sex"} & set(metrics)  # no class unnamed
    assert "recall of Chinstrap >= 0.7" in run_params(run, runs.spec)["evaluation.thresholds"]


def test_the_model_notebook_shows_the_classes_and_the_confusion_matrix(runs):
    env = {"PIPELINE_METADATA": str(runs.paths.metadata_path), "PIPELINE_NAME": runs.name,
           "PIPELINE_SPEC": str(runs.spec.spec_path),
           "PIPELINE_RUN_ID": runs.summaries[FIRST].run_id}  # fmt: skip
    text, types = execute_notebook("model_analysis.ipynb", env)
    for shown in ("macro F1", "Chinstrap", "island=Dream, sex=female", "FNR gap", "majority",
                  "accuracy change"):  # fmt: skip
        assert shown in text, shown
    assert "image/png" in types
