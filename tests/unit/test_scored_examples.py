"""The score collection every slice metric reads: exact values back, small when pickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from pipeline.metrics.ranking import ScoredExamplesCombiner, ks_statistic
from pipeline.metrics.scored_examples import (
    PENDING_LIMIT,
    ScoredExamples,
    pack_column,
    unpack_column,
)


def _bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize(
    ("values", "packed_as"),
    [
        ([1.0, 1.0, 1.0], float),  # example weights: one number
        ([0.0, 1.0, 1.0, 0.0], np.uint8),  # 0/1 labels
        ([0.25, np.float32(0.1), np.float32(3e38)], np.float32),  # a float32 model's scores
        ([0.1, 0.5], np.float64),  # 0.1 has no exact float32
        ([1.0, 256.0], np.float32),  # beyond uint8
        ([2.0**40 + 1, 0.0], np.float64),  # an integer beyond float32's mantissa
        ([-1.0, 0.0], np.float32),  # negative: not uint8
        ([np.nan, 0.5], np.float32),
        ([np.nan, np.nan], float),
        ([0.0, -0.0], np.float32),  # -0.0 is not 0 bit for bit
        ([np.inf, 1.0], np.float32),
    ],
)
def test_packing_keeps_every_value_bit_for_bit(values, packed_as):
    column = np.array(values, dtype=np.float64)
    packed = pack_column(column)
    if packed_as is float:
        assert isinstance(packed, float)
    else:
        assert packed.dtype == packed_as
    np.testing.assert_array_equal(_bits(unpack_column(packed, column.size)), _bits(column))


def test_values_come_back_in_order_across_packed_chunks_and_merges():
    rng = np.random.default_rng(0)
    n = 2 * PENDING_LIMIT + 123  # two packed chunks and a pending tail
    scores = rng.random(n).astype(np.float32).astype(np.float64)
    labels = (rng.random(n) < 0.3).astype(np.float64)
    many, merged = ScoredExamples(), ScoredExamples([0.5, 0.25], [1.0, 0.0], [2.0, 1.0])
    for s, y in zip(scores, labels, strict=True):
        many.add(s, y, 1.0)
    merged.extend(many)
    assert len(merged) == n + 2
    np.testing.assert_array_equal(merged.scores, np.r_[0.5, 0.25, scores])
    np.testing.assert_array_equal(merged.labels, np.r_[1.0, 0.0, labels])
    np.testing.assert_array_equal(merged.weights, np.r_[2.0, 1.0, np.ones(n)])


def test_a_binary_classifiers_collection_pickles_to_about_five_bytes_an_example():
    rng = np.random.default_rng(1)
    n = 100_000
    model, majority = ScoredExamples(), ScoredExamples()
    for score, label in zip(rng.random(n).astype(np.float32), rng.random(n) < 0.25, strict=True):
        model.add(float(score), float(label), 1.0)
        majority.add(0.24, float(label), 1.0)
    model_bytes, majority_bytes = len(pickle.dumps(model)), len(pickle.dumps(majority))
    # float32 score + uint8 label; a constant score or weight is one number per chunk.
    assert model_bytes < 5.1 * n  # 24 bytes an example as float64 columns
    assert majority_bytes < 1.1 * n
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.scores, model.scores)
    assert ks_statistic(restored) == ks_statistic(model)


def test_the_combiner_compacts_and_merges_what_beam_ships_between_workers():
    combiner = ScoredExamplesCombiner.__new__(ScoredExamplesCombiner)  # no reader needed
    parts = [ScoredExamples([0.1 * i, 0.2], [1.0, 0.0], [1.0, 1.0]) for i in range(3)]
    shipped = [pickle.loads(pickle.dumps(combiner.compact(p))) for p in parts]
    merged = combiner.merge_accumulators(shipped)
    np.testing.assert_array_equal(merged.scores, [0.0, 0.2, 0.1, 0.2, 0.2, 0.2])
    np.testing.assert_array_equal(merged.labels, [1.0, 0.0] * 3)


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        ScoredExamples([0.1, 0.2], [1.0], [1.0, 1.0])
