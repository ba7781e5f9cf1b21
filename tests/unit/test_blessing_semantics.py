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
from pipeline.dataset_spec import load_spec
from tests.conftest import DATA


def _validator(has_baseline: bool, gate: bool = False):
    """TFMA's validator on the spec's eval config, prepared as TFX's Evaluator prepares it.

    Without `gate`, the census spec's fairness gate is left out, so that only the floors
    and the no-regression bound are thresholds.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.evaluators import metrics_validator
    from tensorflow_model_analysis.metrics import metric_specs

    spec = load_spec(DATA / "census")  # auc >= 0.85 (max_regression 0.01), accuracy >= 0.80
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
