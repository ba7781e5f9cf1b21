"""The multi-class head: `run_fn` on real penguins rows through a real Transform; the export
serves class probabilities and the top class's name, and scores the baselines per class."""

from __future__ import annotations

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
from pipeline.model.outputs import (
    CLASSIFICATION_BASELINES,
    PREDICTED_CLASS_KEY,
    PREDICTION_KEY,
)
from pipeline.model.training import early_stopping
from pipeline.serving.raw_examples import serialize_rows
from pipeline.spec import load_spec
from tests.conftest import DATA, sample_rows

SPEC = load_spec(
    DATA / "penguins",
    {"train_steps": 150, "steps_per_evaluation": 50, "batch_size": 32, "learning_rate": 0.02},
)
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
# As SchemaGen infers them: every column with missing cells is variable-length.
FEATURE_SPEC = {
    **{name: tf.io.VarLenFeature(tf.float32) for name in NUMERIC},
    "island": tf.io.FixedLenFeature([], tf.string),
    "sex": tf.io.VarLenFeature(tf.string),
    "species": tf.io.FixedLenFeature([], tf.string),
    "year": tf.io.FixedLenFeature([], tf.int64),
}
TYPES = {**{name: "float" for name in NUMERIC}, "island": "bytes", "sex": "bytes"}


def _instance(row: dict[str, str]) -> dict:
    out = {name: [float(row[name])] if row[name] else [] for name in NUMERIC}
    out["sex"] = [row["sex"].encode()] if row["sex"] else []
    out["island"], out["species"] = row["island"].encode(), row["species"].encode()
    out["year"] = int(row["year"])
    return out


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    header, data = sample_rows(DATA / "penguins" / "penguins.csv", 344)
    return [dict(zip(header, r, strict=True)) for r in data]


@pytest.fixture(scope="module")
def model(tmp_path_factory, rows):
    """Transforms every penguin, trains run_fn on 260 of them, loads the export."""
    root = tmp_path_factory.mktemp("multiclass")
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(FEATURE_SPEC)
    config = {"dataset": SPEC.for_transform().to_config()}
    with tft_beam.Context(temp_dir=str(root / "tmp")):
        (transformed, schema), transform_fn = (
            [_instance(r) for r in rows], metadata
        ) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: module_file.preprocessing_fn(inputs, config)
        )  # fmt: skip
        _ = transform_fn | tft_beam.WriteTransformFn(str(root / "transform"))
    metadata_io.write_metadata(metadata, str(root / "transform" / "metadata"))
    coder = tft.coders.ExampleProtoCoder(schema.schema)
    # Every 4th bird evaluates: the species are interleaved in the file's order.
    parts = {"train": [t for i, t in enumerate(transformed) if i % 4],
             "eval": transformed[::4]}  # fmt: skip
    for split, part in parts.items():
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
    return tf.saved_model.load(str(root / "serving"))


def _examples(rows: list[dict[str, str]]) -> tf.Tensor:
    return tf.constant(serialize_rows(SPEC, rows, TYPES))


def test_serving_default_returns_class_probabilities_and_the_top_class_name(model, rows):
    out = model.signatures["serving_default"](examples=_examples(rows))
    assert set(out) == {PREDICTION_KEY, PREDICTED_CLASS_KEY}
    probabilities = out[PREDICTION_KEY].numpy()
    names = [n.decode() for n in out[PREDICTED_CLASS_KEY].numpy()]
    assert probabilities.shape == (len(rows), 3) and len(names) == len(rows)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # The name is the class of the largest probability, in the spec's order.
    assert names == [CLASSES[i] for i in probabilities.argmax(axis=1)]
    # The species are easy to tell apart: even a short training gets most birds right.
    truth = [r["species"] for r in rows]
    assert np.mean([n == t for n, t in zip(names, truth, strict=True)]) > 0.85
    assert set(names) == set(CLASSES)


def test_serving_takes_a_bird_with_no_measurements(model, rows):
    unmeasured = next(r for r in rows if not r["bill_length_mm"])
    out = model.signatures["serving_default"](examples=_examples([unmeasured]))
    assert out[PREDICTED_CLASS_KEY].numpy()[0].decode() in CLASSES
    assert abs(float(out[PREDICTION_KEY].numpy().sum()) - 1.0) < 1e-5


def test_evaluation_scores_the_model_and_each_baseline_per_class(model, rows):
    serialized = _examples(rows)
    out = {k: v.numpy() for k, v in model.signatures["evaluation"](examples=serialized).items()}
    assert set(out) == {PREDICTION_KEY, *CLASSIFICATION_BASELINES}
    assert all(v.shape == (len(rows), 3) for v in out.values())
    served = model.signatures["serving_default"](examples=serialized)[PREDICTION_KEY].numpy()
    np.testing.assert_allclose(out[PREDICTION_KEY], served)
    for name in ("linear", "majority", "chance"):
        np.testing.assert_allclose(out[name].sum(axis=1), 1.0, rtol=1e-5, err_msg=name)
    # Majority: the training frequencies for every bird; Adelie is the most common.
    majority = out["majority"]
    assert np.all(majority == majority[0]) and majority[0].argmax() == 0
    assert majority[0][0] == pytest.approx(152 / 344, abs=0.06)
    # Chance: every class comes out on top about as often, and the same bird scores the same.
    tops = np.bincount(out["chance"].argmax(axis=1), minlength=3) / len(rows)
    assert np.all(np.abs(tops - 1 / 3) < 0.1), tops
    again = model.signatures["evaluation"](examples=serialized)["chance"].numpy()
    np.testing.assert_array_equal(out["chance"], again)
    linear = out["linear"].argmax(axis=1)
    truth = np.array([CLASSES.index(r["species"]) for r in rows])
    assert np.mean(linear == truth) > 0.7


def test_transform_signature_gives_tfma_the_class_id(model, rows):
    serialized = tf.constant(serialize_rows(SPEC, rows[:40], TYPES | {"species": "bytes"}))
    # The label is not a serving feature: add it to the raw examples TFMA reads.
    with_label = []
    for example, row in zip(serialized.numpy(), rows[:40], strict=True):
        parsed = tf.train.Example.FromString(example)
        parsed.features.feature["species"].bytes_list.value.append(row["species"].encode())
        with_label.append(parsed.SerializeToString())
    outputs = model.signatures["transform_features"](examples=tf.constant(with_label))
    assert set(outputs) == {"species"}
    ids = outputs["species"].numpy().reshape(-1).tolist()
    assert ids == [CLASSES.index(r["species"]) for r in rows[:40]]


def test_early_stopping_watches_the_eval_loss():
    stop = early_stopping(SPEC)
    assert stop.monitor == "val_loss" and stop.monitor_op is np.less
    assert early_stopping(load_spec(DATA / "census")).monitor == "val_auc"
