"""A multi-class model's metrics, as TFMA custom metrics derived from one collection of each
slice's examples (`class_scores.ClassScores`: probabilities, class id, weight).

- `MultiClassMetric`: top-1 accuracy (`sparse_categorical_accuracy`, TFMA's and Keras's
  name), the `macro_*` averages, and one class's one-vs-rest metrics (`precision`,
  `recall`, `f1_score`, `auc` and the Fairness Indicators rates). A class's metric is
  written under TFMA's sub key of the class (`class_id`), as TFMA's own metrics are when a
  MetricsSpec has `binarize: {class_ids: [...]}`; the eval config binarizes, so a bound on
  one class's metric is an ordinary TFMA threshold on that sub key.
- `MultiClassConfusionPlot`: TFMA's `MultiClassConfusionMatrixPlot` (actual x top class),
  its combiner replaced by the same matrix counted from the collection.
- `MultiClassIntervals`: bootstrap intervals of every metric above (`ci_lower/<metric>`,
  `ci_upper/<metric>`, a class's under its sub key), as `BootstrapIntervals` writes them.
- `MultiClassFairnessGap`: the fairness gate per class: for one class (the sub key),
  one rate and one sensitive column, the largest |rate(group) - rate(slice)| over the
  groups, the rate being the class's against the others with the top class as the
  prediction (`fairness_gap.rate_gaps`, the binary gate's rule).

Why not TFMA's own multi-class metrics (`SparseCategoricalAccuracy`, binarized
`Precision`/`Recall`/`F1Score`/`AUC` with a macro aggregate, the plot's own combiner):
each binarized metric runs one Python combiner per class, example and slice, while the
collection is read once per example and slice, and every metric, interval and gap is
numpy on it: with its bootstrap intervals included, it takes about half the CPU time of
TFMA's metrics without any (`python -m benchmarks.multiclass_evaluator` times both on the
same model, test split and slices: `benchmarks/results/multiclass_evaluator.txt`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import (
    metric_types,
    metric_util,
    multi_class_confusion_matrix_metrics,
)

from pipeline.metrics.class_scores import (
    ACCURACY,
    AUC,
    MACRO,
    ClassScores,
    class_intervals,
    one_vs_rest_counts,
    point_values,
)
from pipeline.metrics.fairness_gap import (
    GATE_RATES,
    GroupCounts,
    gap_name,
    group_of,
    rate_gaps,
    size_name,
)
from pipeline.metrics.inputs import _label_key, _lookup, metric_key
from pipeline.metrics.intervals import RATES, interval_name

# The private metric holding a slice's collected examples.
CLASS_SCORES = "_class_scores"
# Every metric of the slice, computed once for all the MultiClassMetrics that read it.
CLASS_VALUES = "_class_values"
# Metrics of the whole slice, and metrics of one class (a sub key).
SLICE_METRICS = (ACCURACY, *MACRO)
CLASS_METRICS = (*RATES, AUC)
PLOT_NAME = "multi_class_confusion_matrix_plot"
INTERVALS_NAME = "multi_class_intervals"


class ClassReader:
    """Reads (class id, probabilities, weight) of one model output, one example at a time.

    The label and the prediction are looked up directly in the common layout (one label,
    one array of probabilities, no example weights); anything else goes through TFMA's
    reader. TFMA hands the same inputs object to a combiner once per slice an example
    falls in: the last one read is remembered.
    """

    def __init__(self, key: metric_types.MetricKey, eval_config: Any) -> None:
        self._key = key
        self._eval_config = eval_config
        self._label_key = _label_key(eval_config, key.model_name)
        self._last: tuple[Any, tuple[tuple[float, np.ndarray, float], ...]] = (None, ())

    def _fast(self, element: metric_types.StandardMetricInputs) -> tuple | None:
        if self._key.example_weighted:
            return None
        label = _lookup(element.label, self._label_key, required=False)
        prediction = element.prediction
        for name in (self._key.model_name, self._key.output_name):
            if name:
                prediction = _lookup(prediction, name, required=True)
                label = _lookup(label, name, required=False)
        if not isinstance(label, np.ndarray) or not isinstance(prediction, np.ndarray):
            return None
        if label.size != 1 or label.dtype.kind not in "biuf" or prediction.ndim != 1:
            return None
        return float(label.reshape(-1)[0]), prediction.astype(np.float64), 1.0

    def __call__(
        self, element: metric_types.StandardMetricInputs
    ) -> tuple[tuple[float, np.ndarray, float], ...]:
        last, read = self._last
        if element is last:
            return read
        fast = self._fast(element)
        if fast is not None:
            read = (fast,)
        else:
            read = tuple(
                (
                    metric_util.safe_to_scalar(label),
                    np.asarray(prediction, dtype=np.float64).reshape(-1),
                    metric_util.safe_to_scalar(weight),
                )
                for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                    element,
                    eval_config=self._eval_config,
                    model_name=self._key.model_name,
                    output_name=self._key.output_name,
                    example_weighted=bool(self._key.example_weighted),
                    flatten=False,
                    squeeze=False,
                )
            )
        self._last = (element, read)
        return read


class _ClassScoresCollector(beam.CombineFn):
    """Collects a model output's (probabilities, class id, weight) in a slice."""

    def __init__(self, key: metric_types.MetricKey, eval_config: Any, classes: int) -> None:
        self._key = key
        self._classes = classes
        self._read = ClassReader(key, eval_config)

    def create_accumulator(self) -> ClassScores:
        return ClassScores(self._classes)

    def add_input(
        self, acc: ClassScores, element: metric_types.StandardMetricInputs
    ) -> ClassScores:
        for label, probabilities, weight in self._read(element):
            acc.add(probabilities, label, weight)
        return acc

    def compact(self, acc: ClassScores) -> ClassScores:
        acc.pack()
        return acc

    def merge_accumulators(self, accumulators: Iterable[ClassScores]) -> ClassScores:
        accumulators = iter(accumulators)
        result = next(accumulators)
        for acc in accumulators:
            result.extend(acc)
        return result

    def extract_output(self, acc: ClassScores) -> dict[metric_types.MetricKey, ClassScores]:
        return {self._key: acc}


def class_scores(
    eval_config: Any, model_name: str, output_name: str, classes: int, example_weighted: bool
) -> tuple[metric_types.MetricComputation, metric_types.MetricKey]:
    """The computation collecting a model output's examples per slice, and its key.

    Keyed without a sub key: every class's metrics read the one collection (TFMA runs
    identical computations once).
    """
    key = metric_key(CLASS_SCORES, model_name, output_name, None, example_weighted)
    computation = metric_types.MetricComputation(
        keys=[key], preprocessors=None, combiner=_ClassScoresCollector(key, eval_config, classes)
    )
    return computation, key


def _shared_values(
    eval_config: Any, model_name: str, output_name: str, classes: int, example_weighted: bool
) -> tuple[metric_types.MetricComputations, metric_types.MetricKey]:
    """The collection and the derived computation of every metric of the slice from it."""
    collect, source = class_scores(eval_config, model_name, output_name, classes, example_weighted)
    shared = metric_key(CLASS_VALUES, model_name, output_name, None, example_weighted)

    def class_values(metrics: dict[metric_types.MetricKey, Any]) -> dict:
        return {shared: point_values(metrics[source])}

    derived = metric_types.DerivedMetricComputation(keys=[shared], result=class_values)
    return [collect, derived], shared


def _class_id(name: str, sub_key: metric_types.SubKey | None) -> int | None:
    """The class a metric config's key is of; checks the name fits the sub key."""
    class_id = sub_key.class_id if sub_key else None
    if name in CLASS_METRICS and class_id is None:
        raise ValueError(
            f"MultiClassMetric {name!r} is one class's: put it in a MetricsSpec with "
            "binarize: {class_ids: [...]}"
        )
    if name in SLICE_METRICS and sub_key is not None:
        raise ValueError(f"MultiClassMetric {name!r} is the whole slice's: do not binarize it")
    return class_id


def _metric_computations(
    name: str = ACCURACY,
    classes: int = 2,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    class_id = _class_id(name, sub_key)
    key = metric_key(name, model_name, output_name, sub_key, example_weighted)
    computations, shared = _shared_values(
        eval_config, model_name, output_name, int(classes), example_weighted
    )

    def value(metrics: dict[metric_types.MetricKey, Any]) -> dict:
        return {key: metrics[shared][name, class_id]}

    return [*computations, metric_types.DerivedMetricComputation(keys=[key], result=value)]


class MultiClassMetric(tfma.metrics.Metric):
    """One multi-class metric from the slice's collection, named after it.

    Config: `name` (one of SLICE_METRICS, or of CLASS_METRICS in a binarized MetricsSpec)
    and `classes` (the number of classes).
    """

    def __init__(self, name: str = ACCURACY, classes: int = 2) -> None:
        if name not in (*SLICE_METRICS, *CLASS_METRICS):
            raise ValueError(
                f"MultiClassMetric: {name!r} is not one of {[*SLICE_METRICS, *CLASS_METRICS]}"
            )
        super().__init__(
            metric_util.merge_per_key_computations(_metric_computations),
            name=name,
            classes=classes,
        )


def confusion_matrices(
    acc: ClassScores, thresholds: Sequence[float]
) -> multi_class_confusion_matrix_metrics.Matrices:
    """TFMA's multi-class confusion matrices of the collected examples: at each threshold,
    weighted counts by (actual class, top class), the top class being
    NO_PREDICTED_CLASS_ID when its probability is not above the threshold (as TFMA's
    combiner counts them)."""
    matrices = multi_class_confusion_matrix_metrics.Matrices()
    probabilities, labels, weights = acc.probabilities, acc.labels, acc.weights
    top = np.argmax(probabilities, axis=1) if len(acc) else np.zeros(0, np.int64)
    best = probabilities[np.arange(len(acc)), top]
    none = multi_class_confusion_matrix_metrics.NO_PREDICTED_CLASS_ID
    width = acc.classes + 1  # predicted ids -1 .. classes - 1, shifted by one
    for threshold in thresholds:
        predicted = np.where(best > threshold, top, none)
        cells = labels * width + (predicted + 1)
        sums = np.bincount(cells, weights=weights, minlength=acc.classes * width)
        seen = np.bincount(cells, minlength=acc.classes * width) > 0
        matrices[threshold] = {
            multi_class_confusion_matrix_metrics.MatrixEntryKey(
                int(cell // width), int(cell % width) - 1
            ): float(sums[cell])
            for cell in np.flatnonzero(seen)
        }
    return matrices


def _plot_computations(
    name: str | None = None,
    classes: int = 2,
    eval_config: Any = None,
    schema: Any = None,
    model_names: list[str] | None = None,
    output_names: list[str] | None = None,
    sub_keys: list[metric_types.SubKey | None] | None = None,
    aggregation_type: metric_types.AggregationType | None = None,
    class_weights: dict[int, float] | None = None,
    example_weighted: bool = False,
    query_key: str | None = None,
) -> metric_types.MetricComputations:
    """TFMA's plot computations, its matrices combiner replaced by the collection's."""
    plot = tfma.metrics.MultiClassConfusionMatrixPlot(name=name or PLOT_NAME)
    out: metric_types.MetricComputations = []
    for computation in plot.computations(
        eval_config, schema, model_names, output_names, sub_keys, aggregation_type,
        class_weights, example_weighted, query_key,
    ):  # fmt: skip
        combiner = getattr(computation, "combiner", None)
        if not isinstance(
            combiner, multi_class_confusion_matrix_metrics._MultiClassConfusionMatrixCombiner
        ):
            out.append(computation)
            continue
        (key,) = computation.keys
        collect, source = class_scores(
            eval_config, key.model_name, key.output_name, int(classes), key.example_weighted
        )
        thresholds = list(combiner._thresholds)

        def matrices(metrics: dict, key=key, source=source, thresholds=thresholds) -> dict:
            return {key: confusion_matrices(metrics[source], thresholds)}

        out += [collect, metric_types.DerivedMetricComputation(keys=[key], result=matrices)]
    return out


class MultiClassConfusionPlot(tfma.metrics.Metric):
    """TFMA's multi-class confusion matrix plot, counted from the slice's collection.

    Config: `classes` (the number of classes), optionally `name`.
    """

    def __init__(self, classes: int = 2, name: str = PLOT_NAME) -> None:
        super().__init__(_plot_computations, name=name, classes=classes)


def _interval_computations(
    name: str = INTERVALS_NAME,
    classes: int = 2,
    replicates: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    key = metric_key(name, model_name, output_name, None, example_weighted)
    collect, source = class_scores(
        eval_config, model_name, output_name, int(classes), example_weighted
    )
    options = {"replicates": int(replicates), "confidence": float(confidence), "seed": int(seed)}

    def intervals(metrics: dict[metric_types.MetricKey, Any]) -> dict:
        out = {}
        for (metric, class_id), bounds in class_intervals(metrics[source], **options).items():
            sub_key = None if class_id is None else metric_types.SubKey(class_id=class_id)
            for bound, value in zip(("lower", "upper"), bounds, strict=True):
                out[key._replace(name=interval_name(bound, metric), sub_key=sub_key)] = value
        return out

    return [collect, metric_types.DerivedMetricComputation(keys=[key], result=intervals)]


class MultiClassIntervals(tfma.metrics.Metric):
    """Percentile bootstrap intervals of every multi-class metric, per slice.

    Config: classes, replicates, confidence, seed.
    """

    def __init__(
        self,
        name: str = INTERVALS_NAME,
        classes: int = 2,
        replicates: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> None:
        super().__init__(
            metric_util.merge_per_key_computations(_interval_computations),
            name=name,
            classes=classes,
            replicates=replicates,
            confidence=confidence,
            seed=seed,
        )


class GroupMatrices:
    """Confusion matrices (actual x top class) and example counts per group."""

    def __init__(self) -> None:
        self.matrices: dict[str, np.ndarray] = {}
        self.examples: dict[str, int] = {}

    def one_vs_rest(self, c: int) -> GroupCounts:
        """Class `c`'s counts against the others, per group, as the binary gate reads them."""
        counts = {g: list(one_vs_rest_counts(m, c)) for g, m in self.matrices.items()}
        return GroupCounts(counts, dict(self.examples))


class _GroupMatricesCombiner(beam.CombineFn):
    """Confusion matrices per group of one feature."""

    def __init__(
        self, key: metric_types.MetricKey, eval_config: Any, feature: str, classes: int
    ) -> None:
        self._key = key
        self._read = ClassReader(key, eval_config)
        self._feature = feature
        self._classes = classes
        self._last: tuple[Any, str] = (None, "")

    def create_accumulator(self) -> GroupMatrices:
        return GroupMatrices()

    def add_input(
        self, acc: GroupMatrices, element: metric_types.StandardMetricInputs
    ) -> GroupMatrices:
        last, group = self._last
        if element is not last:
            features = element.get_combined_features(self._key.model_name or None)
            group = group_of(features, self._feature)
            self._last = (element, group)
        matrix = acc.matrices.get(group)
        if matrix is None:
            matrix = acc.matrices[group] = np.zeros((self._classes, self._classes))
        for label, probabilities, weight in self._read(element):
            matrix[int(label), int(np.argmax(probabilities))] += weight
        acc.examples[group] = acc.examples.get(group, 0) + 1
        return acc

    def merge_accumulators(self, accumulators: Iterable[GroupMatrices]) -> GroupMatrices:
        accumulators = iter(accumulators)
        result = next(accumulators)
        for acc in accumulators:
            for group, matrix in acc.matrices.items():
                if group in result.matrices:
                    result.matrices[group] = result.matrices[group] + matrix
                else:
                    result.matrices[group] = matrix
                result.examples[group] = result.examples.get(group, 0) + acc.examples[group]
        return result

    def extract_output(self, acc: GroupMatrices) -> dict[metric_types.MetricKey, GroupMatrices]:
        return {self._key: acc}


def _gap_computations(
    name: str | None = None,
    rate: str = "fnr",
    column: str = "",
    feature: str = "",
    min_group_size: int = 30,
    classes: int = 2,
    eval_config: Any = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    if sub_key is None or sub_key.class_id is None:
        raise ValueError(
            "MultiClassFairnessGap is one class's: put it in a MetricsSpec with "
            "binarize: {class_ids: [...]}"
        )
    key = metric_key(name, model_name, output_name, sub_key, example_weighted)
    feature = feature or column
    # One set of matrices per feature serves every class and rate.
    counts_key = metric_key(
        f"_group_matrices/{feature}", model_name, output_name, None, example_weighted
    )
    preprocessor = metric_types.StandardMetricInputsPreprocessor(
        include_filter={constants.FEATURES_KEY: {}, constants.TRANSFORMED_FEATURES_KEY: {}},
        include_default_inputs=True,
    )
    collect = metric_types.MetricComputation(
        keys=[counts_key],
        preprocessors=[preprocessor],
        combiner=_GroupMatricesCombiner(counts_key, eval_config, feature, int(classes)),
    )
    class_id = sub_key.class_id

    def gaps(metrics: dict[metric_types.MetricKey, Any]) -> dict[metric_types.MetricKey, float]:
        acc = metrics[counts_key].one_vs_rest(class_id)
        largest, signed = rate_gaps(acc, rate, int(min_group_size))
        out = {key: largest}
        for group, gap in signed.items():
            out[key._replace(name=gap_name(rate, column, group))] = gap
            out[key._replace(name=size_name(rate, column, group))] = acc.examples[group]
        return out

    return [collect, metric_types.DerivedMetricComputation(keys=[key], result=gaps)]


class MultiClassFairnessGap(tfma.metrics.Metric):
    """For one class (the sub key of a binarized MetricsSpec): the largest
    |rate(group) - rate(slice)| over the groups of one sensitive column.

    Config: rate (a key of GATE_RATES), column, feature (default the column),
    min_group_size, classes.
    """

    def __init__(
        self,
        name: str = "",
        rate: str = "fnr",
        column: str = "",
        feature: str = "",
        min_group_size: int = 30,
        classes: int = 2,
    ) -> None:
        if rate not in GATE_RATES:
            raise ValueError(f"rate {rate!r} is not one of {sorted(GATE_RATES)}")
        super().__init__(
            metric_util.merge_per_key_computations(_gap_computations),
            name=name or gap_name(rate, column),
            rate=rate,
            column=column,
            feature=feature,
            min_group_size=min_group_size,
            classes=classes,
        )


for _metric in (
    MultiClassMetric,
    MultiClassConfusionPlot,
    MultiClassIntervals,
    MultiClassFairnessGap,
):
    metric_types.register_metric(_metric)
