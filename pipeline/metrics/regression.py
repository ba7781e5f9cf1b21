"""Regression metrics as one TFMA custom metric, sliced like every other metric.

`RegressionMetrics` writes, per slice:
- `root_mean_squared_error`: sqrt(sum w (y - p)^2 / sum w);
- `root_mean_squared_log_error`: the same on log(1 + y) and log(1 + p); NaN when a label
  or prediction is <= -1 (the logarithm is undefined there);
- `r_squared`: 1 - sum w (y - p)^2 / sum w (y - mean y)^2; NaN when every label is equal;
- `adjusted_r_squared`: 1 - (1 - R^2) (n - 1) / (n - k - 1) for k features and n
  examples (unweighted count); NaN when n <= k + 1.

The accumulator is eight running sums, so the metric streams over any amount of data.
Config `metrics` (default: all four) picks what an instance writes; a threshold binds to
an instance whose `name` is the one metric it writes (see `eval_config`).

`regression_metrics` is the one estimator: the bootstrap intervals
(`pipeline.metrics.intervals`) give it the same sums per replicate (`replicate_sums`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types, metric_util

from pipeline.metrics import catalogue
from pipeline.metrics.inputs import ScalarReader, metric_key

RMSE = catalogue.RMSE.tfma_name
RMSLE = catalogue.RMSLE.tfma_name
R_SQUARED = catalogue.R2.tfma_name
ADJUSTED_R_SQUARED = catalogue.ADJUSTED_R2.tfma_name
NAMES = (RMSE, RMSLE, R_SQUARED, ADJUSTED_R_SQUARED)


@dataclass
class RegressionSums:
    """Running sums over (label y, prediction p, weight w) of a slice.

    Or, from `replicate_sums`, each sum an array with one value per bootstrap replicate.
    """

    count: int = 0
    weight: float = 0.0
    label: float = 0.0
    label_squared: float = 0.0
    squared_error: float = 0.0
    squared_log_error: float = 0.0
    log_undefined: bool = False

    def add(self, y: float, p: float, w: float) -> None:
        """Adds one example."""
        self.count += 1
        self.weight += w
        self.label += w * y
        self.label_squared += w * y * y
        self.squared_error += w * (y - p) ** 2
        if y <= -1 or p <= -1:
            self.log_undefined = True
        else:
            self.squared_log_error += w * (math.log1p(y) - math.log1p(p)) ** 2

    def merge(self, other: RegressionSums) -> None:
        """Adds another accumulator's sums."""
        for f in fields(self):
            if f.name == "log_undefined":
                self.log_undefined = self.log_undefined or other.log_undefined
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def replicate_sums(
    labels: np.ndarray, predictions: np.ndarray, weights: np.ndarray
) -> RegressionSums:
    """The sums of every row of `weights` (replicates x examples), one array each.

    A replicate's example count is its total weight: its number of drawn examples.
    """
    total = weights.sum(axis=1)
    errors = labels - predictions
    sums = RegressionSums(
        count=total,
        weight=total,
        label=weights @ labels,
        label_squared=weights @ (labels * labels),
        squared_error=weights @ (errors * errors),
        squared_log_error=np.zeros_like(total),
        log_undefined=bool(np.any(labels <= -1) or np.any(predictions <= -1)),
    )
    if not sums.log_undefined:
        log_errors = np.log1p(labels) - np.log1p(predictions)
        sums.squared_log_error = weights @ (log_errors * log_errors)
    return sums


def regression_metrics(sums: RegressionSums, num_features: int) -> dict[str, Any]:
    """The four metrics (see the module docstring) from a slice's sums: floats, or arrays
    of one value per replicate for `replicate_sums`."""
    nan = float("nan")
    weight, count, k = np.asarray(sums.weight), np.asarray(sums.count), num_features
    with np.errstate(divide="ignore", invalid="ignore"):
        rmse = np.sqrt(sums.squared_error / weight)
        rmsle = (
            np.full(weight.shape, nan)
            if sums.log_undefined
            else np.sqrt(sums.squared_log_error / weight)
        )
        total = sums.label_squared - sums.label**2 / weight  # sum w (y - mean y)^2
        defined = total > 1e-12 * np.maximum(1.0, sums.label_squared)
        r2 = np.where(defined, 1.0 - sums.squared_error / total, nan)
        adjusted = np.where(count > k + 1, 1.0 - (1.0 - r2) * (count - 1) / (count - k - 1), nan)
        values = {RMSE: rmse, RMSLE: rmsle, R_SQUARED: r2, ADJUSTED_R_SQUARED: adjusted}
        values = {name: np.where(weight > 0, v, nan) for name, v in values.items()}
    if weight.ndim == 0:
        return {name: float(v) for name, v in values.items()}
    return values


class _RegressionCombiner(beam.CombineFn):
    def __init__(
        self, keys: dict[str, metric_types.MetricKey], eval_config: Any, num_features: int
    ) -> None:
        self._keys = keys
        self._num_features = num_features
        self._read = ScalarReader(next(iter(keys.values())), eval_config)

    def create_accumulator(self) -> RegressionSums:
        return RegressionSums()

    def add_input(
        self, acc: RegressionSums, element: metric_types.StandardMetricInputs
    ) -> RegressionSums:
        for label, prediction, weight in self._read(element):
            acc.add(label, prediction, weight)
        return acc

    def merge_accumulators(self, accumulators: Iterable[RegressionSums]) -> RegressionSums:
        accumulators = iter(accumulators)
        result = next(accumulators)
        for acc in accumulators:
            result.merge(acc)
        return result

    def extract_output(self, acc: RegressionSums) -> dict[metric_types.MetricKey, float]:
        values = regression_metrics(acc, self._num_features)
        return {key: values[name] for name, key in self._keys.items()}


def _computations(
    name: str | None = None,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
    num_features: int = 1,
    metrics: tuple[str, ...] = NAMES,
) -> metric_types.MetricComputations:
    unknown = sorted(set(metrics) - set(NAMES))
    if unknown:
        raise ValueError(f"RegressionMetrics: unknown metrics {unknown}; choose from {NAMES}")
    keys = {n: metric_key(n, model_name, output_name, sub_key, example_weighted) for n in metrics}
    return [
        metric_types.MetricComputation(
            keys=list(keys.values()),
            preprocessors=None,
            combiner=_RegressionCombiner(keys, eval_config, int(num_features)),
        )
    ]


class RegressionMetrics(tfma.metrics.Metric):
    """RMSE, RMSLE, R-squared and adjusted R-squared (config: `num_features`, `metrics`)."""

    def __init__(
        self, name: str = "regression_metrics", num_features: int = 1, metrics: Any = NAMES
    ) -> None:
        super().__init__(
            metric_util.merge_per_key_computations(_computations),
            name=name,
            num_features=num_features,
            metrics=tuple(metrics),
        )


metric_types.register_metric(RegressionMetrics)
