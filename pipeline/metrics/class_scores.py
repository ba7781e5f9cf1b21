"""A multi-class slice's examples (class probabilities, class id, weight) and every metric of
them, for the evaluation and for each bootstrap replicate at once.

The multi-class counterpart of `scored_examples.ScoredExamples`: the Evaluator's
multi-class metrics (`pipeline.metrics.multiclass`) all derive from this one collection
per slice and model output, so TFMA reads each example once per slice for all of them.
It is packed the same way (`scored_examples.pack_column`): float32 probabilities, uint8
class ids, one number for constant weights; 4 bytes a class and 1 an example.

The metrics (numpy, no TFMA), with the conventions of TFMA and scikit-learn:
- a prediction is the top class (the first of equal probabilities, as `np.argmax`);
- `sparse_categorical_accuracy`: the share of examples whose top class is their class;
- per class c, one-vs-rest: the class against all the others, from the counts
  tp = top c and class c, fp = top c and another class, fn = class c and another top,
  tn = the rest: `precision`, `recall`, `f1_score` and the Fairness Indicators rates;
  `auc` ranks the examples by P(c) (tied probabilities count half);
- `macro_*`: the mean over the classes whose metric is defined in the slice (a class
  absent from a slice has no recall there; one never predicted has no precision).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline.metrics import catalogue
from pipeline.metrics.intervals import RATES, replicate_intervals
from pipeline.metrics.scored_examples import PENDING_LIMIT, Packed, pack_column, unpack_column

ACCURACY = catalogue.TOP1_ACCURACY.tfma_name
AUC = catalogue.AUC.tfma_name
# Averages over the classes, by name: the per-class metric each one averages.
MACRO = catalogue.MACRO_OF
# A value's key: (metric name, class id or None for a metric of the whole slice).
Key = tuple[str, int | None]


class ClassScores:
    """Every example's class probabilities, class id and weight seen in a slice, in order.

    Args:
        classes: Probabilities per example (the model's output width).
    """

    def __init__(
        self,
        classes: int,
        probabilities: Iterable[Sequence[float]] = (),
        labels: Iterable[float] = (),
        weights: Iterable[float] = (),
    ) -> None:
        self.classes = classes
        self._pending = (array("d"), array("d"), array("d"))
        # (number of examples, packed probabilities (flat), packed labels, packed weights)
        self._chunks: list[tuple[int, Packed, Packed, Packed]] = []
        for p, y, w in zip(probabilities, labels, weights, strict=True):
            self.add(p, y, w)

    def add(self, probabilities: Sequence[float], label: float, weight: float) -> None:
        """Appends one example.

        Raises:
            ValueError: `probabilities` does not hold one value per class.
        """
        if len(probabilities) != self.classes:
            raise ValueError(
                f"a multi-class prediction holds {len(probabilities)} probabilities where the "
                f"spec declares {self.classes} classes (label.classes)"
            )
        flat, labels, weights = self._pending
        flat.extend(probabilities)
        labels.append(label)
        weights.append(weight)
        if len(labels) >= PENDING_LIMIT:
            self.pack()

    def pack(self) -> None:
        """Packs the examples added since the last call."""
        size = len(self._pending[1])
        if size:
            columns = (pack_column(np.array(c, dtype=np.float64)) for c in self._pending)
            self._chunks.append((size, *columns))
            self._pending = (array("d"), array("d"), array("d"))

    def extend(self, other: ClassScores) -> None:
        """Appends another collection's examples (its packed chunks, not copies)."""
        self.pack()
        other.pack()
        self._chunks.extend(other._chunks)

    def __len__(self) -> int:
        return sum(chunk[0] for chunk in self._chunks) + len(self._pending[1])

    def _column(self, index: int, width: int) -> np.ndarray:
        parts = [unpack_column(chunk[index + 1], chunk[0] * width) for chunk in self._chunks]
        parts.append(np.array(self._pending[index], dtype=np.float64))
        return np.concatenate(parts)

    @property
    def probabilities(self) -> np.ndarray:
        """Every example's probabilities (float64, examples x classes), in the order added."""
        return self._column(0, self.classes).reshape(-1, self.classes)

    @property
    def labels(self) -> np.ndarray:
        """Every example's class id (int64), in the order added."""
        return self._column(1, 1).astype(np.int64)

    @property
    def weights(self) -> np.ndarray:
        """Every example weight (float64), in the order added."""
        return self._column(2, 1)

    def __getstate__(self) -> tuple[int, list[tuple[int, Packed, Packed, Packed]]]:
        # Beam pickles accumulators between workers: ship the packed form only.
        self.pack()
        return self.classes, self._chunks

    def __setstate__(self, state: tuple[int, list[tuple[int, Packed, Packed, Packed]]]) -> None:
        self.classes, self._chunks = state
        self._pending = (array("d"), array("d"), array("d"))


def top_classes(probabilities: np.ndarray) -> np.ndarray:
    """Each example's predicted class: the first of its largest probabilities."""
    return np.argmax(probabilities, axis=1)


def confusion_matrix(acc: ClassScores) -> np.ndarray:
    """Weighted counts, classes x classes: [actual class id, predicted (top) class id]."""
    matrix = np.zeros((acc.classes, acc.classes))
    np.add.at(matrix, (acc.labels, top_classes(acc.probabilities)), acc.weights)
    return matrix


def one_vs_rest_counts(matrix: np.ndarray, c: int) -> tuple[float, float, float, float]:
    """(tp, fp, tn, fn) of class `c` against the others, from a confusion matrix."""
    tp = matrix[c, c]
    fp = matrix[:, c].sum() - tp
    fn = matrix[c, :].sum() - tp
    return tp, fp, matrix.sum() - tp - fp - fn, fn


class Ranking:
    """What every replicate's metrics share, computed once per slice (not once per chunk
    of replicates): the top classes, and per class the examples ranked by that class's
    probability, where its examples (the positives) are in that ranking, and for each
    positive the ranks that bound its group of tied probabilities."""

    def __init__(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        self.classes = probabilities.shape[1]
        self.top = top_classes(probabilities)
        # Per class: the ranking; the positives' ranks; per positive, the last rank before
        # its group and the last rank of it (-1: none), and the number of positives up to
        # each of those ranks.
        self.orders: list[np.ndarray] = []
        self.positives: list[np.ndarray] = []
        self.bounds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for c in range(self.classes):
            order = np.argsort(-probabilities[:, c], kind="stable")
            ranked = probabilities[order, c]
            positives = np.flatnonzero(labels[order] == c)
            new_group = np.r_[True, ranked[1:] != ranked[:-1]]
            group = np.cumsum(new_group) - 1  # each rank's group
            starts = np.flatnonzero(new_group)
            ends = np.r_[starts[1:] - 1, ranked.size - 1]
            before = starts[group[positives]] - 1
            last = ends[group[positives]]
            counted = [np.searchsorted(positives, x, side="right") for x in (before, last)]
            self.orders.append(order)
            self.positives.append(positives)
            self.bounds.append((before, last, *counted))


def _auc(ranking: Ranking, c: int, weights: np.ndarray) -> np.ndarray:
    """Class `c`'s one-vs-rest AUC per row of `weights`; NaN without both classes.

    Each positive counts the negatives ranked below its group, and half of those in it
    (tied probabilities). Only the weights' cumulative sum in ranking order runs over
    every example; the rest runs over the positives. (With numpy's `reduceat` over the
    groups of ties, a 16-class evaluation's intervals took five times as long.)
    """
    positives = ranking.positives[c]
    if positives.size == 0:
        return np.full(weights.shape[0], np.nan)
    before, last, positives_before, positives_last = ranking.bounds[c]
    ranked = weights[:, ranking.orders[c]]
    cum_all = np.cumsum(ranked, axis=1)
    positive = ranked[:, positives]
    cum_pos = np.concatenate([np.zeros((len(weights), 1)), np.cumsum(positive, axis=1)], axis=1)
    total_pos = cum_pos[:, -1]
    total_neg = cum_all[:, -1] - total_pos

    def negatives_through(rank: np.ndarray, counted: np.ndarray) -> np.ndarray:
        through = np.where(rank >= 0, cum_all[:, np.maximum(rank, 0)], 0.0)
        return through - cum_pos[:, counted]

    below_or_tied = (
        total_neg[:, None]
        - (negatives_through(before, positives_before) + negatives_through(last, positives_last))
        / 2
    )
    return np.einsum("ij,ij->i", positive, below_or_tied) / (total_pos * total_neg)


def class_metric_values(
    probabilities: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    ranking: Ranking | None = None,
) -> dict[Key, np.ndarray]:
    """Every multi-class metric for each row of `weights` (replicates x examples).

    Args:
        probabilities: Examples x classes.
        labels: Each example's class id.
        weights: One row of example weights per replicate (one row: the evaluation).
        ranking: `Ranking(probabilities, labels)`, when it is already made.

    Returns:
        Arrays of one value per replicate, keyed by (metric, class id or None); NaN where
        a metric is undefined (the recall of a class the slice lacks).
    """
    ranking = ranking or Ranking(probabilities, labels)
    top = ranking.top
    out: dict[Key, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        total = weights.sum(axis=1)
        out[ACCURACY, None] = weights @ (top == labels).astype(np.float64) / total
        for c in range(ranking.classes):
            actual = (labels == c).astype(np.float64)
            predicted = (top == c).astype(np.float64)
            tp = weights @ (actual * predicted)
            fp = weights @ predicted - tp
            fn = weights @ actual - tp
            tn = total - tp - fp - fn
            for name, rate in RATES.items():
                out[name, c] = rate(tp, fp, tn, fn)
            out[AUC, c] = _auc(ranking, c, weights)
        for macro, name in MACRO.items():
            per_class = np.stack([out[name, c] for c in range(ranking.classes)])
            defined = np.isfinite(per_class)
            out[macro, None] = np.where(defined, per_class, 0.0).sum(axis=0) / defined.sum(axis=0)
    return out


def class_intervals(
    acc: ClassScores, replicates: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[Key, tuple[float, float]]:
    """Percentile intervals of every metric from Poisson-bootstrap replicates of `acc`
    (`intervals.replicate_intervals`: the same draws and rules as a binary model's)."""
    if len(acc) == 0:
        return {}
    probabilities, labels, weights = acc.probabilities, acc.labels, acc.weights
    ranking = Ranking(probabilities, labels)

    def values(draws: np.ndarray) -> dict[Key, np.ndarray]:
        return class_metric_values(probabilities, labels, draws * weights, ranking)

    return replicate_intervals(values, len(acc), replicates, confidence, seed)


def point_values(acc: ClassScores) -> dict[Key, float]:
    """Every metric of `class_metric_values` on the collected examples themselves; NaN
    for all of them when there is no example."""
    if len(acc) == 0:
        empty = class_metric_values(np.full((1, acc.classes), 1.0 / acc.classes),
                                    np.zeros(1, np.int64), np.zeros((1, 1)))  # fmt: skip
        return {key: float("nan") for key in empty}
    values = class_metric_values(acc.probabilities, acc.labels, acc.weights[None, :])
    return {key: float(value[0]) for key, value in values.items()}
