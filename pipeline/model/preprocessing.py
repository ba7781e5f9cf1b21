"""What Transform runs: raw columns to model inputs (`module_file.preprocessing_fn`).

Transformed feature names (`<column>` is `pipeline.spec.feature_key(column)`: the column's
name, or a form of it TensorFlow accepts):
    <numeric>_xf      z-score, missing values imputed with the training mean
    <categorical>_xf  vocabulary index; one OOV bucket; missing is its own category
    <column>_bucket   bucket index of a numeric column with declared boundaries
    <a>_x_<b>         hashed cross of two categorical / bucketized columns (wide part)
    <label>           the label as 0/1; its class id (the index in `label.classes`) for
                      a multi-class task; a float for a regression task
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from pipeline.spec import DatasetSpec, bucket_name, cross_name, feature_key

MISSING = "__missing__"
# Categories kept per column, most frequent first. Up to this many distinct values the
# counts, and so the vocabulary, are exact (Misra-Gries drops nothing while it has room);
# beyond it the rarest values are approximate and may fall in the OOV bucket.
VOCABULARY_TOP_K = 100_000


def transformed_name(column: str) -> str:
    """Name of the transformed feature for a numeric or categorical column (named after
    `feature_key`, so that any header name makes a valid Keras input)."""
    return f"{feature_key(column)}_xf"


def _dense(x: tf.Tensor | tf.SparseTensor, default: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Turns a [batch, 0 or 1] feature into a dense [batch] tensor and a presence mask.

    A column with missing cells arrives from the inferred schema as a SparseTensor.
    """
    if isinstance(x, tf.SparseTensor):
        shape = tf.stack([x.dense_shape[0], tf.constant(1, tf.int64)])
        values = tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, shape), default)
        ones = tf.ones_like(x.indices[:, 0])
        present = tf.sparse.to_dense(tf.SparseTensor(x.indices, ones, shape), 0) > 0
        values, present = values[:, 0], present[:, 0]
    else:
        x = tf.reshape(x, [-1])
        values, present = x, tf.ones_like(x, dtype=tf.bool)
    if values.dtype.is_floating:
        present = tf.logical_and(present, tf.math.is_finite(values))
    return values, present


def _numeric(x: tf.Tensor | tf.SparseTensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Returns (imputed raw value, z-score) of a numeric column, both float32 [batch]."""
    if isinstance(x, tf.SparseTensor):
        x = tf.SparseTensor(x.indices, tf.cast(x.values, tf.float32), x.dense_shape)
    else:
        x = tf.cast(x, tf.float32)
    values, present = _dense(x, 0.0)
    observed = tf.boolean_mask(values, present)
    mean = tft.mean(observed)
    std = tf.sqrt(tft.var(observed))
    filled = tf.where(present, values, mean)
    zscore = tf.where(std > 0, (filled - mean) / tf.maximum(std, 1e-12), 0.0)
    return filled, zscore


def _category(x: tf.Tensor | tf.SparseTensor, missing_values: tuple[str, ...]) -> tf.Tensor:
    """A categorical column as strings [batch], with missing cells and tokens as `MISSING`."""
    if isinstance(x, tf.SparseTensor):
        if x.dtype != tf.string:
            x = tf.SparseTensor(x.indices, tf.strings.as_string(x.values), x.dense_shape)
    elif x.dtype != tf.string:
        x = tf.strings.as_string(x)
    values, present = _dense(x, "")
    values = tf.strings.strip(values)
    is_missing = tf.logical_or(tf.logical_not(present), tf.equal(values, ""))
    for token in missing_values:
        is_missing = tf.logical_or(is_missing, tf.equal(values, token))
    return tf.where(is_missing, MISSING, values)


def _label(x: tf.Tensor | tf.SparseTensor, positive: str | int) -> tf.Tensor:
    """The label as int64 0/1 [batch]: 1 where it equals the positive class."""
    if isinstance(positive, str):
        values = _category(x, ())
        return tf.cast(tf.equal(values, positive), tf.int64)
    if isinstance(x, tf.SparseTensor):
        x = tf.SparseTensor(x.indices, tf.cast(x.values, tf.int64), x.dense_shape)
    else:
        x = tf.cast(x, tf.int64)
    values, _ = _dense(x, -1)
    return tf.cast(tf.equal(values, int(positive)), tf.int64)


def _class_id(x: tf.Tensor | tf.SparseTensor, classes: tuple[str | int, ...]) -> tf.Tensor:
    """A multi-class label as its int64 class id [batch]: its index in `classes`.

    The ids follow the spec's order (not a vocabulary's), so that output i of the model
    is `classes[i]` in every run. The input checks refuse any other value; one that got
    through anyway (a serving request's label is never read) gets -1.
    """
    values = _category(x, ())
    ids = tf.fill(tf.shape(values), tf.constant(-1, tf.int64))
    for i, name in enumerate(classes):
        ids = tf.where(tf.equal(values, str(name)), tf.constant(i, tf.int64), ids)
    return ids


def _regression_label(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A numeric label as float32 [batch] (the input checks reject missing labels)."""
    if isinstance(x, tf.SparseTensor):
        x = tf.SparseTensor(x.indices, tf.cast(x.values, tf.float32), x.dense_shape)
    else:
        x = tf.cast(x, tf.float32)
    values, _ = _dense(x, float("nan"))
    return values


def preprocess(inputs: dict[str, Any], spec: DatasetSpec) -> dict[str, Any]:
    """TFT preprocessing: z-scores, vocabularies, buckets, crosses and the label.

    Args:
        inputs: Raw features keyed by CSV column.
        spec: The data set spec (the part Transform gets, `DatasetSpec.for_transform`).

    Returns:
        Transformed features, each of shape [batch, 1].
    """
    outputs: dict[str, tf.Tensor] = {}
    # Strings that crosses are built from: categories, and bucket indices.
    cross_parts: dict[str, tf.Tensor] = {}

    for name in spec.numeric_features:
        filled, zscore = _numeric(inputs[name])
        outputs[transformed_name(name)] = zscore
        boundaries = spec.column(name).buckets
        if boundaries:
            buckets = tft.apply_buckets(filled, tf.constant([boundaries], tf.float32))
            outputs[bucket_name(name)] = buckets
            cross_parts[name] = tf.strings.as_string(buckets)

    for name in spec.categorical_features:
        values = _category(inputs[name], spec.missing_values)
        cross_parts[name] = values
        # Misra-Gries counts (a combiner TFT packs with the means and variances) instead
        # of tft.vocabulary's chain of Beam stages per column: the same files (exact
        # below VOCABULARY_TOP_K distinct values), and Transform's time is mostly Beam's
        # cost per stage, not the data's.
        outputs[transformed_name(name)] = tft.experimental.compute_and_apply_approximate_vocabulary(
            values, top_k=VOCABULARY_TOP_K, num_oov_buckets=1, vocab_filename=feature_key(name)
        )

    for a, b in spec.feature_crosses:
        joined = tf.strings.join([cross_parts[a], cross_parts[b]], separator="|")
        outputs[cross_name((a, b))] = tf.strings.to_hash_bucket_fast(
            joined, spec.training.cross_hash_buckets
        )

    label = inputs[spec.label.column]
    if spec.is_regression:
        outputs[spec.label.column] = _regression_label(label)
    elif spec.is_multiclass:
        outputs[spec.label.column] = _class_id(label, spec.label.classes)
    else:
        outputs[spec.label.column] = _label(label, spec.label.positive)
    return {k: tf.expand_dims(v, -1) for k, v in outputs.items()}
