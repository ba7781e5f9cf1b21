"""A multi-class model's metrics inside TFMA's real evaluation (`tfma.analyze_raw_data`:
Beam, slicing, binarized sub keys, validation, the metrics and plots files), configured by
`eval_config.multiclass_metrics_specs` as the pipeline's Evaluator is. Probabilities
come from a fixed generator, so every case is reproducible."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval_config import multiclass_metrics_specs
from pipeline.metrics import catalogue
from pipeline.reports.evaluation_tables import (
    class_confusion,
    class_table,
    fairness_gaps,
    fairness_table,
    metrics_frame,
    slice_table,
)
from pipeline.reports.summary import failed_thresholds
from pipeline.spec import Bootstrap, FairnessGate, Threshold, load_spec
from tests.conftest import DATA

CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
SPEC = dataclasses.replace(
    load_spec(DATA / "penguins"),
    slice_columns=("sex",),
    slice_crosses=(),
    thresholds=(Threshold("accuracy", 0.5),),
    bootstrap=Bootstrap(replicates=200),
    fairness_gate=FairnessGate({"fnr": 0.15, "fpr": 0.15}, min_group_size=100),
)


def birds(n: int, seed: int = 0, female_chinstrap_miss: float = 0.0) -> pd.DataFrame:
    """Class ids (Adelie the most common) and softmax probabilities that favour the true
    class equally for everyone, unless `female_chinstrap_miss` moves probability from
    Chinstrap to Adelie for female Chinstrap birds (a model biased against them)."""
    rng = np.random.default_rng(seed)
    species = rng.choice(3, n, p=[0.45, 0.2, 0.35])
    sex = rng.choice(["female", "male"], n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), species] += 2.0
    biased = (species == 1) & (sex == "female")
    logits[biased, 1] -= female_chinstrap_miss
    logits[biased, 0] += female_chinstrap_miss
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pd.DataFrame(
        {"species": species, "probabilities": list(probabilities.astype(np.float32)), "sex": sex}
    )


def evaluate(frame: pd.DataFrame, path: Path, spec=SPEC, extra=()) -> str:
    """TFMA on `frame` with the pipeline's multi-class MetricsSpecs (the model's output; the
    simple baselines' spec left out: the frame has no baseline outputs), and `extra`."""
    import tensorflow_model_analysis as tfma

    specs = []
    for metrics_spec in multiclass_metrics_specs(spec):
        if list(metrics_spec.output_names) != ["probabilities"]:
            continue
        del metrics_spec.output_names[:]
        del metrics_spec.model_names[:]
        specs.append(metrics_spec)
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="species", prediction_key="probabilities")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["sex"])],
        metrics_specs=[*specs, *extra],
        options=tfma.Options(include_default_metrics={"value": False}),
    )
    tfma.analyze_raw_data(frame, config, output_path=str(path))
    return str(path)


def _value(frame: pd.DataFrame, metric: str, label_class: str | None = None, where="Overall"):
    rows = frame[(frame["slice"] == where) & (frame["metric"] == metric)]
    rows = rows[rows["class"].isna() if label_class is None else rows["class"] == label_class]
    (value,) = rows["value"]
    return value


def test_the_collections_metrics_equal_tfmas_own_multiclass_metrics(tmp_path):
    """Accuracy, each class's top-1 precision and recall, its one-vs-rest AUC and the
    confusion matrix: the same as TFMA's own classes computed beside them."""
    import tensorflow_model_analysis as tfma

    frame = birds(1500)
    # TFMA's Precision and Recall decide by the top class with top_k 1, as ours do.
    theirs = [
        tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy", config=json.dumps(
                {"name": "tfma_accuracy"})),
        ]),
        tfma.MetricsSpec(
            metrics=[
                tfma.MetricConfig(class_name="Precision", config=json.dumps(
                    {"top_k": 1, "name": "tfma_precision"})),
                tfma.MetricConfig(class_name="Recall", config=json.dumps(
                    {"top_k": 1, "name": "tfma_recall"})),
                tfma.MetricConfig(class_name="AUC", config=json.dumps({"name": "tfma_auc"})),
            ],
            binarize=tfma.BinarizationOptions(class_ids={"values": [0, 1, 2]}),
        ),
    ]  # fmt: skip
    path = evaluate(frame, tmp_path, extra=theirs)
    metrics = metrics_frame(path, SPEC)
    accuracy = catalogue.TOP1_ACCURACY.tfma_name
    assert _value(metrics, accuracy) == pytest.approx(_value(metrics, "tfma_accuracy"), abs=1e-6)
    for name in CLASSES:
        for ours, theirs_name in (("precision", "tfma_precision"), ("recall", "tfma_recall")):
            assert _value(metrics, ours, name) == pytest.approx(
                _value(metrics, theirs_name, name), abs=1e-6
            ), (ours, name)
        # TFMA's AUC interpolates a 10,000-bucket histogram; ours is exact.
        assert _value(metrics, "auc", name) == pytest.approx(
            _value(metrics, "tfma_auc", name), abs=2e-3
        )
    # The plot (TFMA's MultiClassConfusionMatrixPlot, its matrices counted from the
    # collection: the two cannot run side by side, they write the same private key) holds
    # every slice's counts of (actual, top class).
    matrices = class_confusion(path, SPEC)
    truth = frame["species"].to_numpy()
    top = np.stack(frame["probabilities"]).argmax(axis=1)
    for name, rows in (("Overall", frame["sex"] != ""), ("sex=female", frame["sex"] == "female")):
        expected = np.zeros((3, 3))
        np.add.at(expected, (truth[rows], top[rows]), 1)
        np.testing.assert_array_equal(matrices[(name, "")].to_numpy(), expected)
    matrix = matrices[("Overall", "")]
    assert matrix.to_numpy().sum() == len(frame) and list(matrix.index) == CLASSES


def test_every_metric_per_class_and_slice_has_an_interval_around_its_value(tmp_path):
    metrics = metrics_frame(evaluate(birds(800, seed=1), tmp_path), SPEC)
    bounded = metrics[metrics["lower"].notna()]
    assert set(bounded["slice"]) == {"Overall", "sex=female", "sex=male"}
    per_class = bounded[bounded["class"].notna()]
    assert set(per_class["class"]) == set(CLASSES)
    assert {"precision", "recall", "f1_score", "auc", "miss_rate", "fall_out"} <= set(
        per_class["metric"]
    )
    assert {"sparse_categorical_accuracy", "macro_f1", "macro_auc"} <= set(
        bounded.loc[bounded["class"].isna(), "metric"]
    )
    outside = bounded[(bounded["value"] < bounded["lower"] - 1e-9)
                      | (bounded["value"] > bounded["upper"] + 1e-9)]  # fmt: skip
    assert outside.empty, outside
    table = class_table(metrics, SPEC)
    assert list(table.index) == CLASSES and "recall low" in table
    assert {"accuracy", "macro F1", "macro AUC", "accuracy low"} <= set(slice_table(metrics))


def test_a_bound_on_one_class_binds_to_that_class_only(tmp_path):
    import tensorflow_model_analysis as tfma

    frame = birds(600, seed=2)
    spec = dataclasses.replace(
        SPEC,
        fairness_gate=None,
        thresholds=(
            Threshold("recall", 0.999, label_class="Chinstrap"),
            Threshold("recall", 0.1, label_class="Gentoo"),
            Threshold("macro_f1", 0.2),
        ),
    )
    path = evaluate(frame, tmp_path, spec)
    result = tfma.load_validation_result(path)
    assert not result.validation_ok
    (failure,) = [f for s in result.metric_validations_per_slice for f in s.failures]
    assert failure.metric_key.name == "recall" and failure.metric_key.sub_key.class_id.value == 1
    (line,) = failed_thresholds(path, spec)
    assert (
        line.startswith("recall of class Chinstrap = 0.") and "below the lower bound 0.999" in line
    )


def test_the_fairness_gate_per_class_passes_a_fair_model_and_blocks_a_biased_one(tmp_path):
    import tensorflow_model_analysis as tfma

    fair = evaluate(birds(3000, seed=3), tmp_path / "fair")
    assert tfma.load_validation_result(fair).validation_ok, failed_thresholds(fair, SPEC)
    gaps = fairness_gaps(metrics_frame(fair, SPEC), SPEC)
    assert len(gaps) == 2 * 2 * 3  # groups x rates x classes
    assert gaps["ok"].all()

    biased = evaluate(birds(3000, seed=3, female_chinstrap_miss=3.0), tmp_path / "biased")
    assert not tfma.load_validation_result(biased).validation_ok
    lines = failed_thresholds(biased, SPEC)
    assert any(
        line.startswith("fairness gate: the FNR of class Chinstrap differs")
        and "sex=female" in line
        for line in lines
    ), lines
    gaps = fairness_gaps(metrics_frame(biased, SPEC), SPEC).set_index(["group", "class", "rate"])
    assert not gaps.loc[("female", "Chinstrap", "FNR"), "ok"]
    assert gaps.loc[("female", "Gentoo", "FNR"), "ok"]
    rates = fairness_table(metrics_frame(biased, SPEC), SPEC).set_index(["group", "class"])
    assert rates.loc[("female", "Chinstrap"), "FNR"] > 0.5 > rates.loc[("male", "Chinstrap"), "FNR"]
