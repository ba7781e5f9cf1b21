"""Classification metrics computed from a slice's shared score collection.

TFMA runs each metric's combiner in Python once per example and slice, so the number of
combiners sets the Evaluator's time: as TFMA metrics, the baselines' AUC and accuracy
alone would be 6 combiners, the Fairness Indicators rates one more. The metrics here add
no combiner: they are derived from the one
collection of (score, label, weight) per slice and model output that KS, lift and the
bootstrap intervals already use (`ranking_metrics.scored_examples`), with the estimators
of `bootstrap_intervals.metric_values` applied to the examples themselves.

- The Fairness Indicators rates (`precision`, `recall`, `f1_score`, `specificity`,
  `negative_predictive_value`, `fall_out`, `miss_rate`, `false_discovery_rate`,
  `false_omission_rate`) at the configured decision thresholds, written as TFMA writes its
  own thresholded metrics: one array per metric, one value per threshold.
- The simple baselines' `auc` and `binary_accuracy`.
- The model's `binary_accuracy` (at 0.5), `mean_label`, `mean_prediction` and
  `calibration`, equal to TFMA's classes of those names (which a spec's bound on accuracy
  then gates: the value is the same).

TFMA's conventions: a prediction above the threshold is positive; tied scores count half
in the AUC, which is exact here (TFMA's interpolates a 10,000-bucket histogram; the two
differ in the fourth decimal). The model's AUC and PR-AUC, and the plots, stay TFMA's own
metrics: they share one histogram combiner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types, metric_util

from pipeline.metrics import catalogue
from pipeline.metrics.inputs import metric_key
from pipeline.metrics.intervals import RATES, point_values
from pipeline.metrics.ranking import scored_examples

# Metrics of a whole slice; the RATES are per decision threshold.
UNTHRESHOLDED = tuple(
    m.tfma_name
    for m in (
        catalogue.AUC,
        catalogue.ACCURACY,
        catalogue.MEAN_LABEL,
        catalogue.MEAN_PREDICTION,
        catalogue.CALIBRATION,
    )
)
# Name of the shared values (made private: TFMA writes no metric starting with "_").
SHARED_VALUES = "score_values"


def _computations(
    name: str | None = None,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
    thresholds: Sequence[float] = (),
) -> metric_types.MetricComputations:
    key = metric_key(name, model_name, output_name, sub_key, example_weighted)
    cuts = [float(t) for t in thresholds]
    collect, source = scored_examples(
        eval_config, model_name, output_name, sub_key, example_weighted
    )
    # Every metric of the slice at these thresholds, computed once: TFMA runs identical
    # computations (same keys) once, however many ScoreMetrics read them.
    shared_name = metric_util.generate_private_name_from_arguments(SHARED_VALUES, thresholds=cuts)
    shared = metric_key(shared_name, model_name, output_name, sub_key, example_weighted)

    def all_values(metrics: dict[metric_types.MetricKey, Any]) -> dict[metric_types.MetricKey, Any]:
        return {shared: point_values(metrics[source], cuts)}

    def value(metrics: dict[metric_types.MetricKey, Any]) -> dict[metric_types.MetricKey, Any]:
        values = metrics[shared]
        if cuts:
            return {key: np.array([values[name, t] for t in cuts])}
        return {key: values[name, None]}

    return [
        collect,
        metric_types.DerivedMetricComputation(keys=[shared], result=all_values),
        metric_types.DerivedMetricComputation(keys=[key], result=value),
    ]


class ScoreMetric(tfma.metrics.Metric):
    """One metric from the shared score collection, named after it.

    Config: `name` (one of UNTHRESHOLDED, or of RATES with `thresholds`), `thresholds`
    (decision thresholds of a rate).
    """

    def __init__(self, name: str = UNTHRESHOLDED[0], thresholds: Sequence[float] = ()) -> None:
        known = tuple(RATES) if thresholds else UNTHRESHOLDED
        if name not in known:
            what = "a rate at thresholds" if thresholds else "a metric without thresholds"
            raise ValueError(f"ScoreMetric: {name!r} is not {what}; choose from {known}")
        super().__init__(
            metric_util.merge_per_key_computations(_computations),
            name=name,
            thresholds=tuple(thresholds),
        )


metric_types.register_metric(ScoreMetric)
