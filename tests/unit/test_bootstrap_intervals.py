"""The bootstrap's estimators on a hand-computed case, and the intervals' behaviour."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from pipeline.metrics.catalogue import gain_name, lift_name
from pipeline.metrics.inputs import metric_key
from pipeline.metrics.intervals import (
    bootstrap_intervals,
    interval_name,
    metric_values,
    paired_differences,
    paired_differences_against,
    parse_interval_name,
    regression_values,
)
from pipeline.metrics.ranking import ScoredExamples
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


def regression_data(n: int, seed: int = 2) -> ScoredExamples:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    labels = 400 + 40 * x + rng.normal(0, 30, n)  # positive: RMSLE is defined
    predictions = 400 + 35 * x
    return ScoredExamples(list(predictions), list(labels), [1.0] * n)


def test_regression_values_equal_the_streamed_metrics():
    from pipeline.metrics.regression import RegressionSums, regression_metrics

    data = regression_data(300)
    sums = RegressionSums()
    for p, y in zip(data.scores, data.labels, strict=True):
        sums.add(y, p, 1.0)
    expected = regression_metrics(sums, num_features=4)
    values = regression_values(
        np.array(data.scores), np.array(data.labels), np.ones((1, 300)), num_features=4
    )
    for name, value in expected.items():
        assert values[name, None][0] == pytest.approx(value), name
    errors = np.array(data.labels) - np.array(data.scores)
    assert values["mean_absolute_error", None][0] == pytest.approx(np.abs(errors).mean())


def test_regression_intervals_contain_the_estimate_and_narrow_as_the_data_grow():
    small, large = regression_data(400), regression_data(6400)
    cis = [
        bootstrap_intervals(d, [], replicates=400, regression=True, num_features=3)
        for d in (small, large)
    ]
    for data, ci in zip((small, large), cis, strict=True):
        n = len(data.scores)
        estimate = regression_values(
            np.array(data.scores), np.array(data.labels), np.ones((1, n)), num_features=3
        )
        assert set(ci) == set(estimate)
        for key, (low, high) in ci.items():
            assert low <= estimate[key][0] <= high, key
    for key in (("root_mean_squared_error", None), ("r_squared", None)):
        small_width = cis[0][key][1] - cis[0][key][0]
        large_width = cis[1][key][1] - cis[1][key][0]
        assert large_width < small_width / 2, key


def test_rmsle_is_undefined_below_minus_one():
    data = ScoredExamples([-2.0, 1.0, 3.0], [0.5, 1.0, 2.0], [1.0] * 3)
    low, high = bootstrap_intervals(data, [], replicates=200, regression=True)[
        "root_mean_squared_log_error", None
    ]
    assert math.isnan(low) and math.isnan(high)


def test_paired_changes_against_several_models_equal_one_comparison_each():
    rng = np.random.default_rng(5)
    labels = (rng.random(2000) < 0.3).astype(float)
    reference = np.clip(0.3 + 0.3 * labels + rng.normal(0, 0.2, labels.size), 0, 1)
    worse = np.clip(reference + rng.normal(0, 0.3, labels.size), 0, 1)
    noise = rng.random(labels.size)
    together = paired_differences_against(reference, [worse, noise, reference], labels, seed=3)
    one_by_one = [paired_differences(reference, b, labels, seed=3) for b in (worse, noise)]
    assert together[:2] == one_by_one
    same = together[2]["auc"]
    assert same["change"] == 0 and same["low"] == 0 and same["high"] == 0
    # Noise for scores: the AUC falls by about (AUC - 0.5), and the interval says so.
    assert together[1]["auc"]["high"] < 0 < together[1]["auc"]["a"] - 0.5


def test_poisson_draws_follow_poisson_one():
    """The looked-up draws: each count's probability within 1/65,536 of Poisson(1)'s, and
    a large sample's mean and variance 1."""
    from pipeline.metrics.intervals import _POISSON_1, poisson_draws

    table = np.bincount(_POISSON_1) / _POISSON_1.size
    exact = [math.exp(-1) / math.factorial(k) for k in range(table.size)]
    assert np.max(np.abs(table - exact)) <= 1 / 65_536
    draws = poisson_draws(np.random.default_rng(0), (200, 5_000))
    assert draws.dtype == np.float64 and draws.shape == (200, 5_000)
    assert draws.mean() == pytest.approx(1.0, abs=0.005)
    assert draws.var() == pytest.approx(1.0, abs=0.01)


def _called(run) -> set:
    """The code objects of every Python function that `run()` calls."""
    seen = set()

    def profile(frame, event, arg):
        if event == "call":
            seen.add(frame.f_code)

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return seen


def test_a_point_metric_and_its_interval_call_the_same_estimator():
    """KS, gain and lift, and the regression metrics: one estimator each, which the TFMA
    metric calls on the examples and the bootstrap on every replicate."""
    from pipeline.metrics import ranking, regression

    data = synthetic(500)
    point = _called(lambda: (ranking.ks_statistic(data), ranking.cumulative_gains(data)))
    interval = _called(lambda: bootstrap_intervals(data, [0.5], replicates=20))
    for estimator in (ranking.score_groups, ranking.ks_statistics, ranking.gain_curves):
        assert estimator.__code__ in point, estimator.__name__
        assert estimator.__code__ in interval, estimator.__name__

    keys = {n: metric_key(n) for n in regression.NAMES}
    combiner = regression._RegressionCombiner(keys, None, num_features=3)
    acc = regression.RegressionSums()
    data = regression_data(50)
    for y, p in zip(data.labels, data.scores, strict=True):
        acc.add(y, p, 1.0)
    point = _called(lambda: combiner.extract_output(acc))
    interval = _called(lambda: bootstrap_intervals(data, [], replicates=20, regression=True))
    assert regression.regression_metrics.__code__ in point
    assert regression.regression_metrics.__code__ in interval


def test_replicate_weights_of_all_ones_give_the_point_metrics_bit_for_bit():
    """On many small samples (where a different estimator would round differently in at
    least one), the bootstrap's values for one replicate that draws every example once
    are the point metrics, bit for bit."""
    from pipeline.metrics import ranking, regression

    rng = np.random.default_rng(11)
    for _ in range(100):
        n = int(rng.integers(5, 200))
        labels = (rng.random(n) < 0.4).astype(float)
        scores = np.clip(0.3 + 0.3 * labels + rng.normal(0, 0.2, n), 0, 1).round(2)  # ties
        data = ScoredExamples(list(scores), list(labels), [1.0] * n)
        order = np.argsort(-scores, kind="stable")
        ones = metric_values(scores[order], labels[order], np.ones((1, n)), [])
        assert ones["ks_statistic", None][0] == ranking.ks_statistic(data)
        for k, gain in ranking.cumulative_gains(data).items():
            assert ones[gain_name(k), None][0] == gain, k
            assert ones[lift_name(k), None][0] == gain / (k / 10), k

        # Whole numbers: every sum is exact in any order, so only the estimator can differ.
        y = rng.integers(25, 350, n).astype(float)
        p = np.clip(y + rng.integers(-60, 60, n), 1, None).astype(float)
        sums = regression.RegressionSums()
        for label, prediction in zip(y, p, strict=True):
            sums.add(label, prediction, 1.0)
        streamed = regression.regression_metrics(sums, num_features=3)
        replicated = regression_values(p, y, np.ones((1, n)), num_features=3)
        for name in (regression.RMSE, regression.R_SQUARED, regression.ADJUSTED_R_SQUARED):
            assert replicated[name, None][0] == streamed[name], name
        rmsle = replicated[regression.RMSLE, None][0]
        assert rmsle == pytest.approx(streamed[regression.RMSLE], rel=1e-12)
