"""TFMA's histogram metrics (AUC, PR-AUC, the confusion-matrix and calibration plots)
built on the shared score collection instead of TFMA's own histogram combiner.

TFMA derives these four from one calibration histogram (10,000 score buckets) that its
combiner fills one example at a time, in Python, for every slice and model: with the
census spec's 24 slices it is the costliest combiner, and it runs again for the baseline
model (`benchmarks/evaluator_profile.py --cprofile` shows it). The histogram is a function
of the (score, label, weight) that `ranking_metrics.scored_examples` already collects per
slice, so `HistogramMetric` wraps a TFMA metric and replaces its histogram combiner by a
derived computation that bins that collection with numpy, under the key TFMA's combiner
writes. TFMA's own derived computations (confusion matrices, AUC, plots) then run on it
unchanged: the values are TFMA's (the sums differ only in the order of float additions).

Only the layout the project evaluates is rebuilt (a scalar prediction and label, no
sub key, class weights, aggregation or example weights, buckets by prediction); any
other use of the metric keeps TFMA's combiner, so the results are the same either way.
The combiner's settings are read from TFMA's private class (TFMA 0.47, pinned by the
lock file); the model test that compares both evaluations fails if they change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import calibration_histogram, metric_types

from pipeline.metrics import catalogue
from pipeline.metrics.ranking import scored_examples
from pipeline.metrics.scored_examples import ScoredExamples

# TFMA's metrics built on the calibration histogram, by class name: the AUCs and the plots.
HISTOGRAM_METRICS = (
    catalogue.AUC.tfma_class,
    catalogue.PR_AUC.tfma_class,
    "ConfusionMatrixPlot",
    "CalibrationPlot",
)


def histogram(
    acc: ScoredExamples,
    num_buckets: int = calibration_histogram.DEFAULT_NUM_BUCKETS,
    left: float = 0.0,
    right: float = 1.0,
    fractional_labels: bool = True,
) -> list[calibration_histogram.Bucket]:
    """The calibration histogram TFMA's combiner builds from the same examples.

    Bucket 0 holds scores below `left`, bucket num_buckets + 1 those at or above `right`,
    bucket i the scores in [left + (i - 1) w, left + i w) for the width w; only buckets
    that received an example are listed, sorted by id. With `fractional_labels` (TFMA's
    default for scores in [0, 1]) TFMA splits an example into a negative and a positive
    part and drops parts of zero weight: an example of weight 0 makes no bucket.

    Raises:
        ValueError: A score is NaN, or with `fractional_labels` a label is outside [0, 1].
    """
    scores, labels, weights = acc.scores, acc.labels, acc.weights
    if np.isnan(scores).any():
        raise ValueError(
            f"{int(np.isnan(scores).sum())} NaN score(s) in a slice: the model's output "
            "must be a number for every example (check the exported model on these rows)"
        )
    if fractional_labels and ((labels < 0.0) | (labels > 1.0)).any():
        bad = labels[(labels < 0.0) | (labels > 1.0)][0]
        raise ValueError(f"label must be within [0, 1] for the AUC and plots, got {bad}")
    # The same float operations as TFMA's `_bucket_index`, so a score on a bucket edge
    # lands where TFMA puts it.
    position = (scores - left) / (right - left) * num_buckets + 1
    ids = np.where(
        position < 0,
        0,
        np.where(position >= num_buckets + 1, num_buckets + 1, np.trunc(position)),
    ).astype(np.int64)
    counted = weights != 0.0 if fractional_labels else np.ones(ids.shape, dtype=bool)
    size = num_buckets + 2
    sums = [
        np.bincount(ids, weights=values, minlength=size)
        for values in (weights * labels, weights * scores, weights)
    ]
    present = np.bincount(ids[counted], minlength=size) > 0
    return [
        calibration_histogram.Bucket(
            int(i), float(sums[0][i]), float(sums[1][i]), float(sums[2][i])
        )
        for i in np.flatnonzero(present)
    ]


def _replaceable(computation: Any) -> bool:
    """Whether `computation` is TFMA's histogram combiner in the layout rebuilt here."""
    combiner = getattr(computation, "combiner", None)
    if not isinstance(combiner, calibration_histogram._CalibrationHistogramCombiner):
        return False
    (key,) = computation.keys
    return (
        key.sub_key is None
        and not key.example_weighted
        and not computation.preprocessors
        and combiner._aggregation_type is None
        and not combiner._class_weights
        and combiner._prediction_based_bucketing
    )


def _from_scores(computation: Any, eval_config: Any) -> metric_types.MetricComputations:
    """The score collection and a derived computation writing `computation`'s histogram."""
    (key,) = computation.keys
    combiner = computation.combiner
    collect, source = scored_examples(eval_config, key.model_name, key.output_name)
    options = {
        "num_buckets": combiner._num_buckets,
        "left": combiner._left,
        "right": combiner._left + combiner._range,
        "fractional_labels": combiner._fractional_labels,
    }

    # Named: TFMA runs derived computations with equal keys and result names once, so
    # the four metrics of one model output share one histogram.
    def histogram_from_scores(metrics: dict[metric_types.MetricKey, Any]) -> dict:
        return {key: histogram(metrics[source], **options)}

    return [
        collect,
        metric_types.DerivedMetricComputation(keys=[key], result=histogram_from_scores),
    ]


def _computations(
    name: str | None = None,
    metric: str = catalogue.AUC.tfma_class,
    eval_config: Any = None,
    schema: Any = None,
    model_names: list[str] | None = None,
    output_names: list[str] | None = None,
    sub_keys: list[metric_types.SubKey | None] | None = None,
    aggregation_type: metric_types.AggregationType | None = None,
    class_weights: dict[int, float] | None = None,
    example_weighted: bool = False,
    query_key: str | None = None,
) -> metric_types.MetricComputations:
    """The TFMA metric `metric`'s computations, its histogram combiners replaced."""
    wrapped = _wrapped(metric, name)
    out: metric_types.MetricComputations = []
    for computation in wrapped.computations(
        eval_config,
        schema,
        model_names,
        output_names,
        sub_keys,
        aggregation_type,
        class_weights,
        example_weighted,
        query_key,
    ):
        if _replaceable(computation):
            out += _from_scores(computation, eval_config)
        else:
            out.append(computation)
    return out


def _wrapped(metric: str, name: str | None) -> tfma.metrics.Metric:
    if metric not in HISTOGRAM_METRICS:
        raise ValueError(f"HistogramMetric: {metric!r} is not one of {HISTOGRAM_METRICS}")
    cls = metric_types.registered_metrics()[metric]
    return cls(name=name) if name else cls()


class HistogramMetric(tfma.metrics.Metric):
    """A TFMA histogram metric (one of HISTOGRAM_METRICS) on the shared score collection.

    Config: `metric` (the TFMA class name) and optionally `name`; the default name is the
    wrapped metric's (`auc`...), so a threshold on `auc` binds to it as to TFMA's class.
    """

    def __init__(self, metric: str = catalogue.AUC.tfma_class, name: str | None = None) -> None:
        super().__init__(_computations, name=name or _wrapped(metric, None).name, metric=metric)


metric_types.register_metric(HistogramMetric)
