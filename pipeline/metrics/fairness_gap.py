"""The fairness gate's metric: the largest gap in an error rate between the groups of a
sensitive column and the slice they make up, as a TFMA custom metric.

Computed on the Overall slice, `fairness_gap/fnr/sex` is max over the groups g of sex
(with at least `min_group_size` examples) of |FNR(g) - FNR(all)| at one decision
threshold. `eval_config` puts an upper bound on it, so TFMA itself refuses to bless a
model whose gap is too large, and the Pusher never sees a blessing. The metric also
writes each group's signed gap (`fairness_gap/fnr/sex=Female`, group minus all) and size
(`fairness_group_size/fnr/sex=Female`), so the summary can say which group broke the
bound and by how much.

Why not TFMA's cross-slice thresholds: in TFMA 0.47 `metrics_validator.get_missing_slices`
reads a cross-slice threshold's details as a single-slice spec, so every cross-slice
threshold is reported missing and no model is ever blessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import metric_types, metric_util

from pipeline.metrics.catalogue import GATE_RATES
from pipeline.metrics.inputs import ScalarReader, metric_key


def gap_name(rate: str, column: str, group: str | None = None) -> str:
    """`fairness_gap/fnr/sex` (the gated maximum) or `fairness_gap/fnr/sex=Female`."""
    name = f"fairness_gap/{rate}/{column}"
    return name if group is None else f"{name}={group}"


def size_name(rate: str, column: str, group: str) -> str:
    """`fairness_group_size/fnr/sex=Female`: the group's example count."""
    return f"fairness_group_size/{rate}/{column}={group}"


@dataclass
class GroupCounts:
    """Weighted confusion counts per group: {group: [tp, fp, tn, fn]}."""

    counts: dict[str, list[float]] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)


def rate_gaps(acc: GroupCounts, rate: str, min_group_size: int) -> tuple[float, dict[str, float]]:
    """(largest |group - all| over groups big enough, signed gap of every group).

    The largest gap is NaN when no group has `min_group_size` examples or the slice's
    own rate is undefined, so that the gate fails rather than passing on nothing.
    """
    formula = GATE_RATES[rate].rate
    total = np.sum(list(acc.counts.values()), axis=0) if acc.counts else np.zeros(4)
    with np.errstate(divide="ignore", invalid="ignore"):
        overall = float(formula(*total))
        gaps = {g: float(formula(*np.asarray(c))) - overall for g, c in acc.counts.items()}
    eligible = [
        abs(gap)
        for g, gap in gaps.items()
        if acc.examples[g] >= min_group_size and not math.isnan(gap)
    ]
    largest = max(eligible) if eligible and not math.isnan(overall) else float("nan")
    return largest, gaps


def group_of(features: Any, feature: str) -> str:
    """The group (the feature's value, as text) of one example's features."""
    value = np.asarray(features[feature]).reshape(-1)
    value = value[0] if value.size else b""
    return value.decode() if isinstance(value, bytes) else str(value)


class _GroupCountsCombiner(beam.CombineFn):
    """Confusion counts per group of one feature, at one decision threshold."""

    def __init__(
        self, key: metric_types.MetricKey, eval_config: Any, feature: str, threshold: float
    ) -> None:
        self._key = key
        self._read = ScalarReader(key, eval_config)
        self._feature = feature
        self._threshold = threshold
        # The last example's inputs and group: TFMA passes each one once per slice.
        self._last: tuple[Any, str] = (None, "")

    def create_accumulator(self) -> GroupCounts:
        return GroupCounts()

    def add_input(
        self, acc: GroupCounts, element: metric_types.StandardMetricInputs
    ) -> GroupCounts:
        last, group = self._last
        if element is not last:
            features = element.get_combined_features(self._key.model_name or None)
            group = group_of(features, self._feature)
            self._last = (element, group)
        counts = acc.counts.setdefault(group, [0.0, 0.0, 0.0, 0.0])
        for label, prediction, weight in self._read(element):
            positive = label > 0.5
            predicted = prediction > self._threshold
            cell = (0 if positive else 1) if predicted else (3 if positive else 2)
            counts[cell] += weight
        acc.examples[group] = acc.examples.get(group, 0) + 1
        return acc

    def merge_accumulators(self, accumulators: Iterable[GroupCounts]) -> GroupCounts:
        accumulators = iter(accumulators)
        result = next(accumulators)
        for acc in accumulators:
            for group, counts in acc.counts.items():
                mine = result.counts.setdefault(group, [0.0, 0.0, 0.0, 0.0])
                result.counts[group] = [a + b for a, b in zip(mine, counts, strict=True)]
                result.examples[group] = result.examples.get(group, 0) + acc.examples[group]
        return result

    def extract_output(self, acc: GroupCounts) -> dict[metric_types.MetricKey, GroupCounts]:
        return {self._key: acc}


def _computations(
    name: str | None = None,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
    rate: str = "fnr",
    column: str = "",
    feature: str = "",
    threshold: float = 0.5,
    min_group_size: int = 30,
) -> metric_types.MetricComputations:
    key = metric_key(name, model_name, output_name, sub_key, example_weighted)
    feature = feature or column
    # The counts serve every rate's gap on the same feature and threshold: under one private
    # key, TFMA collects them once per slice for all of them.
    counts_key = key._replace(name=f"_group_counts/{feature}@{float(threshold):g}")
    # Pass the features through: by default a metric sees labels and predictions only.
    preprocessor = metric_types.StandardMetricInputsPreprocessor(
        include_filter={constants.FEATURES_KEY: {}, constants.TRANSFORMED_FEATURES_KEY: {}},
        include_default_inputs=True,
    )
    collect = metric_types.MetricComputation(
        keys=[counts_key],
        preprocessors=[preprocessor],
        combiner=_GroupCountsCombiner(counts_key, eval_config, feature, float(threshold)),
    )

    def gaps(metrics: dict[metric_types.MetricKey, Any]) -> dict[metric_types.MetricKey, float]:
        acc = metrics[counts_key]
        largest, signed = rate_gaps(acc, rate, int(min_group_size))
        out = {key: largest}
        for group, gap in signed.items():
            out[key._replace(name=gap_name(rate, column, group))] = gap
            out[key._replace(name=size_name(rate, column, group))] = acc.examples[group]
        return out

    return [collect, metric_types.DerivedMetricComputation(keys=[key], result=gaps)]


class FairnessGap(tfma.metrics.Metric):
    """Largest |rate(group) - rate(slice)| over the groups of one sensitive column.

    Config: rate (a key of GATE_RATES), column (the sensitive column), feature (the
    feature holding it, e.g. its bucket; default the column), threshold (decision
    threshold), min_group_size (smaller groups are reported, not gated).
    """

    def __init__(
        self,
        name: str = "",
        rate: str = "fnr",
        column: str = "",
        feature: str = "",
        threshold: float = 0.5,
        min_group_size: int = 30,
    ) -> None:
        if rate not in GATE_RATES:
            raise ValueError(f"rate {rate!r} is not one of {sorted(GATE_RATES)}")
        super().__init__(
            metric_util.merge_per_key_computations(_computations),
            name=name or gap_name(rate, column),
            rate=rate,
            column=column,
            feature=feature,
            threshold=threshold,
            min_group_size=min_group_size,
        )


metric_types.register_metric(FairnessGap)
