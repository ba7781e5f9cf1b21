"""Names of the transformed features a spec's columns become, shared by the module file,
the eval config and the reports.

A column's name is data: any header name works (`hours per week`, `Prix (€)`, `2019`).
The raw tf.Examples, the statistics, the schema, slices on raw columns, reports and the
serving signature's input keys use it as written in the CSV header. What Transform makes of
a column is named after `feature_key(column)` instead, a name TensorFlow and Keras accept
(the transformed features are the Keras model's inputs, and name its layers, variables and
vocabulary files).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.spec.dataset import DatasetSpec

# A name used as it is: a letter, then letters, digits and underscores (every name TF
# accepts for an op, a scope, a Keras layer or a file is a superset of these).
_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9_]+")


def feature_key(column: str) -> str:
    """The name of `column` inside the model: the column's own name when it is already a
    plain identifier (`hours_per_week`), else a readable ASCII form of it followed by a
    short digest of the name itself (`hours per week` -> `hours_per_week_2f6b1c`).

    The digest keeps two columns that read alike apart (`a b`, `a-b` and `a_b`), without
    depending on the other columns: every part of the code derives the same key from the
    name alone.
    """
    if _SAFE.fullmatch(column):
        return column
    ascii_text = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    stem = _UNSAFE_CHARACTERS.sub("_", ascii_text).strip("_")
    if not stem[:1].isalpha():
        stem = f"c_{stem}".rstrip("_")
    digest = hashlib.sha256(column.encode("utf-8")).hexdigest()[:6]
    return f"{stem}_{digest}"


def bucket_name(column: str) -> str:
    """Name of the transformed (and sliceable) feature holding `column`'s bucket."""
    return f"{feature_key(column)}_bucket"


def cross_name(columns: tuple[str, ...]) -> str:
    """Name of the transformed feature holding a hashed cross of `columns`."""
    return "_x_".join(feature_key(c) for c in columns)


def bucketized_column(spec: DatasetSpec, feature: str) -> str | None:
    """The column whose bucket feature is `feature` (a TFMA slice key), or None."""
    return next((c for c in spec.bucketized_features if bucket_name(c) == feature), None)


def slice_feature(spec: DatasetSpec, column: str) -> str:
    """The feature TFMA slices on for `column`: its bucket when it is bucketized."""
    return bucket_name(column) if spec.column(column).buckets else column


def evaluated_features(spec: DatasetSpec) -> frozenset[str]:
    """What the Evaluator may read besides the raw columns: the label, and every bucket
    feature (a slice on a bucketized column uses its bucket).

    Every bucket, not only those the slicing settings name: the Trainer gets no slicing
    settings (`for_trainer`), so that editing a slice re-runs the Evaluator only.
    """
    buckets = (bucket_name(c.name) for c in spec.columns if c.buckets)
    return frozenset({spec.label.column, *buckets})


def bucket_label(boundaries: tuple[float, ...], index: int) -> str:
    """A readable range for bucket `index` of `boundaries`, such as '[25, 35)'."""

    def fmt(x: float) -> str:
        return f"{x:g}"

    if index <= 0:
        return f"< {fmt(boundaries[0])}"
    if index >= len(boundaries):
        return f">= {fmt(boundaries[-1])}"
    return f"[{fmt(boundaries[index - 1])}, {fmt(boundaries[index])})"
