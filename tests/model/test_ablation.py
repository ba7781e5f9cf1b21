"""The Ablation component's executor (`Executor().Do`) on a real Transform output.

Census rows with two added columns: `hint` agrees with the label for 85% of the rows (it
carries the label signal), `coin` is a fair coin (pure noise). Removing `hint` must cost
AUC measurably; removing `coin` must not.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata
from tfx.types import artifact_utils, standard_artifacts

import module_file
from components.ablation import executor
from components.ablation.component import AblationReport
from pipeline.model.keras_model import features_from
from pipeline.spec import Column, load_spec
from tests.conftest import DATA, sample_rows

CENSUS = load_spec(DATA / "census", {"batch_size": 64, "learning_rate": 0.01})
SPEC = dataclasses.replace(
    CENSUS,
    columns=(*CENSUS.columns, Column("hint", "categorical"), Column("coin", "categorical")),
)
WITH_MISSING = {"workclass", "occupation", "native_country"}


def _instances(rows: list[dict[str, str]]) -> tuple[list[dict], dict]:
    feature_spec, instances = {}, []
    for column in SPEC.columns:
        dtype = tf.int64 if column.role == "numeric" or column.name == "fnlwgt" else tf.string
        feature_spec[column.name] = (
            tf.io.VarLenFeature(dtype) if column.name in WITH_MISSING
            else tf.io.FixedLenFeature([], dtype)
        )  # fmt: skip
    for row in rows:
        instance = {}
        for name, feature in feature_spec.items():
            cell = row[name]
            value = int(cell) if feature.dtype == tf.int64 and cell else cell.encode()
            instance[name] = ([value] if cell else []) if name in WITH_MISSING else value
        instances.append(instance)
    return instances, feature_spec


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """2,000 census rows with `hint` and `coin`, through the real preprocessing_fn."""
    root = tmp_path_factory.mktemp("ablation")
    header, data = sample_rows(DATA / "census" / "train.csv", 2000)
    rng = np.random.default_rng(7)
    rows = []
    for cells in data:
        row = dict(zip(header, cells, strict=True))
        positive = row["income"] == ">50K"
        agrees = rng.random() < 0.85
        row["hint"] = "rich" if positive == agrees else "poor"
        row["coin"] = "heads" if rng.random() < 0.5 else "tails"
        rows.append(row)
    instances, feature_spec = _instances(rows)
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(feature_spec)
    config = {"dataset": SPEC.for_transform().to_config()}
    with tft_beam.Context(temp_dir=str(root / "tmp")):
        (out, out_metadata), transform_fn = (
            (instances, metadata)
            | tft_beam.AnalyzeAndTransformDataset(
                lambda inputs: module_file.preprocessing_fn(inputs, config)
            )
        )  # fmt: skip
        _ = transform_fn | tft_beam.WriteTransformFn(str(root / "transform"))
    coder = tft.coders.ExampleProtoCoder(out_metadata.schema)
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split, part in (("train", out[:1500]), ("eval", out[1500:])):
        os.makedirs(root / "examples" / f"Split-{split}")
        path = root / "examples" / f"Split-{split}" / "data.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for instance in part:
                writer.write(coder.encode(instance))
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(root / "transform")
    return examples, graph, root


def test_removing_the_signal_costs_auc_and_removing_noise_does_not(transformed):
    examples, graph, root = transformed
    report = AblationReport()
    report.uri = str(root / "report")
    groups = {"hint": ("hint",), "coin": ("coin",)}
    executor.Executor().Do(
        {"examples": [examples], "transform_graph": [graph]},
        {"report": [report]},
        {
            "dataset": json.dumps(SPEC.for_trainer().to_config()),
            "ablation": executor.ablation_config(groups, train_steps=200, replicates=500),
        },
    )
    result = json.loads((root / "report" / executor.RESULT_FILE).read_text())
    assert result["eval_examples"] == 500 and result["train_steps"] == 200
    by_name = {g["name"]: g for g in result["groups"]}
    assert by_name["hint"]["inputs"] == ["hint_xf"]
    hint, coin = by_name["hint"]["metrics"]["auc"], by_name["coin"]["metrics"]["auc"]
    # The reference model saw the hint: removing it costs AUC, and the interval says so.
    assert hint["change"] < -0.03 and hint["high"] < 0, hint
    # Noise: a change within a hundredth, and an interval that holds zero.
    assert abs(coin["change"]) < 0.01 and coin["low"] <= 0 <= coin["high"], coin
    assert hint["a"] == coin["a"] == result["reference"]["auc"]


def test_removing_a_column_removes_its_buckets_and_crosses():
    assert features_from(CENSUS, ("age",)) == {"age_xf", "age_bucket", "age_x_sex"}
    assert features_from(CENSUS, ("education_num",)) == {"education_num_xf"}
