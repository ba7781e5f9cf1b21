"""`run_fn` for a few steps on a real Transform output; the export serves raw examples."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io
from tfx.components.trainer import fn_args_utils
from tfx_bsl.public import tfxio

import module_file
from pipeline.model.outputs import CLASSIFICATION_BASELINES, PREDICTION_KEY
from pipeline.spec import load_spec
from tests.conftest import DATA, sample_rows

SPEC = load_spec(DATA / "census", {"train_steps": 20, "steps_per_evaluation": 10, "batch_size": 32})
# As SchemaGen infers it for census: columns with missing cells are variable-length.
WITH_MISSING = {"workclass", "occupation", "native_country"}


def _feature_spec() -> dict:
    spec = {}
    for column in SPEC.columns:
        dtype = tf.int64 if column.role == "numeric" or column.name == "fnlwgt" else tf.string
        spec[column.name] = (
            tf.io.VarLenFeature(dtype) if column.name in WITH_MISSING
            else tf.io.FixedLenFeature([], dtype)
        )  # fmt: skip
    return spec


def _instances(rows: list[dict[str, str]], spec: dict) -> list[dict]:
    out = []
    for row in rows:
        instance = {}
        for name, feature in spec.items():
            cell = row[name]
            value = int(cell) if feature.dtype == tf.int64 and cell else cell.encode()
            instance[name] = ([value] if cell else []) if name in WITH_MISSING else value
        out.append(instance)
    return out


def _example(row: dict[str, str], spec: dict, drop: set[str]) -> bytes:
    features = {}
    for name, feature in spec.items():
        if name in drop or not row[name]:
            continue
        if feature.dtype == tf.int64:
            features[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(row[name])]))
        else:
            features[name] = tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[row[name].encode()])
            )
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    header, data = sample_rows(DATA / "census" / "train.csv", 600)
    return [dict(zip(header, r, strict=True)) for r in data]


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, rows):
    """Transforms 600 census rows, runs run_fn for 20 steps, loads the export."""
    root = tmp_path_factory.mktemp("run_fn")
    feature_spec = _feature_spec()
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(feature_spec)
    config = {"dataset": SPEC.for_transform().to_config()}
    with tft_beam.Context(temp_dir=str(root / "tmp")):
        (transformed, transformed_metadata), transform_fn = (
            _instances(rows, feature_spec), metadata
        ) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: module_file.preprocessing_fn(inputs, config)
        )  # fmt: skip
        _ = transform_fn | tft_beam.WriteTransformFn(str(root / "transform"))
    # The raw schema, which TFX's Transform writes beside the transform graph.
    metadata_io.write_metadata(metadata, str(root / "transform" / "metadata"))
    coder = tft.coders.ExampleProtoCoder(transformed_metadata.schema)
    for split, part in (("train", transformed[:480]), ("eval", transformed[480:])):
        os.makedirs(root / split)
        with tf.io.TFRecordWriter(str(root / split / "data.tfrecord")) as writer:
            for instance in part:
                writer.write(coder.encode(instance))

    def dataset_factory(file_pattern, options, schema):
        return tfxio.TFExampleRecord(file_pattern=file_pattern, schema=schema).TensorFlowDataset(
            options
        )

    fn_args = fn_args_utils.FnArgs(
        train_files=[str(root / "train" / "*")],
        eval_files=[str(root / "eval" / "*")],
        transform_output=str(root / "transform"),
        serving_model_dir=str(root / "serving"),
        model_run_dir=str(root / "logs"),
        train_steps=SPEC.training.train_steps,
        eval_steps=3,
        custom_config={"dataset": SPEC.for_trainer().to_config()},
        data_accessor=fn_args_utils.DataAccessor(
            tf_dataset_factory=dataset_factory, record_batch_factory=None, data_view_decode_fn=None
        ),
    )
    module_file.run_fn(fn_args)
    return tf.saved_model.load(str(root / "serving")), feature_spec, root


def test_serving_default_scores_raw_examples_without_label(trained_model, rows):
    model, feature_spec, _ = trained_model
    serialized = [_example(r, feature_spec, drop={"income", "fnlwgt"}) for r in rows[:50]]
    scores = model.signatures["serving_default"](examples=tf.constant(serialized))
    probabilities = scores["probabilities"].numpy()
    assert probabilities.shape == (50, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities.std() > 0  # the model tells rows apart


def test_serving_accepts_unseen_categories(trained_model, rows):
    model, feature_spec, _ = trained_model
    row = {**rows[0], "occupation": "Astronaut", "native_country": "Atlantis"}
    scores = model.signatures["serving_default"](
        examples=tf.constant([_example(row, feature_spec, {"income"})])
    )
    assert 0 <= float(scores["probabilities"][0, 0]) <= 1


def test_transform_signature_gives_tfma_the_label_and_buckets(trained_model, rows):
    model, feature_spec, _ = trained_model
    serialized = [_example(r, feature_spec, drop=set()) for r in rows[:20]]
    outputs = model.signatures["transform_features"](examples=tf.constant(serialized))
    expected = [1 if r["income"] == ">50K" else 0 for r in rows[:20]]
    assert outputs["income"].numpy().reshape(-1).tolist() == expected
    ages = [int(r["age"]) for r in rows[:20]]
    buckets = np.searchsorted([25, 35, 45, 55, 65], ages, side="right")
    assert outputs["age_bucket"].numpy().reshape(-1).tolist() == buckets.tolist()
    # Nothing else: TFMA splits every output per example. Every bucket, whatever the
    # slicing settings (the Trainer does not get them).
    assert set(outputs) == {"income", "age_bucket", "hours_per_week_bucket"}


def test_tensorboard_logs_are_written_to_the_model_run_dir(trained_model):
    _, _, root = trained_model
    assert glob.glob(str(root / "logs" / "**" / "events.out.tfevents.*"), recursive=True)


def test_evaluation_signature_scores_the_model_and_its_baselines(trained_model, rows):
    model, feature_spec, _ = trained_model
    serialized = tf.constant([_example(r, feature_spec, drop={"income"}) for r in rows[:60]])
    out = {k: v.numpy() for k, v in model.signatures["evaluation"](examples=serialized).items()}
    assert set(out) == {PREDICTION_KEY, *CLASSIFICATION_BASELINES}
    assert all(v.shape == (60, 1) for v in out.values())
    # The model's output is exactly what serving answers.
    served = model.signatures["serving_default"](examples=serialized)[PREDICTION_KEY].numpy()
    np.testing.assert_allclose(out[PREDICTION_KEY], served)
    # Most census adults earn <=50K: the majority baseline says 0 for everyone.
    assert np.all(out["majority"] == 0.0)
    linear, chance = out["linear"], out["chance"]
    assert np.all((linear > 0) & (linear < 1)) and linear.std() > 0.01
    assert np.all((chance >= 0) & (chance < 1)) and chance.std() > 0.1
    again = model.signatures["evaluation"](examples=serialized)["chance"].numpy()
    np.testing.assert_array_equal(chance, again)  # the same example, the same score
