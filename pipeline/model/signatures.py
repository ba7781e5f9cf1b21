"""The exported model's signatures (see `pipeline.model.outputs` for their names)."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from pipeline.model.outputs import (
    EVALUATION_SIGNATURE,
    SERVING_SIGNATURE,
    TRANSFORM_SIGNATURE,
    prediction_key,
)
from pipeline.spec import DatasetSpec, evaluated_features


def baseline_outputs(
    model: keras.Model,
    features: dict[str, tf.Tensor],
    serialized: tf.Tensor,
    spec: DatasetSpec,
    label_mean: float,
) -> dict[str, tf.Tensor]:
    """The baselines' scores of a batch (see `pipeline.model.outputs.baselines`)."""
    rows = tf.shape(serialized)[0]
    outputs = {"linear": model.linear_baseline(features)}
    if spec.is_regression:
        outputs["mean"] = tf.fill([rows, 1], label_mean)
        return outputs
    # Chance: uniform in [0, 1) from the example's bytes, so it is unrelated to the label
    # yet the same on every evaluation.
    buckets = 1_000_003
    chance = tf.cast(tf.strings.to_hash_bucket_fast(serialized, buckets), tf.float32)
    outputs["majority"] = tf.fill([rows, 1], 1.0 if label_mean > 0.5 else 0.0)
    outputs["chance"] = tf.reshape(chance / buckets, [-1, 1])
    return outputs


def signatures(
    model: keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    spec: DatasetSpec,
    label_mean: float,
) -> dict[str, tf.types.experimental.ConcreteFunction]:
    """`serving_default` (raw tf.Examples in, the model's output out), TFMA's transform,
    and `evaluation` (the model and its baselines, see `pipeline.model.outputs`)."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    # Serving needs no label, and nothing the model ignores.
    serving_spec = {k: raw_spec[k] for k in spec.raw_feature_columns}
    eval_spec = {**serving_spec, spec.label.column: raw_spec[spec.label.column]}
    examples = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")
    output = prediction_key(spec.task)

    @tf.function(input_signature=[examples])
    def serve(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        features.pop(spec.label.column, None)
        return {output: model(features)}

    @tf.function(input_signature=[examples])
    def evaluate(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        features.pop(spec.label.column, None)
        baselines = baseline_outputs(model, features, serialized, spec, label_mean)
        return {output: model(features), **baselines}

    # TFMA reads the label and the bucket slices from this signature's outputs, and splits
    # every output it gets into one array per example in Python: only what it may read.
    evaluated = evaluated_features(spec)

    @tf.function(input_signature=[examples])
    def transform_features(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = model.tft_layer(tf.io.parse_example(serialized, eval_spec))
        return {name: value for name, value in features.items() if name in evaluated}

    return {
        SERVING_SIGNATURE: serve.get_concrete_function(),
        TRANSFORM_SIGNATURE: transform_features.get_concrete_function(),
        EVALUATION_SIGNATURE: evaluate.get_concrete_function(),
    }
