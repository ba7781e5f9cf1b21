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
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import apache_beam as beam
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
    """Running sums over (label y, prediction p, weight w) of a slice."""

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


def regression_metrics(sums: RegressionSums, num_features: int) -> dict[str, float]:
    """The four metrics (see the module docstring) from a slice's sums."""
    nan = float("nan")
    if sums.weight <= 0:
        return dict.fromkeys(NAMES, nan)
    rmse = math.sqrt(sums.squared_error / sums.weight)
    rmsle = nan if sums.log_undefined else math.sqrt(sums.squared_log_error / sums.weight)
    total = sums.label_squared - sums.label**2 / sums.weight  # sum w (y - mean y)^2
    r2 = 1.0 - sums.squared_error / total if total > 1e-12 * max(1.0, sums.label_squared) else nan
    n, k = sums.count, num_features
    adjusted = 1.0 - (1.0 - r2) * (n - 1) / (n - k - 1) if n > k + 1 else nan
    return {RMSE: rmse, RMSLE: rmsle, R_SQUARED: r2, ADJUSTED_R_SQUARED: adjusted}


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
