"""What blesses a model, decided by TFMA's own validator on the eval config the spec makes.

The chosen semantics (README, "Blessing"): a bound is inclusive (a model exactly at
`lower_bound` passes, one a hair below fails); a NaN metric fails; a metric the evaluation
did not produce fails. The validator here is TFMA's `metrics_validator.validate_metrics`,
the function the Evaluator calls, fed with the thresholds `eval_config.create_eval_config`
builds from the census spec.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from eval_config import create_eval_config
from pipeline.spec import load_spec
from tests.conftest import DATA


def _validator(has_baseline: bool, gate: bool = False, data_set: str = "census"):
    """TFMA's validator on the spec's eval config, prepared as TFX's Evaluator prepares it.

    Without `gate`, the census spec's fairness gate is left out, so that only the floors
    and the no-regression bound are thresholds.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.evaluators import metrics_validator
    from tensorflow_model_analysis.metrics import metric_specs

    # census: auc >= 0.85 (max_regression 0.01), accuracy >= 0.80;
    # diabetes: rmse <= 65 (max_regression 5), r2 >= 0.3.
    spec = load_spec(DATA / data_set)
    if not gate:
        spec = dataclasses.replace(spec, fairness_gate=None)
    config = tfma.utils.update_eval_config_with_defaults(
        create_eval_config(spec), has_baseline=has_baseline, rubber_stamp=True
    )
    thresholds = metric_specs.metric_thresholds_from_metrics_specs(
        config.metrics_specs, eval_config=config
    )
    keys = {(key.name, key.model_name, key.is_diff): key for key in thresholds}

    def run(values: dict[tuple[str, str, bool], float]) -> bool:
        metrics = {keys[name]: value for name, value in values.items()}
        return metrics_validator.validate_metrics(((), metrics), config).validation_ok

    return run, {t.metric: t for t in spec.thresholds}, spec


@pytest.fixture(scope="module")
def first_run():
    """No baseline yet: absolute bounds only (TFX drops change thresholds)."""
    run, thresholds, _ = _validator(has_baseline=False)
    passing = {("auc", "", False): 0.99, ("binary_accuracy", "", False): 0.99}
    return run, thresholds, passing


def test_exactly_at_the_bound_passes(first_run):
    run, thresholds, passing = first_run
    assert run({**passing, ("auc", "", False): thresholds["auc"].lower_bound}) is True


def test_a_hair_below_the_bound_fails(first_run):
    run, thresholds, passing = first_run
    below = math.nextafter(thresholds["auc"].lower_bound, 0.0)
    assert run({**passing, ("auc", "", False): below}) is False


def test_nan_metric_fails(first_run):
    run, _, passing = first_run
    assert run({**passing, ("auc", "", False): math.nan}) is False


def test_missing_metric_fails(first_run):
    run, _, passing = first_run
    assert run({("binary_accuracy", "", False): 0.99}) is False
    assert run(passing) is True


def test_regression_exactly_at_the_allowed_change_passes():
    run, thresholds, _ = _validator(has_baseline=True)
    allowed = -thresholds["auc"].max_regression
    values = {
        ("auc", "candidate", False): 0.90, ("auc", "baseline", False): 0.91,
        ("binary_accuracy", "candidate", False): 0.85,
        ("binary_accuracy", "baseline", False): 0.85,
        ("auc", "candidate", True): allowed, ("auc", "baseline", True): 0.0,
    }  # fmt: skip
    assert run(values) is True
    assert run({**values, ("auc", "candidate", True): math.nextafter(allowed, -1.0)}) is False
    assert run({**values, ("auc", "candidate", True): math.nan}) is False


def test_a_fairness_gap_exactly_at_its_bound_passes_and_above_or_nan_fails():
    run, _, spec = _validator(has_baseline=False, gate=True)
    gaps = {
        (f"fairness_gap/{rate}/{column}", "", False): bound
        for column in spec.sensitive_columns
        for rate, bound in spec.fairness_gate.max_gap.items()
    }
    passing = {("auc", "", False): 0.99, ("binary_accuracy", "", False): 0.99}
    assert run({**passing, **gaps}) is True  # every gap exactly at its bound
    key = ("fairness_gap/fnr/sex", "", False)
    assert run({**passing, **gaps, key: math.nextafter(gaps[key], 1.0)}) is False
    assert run({**passing, **gaps, key: math.nan}) is False  # no group big enough
    assert run(passing) is False  # the gap metrics missing altogether


def test_an_error_metric_passes_at_its_upper_bound_and_may_grow_by_max_regression():
    """Regression (diabetes spec): RMSE is bounded above and may not grow too much."""
    run, thresholds, _ = _validator(has_baseline=False, data_set="diabetes")
    bound = thresholds["rmse"].upper_bound
    first = {("root_mean_squared_error", "", False): bound, ("r_squared", "", False): 0.5}
    assert run(first) is True
    assert (
        run({**first, ("root_mean_squared_error", "", False): math.nextafter(bound, 1e9)}) is False
    )
    assert run({**first, ("root_mean_squared_error", "", False): math.nan}) is False
    assert run({**first, ("r_squared", "", False): math.nextafter(0.3, -1.0)}) is False

    run, thresholds, _ = _validator(has_baseline=True, data_set="diabetes")
    allowed = thresholds["rmse"].max_regression  # candidate - baseline, at most +5
    values = {
        ("root_mean_squared_error", "candidate", False): 55.0,
        ("root_mean_squared_error", "baseline", False): 50.0,
        ("r_squared", "candidate", False): 0.5, ("r_squared", "baseline", False): 0.5,
        ("root_mean_squared_error", "candidate", True): allowed,
        ("root_mean_squared_error", "baseline", True): 0.0,
    }  # fmt: skip
    assert run(values) is True
    worse = math.nextafter(allowed, 1e9)
    assert run({**values, ("root_mean_squared_error", "candidate", True): worse}) is False
    # A better model (a lower RMSE than the baseline) passes the change bound.
    assert run({**values, ("root_mean_squared_error", "candidate", True): -10.0}) is True
