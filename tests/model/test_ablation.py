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


def _quick_ablation(examples, graph, report) -> tuple[dict, dict, dict]:
    """Inputs, outputs and properties of a short run (the metric values do not matter)."""
    return (
        {"examples": [examples], "transform_graph": [graph]},
        {"report": [report]},
        {
            "dataset": json.dumps(SPEC.for_trainer().to_config()),
            "ablation": executor.ablation_config({"coin": ("coin",)}, train_steps=20,
                                                 replicates=50),
        },
    )  # fmt: skip


def test_writes_its_report_through_fileio_on_a_non_local_filesystem(transformed):
    """On Vertex AI the report's URI is gs://: the executor must not write with open()."""
    from tfx.dsl.io import fileio
    from tfx.utils import io_utils

    local_examples, local_graph, _ = transformed
    ram = "ram://ablation-test"
    io_utils.copy_dir(local_examples.uri, f"{ram}/examples")
    io_utils.copy_dir(local_graph.uri, f"{ram}/transform")
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = f"{ram}/examples", local_examples.split_names
    graph = standard_artifacts.TransformGraph()
    graph.uri = f"{ram}/transform"
    report = AblationReport()
    report.uri = f"{ram}/report"
    executor.Executor().Do(*_quick_ablation(examples, graph, report))
    with fileio.open(f"{ram}/report/{executor.RESULT_FILE}") as f:
        assert json.load(f)["groups"][0]["name"] == "coin"


def test_vertex_training_runs_the_ablation_in_the_custom_job_it_starts(transformed, monkeypatch):
    """MOCK AT THE API BOUNDARY: Vertex AI's CustomJob API. The job TFX builds is captured
    instead of submitted, and its container command (what the job's machine would run in
    the image) runs here in a new process."""
    import subprocess
    import sys

    from tfx.extensions.google_cloud_ai_platform import runner, training_clients

    from pipeline.project import ROOT

    examples, graph, root = transformed
    report = AblationReport()
    report.uri = str(root / "vertex_report")
    inputs, outputs, properties = _quick_ablation(examples, graph, report)
    job_args = {
        "project": "my-gcp-project",
        "job_spec": {
            "worker_pool_specs": [
                {
                    "machine_spec": {"machine_type": "n1-highmem-8"},
                    "replica_count": 1,
                    "container_spec": {"image_uri": "us-central1-docker.pkg.dev/p/tfx/census:1"},
                }
            ]
        },
    }
    properties["custom_config"] = json.dumps({
        "ai_platform_enable_vertex": True, "ai_platform_vertex_region": "us-central1",
        "ai_platform_training_args": job_args})  # fmt: skip
    jobs = []
    # The API client (it needs credentials) and the submission are the boundary.
    monkeypatch.setattr(training_clients.VertexJobClient, "create_client", lambda self: None)
    monkeypatch.setattr(runner, "_launch_cloud_training", lambda **kwargs: jobs.append(kwargs))
    executor.VertexTrainingExecutor().Do(inputs, outputs, properties)
    (launch,) = jobs
    assert (launch["project"], launch["vertex_region"]) == ("my-gcp-project", "us-central1")
    (pool,) = launch["training_job"]["job_spec"]["worker_pool_specs"]
    assert pool["machine_spec"] == {"machine_type": "n1-highmem-8"}
    assert pool["container_spec"]["image_uri"] == "us-central1-docker.pkg.dev/p/tfx/census:1"
    command = pool["container_spec"]["command"]
    assert command[:3] == ["python", "-m", "tfx.scripts.run_executor"]
    assert command[command.index("--executor_class_path") + 1] == (
        "components.ablation.executor.Executor"
    )
    done = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((root / "vertex_report" / executor.RESULT_FILE).read_text())["groups"]
