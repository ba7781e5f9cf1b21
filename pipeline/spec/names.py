"""Names of the transformed features a spec's columns become, shared by the module file,
the eval config and the reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.spec.dataset import DatasetSpec


def bucket_name(column: str) -> str:
    """Name of the transformed (and sliceable) feature holding `column`'s bucket."""
    return f"{column}_bucket"


def cross_name(columns: tuple[str, ...]) -> str:
    """Name of the transformed feature holding a hashed cross of `columns`."""
    return "_x_".join(columns)


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
