"""The bootstrap's estimators on a hand-computed case, and the intervals' behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.bootstrap_intervals import (
    bootstrap_intervals,
    interval_name,
    metric_values,
    parse_interval_name,
)
from pipeline.ranking_metrics import ScoredExamples
from tests.unit.test_ranking_metrics import LABELS, SCORES


def point_values(thresholds=(0.5,)) -> dict:
    """Every metric with each example counted once (no resampling)."""
    scores, labels = np.array(SCORES), np.array(LABELS, dtype=float)
    values = metric_values(scores, labels, np.ones((1, len(SCORES))), thresholds)
    return {key: float(v[0]) for key, v in values.items()}


def test_estimators_match_the_hand_computed_values():
    values = point_values()
    # Positives rank 1, 2, 4, 7 of 10: 20 of the 24 positive-negative pairs are ordered.
    assert values["auc", None] == pytest.approx(20 / 24)
    assert values["auc_precision_recall", None] == pytest.approx((1 + 1 + 3 / 4 + 4 / 7) / 4)
    assert values["ks_statistic", None] == pytest.approx(3 / 4 - 1 / 6)
    # Above 0.5: 0.9, 0.8, 0.7, 0.6 -> tp 3, fp 1, tn 5, fn 1 (0.5 itself is negative).
    assert values["binary_accuracy", None] == pytest.approx(0.8)
    assert values["precision", 0.5] == pytest.approx(0.75)
    assert values["fall_out", 0.5] == pytest.approx(1 / 6)
    assert values["miss_rate", 0.5] == pytest.approx(0.25)
    assert values["false_omission_rate", 0.5] == pytest.approx(1 / 6)
    assert values["mean_label", None] == pytest.approx(0.4)
    assert values["calibration", None] == pytest.approx(np.mean(SCORES) / 0.4)
    assert values["lift@10%", None] == pytest.approx(2.5)


def synthetic(n: int, seed: int = 1) -> ScoredExamples:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(float)
    scores = np.clip(0.3 + 0.25 * labels + rng.normal(0, 0.2, n), 0, 1)
    return ScoredExamples(list(scores), list(labels), [1.0] * n)


def test_intervals_contain_the_estimate_and_narrow_as_the_data_grow():
    small = synthetic(400)
    large = synthetic(6400)
    small_ci = bootstrap_intervals(small, [0.5], replicates=400)
    large_ci = bootstrap_intervals(large, [0.5], replicates=400)
    for data, ci in ((small, small_ci), (large, large_ci)):
        order = np.argsort(-np.array(data.scores), kind="stable")
        estimate = metric_values(
            np.array(data.scores)[order],
            np.array(data.labels)[order],
            np.ones((1, len(order))),
            [0.5],
        )
        for key, (low, high) in ci.items():
            assert low <= estimate[key][0] <= high, key
    for key in (("auc", None), ("fall_out", 0.5), ("lift@10%", None)):
        small_width = small_ci[key][1] - small_ci[key][0]
        large_width = large_ci[key][1] - large_ci[key][0]
        # 16x the data: about 4x narrower; 2x leaves room for noise.
        assert large_width < small_width / 2, key


def test_a_one_class_slice_gets_no_interval_and_the_seed_fixes_the_draws():
    only_negatives = ScoredExamples([0.2, 0.4, 0.1], [0.0, 0.0, 0.0], [1.0] * 3)
    auc_low, auc_high = bootstrap_intervals(only_negatives, [0.5])["auc", None]
    assert math.isnan(auc_low) and math.isnan(auc_high)
    data = synthetic(300)
    assert bootstrap_intervals(data, [0.5], seed=3) == bootstrap_intervals(data, [0.5], seed=3)
    assert bootstrap_intervals(data, [0.5], seed=3) != bootstrap_intervals(data, [0.5], seed=4)


def test_interval_names_round_trip():
    assert parse_interval_name(interval_name("lower", "auc")) == ("lower", "auc", None)
    assert parse_interval_name(interval_name("upper", "fall_out", 0.3)) == (
        "upper",
        "fall_out",
        0.3,
    )
    assert parse_interval_name("auc") is None
