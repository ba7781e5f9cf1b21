"""Ranking metrics TFMA lacks, as TFMA custom metrics so they are sliced like the rest.

- `KolmogorovSmirnov` (`ks_statistic`): the largest gap between the score distributions of
  positives and negatives, max over thresholds t of |TPR(t) - FPR(t)|.
- `LiftAndGain` (`cumulative_gain@10%` ... `@100%`, `lift@10%` ... `@100%`): rank the
  examples by score, highest first; the cumulative gain at decile k is the share of all
  positives found in the top k tenths of the examples, the (cumulative) lift is that share
  divided by k/10 (1.0 = no better than picking at random).

Both keep every (score, label, weight) of a slice and sort once at the end, so they are
exact: examples with equal scores are one group, and a decile boundary that falls inside a
group takes the group's positives pro rata. The Evaluator imports this module by name
(`module: pipeline.metrics.ranking` in the metric config), so it must be installed beside
TFMA: `setup.py` installs the `pipeline` package.

The estimators (`score_groups`, `ks_statistics`, `gain_curves`) take one row of weights
per bootstrap replicate: the metrics here are their one-row case, and the bootstrap
intervals (`pipeline.metrics.intervals`) call them on the replicates, so a metric and its
interval cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types, metric_util

from pipeline.metrics import catalogue
from pipeline.metrics.catalogue import DECILES, gain_name, lift_name
from pipeline.metrics.inputs import ScalarReader, metric_key
from pipeline.metrics.scored_examples import ScoredExamples

KS_NAME = catalogue.KS.tfma_name
# The private metric holding a slice's collected examples (see `scored_examples`).
SCORED_EXAMPLES = "_scored_examples"


def ranked(acc: ScoredExamples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, labels, weights) of the collected examples, highest score first."""
    scores = acc.scores
    order = np.argsort(-scores, kind="stable")
    return scores[order], acc.labels[order], acc.weights[order]


def score_groups(
    scores: np.ndarray, labels: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first index, positive weight, negative weight) of each group of tied scores.

    `scores` and `labels` are sorted by score, highest first (`ranked`); `weights` has
    one row per replicate (replicates x examples; one row of the example weights for the
    metric itself). The weights are (replicates x groups).
    """
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    positive = np.add.reduceat(weights * labels, starts, axis=1)
    negative = np.add.reduceat(weights, starts, axis=1) - positive
    return starts, positive, negative


def ks_statistics(cum_pos: np.ndarray, cum_neg: np.ndarray) -> np.ndarray:
    """max_t |TPR(t) - FPR(t)| of each row; NaN without both classes.

    Args:
        cum_pos, cum_neg: Positive and negative weight at or above each score group,
            highest score first (replicates x groups).
    """
    total_pos, total_neg = cum_pos[:, -1], cum_neg[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = cum_pos / total_pos[:, None] - cum_neg / total_neg[:, None]
    ks = np.maximum(gap.max(axis=1), -gap.min(axis=1))
    return np.where((total_pos > 0) & (total_neg > 0), ks, np.nan)


def gain_curves(cum_pos: np.ndarray, cum_weight: np.ndarray) -> np.ndarray:
    """Share of the positives in the top k tenths of each row, k = 1..10 (replicates x
    10); NaN without positives.

    The gain curve runs from (0, 0) through each group's (cum_weight, cum_pos) and is
    linear inside a group of tied scores: interpolation splits a group that straddles a
    decile boundary pro rata.

    Args:
        cum_pos, cum_weight: Positive and total weight at or above each score group,
            highest score first (replicates x groups).
    """
    fractions = np.asarray(DECILES, dtype=np.float64) / 10.0
    cutoffs = fractions[None, :] * cum_weight[:, -1:]
    gains = np.array(
        [
            np.interp(x, w, p, left=np.nan)
            for x, w, p in zip(cutoffs, cum_weight, cum_pos, strict=True)
        ]
    )
    total_pos = cum_pos[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Cutoffs inside the first group (left of its point) lie on the segment from (0, 0):
        # the same value as interpolating from a prepended origin, without copying rows.
        first = cutoffs * (cum_pos[:, :1] / cum_weight[:, :1])
        gains = np.where(np.isnan(gains), first, gains)
        return np.where(total_pos > 0, gains / total_pos, np.nan)


def _cumulative(acc: ScoredExamples) -> tuple[np.ndarray, np.ndarray] | None:
    """Cumulative positive and negative weight by score group (1 x groups), None when
    there is no example."""
    scores, labels, weights = ranked(acc)
    if scores.size == 0:
        return None
    _, positive, negative = score_groups(scores, labels, weights[None, :])
    return np.cumsum(positive, axis=1), np.cumsum(negative, axis=1)


def ks_statistic(acc: ScoredExamples) -> float:
    """max_t |TPR(t) - FPR(t)| over every score threshold; NaN without both classes."""
    cumulative = _cumulative(acc)
    return float("nan") if cumulative is None else float(ks_statistics(*cumulative)[0])


def cumulative_gains(acc: ScoredExamples) -> dict[int, float]:
    """Share of the positives in the top k tenths, for k = 1..10; NaN without positives."""
    cumulative = _cumulative(acc)
    if cumulative is None:
        return {k: float("nan") for k in DECILES}
    cum_pos, cum_neg = cumulative
    gains = gain_curves(cum_pos, cum_pos + cum_neg)[0]
    return {k: float(g) for k, g in zip(DECILES, gains, strict=True)}


class ScoredExamplesCombiner(beam.CombineFn):
    """Collects the (score, label, weight) of one model output in a slice.

    Subclasses compute their metrics from them in `extract_output`.
    """

    def __init__(self, key: metric_types.MetricKey, eval_config: Any) -> None:
        self._key = key
        self._read = ScalarReader(key, eval_config)

    def create_accumulator(self) -> ScoredExamples:
        return ScoredExamples()

    def add_input(
        self, acc: ScoredExamples, element: metric_types.StandardMetricInputs
    ) -> ScoredExamples:
        for label, prediction, weight in self._read(element):
            acc.add(prediction, label, weight)
        return acc

    def compact(self, acc: ScoredExamples) -> ScoredExamples:
        # Beam calls this before it ships a worker's accumulator to be merged.
        acc.pack()
        return acc

    def merge_accumulators(self, accumulators: Iterable[ScoredExamples]) -> ScoredExamples:
        accumulators = iter(accumulators)
        result = next(accumulators)
        for acc in accumulators:
            result.extend(acc)
        return result


class _ScoredExamplesCollector(ScoredExamplesCombiner):
    """Outputs the collected examples themselves, under a private key (TFMA drops keys
    starting with '_' before writing)."""

    def extract_output(self, acc: ScoredExamples) -> dict[metric_types.MetricKey, ScoredExamples]:
        return {self._key: acc}


def scored_examples(
    eval_config: Any,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
) -> tuple[metric_types.MetricComputation, metric_types.MetricKey]:
    """The computation collecting a model output's (score, label, weight) per slice.

    Every metric built on it (KS, gain and lift, the bootstrap intervals) returns this same
    computation beside its own derived one; TFMA runs identical computations once, so the
    examples are read once per slice however many of those metrics are configured.
    """
    key = metric_key(SCORED_EXAMPLES, model_name, output_name, sub_key, example_weighted)
    computation = metric_types.MetricComputation(
        keys=[key], preprocessors=None, combiner=_ScoredExamplesCollector(key, eval_config)
    )
    return computation, key


def _computations(names: list[str]):
    """A TFMA create_computations_fn deriving the metrics `names` from `scored_examples`."""

    def create(
        name: str | None = None,
        eval_config: Any = None,
        model_name: str = "",
        output_name: str = "",
        sub_key: metric_types.SubKey | None = None,
        example_weighted: bool = False,
    ) -> metric_types.MetricComputations:
        collect, source = scored_examples(
            eval_config, model_name, output_name, sub_key, example_weighted
        )
        keys = {n: metric_key(n, model_name, output_name, sub_key, example_weighted) for n in names}

        def ranking_metrics(metrics: dict[metric_types.MetricKey, Any]) -> dict:
            acc = metrics[source]
            out = {}
            if KS_NAME in keys:
                out[keys[KS_NAME]] = ks_statistic(acc)
            if any(n != KS_NAME for n in keys):
                for k, gain in cumulative_gains(acc).items():
                    out[keys[gain_name(k)]] = gain
                    out[keys[lift_name(k)]] = gain / (k / 10.0)
            return out

        derived = metric_types.DerivedMetricComputation(
            keys=list(keys.values()), result=ranking_metrics
        )
        return [collect, derived]

    return metric_util.merge_per_key_computations(create)


class KolmogorovSmirnov(tfma.metrics.Metric):
    """Kolmogorov-Smirnov statistic of a binary classifier's scores (`ks_statistic`)."""

    def __init__(self, name: str = KS_NAME) -> None:
        super().__init__(_computations([KS_NAME]), name=name)


class LiftAndGain(tfma.metrics.Metric):
    """Cumulative gain and lift at each decile of the score ranking."""

    def __init__(self, name: str = "lift_and_gain") -> None:
        names = [gain_name(k) for k in DECILES] + [lift_name(k) for k in DECILES]
        super().__init__(_computations(names), name=name)


metric_types.register_metric(KolmogorovSmirnov)
metric_types.register_metric(LiftAndGain)
