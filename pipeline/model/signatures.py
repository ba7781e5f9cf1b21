"""The exported model's signatures (see `pipeline.model.outputs` for their names)."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from pipeline.model.outputs import (
    EVALUATION_SIGNATURE,
    PREDICTED_CLASS_KEY,
    SERVING_SIGNATURE,
    TRANSFORM_SIGNATURE,
    prediction_key,
)
from pipeline.spec import DatasetSpec, evaluated_features

# Chance scores are hashed into this many buckets (a prime).
CHANCE_BUCKETS = 1_000_003


def _chance(serialized: tf.Tensor, salt: str = "") -> tf.Tensor:
    """Uniform in [0, 1) from the example's bytes [batch]: unrelated to the label, yet the
    same on every evaluation."""
    if salt:
        serialized = tf.strings.join([serialized, salt], separator="|")
    bucket = tf.strings.to_hash_bucket_fast(serialized, CHANCE_BUCKETS)
    return tf.cast(bucket, tf.float32) / CHANCE_BUCKETS


def baseline_outputs(
    model: keras.Model,
    features: dict[str, tf.Tensor],
    serialized: tf.Tensor,
    spec: DatasetSpec,
    label_mean: float,
    class_priors: list[float] | None = None,
) -> dict[str, tf.Tensor]:
    """The baselines' scores of a batch (see `pipeline.model.outputs.baselines`)."""
    rows = tf.shape(serialized)[0]
    outputs = {"linear": model.linear_baseline(features)}
    if spec.is_regression:
        outputs["mean"] = tf.fill([rows, 1], label_mean)
        return outputs
    if spec.is_multiclass:
        # The training class frequencies for everyone (the top one is the majority
        # class), and for chance one uniform draw per class, normalised: its top class is
        # any class with equal odds.
        priors = tf.constant([class_priors], tf.float32)
        outputs["majority"] = tf.tile(priors, [rows, 1])
        draws = tf.stack(
            [_chance(serialized, str(i)) + 1e-6 for i in range(len(class_priors))], axis=1
        )
        outputs["chance"] = draws / tf.reduce_sum(draws, axis=1, keepdims=True)
        return outputs
    outputs["majority"] = tf.fill([rows, 1], 1.0 if label_mean > 0.5 else 0.0)
    outputs["chance"] = tf.reshape(_chance(serialized), [-1, 1])
    return outputs


def signatures(
    model: keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    spec: DatasetSpec,
    label_mean: float,
    class_priors: list[float] | None = None,
) -> dict[str, tf.types.experimental.ConcreteFunction]:
    """`serving_default` (raw tf.Examples in, the model's output out), TFMA's transform,
    and `evaluation` (the model and its baselines, see `pipeline.model.outputs`).

    Args:
        label_mean: The training label's mean (the binary majority class, the regression
            mean baseline).
        class_priors: A multi-class label's training class frequencies, by class id.
    """
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    # Serving needs no label, and nothing the model ignores.
    serving_spec = {k: raw_spec[k] for k in spec.raw_feature_columns}
    eval_spec = {**serving_spec, spec.label.column: raw_spec[spec.label.column]}
    examples = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")
    output = prediction_key(spec.task)

    names = tf.constant(spec.class_names if spec.is_multiclass else [""])

    @tf.function(input_signature=[examples])
    def serve(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        features.pop(spec.label.column, None)
        scores = model(features)
        if not spec.is_multiclass:
            return {output: scores}
        # A client gets the name, not an index it would have to look up in the spec.
        top = tf.gather(names, tf.argmax(scores, axis=1))
        return {output: scores, PREDICTED_CLASS_KEY: top}

    @tf.function(input_signature=[examples])
    def evaluate(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        features = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        features.pop(spec.label.column, None)
        baselines = baseline_outputs(model, features, serialized, spec, label_mean, class_priors)
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
