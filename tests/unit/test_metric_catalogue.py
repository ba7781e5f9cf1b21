"""The metric catalogue is the one vocabulary: the spec, the eval config, the custom
metrics, the tables, the summary and the ablation read their names, directions, titles
and headline sets from it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import eval_config
from components.ablation.executor import headline_metrics
from pipeline import spec as dataset_spec
from pipeline.metrics import catalogue, fairness_gap, intervals, score
from pipeline.reports import evaluation_tables, summary
from pipeline.spec import load_spec
from tests.conftest import DATA

TASKS = (catalogue.CLASSIFICATION, catalogue.MULTICLASS, catalogue.REGRESSION)


def test_the_catalogue_imports_neither_tensorflow_nor_tfma():
    code = (
        "import sys, pipeline.metrics.catalogue, pipeline.spec; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'tensorflow_model_analysis', 'apache_beam', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_spec_reads_its_metric_names_from_the_catalogue():
    assert dataset_spec.THRESHOLD_METRICS is catalogue.THRESHOLD_METRICS
    assert dataset_spec.REGRESSION_THRESHOLD_METRICS is catalogue.REGRESSION_THRESHOLD_METRICS
    assert dataset_spec.MULTICLASS_THRESHOLD_METRICS is catalogue.MULTICLASS_THRESHOLD_METRICS
    assert {"precision", "recall", "f1", "auc"} == dataset_spec.PER_CLASS_METRICS
    assert set(catalogue.BOUNDED) == set(dataset_spec.TASKS)
    assert dataset_spec.LOWER_IS_BETTER is catalogue.LOWER_IS_BETTER
    assert dataset_spec.GATE_RATES is catalogue.GATE_RATES
    assert sorted(catalogue.LOWER_IS_BETTER) == ["mae", "rmse", "rmsle"]
    assert list(catalogue.GATE_RATES) == ["fpr", "fnr", "tpr", "tnr", "fdr", "for"]


def test_names_are_unique_and_every_set_holds_catalogue_metrics():
    names = [m.name for m in catalogue.METRICS]
    assert len(names) == len(set(names))
    sets = [
        catalogue.RATES,
        catalogue.GATE_RATES.values(),
        *(catalogue.BOUNDED[t].values() for t in TASKS),
        *(catalogue.HEADLINE[t] for t in TASKS),
        *(catalogue.SUMMARY_COLUMNS[t] for t in TASKS),
        *(catalogue.COMPARED[t] for t in TASKS),
    ]
    for metrics in sets:
        assert set(metrics) <= set(catalogue.METRICS)
    for task in TASKS:
        # The summary and the comparisons show headline metrics, which both models have.
        assert set(catalogue.SUMMARY_COLUMNS[task]) <= set(catalogue.HEADLINE[task])
        assert set(catalogue.COMPARED[task]) <= set(catalogue.HEADLINE[task])


def test_a_metric_is_better_smaller_exactly_when_the_catalogue_says_so():
    assert catalogue.lower_is_better("root_mean_squared_error")
    assert catalogue.lower_is_better("mean_absolute_error")
    assert not catalogue.lower_is_better("auc") and not catalogue.lower_is_better("r_squared")
    assert not catalogue.lower_is_better("not_a_metric")


def test_rates_of_the_metrics_the_gate_and_the_score_metric_are_the_catalogues():
    assert list(intervals.RATES) == [m.tfma_name for m in catalogue.RATES]
    assert list(eval_config.THRESHOLDED_METRICS) == list(intervals.RATES)
    assert fairness_gap.GATE_RATES is catalogue.GATE_RATES
    # A rate from the counts tp=3, fp=1, tn=5, fn=1, as the catalogue defines it.
    values = {m.name: m.rate(3.0, 1.0, 5.0, 1.0) for m in catalogue.RATES}
    assert values["fpr"] == pytest.approx(1 / 6) and values["fnr"] == pytest.approx(1 / 4)
    assert values["precision"] == pytest.approx(3 / 4)
    assert set(score.UNTHRESHOLDED) >= {
        m.tfma_name for m in catalogue.COMPARED["binary_classification"]
    }


def _written(configs) -> set[str]:
    """What metric configs compute: class names, and the names and TFMA classes in their
    options (a ScoreMetric's name, a HistogramMetric's class, RegressionMetrics' list)."""
    written = set()
    for config in configs:
        options = json.loads(config.config or "{}")
        written |= {config.class_name, options.get("name"), options.get("metric")}
        written |= set(options.get("metrics", []))
    return written


@pytest.mark.parametrize("data_set", ["census", "diabetes"])
def test_both_models_are_evaluated_on_every_headline_metric(data_set):
    """The report's per-slice table and the candidate-vs-baseline comparison read the
    catalogue's headline metrics: the eval config computes each of them for both models,
    and scores the simple baselines on what models are compared on."""
    spec = load_spec(DATA / data_set)
    compared = _written(eval_config.compared_metric_configs(spec))
    for metric in catalogue.HEADLINE[spec.task]:
        assert {metric.tfma_name, metric.tfma_class} & compared, metric.name
    baselines = _written(eval_config.baseline_metric_configs(spec))
    assert {m.tfma_name for m in catalogue.COMPARED[spec.task]} <= baselines


def test_tables_summary_and_ablation_use_the_catalogues_sets_and_titles():
    # The per-slice table: every task's headline metrics, binary classification first.
    assert list(evaluation_tables.HEADLINE.values()) == [
        "n", "AUC", "accuracy", "AUC-PR", "label rate", "mean prediction", "calibration",
        "KS", "lift top 10%", "accuracy", "macro AUC", "macro F1", "macro precision",
        "macro recall", "RMSE", "RMSLE", "MAE", "R2", "adjusted R2",
    ]  # fmt: skip
    assert summary.HEADLINE == (
        "AUC", "accuracy", "AUC-PR", "calibration", "macro F1", "macro AUC", "RMSE", "MAE", "R2",
    )  # fmt: skip
    assert summary.SLICE_HEADLINE == (("AUC", "accuracy"), ("accuracy", "macro F1"), ("RMSE", "R2"))
    assert evaluation_tables.FAIRNESS_RATES == {
        "fall_out": "FPR", "miss_rate": "FNR", "recall": "TPR", "specificity": "TNR",
        "false_discovery_rate": "FDR", "false_omission_rate": "FOR",
    }  # fmt: skip
    assert headline_metrics("binary_classification") == ("auc", "binary_accuracy")
    assert headline_metrics("regression") == ("root_mean_squared_error", "r_squared")
    assert headline_metrics("multiclass_classification") == (
        "sparse_categorical_accuracy",
        "macro_f1",
    )
    assert evaluation_tables.key_metric(load_spec(DATA / "diabetes")) == (
        "root_mean_squared_error",
        "RMSE",
    )
    assert evaluation_tables.key_metric(None) == ("auc", "AUC")


def test_a_multiclass_model_is_evaluated_on_the_catalogues_sets():
    """Both models get the headline metrics and, per class (a MetricsSpec binarized to
    that class), the class columns; the candidate alone the rates; the simple baselines
    what models are compared on."""
    spec = load_spec(DATA / "penguins")
    specs = eval_config.multiclass_metrics_specs(spec)
    output = ["probabilities"]
    compared = [s for s in specs if list(s.output_names) == output and not s.model_names]
    written = _written(m for s in compared if not s.HasField("binarize") for m in s.metrics)
    for metric in catalogue.HEADLINE[spec.task]:
        assert {metric.tfma_name, metric.tfma_class} & written, metric.name
    by_class = {
        tuple(s.binarize.class_ids.values): _written(s.metrics)
        for s in compared
        if s.HasField("binarize")
    }
    assert sorted(by_class) == [(0,), (1,), (2,)]
    for written in by_class.values():
        assert {m.tfma_name for m in catalogue.CLASS_COLUMNS} <= written
    rates = next(s for s in specs if list(s.model_names) and s.HasField("binarize")
                 and any(json.loads(m.config)["name"] == "miss_rate" for m in s.metrics))  # fmt: skip
    assert list(rates.binarize.class_ids.values) == [0, 1, 2]
    assert {m.tfma_name for m in catalogue.CLASS_RATES} == {
        json.loads(m.config)["name"] for m in rates.metrics
    }
    (baselines,) = [s for s in specs if list(s.output_names) == ["linear", "majority", "chance"]]
    assert {m.tfma_name for m in catalogue.COMPARED[spec.task]} <= _written(baselines.metrics)
