"""The custom metrics inside TFMA's real evaluation (`tfma.analyze_raw_data`: Beam,
slicing, validation, the metrics file), configured by `eval_config.metric_configs` as
the pipeline's Evaluator is: KS and lift/gain, bootstrap intervals, the fairness gate.
Scores come from a fixed generator, so every case is reproducible."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval_config import metric_configs
from pipeline.metrics import catalogue
from pipeline.metrics.ranking import ScoredExamples, ks_statistic
from pipeline.reports.evaluation_tables import fairness_gaps, gain_table, metrics_frame, slice_table
from pipeline.reports.summary import failed_thresholds
from pipeline.spec import Bootstrap, FairnessGate, Threshold, load_spec
from tests.conftest import DATA
from tests.unit.test_ranking_metrics import LABELS, SCORES

SPEC = dataclasses.replace(
    load_spec(DATA / "census" / "dataset.yaml"),
    # An absolute floor only: change thresholds need a baseline model.
    thresholds=(Threshold("auc", 0.5),),
    bootstrap=Bootstrap(replicates=300),
    fairness_gate=FairnessGate({"fnr": 0.1, "fpr": 0.1}, threshold=0.5, min_group_size=30),
)


def people(n: int, seed: int = 0, female_miss: float = 0.0) -> pd.DataFrame:
    """Label ~30% positive; the score separates the classes equally well for everyone,
    unless `female_miss` pulls the scores of positive women down (a biased model)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male"], n)
    race = rng.choice(["White", "Black"], n, p=[0.8, 0.2])
    label = (rng.random(n) < 0.3).astype(float)
    score = 0.3 + 0.35 * label + rng.normal(0, 0.15, n)
    score -= female_miss * label * (sex == "Female")
    return pd.DataFrame(
        {"income": label, "prediction": np.clip(score, 0, 1), "sex": sex, "race": race}
    )


def evaluate(frame: pd.DataFrame, path: Path, spec=SPEC) -> str:
    import tensorflow_model_analysis as tfma

    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="income", prediction_key="prediction")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["sex"])],
        metrics_specs=[tfma.MetricsSpec(metrics=metric_configs(spec))],
        options=tfma.Options(include_default_metrics={"value": False}),
    )
    tfma.analyze_raw_data(frame, config, output_path=str(path))
    return str(path)


def value(frame: pd.DataFrame, slice_name: str, metric: str, threshold=None) -> pd.Series:
    rows = frame[(frame["slice"] == slice_name) & (frame["metric"] == metric)]
    if threshold is not None:
        rows = rows[np.isclose(rows["threshold"], threshold)]
    return rows.iloc[0]


def test_ks_lift_and_gain_through_tfma_equal_the_hand_computation(tmp_path):
    hand = pd.DataFrame(
        {
            "income": np.array(LABELS, dtype=float),
            "prediction": SCORES,
            "sex": ["Female", "Male"] * 5,
            "race": ["White"] * 10,
        }
    )
    frame = metrics_frame(evaluate(hand, tmp_path), SPEC)
    assert value(frame, "Overall", "ks_statistic")["value"] == pytest.approx(3 / 4 - 1 / 6)
    assert value(frame, "Overall", "lift@10%")["value"] == pytest.approx(2.5)
    gains = gain_table(frame)
    assert list(gains["gain"]) == pytest.approx([0.25, 0.5, 0.5, 0.75, 0.75, 0.75, 1, 1, 1, 1])
    # Per slice: the same statistic on the slice's own examples.
    female = hand[hand["sex"] == "Female"]
    expected = ks_statistic(
        ScoredExamples(list(female["prediction"]), list(female["income"]), [1.0] * len(female))
    )
    assert value(frame, "sex=Female", "ks_statistic")["value"] == pytest.approx(expected)


def test_every_metric_has_an_interval_around_tfmas_value_that_narrows_with_more_data(
    tmp_path,
):
    small = metrics_frame(evaluate(people(500), tmp_path / "small"), SPEC)
    large = metrics_frame(evaluate(people(8000), tmp_path / "large"), SPEC)
    for frame in (small, large):
        bounded = frame[frame["lower"].notna()]
        # Headline metrics, KS, lift and gain, and every rate at every threshold.
        names = set(bounded["metric"])
        assert {"auc", "binary_accuracy", "ks_statistic", "lift@10%", "fall_out"} <= names
        assert set(bounded["slice"]) == {"Overall", "sex=Female", "sex=Male"}
        outside = bounded[(bounded["value"] < bounded["lower"] - 1e-9)
                          | (bounded["value"] > bounded["upper"] + 1e-9)]  # fmt: skip
        assert outside.empty, outside[["slice", "metric", "threshold", "value", "lower", "upper"]]
        assert "AUC low" in slice_table(frame).columns
    for metric, threshold in (("auc", None), ("miss_rate", 0.5), ("lift@10%", None)):
        narrow = value(large, "Overall", metric, threshold)
        wide = value(small, "Overall", metric, threshold)
        # 16x the data: about 4x narrower.
        assert narrow["upper"] - narrow["lower"] < (wide["upper"] - wide["lower"]) / 2, metric


def test_fairness_gate_passes_a_fair_model_and_blocks_a_biased_one(tmp_path):
    import tensorflow_model_analysis as tfma

    fair = evaluate(people(4000, seed=1), tmp_path / "fair")
    assert tfma.load_validation_result(fair).validation_ok, failed_thresholds(fair, SPEC)
    assert fairness_gaps(metrics_frame(fair, SPEC), SPEC)["ok"].all()

    biased = evaluate(people(4000, seed=1, female_miss=0.3), tmp_path / "biased")
    assert not tfma.load_validation_result(biased).validation_ok
    lines = failed_thresholds(biased, SPEC)
    gate = [line for line in lines if line.startswith("fairness gate")]
    assert len(gate) == 1, lines  # only the FNR of sex; FPR and race are unaffected
    assert "FNR differs" in gate[0] and "max_gap.fnr allows 0.1" in gate[0]
    gaps = fairness_gaps(metrics_frame(biased, SPEC), SPEC).set_index(["group", "rate"])
    female_fnr = gaps.loc[("Female", "FNR"), "gap"]
    assert female_fnr > 0.1 and f"sex=Female by {female_fnr:+.4f}" in gate[0]
    assert not gaps.loc[("Female", "FNR"), "ok"] and gaps.loc[("Female", "FPR"), "ok"]


def test_a_group_below_min_group_size_is_reported_not_gated(tmp_path):
    frame = people(3000, seed=2, female_miss=0.3)
    frame.loc[frame.index[:40], "race"] = "Other"  # 40 examples: too few at 50
    spec = dataclasses.replace(
        SPEC, fairness_gate=dataclasses.replace(SPEC.fairness_gate, min_group_size=50)
    )
    gaps = fairness_gaps(metrics_frame(evaluate(frame, tmp_path, spec), spec), spec)
    other = gaps[(gaps["column"] == "race") & (gaps["group"] == "Other")]
    assert len(other) == 2 and other["ok"].isna().all()
    assert not math.isnan(other["gap"].iloc[0])


def test_regression_metrics_through_tfma_per_slice(tmp_path):
    import tensorflow_model_analysis as tfma

    from pipeline.metrics.regression import R_SQUARED, RMSE, RegressionSums, regression_metrics

    rng = np.random.default_rng(3)
    n = 400
    group = rng.choice(["a", "b"], n)
    x = rng.normal(0, 1, n)
    label = 100 + 20 * x + rng.normal(0, 5 + 10 * (group == "b"), n)  # b is noisier
    frame = pd.DataFrame({"label": label, "prediction": 100 + 20 * x, "group": group})
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["group"])],
        metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(
            class_name="RegressionMetrics", module="pipeline.metrics.regression",
            config='{"num_features": 1}')])],
    )  # fmt: skip
    tfma.analyze_raw_data(frame, config, output_path=str(tmp_path))
    metrics = metrics_frame(str(tmp_path))
    for name, rows in (("Overall", frame), ("group=a", frame[group == "a"]),
                       ("group=b", frame[group == "b"])):  # fmt: skip
        acc = RegressionSums()
        for y, p in zip(rows["label"], rows["prediction"], strict=True):
            acc.add(y, p, 1.0)
        expected = regression_metrics(acc, num_features=1)
        for metric in (RMSE, R_SQUARED):
            assert value(metrics, name, metric)["value"] == pytest.approx(expected[metric]), name
    assert value(metrics, "group=b", RMSE)["value"] > value(metrics, "group=a", RMSE)["value"]


def test_rates_and_baseline_metrics_from_the_shared_scores_equal_tfmas_own(tmp_path):
    """The Fairness Indicators rates, the baselines' AUC and accuracy, and the model's
    accuracy and calibration come from the one score collection per slice
    (`pipeline.metrics.score`): the same values as TFMA's own metric classes, computed
    beside them in the same evaluation."""
    import json

    import tensorflow_model_analysis as tfma

    from eval_config import (
        BASELINE_METRICS,
        SCORE_HEADLINE_METRICS,
        THRESHOLDED_METRICS,
        score_metric_config,
    )

    thresholds = [0.3, 0.5, 0.7]
    ours = [score_metric_config(n, thresholds) for n in THRESHOLDED_METRICS]
    ours += [score_metric_config(n) for n in {*BASELINE_METRICS, *SCORE_HEADLINE_METRICS.values()}]
    # The TFMA class of each rate, as the catalogue declares it (checked here).
    classes = {m.tfma_name: m.tfma_class for m in catalogue.RATES}
    theirs = [
        tfma.MetricConfig(
            class_name=classes[n],
            config=json.dumps({"thresholds": thresholds, "name": f"tfma_{n}"}),
        )
        for n in THRESHOLDED_METRICS
    ]
    theirs += [
        tfma.MetricConfig(class_name="AUC", config=json.dumps({"name": "tfma_auc"})),
    ]
    theirs += [
        tfma.MetricConfig(class_name=class_name, config=json.dumps({"name": f"tfma_{name}"}))
        for class_name, name in SCORE_HEADLINE_METRICS.items()
    ]
    frame = people(3000, seed=3)
    frame["prediction"] = frame["prediction"].round(2)  # ties, and scores on the thresholds
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="income", prediction_key="prediction")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["sex"])],
        metrics_specs=[tfma.MetricsSpec(metrics=ours + theirs)],
        options=tfma.Options(include_default_metrics={"value": False}),
    )
    tfma.analyze_raw_data(frame, config, output_path=str(tmp_path))
    values = {}
    for metrics in tfma.load_metrics(str(tmp_path)):
        where = tuple(metrics.slice_key.single_slice_keys)
        for item in metrics.metric_keys_and_values:
            v = item.value
            array = v.array_value.float64_values or v.array_value.float32_values
            values[str(where), item.key.name] = list(array) or [v.double_value.value]
    slices = {key[0] for key in values}
    assert len(slices) == 3
    for where in slices:
        for name in THRESHOLDED_METRICS:
            ours_, theirs_ = values[where, name], values[where, f"tfma_{name}"]
            assert len(ours_) == 3 and ours_ == pytest.approx(theirs_, abs=1e-9), (where, name)
        for name in SCORE_HEADLINE_METRICS.values():  # binary_accuracy, calibration...
            assert values[where, name] == pytest.approx(values[where, f"tfma_{name}"]), name
        # TFMA interpolates a 10,000-bucket histogram; ours is the exact AUC.
        assert values[where, "auc"] == pytest.approx(values[where, "tfma_auc"], abs=2e-3)


def test_histogram_metrics_from_the_shared_scores_equal_tfmas_own(tmp_path):
    """AUC, PR-AUC and the two plots built on the score collection
    (`pipeline.metrics.histogram`) are TFMA's own: the same histogram, so the same values
    and plot points. Two evaluations of the same rows: the histogram's key is the same
    for both, so in one evaluation one of them would stand in for the other."""
    import json

    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format

    from pipeline.metrics.histogram import HISTOGRAM_METRICS

    frame = people(3000, seed=5)
    # Ties everywhere; scores at 0, at 1 and on bucket edges.
    frame["prediction"] = frame["prediction"].round(4)
    frame.loc[:9, "prediction"] = [0.0, 1.0, 0.5, 0.1234, 0.9999, 1.0, 0.0, 0.25, 0.75, 0.3]
    ours = [
        tfma.MetricConfig(
            class_name="HistogramMetric",
            module="pipeline.metrics.histogram",
            config=json.dumps({"metric": m}),
        )
        for m in HISTOGRAM_METRICS
    ]
    theirs = [tfma.MetricConfig(class_name=m) for m in HISTOGRAM_METRICS]
    results = []
    for metrics_configs, path in ((ours, tmp_path / "ours"), (theirs, tmp_path / "theirs")):
        config = tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(label_key="income", prediction_key="prediction")],
            slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["sex"])],
            metrics_specs=[tfma.MetricsSpec(metrics=metrics_configs)],
            options=tfma.Options(include_default_metrics={"value": False}),
        )
        tfma.analyze_raw_data(frame, config, output_path=str(path))
        values = {}
        for metrics in tfma.load_metrics(str(path)):
            where = str(tuple(metrics.slice_key.single_slice_keys))
            for item in metrics.metric_keys_and_values:
                values[where, item.key.name] = [item.value.double_value.value]
        for slice_plots in tfma.load_plots(str(path)):
            where = str(tuple(slice_plots.slice_key.single_slice_keys))
            for item in slice_plots.plot_keys_and_values:
                for field, plot in item.value.ListFields():
                    values[where, field.name] = _numbers(json_format.MessageToDict(plot))
        results.append(values)
    ours_values, theirs_values = results
    assert ours_values.keys() == theirs_values.keys()
    assert len({key[0] for key in ours_values}) == 3  # overall and two sexes
    for key, value in ours_values.items():
        assert value == pytest.approx(theirs_values[key], rel=1e-12, nan_ok=True), key
        assert key[1] in ("auc", "auc_precision_recall") or len(value) > 1000, key
    assert 0.5 < ours_values["()", "auc"][0] < 1.0


def _numbers(tree) -> list[float]:
    """Every number in a plot (a proto as a dict) in a fixed order."""
    if isinstance(tree, dict):
        return [x for key in sorted(tree) for x in _numbers(tree[key])]
    if isinstance(tree, list):
        return [x for item in tree for x in _numbers(item)]
    return [float(tree)]  # int64 fields, NaN and Infinity come as strings
