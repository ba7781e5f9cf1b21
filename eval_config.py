"""The Evaluator's `tfma.EvalConfig`, derived from the data set spec.

Slices: overall, each slice column, each configured cross (bucketized numerics are sliced
by their bucket feature). Metrics: the classic classification metrics, calibration and
plots (the AUCs and plots TFMA's own), the Fairness Indicators rates at each configured
decision threshold (the `fairness-indicators` package cannot be installed beside TFX
1.16), KS, lift and cumulative gain by decile, the simple baselines' AUC and accuracy,
and bootstrap intervals on every metric. Accuracy, calibration, the rates, the
baselines' metrics, KS, lift and the intervals are custom metrics
(`pipeline.metrics.score`, `pipeline.metrics.ranking`, `pipeline.metrics.intervals`)
derived from one collection of scores per slice, so that TFMA reads each example once per
slice for all of them instead of once per metric (see `pipeline.metrics.score`); TFMA's
AUCs and plots run on a histogram built from that collection
(`pipeline.metrics.histogram`).
Validation: an absolute floor on each configured metric, so a first run can be blessed,
a no-regression bound against the baseline model when there is one, and the fairness
gate's bounds on the gap between each group's error rate and the overall one. The
baseline model is evaluated only on what the comparison needs (`compared_metric_configs`).

A regression spec (`task: regression`) gets RMSE, RMSLE, R-squared, adjusted R-squared
(`pipeline.metrics.regression`), MAE and the mean label and prediction instead, with
their intervals; its error metrics are bounded from above.

A multi-class spec (`task: multiclass_classification`) gets top-1 accuracy, the macro
averages, each class's precision, recall, F1, one-vs-rest AUC and Fairness Indicators
rates (under TFMA's class sub keys: `binarize`), the multi-class confusion matrix plot,
their intervals and the fairness gate per class, all from one collection of each slice's
class probabilities (`pipeline.metrics.multiclass`); see `multiclass_metrics_specs`.
"""

from __future__ import annotations

import json
from typing import Any

import tensorflow_model_analysis as tfma

from pipeline.metrics import catalogue
from pipeline.metrics.fairness_gap import gap_name
from pipeline.metrics.histogram import HISTOGRAM_METRICS
from pipeline.model.outputs import (
    EVALUATION_SIGNATURE,
    TRANSFORM_SIGNATURE,
    baselines,
    prediction_key,
)
from pipeline.spec import DatasetSpec, Threshold, slice_feature

# Modules of the custom metrics: importing them registers the metrics with TFMA.
RANKING_MODULE = catalogue.RANKING_MODULE
INTERVALS_MODULE = "pipeline.metrics.intervals"
GAP_MODULE = "pipeline.metrics.fairness_gap"
SCORE_MODULE = "pipeline.metrics.score"
HISTOGRAM_MODULE = "pipeline.metrics.histogram"
REGRESSION_MODULE = catalogue.REGRESSION_MODULE
MULTICLASS_MODULE = catalogue.MULTICLASS_MODULE

# The catalogue's headline metrics (`catalogue.HEADLINE`), by how they are computed. The
# candidate and the baseline model are both evaluated on them.
_CLASSIFIER_HEADLINE = catalogue.HEADLINE[catalogue.CLASSIFICATION]
# TFMA's own metrics of the model: the example count, and what rests on its calibration
# histogram (the AUCs and the plots, which share one). The histogram is built from the
# shared score collection (`pipeline.metrics.histogram`) instead of by TFMA's combiner.
HEADLINE_METRICS = (catalogue.EXAMPLE_COUNT.tfma_class, *HISTOGRAM_METRICS)
# The other headline metrics (accuracy at 0.5, calibration) from the shared score
# collection: the same values as TFMA's classes (model test), without one combiner each.
# Keyed by the TFMA class a spec's bound names (`catalogue.THRESHOLD_METRICS`).
SCORE_HEADLINE_METRICS = {
    m.tfma_class: m.tfma_name
    for m in _CLASSIFIER_HEADLINE
    if m.module is None and m.tfma_class not in HEADLINE_METRICS
}
# KS and lift (the ranking metrics' classes, each written once).
RANKING_METRICS = tuple(
    dict.fromkeys(m.tfma_class for m in _CLASSIFIER_HEADLINE if m.module == RANKING_MODULE)
)
# Metrics of the baselines (chance, majority class, linear), per slice, from the shared
# score collection (`pipeline.metrics.score`): what the reports compare them on.
BASELINE_METRICS = tuple(m.tfma_name for m in catalogue.COMPARED[catalogue.CLASSIFICATION])
# TFMA's own metrics of a regression model (RMSE, R-squared... are custom ones).
REGRESSION_HEADLINE_METRICS = tuple(
    m.tfma_class for m in catalogue.HEADLINE[catalogue.REGRESSION] if m.module is None
)
# A regression model's custom metrics (`pipeline.metrics.regression`).
REGRESSION_NAMES = tuple(
    m.tfma_name for m in catalogue.HEADLINE[catalogue.REGRESSION] if m.module == REGRESSION_MODULE
)
# What a regression model's baselines (mean, linear) are scored on, per slice.
REGRESSION_BASELINE_METRICS = tuple(m.tfma_name for m in catalogue.COMPARED[catalogue.REGRESSION])
# Metrics reported at each of the spec's fairness thresholds, from the shared score
# collection. These are the Fairness Indicators rates, named as TFMA names them:
# fall_out = FPR, miss_rate = FNR, recall = TPR, specificity = TNR.
THRESHOLDED_METRICS = tuple(m.tfma_name for m in catalogue.RATES)


def slicing_specs(spec: DatasetSpec) -> list[tfma.SlicingSpec]:
    """Overall, one slice per slice column, one per configured cross."""
    specs = [tfma.SlicingSpec()]
    specs += [tfma.SlicingSpec(feature_keys=[slice_feature(spec, c)]) for c in spec.slice_columns]
    specs += [
        tfma.SlicingSpec(feature_keys=[slice_feature(spec, c) for c in cross])
        for cross in spec.slice_crosses
    ]
    return specs


def _threshold(t: Threshold) -> tfma.PerSliceMetricThreshold:
    """A bound on the overall slice, or on the one slice `t.slice` names."""
    value = tfma.GenericValueThreshold()
    if t.lower_bound is not None:
        value.lower_bound.value = t.lower_bound
    if t.upper_bound is not None:
        value.upper_bound.value = t.upper_bound
    threshold = tfma.MetricThreshold(value_threshold=value)
    if t.max_regression is not None:
        # Skipped by TFMA when there is no baseline yet (the first run). The change is
        # candidate - baseline: an error metric may grow by at most max_regression.
        direction, allowed = (
            (tfma.MetricDirection.LOWER_IS_BETTER, t.max_regression)
            if t.lower_is_better
            else (tfma.MetricDirection.HIGHER_IS_BETTER, -t.max_regression)
        )
        threshold.change_threshold.CopyFrom(
            tfma.GenericChangeThreshold(direction=direction, absolute={"value": allowed})
        )
    # A slice with a bound that is absent from the test data is a missing slice to TFMA,
    # and it then blesses nothing.
    slicing = tfma.SlicingSpec(feature_values=dict([t.slice])) if t.slice else tfma.SlicingSpec()
    return tfma.PerSliceMetricThreshold(slicing_specs=[slicing], threshold=threshold)


def _bounds(spec: DatasetSpec) -> dict[str, list[Threshold]]:
    """The spec's thresholds by the TFMA metric (class or regression metric) they bound."""
    bounds: dict[str, list[Threshold]] = {}
    for t in spec.thresholds:
        metric = catalogue.BOUNDED[spec.task][t.metric]
        # TFMA's own metrics are configured by class, RegressionMetrics once per name.
        key = metric.tfma_class if metric.module is None else metric.tfma_name
        bounds.setdefault(key, []).append(t)
    # A slice with a bound must also be big enough for its metric to mean something.
    # (Not TFMA's min_slice_size option: it fails every bound on every small slice.)
    if spec.min_slice_size:
        bounds[catalogue.EXAMPLE_COUNT.tfma_class] = [
            Threshold(catalogue.EXAMPLE_COUNT.name, spec.min_slice_size, None, where)
            for where in sorted({t.slice for t in spec.thresholds if t.slice})
        ]
    return bounds


def _with_thresholds(config: tfma.MetricConfig, thresholds: list[Threshold]) -> tfma.MetricConfig:
    for t in thresholds:
        config.per_slice_thresholds.append(_threshold(t))
    return config


def metric_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """Every metric config of the model's output, with the spec's thresholds attached to
    the metrics they bound (`compared_metric_configs` + `candidate_metric_configs`)."""
    return compared_metric_configs(spec) + candidate_metric_configs(spec)


def compared_metric_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """What the candidate and the baseline model are both evaluated on: the headline
    metrics and plots the report compares, and every metric a spec's threshold bounds (a
    no-regression bound needs the baseline's value)."""
    if spec.is_regression:
        return regression_metric_configs(spec)
    bounds = _bounds(spec)
    configs = [
        _with_thresholds(headline_metric_config(name), bounds.pop(name, []))
        for name in HEADLINE_METRICS
    ]
    configs += [
        _with_thresholds(score_metric_config(name), bounds.pop(class_name, []))
        for class_name, name in SCORE_HEADLINE_METRICS.items()
    ]
    configs += ranking_configs()
    # A bound on a thresholded metric (precision, recall) applies at one threshold only.
    for name, ts in bounds.items():
        metric = catalogue.BOUNDED[spec.task][ts[0].metric]
        options = {
            "thresholds": [catalogue.BOUND_THRESHOLD],
            "name": catalogue.bounded_name(metric),
        }
        config = tfma.MetricConfig(class_name=name, config=json.dumps(options))
        configs.append(_with_thresholds(config, ts))
    return configs


def candidate_metric_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """What only the candidate is evaluated on: the Fairness Indicators rates, the
    bootstrap intervals and the fairness gate. The baseline model had them in its own
    evaluation; computing them again would double the Evaluator's time for nothing the
    report or the blessing reads (the gate bounds the candidate's gaps only)."""
    if spec.is_regression:
        features = len(spec.raw_feature_columns)
        return interval_configs(spec, regression=True, num_features=features)
    rates = [score_metric_config(n, list(spec.fairness_thresholds)) for n in THRESHOLDED_METRICS]
    intervals = interval_configs(spec, thresholds=list(spec.fairness_thresholds))
    return rates + intervals + fairness_gate_configs(spec)


def regression_metric_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """A regression model's metrics and bounds (its intervals are candidate-only).

    One `RegressionMetrics` instance per metric, named after it: TFMA binds a threshold to
    the metric whose name is the instance's.
    """
    bounds = _bounds(spec)
    configs = [
        _with_thresholds(tfma.MetricConfig(class_name=name), bounds.pop(name, []))
        for name in REGRESSION_HEADLINE_METRICS
    ]
    features = len(spec.raw_feature_columns)
    for name in REGRESSION_NAMES:
        options = {"name": name, "metrics": [name], "num_features": features}
        config = tfma.MetricConfig(
            class_name="RegressionMetrics", module=REGRESSION_MODULE, config=json.dumps(options)
        )
        configs.append(_with_thresholds(config, bounds.pop(name, [])))
    if bounds:  # every spec metric has a home above; this guards the two lists' agreement
        raise ValueError(f"no metric config for the thresholds on {sorted(bounds)}")
    return configs


def ranking_configs() -> list[tfma.MetricConfig]:
    """KS, lift and gain by decile: custom metrics (TFMA lacks them), imported by the
    Evaluator from the installed `pipeline` package."""
    return [tfma.MetricConfig(class_name=name, module=RANKING_MODULE) for name in RANKING_METRICS]


def interval_configs(spec: DatasetSpec, **options: object) -> list[tfma.MetricConfig]:
    """The bootstrap intervals (none with `evaluation.bootstrap.replicates: 0`); `options`
    are the task's (decision thresholds, or regression and its number of features)."""
    bootstrap = spec.bootstrap
    if not bootstrap.replicates:
        return []
    options |= {
        "replicates": bootstrap.replicates,
        "confidence": bootstrap.confidence,
        "seed": bootstrap.seed,
    }
    return [
        tfma.MetricConfig(
            class_name="BootstrapIntervals", module=INTERVALS_MODULE, config=json.dumps(options)
        )
    ]


def fairness_gate_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """One gap metric per (bounded rate, sensitive column), bounded on the Overall slice.

    TFMA then blesses no model whose gap breaks a bound (see `pipeline.metrics.fairness_gap`).
    """
    gate = spec.fairness_gate
    extra = {"threshold": gate.threshold} if gate else {}
    return _gate_configs(spec, "FairnessGap", GAP_MODULE, extra)


def _gate_configs(
    spec: DatasetSpec, class_name: str, module: str, extra: dict[str, Any]
) -> list[tfma.MetricConfig]:
    """The fairness gate's metric configs, one per (sensitive column, bounded rate), each
    `class_name` metric bounded on the Overall slice; `extra` joins each one's options."""
    gate = spec.fairness_gate
    if gate is None:
        return []
    configs = []
    for column in spec.sensitive_columns:
        for rate, bound in gate.max_gap.items():
            options = {
                "name": gap_name(rate, column),
                "rate": rate,
                "column": column,
                "feature": slice_feature(spec, column),
                **extra,
                "min_group_size": gate.min_group_size,
            }
            threshold = tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(upper_bound={"value": bound})
            )
            configs.append(
                tfma.MetricConfig(
                    class_name=class_name,
                    module=module,
                    config=json.dumps(options),
                    per_slice_thresholds=[
                        tfma.PerSliceMetricThreshold(
                            slicing_specs=[tfma.SlicingSpec()], threshold=threshold
                        )
                    ],
                )
            )
    return configs


def baseline_metric_configs(spec: DatasetSpec | None = None) -> list[tfma.MetricConfig]:
    """What the baselines are scored on, per slice, with no thresholds: AUC and accuracy,
    or for a regression model RMSE and R-squared."""
    if spec is not None and spec.is_regression:
        options = {"metrics": list(REGRESSION_BASELINE_METRICS)}
        return [
            tfma.MetricConfig(
                class_name="RegressionMetrics", module=REGRESSION_MODULE, config=json.dumps(options)
            )
        ]
    return [score_metric_config(name) for name in BASELINE_METRICS]


def headline_metric_config(class_name: str) -> tfma.MetricConfig:
    """TFMA's metric `class_name`; a histogram metric on the shared score collection."""
    if class_name in HISTOGRAM_METRICS:
        return tfma.MetricConfig(
            class_name="HistogramMetric",
            module=HISTOGRAM_MODULE,
            config=json.dumps({"metric": class_name}),
        )
    return tfma.MetricConfig(class_name=class_name)


def metric_config_name(metric: tfma.MetricConfig) -> str:
    """What a metric config stands for: its `name` option (a ScoreMetric's rate), the TFMA
    class a HistogramMetric wraps, or else its class name."""
    options = json.loads(metric.config or "{}")
    return options.get("name", options.get("metric", metric.class_name))


def score_metric_config(name: str, thresholds: list[float] | None = None) -> tfma.MetricConfig:
    """A metric derived from the shared score collection (`pipeline.metrics.score`)."""
    options = {"name": name} | ({"thresholds": thresholds} if thresholds else {})
    return tfma.MetricConfig(
        class_name="ScoreMetric", module=SCORE_MODULE, config=json.dumps(options)
    )


# A multi-class model's metrics of the whole slice (its headline metrics but the example
# count), those of each class (compared with the baseline model too), the rates of each
# class (the candidate's only), and what the simple baselines are scored on.
_MULTICLASS_HEADLINE = catalogue.HEADLINE[catalogue.MULTICLASS]
MULTICLASS_SLICE_METRICS = tuple(
    m.tfma_name for m in _MULTICLASS_HEADLINE if m != catalogue.EXAMPLE_COUNT
)
MULTICLASS_CLASS_METRICS = tuple(m.tfma_name for m in catalogue.CLASS_COLUMNS)
MULTICLASS_RATES = tuple(m.tfma_name for m in catalogue.CLASS_RATES)
MULTICLASS_BASELINE_METRICS = tuple(m.tfma_name for m in catalogue.COMPARED[catalogue.MULTICLASS])


def multiclass_metric_config(name: str, classes: int) -> tfma.MetricConfig:
    """A metric from the slice's collection of class probabilities."""
    return tfma.MetricConfig(
        class_name="MultiClassMetric",
        module=MULTICLASS_MODULE,
        config=json.dumps({"name": name, "classes": classes}),
    )


def _multiclass_bounds(spec: DatasetSpec) -> dict[tuple[str, int | None], list[Threshold]]:
    """The spec's thresholds by (TFMA metric name, class id or None)."""
    bounds: dict[tuple[str, int | None], list[Threshold]] = {}
    for t in spec.thresholds:
        class_id = spec.class_names.index(str(t.label_class)) if t.label_class is not None else None
        metric = catalogue.MULTICLASS_THRESHOLD_METRICS[t.metric].tfma_name
        bounds.setdefault((metric, class_id), []).append(t)
    if spec.min_slice_size:
        bounds[catalogue.EXAMPLE_COUNT.tfma_name, None] = [
            Threshold(catalogue.EXAMPLE_COUNT.name, spec.min_slice_size, None, where)
            for where in sorted({t.slice for t in spec.thresholds if t.slice})
        ]
    return bounds


def multiclass_metrics_specs(spec: DatasetSpec) -> list[tfma.MetricsSpec]:
    """A multi-class model's MetricsSpecs (see `pipeline.metrics.multiclass`).

    Compared (the candidate and the baseline model): the example count, accuracy, the
    macro averages and the confusion matrix plot; and in one MetricsSpec per class,
    binarized to that class alone so that a bound on one class's metric binds to it
    only, the class's precision, recall, F1 and AUC. The candidate's only: each class's
    rates, the intervals and the fairness gate (one gap per class, sensitive column and
    bounded rate, each bounded). The simple baselines: accuracy and macro F1.
    """
    classes = len(spec.label.classes)
    output = [prediction_key(spec.task)]
    candidate = [tfma.CANDIDATE_KEY]
    every_class = tfma.BinarizationOptions(class_ids={"values": list(range(classes))})
    bounds = _multiclass_bounds(spec)
    count = catalogue.EXAMPLE_COUNT
    compared = [_with_thresholds(tfma.MetricConfig(class_name=count.tfma_class),
                                 bounds.pop((count.tfma_name, None), []))]  # fmt: skip
    compared += [
        _with_thresholds(multiclass_metric_config(name, classes), bounds.pop((name, None), []))
        for name in MULTICLASS_SLICE_METRICS
    ]
    compared.append(
        tfma.MetricConfig(
            class_name="MultiClassConfusionPlot",
            module=MULTICLASS_MODULE,
            config=json.dumps({"classes": classes}),
        )
    )
    specs = [tfma.MetricsSpec(metrics=compared, output_names=output)]
    for c in range(classes):
        metrics = [
            _with_thresholds(multiclass_metric_config(name, classes), bounds.pop((name, c), []))
            for name in MULTICLASS_CLASS_METRICS
        ]
        specs.append(
            tfma.MetricsSpec(
                metrics=metrics,
                output_names=output,
                binarize=tfma.BinarizationOptions(class_ids={"values": [c]}),
            )
        )
    if bounds:  # every spec metric has a home above; this guards the lists' agreement
        raise ValueError(f"no metric config for the thresholds on {sorted(bounds)}")
    rates = [multiclass_metric_config(name, classes) for name in MULTICLASS_RATES]
    specs.append(
        tfma.MetricsSpec(
            metrics=rates, output_names=output, model_names=candidate, binarize=every_class
        )
    )
    bootstrap = spec.bootstrap
    if bootstrap.replicates:
        options = {
            "classes": classes,
            "replicates": bootstrap.replicates,
            "confidence": bootstrap.confidence,
            "seed": bootstrap.seed,
        }
        intervals = tfma.MetricConfig(
            class_name="MultiClassIntervals", module=MULTICLASS_MODULE, config=json.dumps(options)
        )
        specs.append(
            tfma.MetricsSpec(metrics=[intervals], output_names=output, model_names=candidate)
        )
    gaps = multiclass_gate_configs(spec)
    if gaps:
        specs.append(
            tfma.MetricsSpec(
                metrics=gaps, output_names=output, model_names=candidate, binarize=every_class
            )
        )
    specs.append(
        tfma.MetricsSpec(
            metrics=[multiclass_metric_config(n, classes) for n in MULTICLASS_BASELINE_METRICS],
            output_names=list(baselines(spec.task)),
            model_names=candidate,
        )
    )
    return specs


def multiclass_gate_configs(spec: DatasetSpec) -> list[tfma.MetricConfig]:
    """One gap metric per (sensitive column, bounded rate), bounded on the Overall slice; in
    a MetricsSpec binarized by class, TFMA bounds each class's gap."""
    extra = {"classes": len(spec.label.classes)}
    return _gate_configs(spec, "MultiClassFairnessGap", MULTICLASS_MODULE, extra)


def create_eval_config(spec: DatasetSpec) -> tfma.EvalConfig:
    """The Evaluator's configuration for the data set `spec`.

    The model's `evaluation` signature scores raw examples with the model and its simple
    baselines (`pipeline.model.outputs`); `transform_features` supplies the label (0/1
    for a binary classifier, a class id for a multi-class one) and the bucket features
    that slices use. Every metric and threshold
    is on the model's output; the simple baselines get `baseline_metric_configs` only, so
    they never gate. When TFX's Evaluator is given a baseline model (the last blessed one),
    TFMA names the two models "candidate" and "baseline" and evaluates the baseline on
    `compared_metric_configs` only; with one model, TFMA applies every spec to it.
    """
    output = [prediction_key(spec.task)]
    candidate_only = [tfma.CANDIDATE_KEY]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=EVALUATION_SIGNATURE,
                preprocessing_function_names=[TRANSFORM_SIGNATURE],
                label_key=spec.label.column,
                # TFMA reads only the signatures. Without a type, it loads each model
                # with Keras to find out whether it is one, then again to use it.
                model_type=tfma.TF_GENERIC,
            )
        ],
        slicing_specs=slicing_specs(spec),
        metrics_specs=multiclass_metrics_specs(spec)
        if spec.is_multiclass
        else [
            tfma.MetricsSpec(metrics=compared_metric_configs(spec), output_names=output),
            tfma.MetricsSpec(
                metrics=candidate_metric_configs(spec),
                output_names=output,
                model_names=candidate_only,
            ),
            tfma.MetricsSpec(
                metrics=baseline_metric_configs(spec),
                output_names=list(baselines(spec.task)),
                model_names=candidate_only,
            ),
        ],
        # Not the Keras compile() metrics as well: they would duplicate names TFMA
        # computes itself (auc) with other semantics, and cost time.
        options=tfma.Options(include_default_metrics={"value": False}),
    )
