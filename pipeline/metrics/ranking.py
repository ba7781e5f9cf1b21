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


def _score_groups(acc: ScoredExamples) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative weight per distinct score, highest score first."""
    scores, labels, weights = acc.scores, acc.labels, acc.weights
    distinct, group = np.unique(-scores, return_inverse=True)  # ascending -score
    positive = np.bincount(group, weights=weights * labels, minlength=distinct.size)
    negative = np.bincount(group, weights=weights * (1.0 - labels), minlength=distinct.size)
    return positive, negative


def ks_statistic(acc: ScoredExamples) -> float:
    """max_t |TPR(t) - FPR(t)| over every score threshold; NaN without both classes."""
    positive, negative = _score_groups(acc)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    tpr = np.cumsum(positive) / total_pos
    fpr = np.cumsum(negative) / total_neg
    return float(np.max(np.abs(tpr - fpr)))


def cumulative_gains(acc: ScoredExamples) -> dict[int, float]:
    """Share of the positives in the top k tenths, for k = 1..10; NaN without positives."""
    positive, negative = _score_groups(acc)
    total_pos = positive.sum()
    if total_pos <= 0:
        return {k: float("nan") for k in DECILES}
    # The gain curve is linear inside a group of tied scores: interpolation splits a group
    # that straddles a decile boundary pro rata.
    cum_weight = np.concatenate([[0.0], np.cumsum(positive + negative)])
    cum_pos = np.concatenate([[0.0], np.cumsum(positive)])
    cutoffs = np.asarray(DECILES, dtype=np.float64) / 10.0 * cum_weight[-1]
    gains = np.interp(cutoffs, cum_weight, cum_pos) / total_pos
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
