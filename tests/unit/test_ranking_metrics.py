"""KS, cumulative gain and lift on small cases computed by hand."""

from __future__ import annotations

import math

import pytest

from pipeline.metrics.ranking import ScoredExamples, cumulative_gains, ks_statistic

# Ten examples, highest score first; 4 positives, 6 negatives.
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
LABELS = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]


def scored(scores: list[float], labels: list[int], weights: list[float] | None = None):
    return ScoredExamples(
        list(scores), [float(x) for x in labels], list(weights or [1.0] * len(scores))
    )


def test_ks_is_the_largest_gap_between_tpr_and_fpr():
    # After the 4th example (0.6): TPR = 3/4, FPR = 1/6.
    assert ks_statistic(scored(SCORES, LABELS)) == pytest.approx(3 / 4 - 1 / 6)


def test_ks_of_a_perfect_and_of_an_inverted_ranking_is_one():
    assert ks_statistic(scored([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])) == pytest.approx(1.0)
    assert ks_statistic(scored([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])) == pytest.approx(1.0)


def test_gain_and_lift_by_decile():
    gains = cumulative_gains(scored(SCORES, LABELS))
    # One example per decile: positives at ranks 1, 2, 4, 7.
    expected = [0.25, 0.5, 0.5, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0]
    assert [gains[k] for k in range(1, 11)] == pytest.approx(expected)
    lift_at_10, lift_at_30 = gains[1] / 0.1, gains[3] / 0.3
    assert lift_at_10 == pytest.approx(2.5) and lift_at_30 == pytest.approx(5 / 3)


def test_tied_scores_are_one_group_split_pro_rata_at_a_decile_boundary():
    # Two tied groups, each half positive: the ranking says nothing.
    tied = scored([0.8, 0.8, 0.2, 0.2], [1, 0, 1, 0])
    assert ks_statistic(tied) == pytest.approx(0.0)
    gains = cumulative_gains(tied)
    assert [gains[k] for k in range(1, 11)] == pytest.approx([k / 10 for k in range(1, 11)])


def test_weights_count_as_repeated_examples():
    weighted = scored([0.9, 0.5, 0.1], [1, 0, 1], [2.0, 1.0, 1.0])
    repeated = scored([0.9, 0.9, 0.5, 0.1], [1, 1, 0, 1])
    assert ks_statistic(weighted) == pytest.approx(ks_statistic(repeated))
    assert cumulative_gains(weighted) == pytest.approx(cumulative_gains(repeated))


def test_a_slice_with_one_class_has_no_ks_nor_gain():
    only_negatives = scored([0.3, 0.2], [0, 0])
    assert math.isnan(ks_statistic(only_negatives))
    assert all(math.isnan(g) for g in cumulative_gains(only_negatives).values())
    assert math.isnan(ks_statistic(scored([0.3, 0.2], [1, 1])))
