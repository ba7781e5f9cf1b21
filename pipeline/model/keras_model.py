"""The wide-and-deep Keras model and its linear baseline, over the transformed features.

The head and loss follow the spec's `task`: a sigmoid and cross-entropy for binary
classification, a softmax over the classes and sparse categorical cross-entropy (the label
is a class id) for multi-class classification, a linear output in the label's units and
the squared error for regression.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from pipeline.model.outputs import prediction_key
from pipeline.model.preprocessing import transformed_name
from pipeline.model.tracing import keep_keras_unconverted
from pipeline.spec import DatasetSpec, bucket_name, cross_name, feature_key


def input_sizes(spec: DatasetSpec, tf_transform_output: tft.TFTransformOutput) -> dict[str, int]:
    """Number of distinct ids of every integer (categorical) model input."""
    sizes = {
        transformed_name(name): tf_transform_output.vocabulary_size_by_name(feature_key(name)) + 1
        for name in spec.categorical_features
    }
    for name, boundaries in spec.bucketized_features.items():
        sizes[bucket_name(name)] = len(boundaries) + 1
    for cross in spec.feature_crosses:
        sizes[cross_name(cross)] = spec.training.cross_hash_buckets
    return sizes


def features_from(spec: DatasetSpec, columns: tuple[str, ...]) -> set[str]:
    """The model inputs carrying information from `columns`: their transformed values,
    buckets, and every cross that includes one of them (the ablation removes these)."""
    keys = set()
    for column in columns:
        keys.add(transformed_name(column))
        if column in spec.bucketized_features:
            keys.add(bucket_name(column))
    keys |= {cross_name(c) for c in spec.feature_crosses if set(c) & set(columns)}
    return keys


def logit_width(spec: DatasetSpec) -> int:
    """Logits per example: one per class for a multi-class task, else one."""
    return len(spec.label.classes) if spec.is_multiclass else 1


def _head(
    spec: DatasetSpec, logit: tf.Tensor, label_stats: tuple[float, float], name: str
) -> tuple[tf.Tensor, keras.losses.Loss]:
    """The output layer and loss for the spec's task.

    Regression: the logit is a z-score of the label, mapped back to the label's units, so
    that the weights start at the right scale whatever the label's magnitude.
    """
    if spec.is_regression:
        mean, std = label_stats
        output = keras.layers.Rescaling(scale=std, offset=mean, name=name)(logit)
        return output, keras.losses.MeanSquaredError()
    if spec.is_multiclass:
        output = keras.layers.Activation("softmax", name=name)(logit)
        return output, keras.losses.SparseCategoricalCrossentropy()
    return keras.layers.Activation("sigmoid", name=name)(logit), keras.losses.BinaryCrossentropy()


def _metrics(spec: DatasetSpec) -> list[keras.metrics.Metric]:
    """What `fit` logs (and early stopping may watch): see `training.early_stopping`."""
    if spec.is_regression:
        return [keras.metrics.RootMeanSquaredError(name="rmse")]
    if spec.is_multiclass:
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]


def build_model(
    spec: DatasetSpec, input_sizes: dict[str, int], label_stats: tuple[float, float] = (0.0, 1.0)
) -> keras.Model:
    """A wide-and-deep model over the transformed features, with the task's head.

    Wide: one weight per category, bucket and cross id (a linear model on one-hots; one
    per class and id for a multi-class task). Deep: z-scored numerics and category
    embeddings through dense layers.

    Args:
        spec: The data set spec (features, task, training settings).
        input_sizes: From `input_sizes`.
        label_stats: Training label (mean, standard deviation): the regression head's scale.
    """
    training = spec.training
    width = logit_width(spec)
    inputs: dict[str, keras.Input] = {}
    deep = []
    for name in spec.numeric_features:
        key = transformed_name(name)
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.float32)
        deep.append(inputs[key])
    wide = []
    for key, size in input_sizes.items():
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.int64)
        wide.append(
            keras.layers.Flatten()(
                keras.layers.Embedding(size, width, name=f"wide_{key}")(inputs[key])
            )
        )
        if key.endswith("_xf"):  # categorical columns also feed the deep part
            embedding = keras.layers.Embedding(size, training.embedding_dim, name=f"embed_{key}")
            deep.append(keras.layers.Flatten()(embedding(inputs[key])))

    x = keras.layers.concatenate(deep) if len(deep) > 1 else deep[0]
    for units in training.hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    deep_logit = keras.layers.Dense(width, name="deep_logit")(x)
    logit = keras.layers.Add(name="logit")([deep_logit, *wide])
    output, loss = _head(spec, logit, label_stats, prediction_key(spec.task))

    model = keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=training.learning_rate),
        loss=loss,
        metrics=_metrics(spec),
    )
    return model


def build_linear_model(
    spec: DatasetSpec, input_sizes: dict[str, int], label_stats: tuple[float, float] = (0.0, 1.0)
) -> keras.Model:
    """The linear baseline: logistic (softmax, or linear) regression on `build_model`'s inputs.

    One weight per category, bucket and cross id (one-hot), one per z-scored numeric (one
    per class of each, for a multi-class task).
    """
    width = logit_width(spec)
    inputs: dict[str, keras.Input] = {}
    terms = []
    numerics = []
    for name in spec.numeric_features:
        key = transformed_name(name)
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.float32)
        numerics.append(inputs[key])
    if numerics:
        joined = keras.layers.concatenate(numerics) if len(numerics) > 1 else numerics[0]
        terms.append(keras.layers.Dense(width, name="linear_numeric")(joined))
    for key, size in input_sizes.items():
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.int64)
        weights = keras.layers.Embedding(size, width, name=f"linear_{key}")
        terms.append(keras.layers.Flatten()(weights(inputs[key])))
    logit = keras.layers.Add(name="linear_logit")(terms) if len(terms) > 1 else terms[0]
    output, loss = _head(spec, logit, label_stats, "linear")
    model = keras.Model(inputs=inputs, outputs=output, name="linear_baseline")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=spec.training.learning_rate), loss=loss
    )
    return model


def build_for_fit(model: keras.Model, dataset: tf.data.Dataset) -> None:
    """Creates the optimizer's and the compiled metrics' variables before `fit`.

    Keras creates them inside the first traced training step, and tf.function then traces
    the whole step a second time, one that creates no variables. Tracing is a large part
    of a short fit (the ablation's five models side by side; the Trainer's first epoch,
    which would otherwise trace twice). Here one eager evaluation step on a batch
    builds the metrics (the weights do not change). It also keeps AutoGraph away from
    Keras's own code for the traces that follow (`pipeline.model.tracing`).
    """
    keep_keras_unconverted()
    model.test_step(next(iter(dataset.take(1))))
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()
