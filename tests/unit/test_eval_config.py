"""The eval_config is derived from the spec: slices, metrics and overall-only thresholds."""

from __future__ import annotations

import dataclasses
import json

import tensorflow_model_analysis as tfma

import eval_config
from pipeline.spec import Threshold, load_spec
from tests.conftest import DATA


def _configs(config: tfma.EvalConfig) -> dict[str, list[tfma.MetricConfig]]:
    """The model output's metric configs by class name (a ScoreMetric also by its name, a
    HistogramMetric by the TFMA class it wraps)."""
    by_name: dict[str, list[tfma.MetricConfig]] = {}
    for spec in config.metrics_specs:
        if list(spec.output_names) != ["probabilities"]:
            continue
        for metric in spec.metrics:
            by_name.setdefault(metric.class_name, []).append(metric)
            if metric.class_name == "ScoreMetric":
                by_name.setdefault(json.loads(metric.config)["name"], []).append(metric)
            if metric.class_name == "HistogramMetric":
                by_name.setdefault(json.loads(metric.config)["metric"], []).append(metric)
    return by_name


def test_census_slices_are_overall_columns_buckets_and_crosses():
    config = eval_config.create_eval_config(load_spec(DATA / "census"))
    keys = [list(s.feature_keys) for s in config.slicing_specs]
    assert keys == [[], ["sex"], ["race"], ["age_bucket"], ["sex", "race"]]


def test_fairness_rates_are_computed_at_every_spec_threshold():
    config = eval_config.create_eval_config(load_spec(DATA / "census"))
    metrics = _configs(config)
    rates = {json.loads(m.config)["name"]: json.loads(m.config) for m in metrics["ScoreMetric"]}
    for name in ("fall_out", "miss_rate", "recall", "specificity", "false_discovery_rate",
                 "false_omission_rate", "precision", "f1_score", "negative_predictive_value"):  # fmt: skip
        assert rates[name]["thresholds"] == [0.3, 0.5, 0.7], name
    assert {m.module for m in metrics["ScoreMetric"]} == {"pipeline.metrics.score"}
    for name in ("ExampleCount", "AUC", "AUCPrecisionRecall", "ConfusionMatrixPlot",
                 "CalibrationPlot", "binary_accuracy", "calibration", "mean_label"):  # fmt: skip
        assert name in metrics, name


def test_thresholds_bind_the_overall_slice_with_floor_and_no_regression():
    config = eval_config.create_eval_config(load_spec(DATA / "census"))
    (auc,) = _configs(config)["AUC"]
    (bound,) = auc.per_slice_thresholds
    assert [list(s.feature_keys) for s in bound.slicing_specs] == [[]]
    assert bound.threshold.value_threshold.lower_bound.value == 0.85
    assert bound.threshold.change_threshold.absolute.value == -0.01
    assert bound.threshold.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    # Accuracy comes from the shared score collection, bound as TFMA's BinaryAccuracy was.
    (accuracy,) = _configs(config)["binary_accuracy"]
    assert accuracy.per_slice_thresholds[0].threshold.value_threshold.lower_bound.value == 0.8
    assert not accuracy.per_slice_thresholds[0].threshold.HasField("change_threshold")


def test_model_spec_reads_label_and_slices_from_the_transform_signature():
    (model_spec,) = eval_config.create_eval_config(load_spec(DATA / "compas")).model_specs
    assert model_spec.label_key == "two_year_recid"
    assert list(model_spec.preprocessing_function_names) == ["transform_features"]
    # The evaluation signature: the model and its baselines, one output each.
    assert model_spec.signature_name == "evaluation" and not model_spec.prediction_key
    # Named, so that TFMA does not load each model with Keras to find out its type.
    assert model_spec.model_type == tfma.TF_GENERIC


def test_thresholds_bind_the_models_output_and_baselines_get_no_threshold():
    config = eval_config.create_eval_config(load_spec(DATA / "census"))
    compared, candidate, baselines = config.metrics_specs
    assert list(compared.output_names) == list(candidate.output_names) == ["probabilities"]
    assert any(m.per_slice_thresholds for m in compared.metrics)
    assert list(baselines.output_names) == ["linear", "majority", "chance"]
    assert not any(m.per_slice_thresholds for m in baselines.metrics)
    names = {json.loads(m.config)["name"] for m in baselines.metrics}
    assert {m.class_name for m in baselines.metrics} == {"ScoreMetric"}
    assert names == {"auc", "binary_accuracy"}


def test_a_slice_threshold_binds_its_slice_and_its_size(tmp_path):
    from tests.conftest import make_census_sample

    thresholds = [
        {"metric": "auc", "lower_bound": 0.85},
        {"metric": "auc", "lower_bound": 0.8, "slice": {"sex": "Female"}},
    ]
    spec = load_spec(
        make_census_sample(
            tmp_path, train_rows=50, test_rows=20,
            evaluation={"thresholds": thresholds, "min_slice_size": 50},
        )
    )  # fmt: skip
    metrics = _configs(eval_config.create_eval_config(spec))
    (auc,) = metrics["AUC"]
    overall, female = auc.per_slice_thresholds
    assert overall.slicing_specs[0] == tfma.SlicingSpec()
    assert dict(female.slicing_specs[0].feature_values) == {"sex": "Female"}
    assert female.threshold.value_threshold.lower_bound.value == 0.8
    # The sliced bound also needs at least min_slice_size test examples on that slice.
    (count,) = metrics["ExampleCount"]
    (size,) = count.per_slice_thresholds
    assert dict(size.slicing_specs[0].feature_values) == {"sex": "Female"}
    assert size.threshold.value_threshold.lower_bound.value == 50


def test_a_regression_spec_gets_regression_metrics_bounds_and_baselines():
    config = eval_config.create_eval_config(load_spec(DATA / "diabetes"))
    model, candidate, baselines = config.metrics_specs
    assert list(model.output_names) == list(candidate.output_names) == ["predictions"]
    assert list(baselines.output_names) == ["linear", "mean"]
    names = {m.class_name for m in model.metrics}
    assert not names & {"AUC", "BinaryAccuracy", "KolmogorovSmirnov", "ScoreMetric", "FairnessGap"}
    custom = {
        json.loads(m.config)["name"]: m
        for m in model.metrics
        if m.class_name == "RegressionMetrics"
    }
    assert set(custom) == {
        "root_mean_squared_error", "root_mean_squared_log_error", "r_squared",
        "adjusted_r_squared",
    }  # fmt: skip
    (rmse,) = custom["root_mean_squared_error"].per_slice_thresholds
    assert rmse.threshold.value_threshold.upper_bound.value == 65
    assert not rmse.threshold.value_threshold.HasField("lower_bound")
    change = rmse.threshold.change_threshold
    assert change.direction == tfma.MetricDirection.LOWER_IS_BETTER
    assert change.absolute.value == 5  # may grow by at most 5
    (r2,) = custom["r_squared"].per_slice_thresholds
    assert r2.threshold.value_threshold.lower_bound.value == 0.3
    assert not custom["adjusted_r_squared"].per_slice_thresholds
    (intervals,) = [m for m in candidate.metrics if m.class_name == "BootstrapIntervals"]
    assert json.loads(intervals.config)["regression"] is True
    assert json.loads(intervals.config)["num_features"] == 10
    (baseline_metrics,) = baselines.metrics
    assert json.loads(baseline_metrics.config)["metrics"] == [
        "root_mean_squared_error",
        "r_squared",
    ]
    assert not baseline_metrics.per_slice_thresholds


def _names(spec: tfma.MetricsSpec) -> set[str]:
    """Each metric's name, class name, or the TFMA class a HistogramMetric wraps."""
    return {eval_config.metric_config_name(m) for m in spec.metrics}


def test_a_baseline_model_is_evaluated_on_what_the_comparison_and_the_bounds_need():
    """As TFX's Evaluator prepares the config: with a baseline model, the rates, intervals,
    gate and simple baselines are the candidate's only; with one model, it gets them all."""
    spec = load_spec(DATA / "census")
    two = tfma.utils.update_eval_config_with_defaults(
        eval_config.create_eval_config(spec), has_baseline=True, rubber_stamp=True
    )
    by_models = {tuple(s.model_names): s for s in two.metrics_specs}
    both = by_models[("candidate", "baseline")]
    assert {"AUC", "binary_accuracy", "ConfusionMatrixPlot", "KolmogorovSmirnov"} <= _names(both)
    # Every bounded metric, so that no-regression bounds have the baseline's value.
    assert all(
        eval_config.metric_config_name(m) in _names(both)
        for s in two.metrics_specs
        for m in s.metrics
        if any(t.threshold.HasField("change_threshold") for t in m.per_slice_thresholds)
    )
    candidate_only = [s for s in two.metrics_specs if list(s.model_names) == ["candidate"]]
    assert {tuple(s.output_names) for s in candidate_only} == {
        ("probabilities",),
        ("linear", "majority", "chance"),
    }
    (model,) = [s for s in candidate_only if list(s.output_names) == ["probabilities"]]
    assert {"BootstrapIntervals", "fall_out", "fairness_gap/fpr/sex"} <= _names(model)
    assert not _names(model) & _names(both)
    one = tfma.utils.update_eval_config_with_defaults(
        eval_config.create_eval_config(spec), has_baseline=False, rubber_stamp=True
    )
    assert all(list(s.model_names) == [""] for s in one.metrics_specs)


def test_a_bound_on_mae_binds_tfmas_mean_absolute_error():
    """`mae` is TFMA's own MeanAbsoluteError, configured by class like the example count."""
    spec = load_spec(DATA / "diabetes")
    mae = Threshold("mae", None, 2.0, upper_bound=60.0)
    config = eval_config.create_eval_config(dataclasses.replace(spec, thresholds=(mae,)))
    (bounded,) = [m for m in config.metrics_specs[0].metrics if m.class_name == "MeanAbsoluteError"]
    (bound,) = bounded.per_slice_thresholds
    assert bound.threshold.value_threshold.upper_bound.value == 60
    assert bound.threshold.change_threshold.direction == tfma.MetricDirection.LOWER_IS_BETTER
