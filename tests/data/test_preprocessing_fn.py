"""`preprocessing_fn` through real tf.Transform (Beam) on a few rows: exact outputs."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

import module_file
from pipeline.model.preprocessing import VOCABULARY_TOP_K
from pipeline.spec import load_spec
from pipeline.spec.reference import with_modeline
from tests.conftest import write_csv

HEADER = ["age", "score", "color", "label"]
# age: one cell missing. score: a NaN. color: '?' is a declared missing token.
ROWS = [
    [20, 1.0, "red", ">50K"],
    [40, 3.0, "red", "<=50K"],
    [None, float("nan"), "red", "<=50K"],
    [20, 1.0, "blue", ">50K"],
    [40, 3.0, "blue", "<=50K"],
    [30, 2.0, "?", "<=50K"],
]
FEATURE_SPEC = {
    # As the inferred schema gives them: a column with missing cells is variable-length.
    "age": tf.io.VarLenFeature(tf.int64),
    "score": tf.io.FixedLenFeature([], tf.float32),
    "color": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.string),
}
SPEC_YAML = """
name: tiny
files: {train: train.csv}
missing_values: ["?"]
label: {column: label, positive: ">50K"}
columns:
  age: {role: numeric, buckets: [30]}
  score: numeric
  color: categorical
  label: label
feature_crosses: [[age, color]]
evaluation: {thresholds: [{metric: auc, lower_bound: 0.5}]}
training: {cross_hash_buckets: 97}
"""


def _instances(rows):
    return [
        {
            "age": [] if age is None else [age],
            "score": score,
            "color": color.encode(),
            "label": label.encode(),
        }
        for age, score, color, label in rows
    ]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """Analyzes and transforms ROWS; returns (outputs by feature, transform_fn, spec)."""
    directory = tmp_path_factory.mktemp("tiny")
    write_csv(directory / "train.csv", HEADER, [[str(c) for c in r] for r in ROWS])
    (directory / "dataset.yaml").write_text(with_modeline(SPEC_YAML, directory))
    spec = load_spec(directory)
    config = {"dataset": spec.for_transform().to_config()}
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(FEATURE_SPEC)
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(dir=directory)):
        (outputs, _), transform_fn = (
            _instances(ROWS),
            metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: module_file.preprocessing_fn(inputs, config)
        )
    columns = {key: np.array([row[key] for row in outputs]).reshape(-1) for key in outputs[0]}
    return columns, transform_fn, metadata, config


def test_numeric_is_z_scored_with_missing_and_nan_imputed_by_the_mean(transformed):
    columns, *_ = transformed
    std_age = math.sqrt(80.0)  # present ages 20, 40, 20, 40, 30: mean 30, variance 80
    np.testing.assert_allclose(
        columns["age_xf"], [-10 / std_age, 10 / std_age, 0.0, -10 / std_age, 10 / std_age, 0.0],
        rtol=1e-5,
    )  # fmt: skip
    std_score = math.sqrt(0.8)  # present scores 1, 3, 1, 3, 2: mean 2, variance 0.8
    np.testing.assert_allclose(
        columns["score_xf"], [-1 / std_score, 1 / std_score, 0.0, -1 / std_score, 1 / std_score, 0.0],
        rtol=1e-5,
    )  # fmt: skip


def test_buckets_use_the_declared_boundaries_on_the_imputed_value(transformed):
    columns, *_ = transformed
    # Boundary 30: [20, 40, missing -> 30, 20, 40, 30] -> 0 below, 1 at or above.
    assert columns["age_bucket"].tolist() == [0, 1, 1, 0, 1, 1]


def test_vocabulary_orders_by_frequency_and_missing_tokens_share_one_id(transformed):
    columns, *_ = transformed
    # red x3 -> 0, blue x2 -> 1, the '?' token -> the missing category 2.
    assert columns["color_xf"].tolist() == [0, 0, 0, 1, 1, 2]


def test_cross_is_the_hash_of_bucket_and_category(transformed):
    columns, *_ = transformed
    expected = tf.strings.to_hash_bucket_fast(["0|red", "1|red", "1|red", "0|blue"], 97).numpy()
    assert columns["age_x_color"][:4].tolist() == expected.tolist()


def test_label_is_one_for_the_positive_class(transformed):
    columns, *_ = transformed
    assert columns["label"].tolist() == [1, 0, 0, 1, 0, 0]


def test_every_output_has_shape_batch_by_one(transformed):
    _, transform_fn, _, _ = transformed
    output_metadata = transform_fn[1]
    features = list(output_metadata.schema.feature)
    assert {f.name for f in features} == {
        "age_xf", "score_xf", "color_xf", "age_bucket", "age_x_color", "label",
    }  # fmt: skip
    for feature in features:
        assert [d.size for d in feature.shape.dim] == [1], feature.name


def test_unseen_category_maps_to_the_oov_id_at_transform_time(transformed):
    _, transform_fn, metadata, _ = transformed
    new_rows = _instances([[25, 2.0, "green", "<=50K"]])
    with tft_beam.Context(temp_dir=tempfile.mkdtemp()):
        outputs, _ = ((new_rows, metadata), transform_fn) | tft_beam.TransformDataset()
    assert int(np.asarray(outputs[0]["color_xf"]).reshape(-1)[0]) == 3  # 3 known ids, then OOV


def test_transform_output_reports_vocabulary_size(transformed, tmp_path):
    _, transform_fn, *_ = transformed
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    assert tft.TFTransformOutput(str(tmp_path / "out")).vocabulary_size_by_name("color") == 3


def test_vocabulary_is_exactly_tft_vocabulary_below_top_k(tmp_path):
    # module_file counts categories with Misra-Gries (a packable combiner); below
    # VOCABULARY_TOP_K distinct values it must give tft.vocabulary's exact file: same
    # tokens, by decreasing frequency, ties in reverse lexicographic order.
    rng = np.random.default_rng(3)
    tokens = [f"v{i:03d}" for i in range(300)]
    counts = rng.integers(1, 6, size=len(tokens))  # many ties
    rows = [{"x": t.encode()} for t, c in zip(tokens, counts, strict=True) for _ in range(c)]
    rng.shuffle(rows)
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(
        {"x": tf.io.FixedLenFeature([], tf.string)}
    )

    def preprocessing_fn(inputs):
        tft.vocabulary(inputs["x"], vocab_filename="exact")
        tft.experimental.approximate_vocabulary(
            inputs["x"], top_k=VOCABULARY_TOP_K, vocab_filename="counted"
        )
        return {"x": inputs["x"]}

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    output = tft.TFTransformOutput(str(tmp_path / "out"))
    exact = Path(output.vocabulary_file_by_name("exact")).read_bytes().splitlines()
    counted = Path(output.vocabulary_file_by_name("counted")).read_bytes().splitlines()
    assert len(exact) == len(tokens)
    assert counted == exact


MULTICLASS_YAML = """
name: tiny_species
task: multiclass_classification
files: {train: train.csv}
label: {column: species, classes: [Gentoo, Adelie, Chinstrap]}
columns:
  bill: numeric
  species: label
evaluation: {thresholds: [{metric: accuracy, lower_bound: 0.5}]}
"""


def test_a_multiclass_label_is_its_index_in_the_spec_classes(tmp_path):
    # The spec's order, not frequency or alphabetical order: output i is classes[i].
    species = ["Adelie", "Chinstrap", "Adelie", "Gentoo", "Adelie", " Gentoo "]
    write_csv(tmp_path / "train.csv", ["bill", "species"], [["1", s] for s in species])
    (tmp_path / "dataset.yaml").write_text(with_modeline(MULTICLASS_YAML, tmp_path))
    spec = load_spec(tmp_path)
    config = {"dataset": spec.for_transform().to_config()}
    feature_spec = {
        "bill": tf.io.FixedLenFeature([], tf.float32),
        "species": tf.io.FixedLenFeature([], tf.string),
    }
    rows = [{"bill": 1.0, "species": s.encode()} for s in species]
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        (outputs, metadata), _ = (
            rows,
            dataset_metadata.DatasetMetadata.from_feature_spec(feature_spec),
        ) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: module_file.preprocessing_fn(inputs, config)
        )
    ids = [int(np.asarray(row["species"]).reshape(-1)[0]) for row in outputs]
    assert ids == [1, 2, 1, 0, 1, 0]
    label = next(f for f in metadata.schema.feature if f.name == "species")
    assert [d.size for d in label.shape.dim] == [1]
