"""RMSE, RMSLE, R-squared and adjusted R-squared on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from pipeline.metrics.regression import (
    ADJUSTED_R_SQUARED,
    R_SQUARED,
    RMSE,
    RMSLE,
    RegressionSums,
    regression_metrics,
)


def sums(labels, predictions, weights=None) -> RegressionSums:
    acc = RegressionSums()
    for y, p, w in zip(labels, predictions, weights or [1.0] * len(labels), strict=True):
        acc.add(y, p, w)
    return acc


def test_hand_computed_case():
    # Errors 1, -1, 2, 0: squared 1, 1, 4, 0 -> mean 1.5. Labels 2, 4, 6, 8: mean 5,
    # total sum of squares 9 + 1 + 1 + 9 = 20. R^2 = 1 - 6/20 = 0.7.
    values = regression_metrics(sums([2, 4, 6, 8], [1, 5, 4, 8]), num_features=1)
    assert values[RMSE] == pytest.approx(math.sqrt(1.5))
    assert values[R_SQUARED] == pytest.approx(0.7)
    # n = 4, k = 1: 1 - 0.3 * 3 / 2 = 0.55.
    assert values[ADJUSTED_R_SQUARED] == pytest.approx(0.55)
    expected = math.sqrt(
        sum((math.log1p(y) - math.log1p(p)) ** 2 for y, p in [(2, 1), (4, 5), (6, 4), (8, 8)]) / 4
    )
    assert values[RMSLE] == pytest.approx(expected)


def test_perfect_predictions_and_the_mean_predictor():
    perfect = regression_metrics(sums([1, 2, 3], [1, 2, 3]), num_features=1)
    assert perfect[RMSE] == 0 and perfect[R_SQUARED] == pytest.approx(1.0)
    mean = regression_metrics(sums([1, 2, 3], [2, 2, 2]), num_features=0)
    assert mean[R_SQUARED] == pytest.approx(0.0)


def test_weights_count_as_repeats_and_merging_equals_one_pass():
    weighted = regression_metrics(sums([1, 3], [2, 2], [2.0, 1.0]), num_features=0)
    repeated = regression_metrics(sums([1, 1, 3], [2, 2, 2]), num_features=0)
    assert weighted[RMSE] == pytest.approx(repeated[RMSE])
    assert weighted[R_SQUARED] == pytest.approx(repeated[R_SQUARED])
    left, right = sums([2, 4], [1, 5]), sums([6, 8], [4, 8])
    left.merge(right)
    assert regression_metrics(left, 1) == regression_metrics(sums([2, 4, 6, 8], [1, 5, 4, 8]), 1)


def test_undefined_values_are_nan_not_errors():
    constant = regression_metrics(sums([5, 5, 5], [4, 5, 6]), num_features=1)
    assert math.isnan(constant[R_SQUARED]) and constant[RMSE] > 0
    negative = regression_metrics(sums([-2, 1], [0, 1]), num_features=0)
    assert math.isnan(negative[RMSLE]) and not math.isnan(negative[RMSE])
    too_few = regression_metrics(sums([1, 2, 3], [1, 2, 4]), num_features=2)
    assert math.isnan(too_few[ADJUSTED_R_SQUARED])
    assert all(math.isnan(v) for v in regression_metrics(RegressionSums(), 1).values())
