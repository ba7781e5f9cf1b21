"""The calibration histogram built from a score collection, and the wrapper that puts it
in place of TFMA's combiner (equality with TFMA's own values: tests/model)."""

from __future__ import annotations

import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import calibration_histogram

from pipeline.metrics.histogram import HISTOGRAM_METRICS, HistogramMetric, histogram
from pipeline.metrics.ranking import SCORED_EXAMPLES, ScoredExamples

CONFIG = tfma.EvalConfig(model_specs=[tfma.ModelSpec(label_key="label")])


def test_buckets_follow_tfmas_edges_and_sums():
    acc = ScoredExamples(
        scores=[-0.5, 0.0, 0.00005, 0.0001, 0.5, 0.99995, 1.0, 1.5, 0.5],
        labels=[0, 1, 0, 1, 1, 0, 1, 1, 0],
        weights=[1, 1, 1, 1, 2, 1, 1, 1, 1],
    )
    buckets = {b.bucket_id: b for b in histogram(acc, num_buckets=10_000)}
    # Below 0, [0, 1e-4) twice, [1e-4, 2e-4), [0.5, 0.5001), the last bucket, 1 and above.
    assert sorted(buckets) == [0, 1, 2, 5001, 10000, 10001]
    assert buckets[1].weighted_examples == 2 and buckets[1].weighted_labels == 1
    assert buckets[10001].weighted_examples == 2  # 1.0 and 1.5
    middle = buckets[5001]
    assert (middle.weighted_labels, middle.weighted_predictions, middle.weighted_examples) == (
        2.0,
        1.5,
        3.0,
    )


def test_an_example_of_weight_zero_makes_no_bucket_as_in_tfma():
    acc = ScoredExamples(scores=[0.2, 0.7], labels=[1, 0], weights=[1, 0])
    assert [b.bucket_id for b in histogram(acc)] == [2001]
    everything = histogram(acc, fractional_labels=False)
    assert [b.bucket_id for b in everything] == [2001, 7001]


def test_bad_scores_and_labels_are_named():
    with pytest.raises(ValueError, match="1 NaN score"):
        histogram(ScoredExamples(scores=[float("nan"), 0.5], labels=[0, 1], weights=[1, 1]))
    with pytest.raises(ValueError, match=r"within \[0, 1\].*2.0"):
        histogram(ScoredExamples(scores=[0.5], labels=[2.0], weights=[1]))


@pytest.mark.parametrize("metric", HISTOGRAM_METRICS)
def test_the_wrapper_replaces_tfmas_histogram_combiner_by_the_score_collection(metric):
    computations = HistogramMetric(metric).computations(
        eval_config=CONFIG, model_names=[""], output_names=["probabilities"]
    )
    combiners = [c.combiner for c in computations if hasattr(c, "combiner")]
    assert not any(
        isinstance(c, calibration_histogram._CalibrationHistogramCombiner) for c in combiners
    )
    collected = [k.name for c in computations if hasattr(c, "combiner") for k in c.keys]
    assert collected == [SCORED_EXAMPLES]
    # Keeps the wrapped metric's name, so bounds on it bind as before.
    assert HistogramMetric(metric).name == tfma.metrics.__dict__[metric]().name


def test_an_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="'Precision' is not one of"):
        HistogramMetric("Precision")
