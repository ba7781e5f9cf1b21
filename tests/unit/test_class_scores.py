"""The multi-class collection and its metrics: exact against scikit-learn, exact back from
packing, with bootstrap intervals that hold the value and narrow with more data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn import metrics as sk

from pipeline.metrics.class_scores import (
    PENDING_LIMIT,
    ClassScores,
    class_intervals,
    class_metric_values,
    confusion_matrix,
    one_vs_rest_counts,
    point_values,
)


def examples(n: int, classes: int = 3, seed: int = 0, skill: float = 1.5):
    """Class ids (class 0 the most common) and softmax probabilities that favour the true
    class by `skill` logits; float32, as a model writes them."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(classes, n, p=np.linspace(2, 1, classes) / np.linspace(2, 1, classes).sum())
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), labels] += skill
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities.astype(np.float32).astype(np.float64), labels


def collect(probabilities, labels, weights=None) -> ClassScores:
    acc = ClassScores(probabilities.shape[1])
    weights = np.ones(len(labels)) if weights is None else weights
    for p, y, w in zip(probabilities, labels, weights, strict=True):
        acc.add(p, float(y), float(w))
    return acc


def test_every_metric_equals_scikit_learns():
    probabilities, labels = examples(2000, classes=4)
    values = point_values(collect(probabilities, labels))
    top = probabilities.argmax(axis=1)
    assert values["sparse_categorical_accuracy", None] == pytest.approx(
        sk.accuracy_score(labels, top)
    )
    precision, recall, f1, _ = sk.precision_recall_fscore_support(labels, top)
    for c in range(4):
        assert values["precision", c] == pytest.approx(precision[c])
        assert values["recall", c] == pytest.approx(recall[c])
        assert values["f1_score", c] == pytest.approx(f1[c])
        auc = sk.roc_auc_score(labels == c, probabilities[:, c])
        assert values["auc", c] == pytest.approx(auc)
        # One-vs-rest rates: the class against the others.
        negatives = labels != c
        assert values["fall_out", c] == pytest.approx(np.mean(top[negatives] == c))
        assert values["miss_rate", c] == pytest.approx(1 - recall[c])
    assert values["macro_f1", None] == pytest.approx(sk.f1_score(labels, top, average="macro"))
    assert values["macro_recall", None] == pytest.approx(
        sk.recall_score(labels, top, average="macro")
    )
    assert values["macro_auc", None] == pytest.approx(
        sk.roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
    )


def test_weights_count_as_repeated_examples():
    probabilities, labels = examples(300, seed=4)
    weights = np.random.default_rng(5).integers(0, 4, 300).astype(float)
    weighted = point_values(collect(probabilities, labels, weights))
    repeated = np.repeat(np.arange(300), weights.astype(int))
    expected = point_values(collect(probabilities[repeated], labels[repeated]))
    for key, value in expected.items():
        assert weighted[key] == pytest.approx(value), key


def test_tied_probabilities_count_half_in_the_auc_and_the_first_top_class_wins():
    # Two classes tie at the top: argmax takes the first, as TFMA's confusion matrix does.
    probabilities = np.array([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
    labels = np.array([1, 2, 2, 0])
    values = point_values(collect(probabilities, labels))
    assert values["sparse_categorical_accuracy", None] == pytest.approx(2 / 4)  # rows 2 and 3
    # Class 0: the positive (row 3, p=0.4) ties row 0 (a negative) and beats rows 1, 2.
    assert values["auc", 0] == pytest.approx((2 + 0.5) / 3)
    matrix = confusion_matrix(collect(probabilities, labels))
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [1, 0, 0], [0, 1, 1]])
    assert one_vs_rest_counts(matrix, 0) == (1, 1, 2, 0)


def test_a_class_absent_from_a_slice_has_no_recall_and_the_macro_skips_it():
    probabilities, labels = examples(400, seed=2)
    keep = labels != 2
    values = point_values(collect(probabilities[keep], labels[keep]))
    assert np.isnan(values["recall", 2]) and np.isnan(values["auc", 2])
    assert values["macro_recall", None] == pytest.approx(
        (values["recall", 0] + values["recall", 1]) / 2
    )
    empty = point_values(ClassScores(3))
    assert all(np.isnan(v) for v in empty.values())


def test_values_come_back_exactly_across_packed_chunks_merges_and_pickling():
    probabilities, labels = examples(PENDING_LIMIT + 77, seed=3)
    first = collect(probabilities[:50], labels[:50])
    rest = collect(probabilities[50:], labels[50:])
    first.extend(rest)
    restored = pickle.loads(pickle.dumps(first))
    for acc in (first, restored):
        assert len(acc) == len(labels) and acc.classes == 3
        np.testing.assert_array_equal(acc.probabilities, probabilities)
        np.testing.assert_array_equal(acc.labels, labels)
        np.testing.assert_array_equal(acc.weights, np.ones(len(labels)))
    # float32 probabilities and uint8 class ids: 4 bytes a class and 1 an example.
    assert len(pickle.dumps(rest)) < (3 * 4 + 1) * len(labels) * 1.05


def test_a_prediction_of_the_wrong_width_is_refused_with_the_spec_key():
    with pytest.raises(ValueError, match=r"holds 2 probabilities where the spec declares 3"):
        ClassScores(3).add([0.5, 0.5], 0.0, 1.0)


def test_intervals_hold_the_value_and_narrow_with_sixteen_times_the_data():
    small_p, small_y = examples(400, seed=6)
    large_p, large_y = examples(6400, seed=6)
    small = collect(small_p, small_y)
    large = collect(large_p, large_y)
    small_ci, large_ci = class_intervals(small, 400), class_intervals(large, 400)
    values = point_values(small)
    assert set(small_ci) == set(values)
    for key, (low, high) in small_ci.items():
        assert low - 1e-9 <= values[key] <= high + 1e-9, key
    for key in (("sparse_categorical_accuracy", None), ("recall", 2), ("macro_auc", None)):
        assert np.diff(large_ci[key]) < np.diff(small_ci[key]) / 2, key
    # The same seed, the same intervals.
    assert class_intervals(small, 400) == small_ci


def test_replicate_rows_are_independent_evaluations():
    probabilities, labels = examples(200, seed=8)
    rows = np.random.default_rng(9).integers(0, 3, (5, 200)).astype(float)
    together = class_metric_values(probabilities, labels, rows)
    for i, row in enumerate(rows):
        alone = point_values(collect(probabilities, labels, row))
        for key, value in alone.items():
            np.testing.assert_allclose(together[key][i], value, err_msg=str(key))
