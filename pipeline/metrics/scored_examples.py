"""A slice's (score, label, weight) of every example, kept small enough for 100x data.

The ranking metrics, the bootstrap intervals, the rates and the plots are all computed from
this one collection per slice and model output (`ranking_metrics.scored_examples`). It is
a Beam accumulator: each worker fills one per slice, Beam pickles them through the
runner to the worker that merges a slice's collections, so its size is paid three times
(the worker's table, the runner's buffer, the merge). At 100x census (1.6 million test
rows, 5 slices each, the model and 3 baselines) float64 columns would take 0.8 GB per copy.

Values are appended to float64 arrays and packed every `PENDING_LIMIT` examples, and
before pickling, into the narrowest form that gives back every value bit for bit
(`pack_column`): one number for a column that never changes (weights without example
weights, the majority baseline's scores), uint8 for 0/1 labels, float32 for a float32
model's scores, float64 otherwise. A binary classifier's example then takes 5 bytes
instead of 24. Reading gives float64 arrays, so nothing downstream changes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

# Examples appended one at a time before they are packed: bounds the unpacked part of
# an accumulator (1.5 MB) without packing tiny chunks.
PENDING_LIMIT = 65_536

# A packed column: an array of a narrower type, or one value repeated.
Packed = np.ndarray | float


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two float64 arrays are equal bit for bit (NaN and -0.0 included)."""
    return np.array_equal(a.view(np.uint64), b.view(np.uint64))


def pack_column(values: np.ndarray) -> Packed:
    """`values` (float64) in the narrowest form `unpack_column` restores exactly."""
    if values.size and _same_bits(values, np.full(values.size, values[0])):
        return float(values[0])
    with np.errstate(invalid="ignore", over="ignore"):
        for dtype in (np.uint8, np.float32):
            narrow = values.astype(dtype)
            if _same_bits(narrow.astype(np.float64), values):
                return narrow
    return values


def unpack_column(packed: Packed, size: int) -> np.ndarray:
    """The float64 values of a `pack_column` result holding `size` values."""
    if isinstance(packed, np.ndarray):
        return packed.astype(np.float64)
    return np.full(size, packed)


def _doubles(values: Iterable[float] = ()) -> array:
    return array("d", values)


class ScoredExamples:
    """Every example's score, label and weight seen in a slice, in the order added."""

    def __init__(
        self,
        scores: Iterable[float] = (),
        labels: Iterable[float] = (),
        weights: Iterable[float] = (),
    ) -> None:
        self._pending = (_doubles(scores), _doubles(labels), _doubles(weights))
        if not len(self._pending[0]) == len(self._pending[1]) == len(self._pending[2]):
            raise ValueError("scores, labels and weights must have the same length")
        # (number of examples, packed scores, packed labels, packed weights)
        self._chunks: list[tuple[int, Packed, Packed, Packed]] = []

    def add(self, score: float, label: float, weight: float) -> None:
        """Appends one example."""
        scores, labels, weights = self._pending
        scores.append(score)
        labels.append(label)
        weights.append(weight)
        if len(scores) >= PENDING_LIMIT:
            self.pack()

    def pack(self) -> None:
        """Packs the examples added since the last call (see the module docstring)."""
        size = len(self._pending[0])
        if size:
            columns = (pack_column(np.array(c, dtype=np.float64)) for c in self._pending)
            self._chunks.append((size, *columns))
            self._pending = (_doubles(), _doubles(), _doubles())

    def extend(self, other: ScoredExamples) -> None:
        """Appends another collection's examples (its packed chunks, not copies)."""
        self.pack()
        other.pack()
        self._chunks.extend(other._chunks)

    def __len__(self) -> int:
        return sum(chunk[0] for chunk in self._chunks) + len(self._pending[0])

    def _column(self, index: int) -> np.ndarray:
        parts = [unpack_column(chunk[index + 1], chunk[0]) for chunk in self._chunks]
        parts.append(np.array(self._pending[index], dtype=np.float64))
        return np.concatenate(parts)

    @property
    def scores(self) -> np.ndarray:
        """Every score (float64), in the order added."""
        return self._column(0)

    @property
    def labels(self) -> np.ndarray:
        """Every label (float64), in the order added."""
        return self._column(1)

    @property
    def weights(self) -> np.ndarray:
        """Every example weight (float64), in the order added."""
        return self._column(2)

    def __getstate__(self) -> list[tuple[int, Packed, Packed, Packed]]:
        # Beam pickles accumulators between workers: ship the packed form only.
        self.pack()
        return self._chunks

    def __setstate__(self, chunks: list[tuple[int, Packed, Packed, Packed]]) -> None:
        self._pending = (_doubles(), _doubles(), _doubles())
        self._chunks = chunks
