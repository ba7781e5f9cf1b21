"""The one catalogue of the metrics the project reports or bounds: names, directions, titles.

Each `Metric` says how the data set spec names it, how TFMA names it in the evaluation
output, which TFMA metric class writes it, whether a smaller value is the better model,
and how tables title it. The spec's loader, the eval config, the custom metrics, the
tables, the run summary, the HTML report and the ablation all read their names and sets
from here, so a metric is renamed, retitled or turned around in one place.

Pure Python (no TFMA, no TensorFlow): the spec loader and the reports import it cheaply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

CLASSIFICATION = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"

# Where TFMA imports the project's own metric classes from (TFMA lacks these metrics).
RANKING_MODULE = "pipeline.metrics.ranking"
REGRESSION_MODULE = "pipeline.metrics.regression"
MULTICLASS_MODULE = "pipeline.metrics.multiclass"


@dataclasses.dataclass(frozen=True)
class Metric:
    """One metric of the project's evaluations.

    Attributes:
        name: How the data set spec names it (`evaluation.thresholds[].metric`,
            `fairness.gate.max_gap`); the TFMA name for metrics a spec cannot bound.
        tfma_name: The metric's name in the Evaluator's output (`tfma.load_metrics`).
        tfma_class: The TFMA metric class that writes it: TFMA's own (some of which
            `pipeline.metrics.score` and `.histogram` compute from the shared scores, to
            the same values), or the project's custom one in `module`.
        title: Its column title in tables, the summary and the HTML report.
        lower_is_better: A smaller value is the better model (bounded above, and a
            no-regression bound allows it to grow by at most the given amount).
        module: Where TFMA imports `tfma_class` from; None for TFMA's own classes.
        rate: For a confusion-matrix rate, its value from the counts (tp, fp, tn, fn)
            (floats or numpy arrays alike); None for other metrics.
    """

    name: str
    tfma_name: str
    tfma_class: str
    title: str
    lower_is_better: bool = False
    module: str | None = None
    rate: Callable[[Any, Any, Any, Any], Any] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )


EXAMPLE_COUNT = Metric("example_count", "example_count", "ExampleCount", "n")
MEAN_LABEL = Metric("mean_label", "mean_label", "MeanLabel", "label rate")
MEAN_PREDICTION = Metric("mean_prediction", "mean_prediction", "MeanPrediction", "mean prediction")

# A binary classifier's.
AUC = Metric("auc", "auc", "AUC", "AUC")
ACCURACY = Metric("binary_accuracy", "binary_accuracy", "BinaryAccuracy", "accuracy")
PR_AUC = Metric("auc_precision_recall", "auc_precision_recall", "AUCPrecisionRecall", "AUC-PR")
CALIBRATION = Metric("calibration", "calibration", "Calibration", "calibration")
KS = Metric("ks_statistic", "ks_statistic", "KolmogorovSmirnov", "KS", module=RANKING_MODULE)

# Ranking by score, highest first: share of the positives in the top k tenths (gain),
# and that share divided by k/10 (lift; 1.0 = no better than picking at random).
DECILES = tuple(range(1, 11))


def gain_name(decile: int) -> str:
    """Key of the cumulative gain in the top `decile` tenths, e.g. `cumulative_gain@30%`."""
    return f"cumulative_gain@{decile * 10}%"


def lift_name(decile: int) -> str:
    """Key of the cumulative lift in the top `decile` tenths, e.g. `lift@30%`."""
    return f"lift@{decile * 10}%"


LIFT_AT_10 = Metric(
    lift_name(1), lift_name(1), "LiftAndGain", "lift top 10%", module=RANKING_MODULE
)


# The Fairness Indicators rates at a decision threshold (TFMA's classes of these names
# take a `thresholds` list), each a function of the confusion counts. The fairness gate
# bounds six of them by their short names.
def _rate(name: str, tfma_name: str, tfma_class: str, title: str, rate: Callable) -> Metric:
    return Metric(name, tfma_name, tfma_class, title, rate=rate)


# fmt: off
PRECISION = _rate("precision", "precision", "Precision", "precision", lambda tp, fp, tn, fn: tp / (tp + fp))
TPR = _rate("tpr", "recall", "Recall", "TPR", lambda tp, fp, tn, fn: tp / (tp + fn))
F1 = _rate("f1_score", "f1_score", "F1Score", "F1", lambda tp, fp, tn, fn: 2 * tp / (2 * tp + fp + fn))
TNR = _rate("tnr", "specificity", "Specificity", "TNR", lambda tp, fp, tn, fn: tn / (tn + fp))
NPV = _rate("negative_predictive_value", "negative_predictive_value", "NegativePredictiveValue", "NPV",
            lambda tp, fp, tn, fn: tn / (tn + fn))
FPR = _rate("fpr", "fall_out", "FallOut", "FPR", lambda tp, fp, tn, fn: fp / (fp + tn))
FNR = _rate("fnr", "miss_rate", "MissRate", "FNR", lambda tp, fp, tn, fn: fn / (fn + tp))
FDR = _rate("fdr", "false_discovery_rate", "FalseDiscoveryRate", "FDR", lambda tp, fp, tn, fn: fp / (fp + tp))
FOR = _rate("for", "false_omission_rate", "FalseOmissionRate", "FOR", lambda tp, fp, tn, fn: fn / (fn + tn))
# fmt: on
# The same metric as TPR, under the name a spec's threshold bounds it by.
RECALL = dataclasses.replace(TPR, name="recall", title="recall")

# A multi-class classifier's (`pipeline.metrics.multiclass`, from one collection of class
# probabilities per slice): top-1 accuracy (the value of TFMA's SparseCategoricalAccuracy),
# the macro averages over the classes, and each class's metrics against the others, under
# TFMA's sub key of the class: PRECISION, RECALL, F1 and AUC (bounded by a spec's
# `precision`, `recall`, `f1`, `auc` with a `class`), and the rates.
TOP1_ACCURACY = Metric(
    "accuracy", "sparse_categorical_accuracy", "SparseCategoricalAccuracy", "accuracy"
)


def _macro(of: Metric, title: str) -> Metric:
    name = f"macro_{of.name.removesuffix('_score')}"
    return Metric(name, name, "MultiClassMetric", title, module=MULTICLASS_MODULE)


MACRO_PRECISION = _macro(PRECISION, "macro precision")
MACRO_RECALL = _macro(RECALL, "macro recall")
MACRO_F1 = _macro(F1, "macro F1")
MACRO_AUC = _macro(AUC, "macro AUC")
# What each macro average averages, by TFMA name.
MACRO_OF = {
    MACRO_PRECISION.tfma_name: PRECISION.tfma_name,
    MACRO_RECALL.tfma_name: RECALL.tfma_name,
    MACRO_F1.tfma_name: F1.tfma_name,
    MACRO_AUC.tfma_name: AUC.tfma_name,
}
# One class's F1, under the name a spec's threshold bounds it by.
CLASS_F1 = dataclasses.replace(F1, name="f1")

# A regression model's.
RMSE = Metric(
    "rmse", "root_mean_squared_error", "RegressionMetrics", "RMSE", True, REGRESSION_MODULE
)
RMSLE = Metric(
    "rmsle", "root_mean_squared_log_error", "RegressionMetrics", "RMSLE", True, REGRESSION_MODULE
)
R2 = Metric("r2", "r_squared", "RegressionMetrics", "R2", module=REGRESSION_MODULE)
ADJUSTED_R2 = Metric(
    "adjusted_r2", "adjusted_r_squared", "RegressionMetrics", "adjusted R2",
    module=REGRESSION_MODULE,
)  # fmt: skip
MAE = Metric("mae", "mean_absolute_error", "MeanAbsoluteError", "MAE", lower_is_better=True)


def by_name(metrics: Iterable[Metric]) -> dict[str, Metric]:
    """`metrics` keyed by their spec name, in order."""
    return {m.name: m for m in metrics}


# --- Sets, each defined once -------------------------------------------------------------

# The rates reported at each of the spec's decision thresholds (`fairness.thresholds`).
RATES = (PRECISION, TPR, F1, TNR, NPV, FPR, FNR, FDR, FOR)
# Rates the fairness gate can bound (`fairness.gate.max_gap`), by spec name.
GATE_RATES = by_name((FPR, FNR, TPR, TNR, FDR, FOR))
# Metrics a spec's `evaluation.thresholds` may bound, by spec name, per task.
THRESHOLD_METRICS = by_name((AUC, ACCURACY, PR_AUC, PRECISION, RECALL))
REGRESSION_THRESHOLD_METRICS = by_name((RMSE, RMSLE, R2, ADJUSTED_R2, MAE))
# A multi-class model's: one class's metrics (a bound names the class: `class`), then
# the whole slice's.
PER_CLASS = by_name((PRECISION, RECALL, CLASS_F1, AUC))
PER_CLASS_METRICS = frozenset(PER_CLASS)
MULTICLASS_THRESHOLD_METRICS = by_name(
    (TOP1_ACCURACY, MACRO_PRECISION, MACRO_RECALL, MACRO_F1, MACRO_AUC, *PER_CLASS.values())
)
BOUNDED = {
    CLASSIFICATION: THRESHOLD_METRICS,
    MULTICLASS: MULTICLASS_THRESHOLD_METRICS,
    REGRESSION: REGRESSION_THRESHOLD_METRICS,
}
# A multi-class model's metrics of each class, in the per-class tables: those compared
# with the baseline model (and boundable), then the rates (the candidate's only).
CLASS_COLUMNS = (PRECISION, RECALL, F1, AUC)
CLASS_RATES = (TNR, NPV, FPR, FNR, FDR, FOR)
# Every metric above.
METRICS = (
    EXAMPLE_COUNT, MEAN_LABEL, MEAN_PREDICTION, AUC, ACCURACY, PR_AUC, CALIBRATION, KS,
    LIFT_AT_10, *RATES, RECALL, TOP1_ACCURACY, MACRO_PRECISION, MACRO_RECALL, MACRO_F1,
    MACRO_AUC, CLASS_F1, RMSE, RMSLE, R2, ADJUSTED_R2, MAE,
)  # fmt: skip
# Spec names of the metrics where a smaller value is the better model.
LOWER_IS_BETTER = frozenset(m.name for m in METRICS if m.lower_is_better)

# The headline metrics of each task (a spec's `task`): the per-slice table of the
# reports, and so what the candidate and the baseline model are both evaluated on (the
# comparison needs both values).
HEADLINE = {
    CLASSIFICATION: (
        EXAMPLE_COUNT, AUC, ACCURACY, PR_AUC, MEAN_LABEL, MEAN_PREDICTION, CALIBRATION, KS,
        LIFT_AT_10,
    ),
    MULTICLASS: (
        EXAMPLE_COUNT, TOP1_ACCURACY, MACRO_AUC, MACRO_F1, MACRO_PRECISION, MACRO_RECALL,
    ),
    REGRESSION: (EXAMPLE_COUNT, MEAN_LABEL, MEAN_PREDICTION, RMSE, RMSLE, MAE, R2, ADJUSTED_R2),
}  # fmt: skip
# The run summary's columns: the headline metrics that fit a terminal line.
SUMMARY_COLUMNS = {
    CLASSIFICATION: (EXAMPLE_COUNT, AUC, ACCURACY, PR_AUC, CALIBRATION),
    MULTICLASS: (EXAMPLE_COUNT, TOP1_ACCURACY, MACRO_F1, MACRO_AUC),
    REGRESSION: (EXAMPLE_COUNT, RMSE, MAE, R2),
}
# Metrics a slice's examples must hold both classes for (with one class TFMA still writes
# a number, AUC 0, that measures nothing), and one a slice without a positive lacks (the
# calibration divides by the mean label).
NEEDS_BOTH_CLASSES = (AUC, PR_AUC, KS)
NEEDS_POSITIVES = (CALIBRATION,)
# What models are compared on, one against another: the simple baselines against the
# model, the ablated models against the reference. The first is the key metric, which
# the reports lead with.
# A multi-class model's key metric is its top-1 accuracy; its macro F1 shows what the
# majority class baseline's accuracy hides.
COMPARED = {
    CLASSIFICATION: (AUC, ACCURACY),
    MULTICLASS: (TOP1_ACCURACY, MACRO_F1),
    REGRESSION: (RMSE, R2),
}


def either_task(sets: dict[str, tuple[Metric, ...]]) -> tuple[Metric, ...]:
    """Every task's metrics of `sets`, binary classification first, each metric once: for
    a table that does not know its task (a frame holds one task's set)."""
    tasks = (CLASSIFICATION, MULTICLASS, REGRESSION)
    return tuple({m: None for task in tasks for m in sets[task]})


# The decision threshold of a bound on a rate (a spec's `precision` or `recall`).
BOUND_THRESHOLD = 0.5


def bounded_name(metric: Metric, task: str = CLASSIFICATION) -> str:
    """The name the Evaluator writes a spec-bounded metric under: its TFMA name, or for a
    binary model's rate its own TFMA instance at `BOUND_THRESHOLD`, e.g.
    `Precision_at_0.5` (a multi-class model's rate is a class's, under its TFMA name)."""
    if metric.rate is None or task != CLASSIFICATION:
        return metric.tfma_name
    return f"{metric.tfma_class}_at_{BOUND_THRESHOLD:g}"


def lower_is_better(tfma_name: str) -> bool:
    """Whether the metric TFMA writes as `tfma_name` is better smaller (RMSE, not AUC)."""
    return any(m.lower_is_better for m in METRICS if m.tfma_name == tfma_name)
