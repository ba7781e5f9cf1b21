"""The pipeline's module file: `preprocessing_fn` (Transform) and `run_fn` (Trainer).

Nothing here names a column. Both functions read the data set spec from the component's
`custom_config["dataset"]` (see `pipeline.dataset_spec`), so switching data sets only
switches the spec.

Transformed feature names:
    <numeric>_xf      z-score, missing values imputed with the training mean
    <categorical>_xf  vocabulary index; one OOV bucket; missing is its own category
    <column>_bucket   bucket index of a numeric column with declared boundaries
    <a>_x_<b>         hashed cross of two categorical / bucketized columns (wide part)
    <label>           the label as 0/1, or as a float for a regression task

The model's head and loss follow the spec's `task`: a sigmoid and cross-entropy for
binary classification, a linear output in the label's units and the squared error for
regression.
"""

from __future__ import annotations

import os

# TFX 1.16, TFT 1.16 and TFMA 0.47 need Keras 2; TF 2.16 defaults to Keras 3.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs
from tfx_bsl.public import tfxio

from pipeline.dataset_spec import DatasetSpec, bucket_name, cross_name, evaluated_features
from pipeline.keras_tracing import keep_keras_unconverted
from pipeline.model_outputs import (
    EVALUATION_SIGNATURE,
    SERVING_SIGNATURE,
    TRANSFORM_SIGNATURE,
    prediction_key,
)

MISSING = "__missing__"
# Categories kept per column, most frequent first. Up to this many distinct values the
# counts, and so the vocabulary, are exact (Misra-Gries drops nothing while it has room);
# beyond it the rarest values are approximate and may fall in the OOV bucket.
VOCABULARY_TOP_K = 100_000
# Batches read to measure the training label's mean (the majority class, or the mean
# baseline) and spread (the scale of a regression head).
LABEL_STATS_BATCHES = 200
# Transformed examples up to this size (on disk) are parsed once and their batches kept in
# memory: parsing is over half of a training step on the census data (8.5 ms a step
# reading the files, 3.2 ms from memory). Census at 1x is 6 MB, at 100x 0.6 GB.
CACHE_BATCHES_BYTES = 1 << 30
# Batches shuffled between passes over the cached data (census: 102 training batches).
CACHE_SHUFFLE_BATCHES = 1024


def transformed_name(column: str) -> str:
    """Name of the transformed feature for a numeric or categorical column."""
    return f"{column}_xf"


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


def _regression_label(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """A numeric label as float32 [batch] (the input checks reject missing labels)."""
    if isinstance(x, tf.SparseTensor):
        x = tf.SparseTensor(x.indices, tf.cast(x.values, tf.float32), x.dense_shape)
    else:
        x = tf.cast(x, tf.float32)
    values, _ = _dense(x, float("nan"))
    return values


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, Any]:
    """TFT preprocessing: z-scores, vocabularies, buckets, crosses and the label.

    Args:
        inputs: Raw features keyed by CSV column.
        custom_config: `{"dataset": DatasetSpec.to_config()}`, set by the pipeline.

    Returns:
        Transformed features, each of shape [batch, 1].
    """
    spec = DatasetSpec.from_config(custom_config["dataset"])
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
        # of tft.vocabulary's chain of Beam stages per column: the same files, 2.5 s
        # less of Transform on census (8 columns).
        outputs[transformed_name(name)] = tft.experimental.compute_and_apply_approximate_vocabulary(
            values, top_k=VOCABULARY_TOP_K, num_oov_buckets=1, vocab_filename=name
        )

    for a, b in spec.feature_crosses:
        joined = tf.strings.join([cross_parts[a], cross_parts[b]], separator="|")
        outputs[cross_name((a, b))] = tf.strings.to_hash_bucket_fast(
            joined, spec.training.cross_hash_buckets
        )

    label = inputs[spec.label.column]
    outputs[spec.label.column] = (
        _regression_label(label) if spec.is_regression else _label(label, spec.label.positive)
    )
    return {k: tf.expand_dims(v, -1) for k, v in outputs.items()}


def input_sizes(spec: DatasetSpec, tf_transform_output: tft.TFTransformOutput) -> dict[str, int]:
    """Number of distinct ids of every integer (categorical) model input."""
    sizes = {
        transformed_name(name): tf_transform_output.vocabulary_size_by_name(name) + 1
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
    return keras.layers.Activation("sigmoid", name=name)(logit), keras.losses.BinaryCrossentropy()


def build_model(
    spec: DatasetSpec, input_sizes: dict[str, int], label_stats: tuple[float, float] = (0.0, 1.0)
) -> keras.Model:
    """A wide-and-deep model over the transformed features, with the task's head.

    Wide: one weight per category, bucket and cross id (a linear model on one-hots).
    Deep: z-scored numerics and category embeddings through dense layers.

    Args:
        spec: The data set spec (features, task, training settings).
        input_sizes: From `input_sizes`.
        label_stats: Training label (mean, standard deviation): the regression head's scale.
    """
    training = spec.training
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
            keras.layers.Flatten()(keras.layers.Embedding(size, 1, name=f"wide_{key}")(inputs[key]))
        )
        if key.endswith("_xf"):  # categorical columns also feed the deep part
            embedding = keras.layers.Embedding(size, training.embedding_dim, name=f"embed_{key}")
            deep.append(keras.layers.Flatten()(embedding(inputs[key])))

    x = keras.layers.concatenate(deep) if len(deep) > 1 else deep[0]
    for units in training.hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    deep_logit = keras.layers.Dense(1, name="deep_logit")(x)
    logit = keras.layers.Add(name="logit")([deep_logit, *wide])
    output, loss = _head(spec, logit, label_stats, prediction_key(spec.task))

    model = keras.Model(inputs=inputs, outputs=output)
    metrics = (
        [keras.metrics.RootMeanSquaredError(name="rmse")]
        if spec.is_regression
        else [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=training.learning_rate),
        loss=loss,
        metrics=metrics,
    )
    return model


def build_linear_model(
    spec: DatasetSpec, input_sizes: dict[str, int], label_stats: tuple[float, float] = (0.0, 1.0)
) -> keras.Model:
    """The linear baseline: logistic (or linear) regression on `build_model`'s inputs.

    One weight per category, bucket and cross id (one-hot), one per z-scored numeric.
    """
    inputs: dict[str, keras.Input] = {}
    terms = []
    numerics = []
    for name in spec.numeric_features:
        key = transformed_name(name)
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.float32)
        numerics.append(inputs[key])
    if numerics:
        joined = keras.layers.concatenate(numerics) if len(numerics) > 1 else numerics[0]
        terms.append(keras.layers.Dense(1, name="linear_numeric")(joined))
    for key, size in input_sizes.items():
        inputs[key] = keras.Input(shape=(1,), name=key, dtype=tf.int64)
        weights = keras.layers.Embedding(size, 1, name=f"linear_{key}")
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
    of a short fit (the ablation's five models side by side; the Trainer's first epoch
    took 11 s against 1 s for each later one). Here one eager evaluation step on a batch
    builds the metrics (the weights do not change). It also keeps AutoGraph away from
    Keras's own code for the traces that follow (`pipeline.keras_tracing`).
    """
    keep_keras_unconverted()
    model.test_step(next(iter(dataset.take(1))))
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()


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


def _files_bytes(file_pattern: list[str]) -> int:
    """Total size of the files matching the patterns (local or remote)."""
    return sum(
        tf.io.gfile.stat(path).length
        for pattern in file_pattern
        for path in tf.io.gfile.glob(pattern)
    )


def _dataset(
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


def _baseline_outputs(
    model: keras.Model,
    features: dict[str, tf.Tensor],
    serialized: tf.Tensor,
    spec: DatasetSpec,
    label_mean: float,
) -> dict[str, tf.Tensor]:
    """The baselines' scores of a batch (see `pipeline.model_outputs.baselines`)."""
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


def _signatures(
    model: keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    spec: DatasetSpec,
    label_mean: float,
) -> dict[str, tf.types.experimental.ConcreteFunction]:
    """`serving_default` (raw tf.Examples in, the model's output out), TFMA's transform,
    and `evaluation` (the model and its baselines, see `pipeline.model_outputs`)."""
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
        baselines = _baseline_outputs(model, features, serialized, spec, label_mean)
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


def run_fn(fn_args: FnArgs) -> None:
    """Trains the wide-and-deep model and its linear baseline, and exports them.

    Early stopping watches the eval split's AUC (classification) or loss (regression).

    Args:
        fn_args: From the Trainer; `custom_config["dataset"]` holds the spec.
    """
    spec = DatasetSpec.from_config(fn_args.custom_config["dataset"])
    training = spec.training
    seed = fn_args.custom_config.get("seed", 42)
    keras.utils.set_random_seed(seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

    read = fn_args.data_accessor, tf_transform_output, spec, seed
    train = _dataset(fn_args.train_files, *read)
    evaluation = _dataset(fn_args.eval_files, *read)
    sizes = input_sizes(spec, tf_transform_output)
    stats = label_stats(train)
    model = build_model(spec, sizes, stats)
    build_for_fit(model, train)

    # An "epoch" is one stretch of training between evaluations on the eval split.
    steps_per_epoch = min(training.steps_per_evaluation, fn_args.train_steps)
    model.fit(
        train,
        steps_per_epoch=steps_per_epoch,
        epochs=max(1, fn_args.train_steps // steps_per_epoch),
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        callbacks=[
            keras.callbacks.TensorBoard(
                log_dir=fn_args.model_run_dir, update_freq="epoch", profile_batch=0
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if spec.is_regression else "val_auc",
                mode="min" if spec.is_regression else "max",
                patience=training.early_stopping_patience,
                restore_best_weights=True,
            ),
        ],
        verbose=2,
    )
    # Baselines the report compares the model with: the same steps for the linear one.
    keras.utils.set_random_seed(seed)
    model.linear_baseline = build_linear_model(spec, sizes, stats)
    build_for_fit(model.linear_baseline, train)
    model.linear_baseline.fit(train, steps_per_epoch=fn_args.train_steps, epochs=1, verbose=0)
    model.save(
        fn_args.serving_model_dir,
        save_format="tf",
        signatures=_signatures(model, tf_transform_output, spec, stats[0]),
        # Every reader (TFMA, serving, the tests) loads the signatures, never the Keras
        # object. Tracing each layer's call functions for Keras's own loader was most of
        # the save: 15.8 s of run_fn's 54 s under cProfile, 3.3 s without.
        save_traces=False,
    )
