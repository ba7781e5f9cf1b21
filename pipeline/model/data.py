"""The Trainer's input: batches of transformed examples, and the label's statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import DataAccessor
from tfx_bsl.public import tfxio

from pipeline.spec import DatasetSpec

# Batches read to measure the training label's mean (the majority class, or the mean
# baseline) and spread (the scale of a regression head).
LABEL_STATS_BATCHES = 200
# Transformed examples up to this size (on disk) are parsed once and their batches kept in
# memory: parsing is over half of a training step on the census data (8.5 ms a step
# reading the files, 3.2 ms from memory). Census at 1x is 6 MB, at 100x 0.6 GB.
CACHE_BATCHES_BYTES = 1 << 30
# Batches shuffled between passes over the cached data (census: 102 training batches).
CACHE_SHUFFLE_BATCHES = 1024


def label_stats(dataset: tf.data.Dataset) -> tuple[float, float]:
    """Mean and standard deviation of the label over LABEL_STATS_BATCHES batches.

    For a 0/1 label the mean is the positive rate. The deviation is at least 1e-6, so a
    constant label still gives a usable regression head.
    """

    def add(sums: tf.Tensor, batch: tuple[Any, tf.Tensor]) -> tf.Tensor:
        label = tf.reshape(tf.cast(batch[1], tf.float64), [-1])
        size = tf.cast(tf.size(label), tf.float64)
        return sums + tf.stack([size, tf.reduce_sum(label), tf.reduce_sum(label * label)])

    # One traced reduction, not an eager step and three host copies per batch.
    start = tf.zeros([3], tf.float64)
    total, first, second = dataset.take(LABEL_STATS_BATCHES).reduce(start, add).numpy()
    if not total:
        return 0.0, 1.0
    mean = first / total
    return float(mean), float(max(1e-6, (max(0.0, second / total - mean * mean)) ** 0.5))


def class_frequencies(dataset: tf.data.Dataset, classes: int) -> list[float]:
    """Share of each class id among the labels of LABEL_STATS_BATCHES batches (a
    multi-class label's priors: the majority baseline's probabilities)."""

    def add(counts: tf.Tensor, batch: tuple[Any, tf.Tensor]) -> tf.Tensor:
        label = tf.reshape(tf.cast(batch[1], tf.int32), [-1])
        return counts + tf.math.bincount(
            label, minlength=classes, maxlength=classes, dtype=tf.float64
        )

    counts = dataset.take(LABEL_STATS_BATCHES).reduce(tf.zeros([classes], tf.float64), add)
    counts = counts.numpy()
    total = counts.sum()
    return [float(c / total) if total else 1.0 / classes for c in counts]


def _files_bytes(file_pattern: list[str]) -> int:
    """Total size of the files matching the patterns (local or remote)."""
    return sum(
        tf.io.gfile.stat(path).length
        for pattern in file_pattern
        for path in tf.io.gfile.glob(pattern)
    )


def training_batches(
    file_pattern: list[str],
    data_accessor: DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    spec: DatasetSpec,
    seed: int,
) -> tf.data.Dataset:
    """Batches of (transformed features, label), repeated without end (`repeated_batches`)."""

    def read(epochs: int | None) -> tf.data.Dataset:
        options = tfxio.TensorFlowDatasetOptions(
            batch_size=spec.training.batch_size,
            label_key=spec.label.column,
            num_epochs=epochs,
            shuffle_seed=seed,
        )
        schema = tf_transform_output.transformed_metadata.schema
        return data_accessor.tf_dataset_factory(file_pattern, options, schema)

    return repeated_batches(file_pattern, read, seed)


def repeated_batches(
    file_pattern: list[str], read: Callable[[int | None], tf.data.Dataset], seed: int
) -> tf.data.Dataset:
    """The batches of `read(num_epochs)`, repeated without end.

    Up to CACHE_BATCHES_BYTES of files, one pass is read and kept in memory and every later
    pass draws its batches in a new order; above it every pass reads the files.
    """
    if _files_bytes(file_pattern) > CACHE_BATCHES_BYTES:
        return read(None)
    return read(1).cache().shuffle(CACHE_SHUFFLE_BATCHES, seed=seed).repeat()
