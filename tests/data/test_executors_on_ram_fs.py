"""Every custom executor, through its real `Executor().Do`, with its artifacts on a
filesystem that is not the local disk: TensorFlow's in-memory `ram://`.

On Vertex AI every artifact URI is gs://; an executor that writes with `open()` or
`os.makedirs` writes into the container's own disk instead, and the file is lost with
it. Here such a write fails or leaves nothing at the ram:// URI, so each test fails.
(The ablation's test is in tests/model/test_ablation.py, on its Transform output; the
whole pipeline on emulated gs:// is tests/e2e/test_vertex_emulation.py.)
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2, pusher_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils, proto_utils

from pipeline.spec import load_spec
from tests.conftest import DATA, make_census_sample


@pytest.fixture
def ram() -> str:
    """A fresh ram:// folder; nothing under it is on the local disk."""
    return f"ram://{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return make_census_sample(tmp_path_factory.mktemp("census"), train_rows=300, test_rows=100)


def _artifact(kind: Any, uri: str, splits: list[str] | None = None) -> Any:
    artifact = kind()
    artifact.uri = uri
    if splits is not None:
        artifact.split_names = artifact_utils.encode_split_names(splits)
    return artifact


def _statistics(uri: str, frame: pd.DataFrame) -> Any:
    artifact = _artifact(standard_artifacts.ExampleStatistics, uri, ["train"])
    stats = tfdv.generate_statistics_from_dataframe(frame)
    io_utils.write_bytes_file(f"{uri}/Split-train/FeatureStats.pb", stats.SerializeToString())
    return artifact


def _anomalies(uri: str) -> Any:
    artifact = _artifact(standard_artifacts.ExampleAnomalies, uri, ["train"])
    io_utils.write_bytes_file(
        f"{uri}/Split-train/SchemaDiff.pb", anomalies_pb2.Anomalies().SerializeToString()
    )
    return artifact


def test_example_gen_reads_its_csv_through_fileio(ram, sample, tmp_path):
    # Beam writes the output (its own filesystems: gs:// in the e2e emulation, not ram://).
    from components.arrow_csv_example_gen.executor import Executor

    io_utils.copy_file(str(sample.parent / "train.csv"), f"{ram}/data/train.csv")
    examples = _artifact(standard_artifacts.Examples, str(tmp_path / "examples"))
    Executor().Do(
        {},
        {"examples": [examples]},
        {
            "input_base": f"{ram}/data",
            "input_config": proto_utils.proto_to_json(example_gen_pb2.Input(splits=[
                example_gen_pb2.Input.Split(name="train", pattern="train.csv")])),
            "output_config": proto_utils.proto_to_json(example_gen_pb2.Output(
                split_config=example_gen_pb2.SplitConfig(splits=[
                    example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=1)]))),
            "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
            "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        },
    )  # fmt: skip
    files = tf.io.gfile.glob(str(tmp_path / "examples" / "Split-train" / "*"))
    assert sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP")) == 300


def test_data_gate_passes_the_schema_on(ram, sample):
    from components.data_gate.executor import SCHEMA_FILE, Executor

    spec = load_spec(sample)
    # Numeric columns as floats, as ExampleGen writes them (the gate refuses INT there).
    frame = pd.read_csv(
        sample.parent / "train.csv", dtype=dict.fromkeys(spec.float_columns, "float64")
    )
    schema = tfdv.infer_schema(tfdv.generate_statistics_from_dataframe(frame))
    tfdv.write_schema_text(schema, f"{ram}/schema/schema.pbtxt")
    validated = _artifact(standard_artifacts.Schema, f"{ram}/validated")
    Executor().Do(
        {"schema": [_artifact(standard_artifacts.Schema, f"{ram}/schema")],
         "anomalies": [_anomalies(f"{ram}/anomalies")]},
        {"validated_schema": [validated]},
        {"dataset": json.dumps(spec.for_transform().to_config())},
    )  # fmt: skip
    assert tfdv.load_schema_text(f"{ram}/validated/{SCHEMA_FILE}") == schema


def test_drift_check_approves_and_marks_the_statistics(ram):
    from components.drift_check import APPROVED_BY
    from components.drift_check.executor import Executor, drift_config

    frame = pd.read_csv(DATA / "census" / "train.csv", nrows=1000)
    approved = _artifact(standard_artifacts.ExampleStatistics, f"{ram}/approved")
    Executor().Do(
        {"statistics": [_statistics(f"{ram}/now", frame)],
         "baseline_statistics": [_statistics(f"{ram}/before", frame)]},
        {"approved_statistics": [approved]},
        {"drift": drift_config(load_spec(DATA / "census"), approved_by="p.DriftCheck")},
    )  # fmt: skip
    assert fileio.exists(f"{ram}/approved/Split-train/FeatureStats.pb")
    assert approved.get_string_custom_property(APPROVED_BY) == "p.DriftCheck"


@pytest.fixture(scope="module")
def saved_model() -> str:
    """A Trainer-like model artifact on ram://: <uri>/Format-Serving/ holds a SavedModel."""
    uri = f"ram://model-{uuid.uuid4().hex}"
    module = tf.Module()
    module.weights = tf.Variable(tf.ones([8, 8]))
    module.score = tf.function(
        lambda x: tf.reduce_sum(x * module.weights), input_signature=[tf.TensorSpec([8, 8])]
    )
    tf.saved_model.save(module, f"{uri}/Format-Serving")
    return uri


def _push_inputs(model_uri: str, ram: str) -> tuple[dict, Any]:
    blessing = _artifact(standard_artifacts.ModelBlessing, f"{ram}/blessing")
    blessing.set_int_custom_property("blessed", 1)
    pushed = _artifact(standard_artifacts.PushedModel, f"{ram}/pushed")
    model = _artifact(standard_artifacts.Model, model_uri)
    return {"model": [model], "model_blessing": [blessing]}, pushed


def test_atomic_pusher_pushes_a_whole_version(ram, saved_model, monkeypatch):
    from components.atomic_pusher import Executor

    copied = []  # destinations, in order: a server loads a version once saved_model.pb is in
    copy = fileio.copy
    monkeypatch.setattr(fileio, "copy", lambda src, dst, overwrite=False: copied.append(dst)
                        or copy(src, dst, overwrite))  # fmt: skip
    inputs, pushed = _push_inputs(saved_model, ram)
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=f"{ram}/serving")
    )
    # A version a killed push left without its saved_model.pb: removed, not served.
    io_utils.write_string_file(f"{ram}/serving/1/variables/variables.index", "half")
    Executor().Do(
        inputs,
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination)},
    )
    version = pushed.get_string_custom_property("pushed_version")
    assert [v.rstrip("/") for v in fileio.listdir(f"{ram}/serving")] == [version]
    loaded = tf.saved_model.load(f"{ram}/serving/{version}")
    assert float(loaded.score(tf.ones([8, 8]))) == 64
    served = [c for c in copied if c.startswith(f"{ram}/serving/")]
    assert len(served) > 2 and served[-1] == f"{ram}/serving/{version}/saved_model.pb"


def test_vertex_pusher_copies_the_model_where_vertex_serves_it_from(ram, saved_model, monkeypatch):
    """MOCK AT THE API BOUNDARY: the Vertex AI SDK (tests/unit/test_vertex_pusher.py)."""
    from components.vertex_pusher import executor, push_config
    from tests.unit.test_vertex_pusher import FakeVertex

    fake = FakeVertex()
    monkeypatch.setattr(executor, "_aiplatform", lambda: fake)
    inputs, pushed = _push_inputs(saved_model, ram)
    config = push_config(project="my-gcp-project", region="us-central1", endpoint_name="census",
                         serving_image="us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest")  # fmt: skip
    executor.Executor().Do(inputs, {"pushed_model": [pushed]},
                           {"custom_config": json.dumps(config)})  # fmt: skip
    assert fake.named("Model.upload")[0]["artifact_uri"] == f"{ram}/pushed"
    assert fileio.exists(f"{ram}/pushed/saved_model.pb")
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_destination").endswith("@1")


def test_vertex_pusher_pushes_nothing_unblessed(ram, saved_model, monkeypatch):
    from components.vertex_pusher import executor

    monkeypatch.setattr(executor, "_aiplatform", lambda: pytest.fail("called Vertex AI"))
    inputs, pushed = _push_inputs(saved_model, ram)
    inputs["model_blessing"][0].set_int_custom_property("blessed", 0)
    executor.Executor().Do(inputs, {"pushed_model": [pushed]}, {"custom_config": "{}"})
    assert pushed.get_int_custom_property("pushed") == 0


def test_report_renders_into_its_artifact(ram, sample):
    from components.report import REPORT_FILE
    from components.report.component import HtmlReport
    from components.report.executor import Executor

    spec = load_spec(sample)
    frame = pd.read_csv(sample.parent / "train.csv")
    report = _artifact(HtmlReport, f"{ram}/pipelines/123/census-run-7/Report_42/report")
    Executor().Do(
        {"statistics": [_statistics(f"{ram}/statistics", frame)],
         "anomalies": [_anomalies(f"{ram}/anomalies")]},
        {"report": [report]},
        {"dataset": json.dumps(spec.to_config()), "pipeline_name": "census-pipeline"},
    )  # fmt: skip
    with fileio.open(os.path.join(report.uri, REPORT_FILE)) as f:
        page = f.read()
    assert "census-pipeline: run census-run-7" in page  # the run id from the Vertex layout
    assert 'id="statistics-train"' in page and "No blessing" in page


@pytest.mark.parametrize("blessed", [0, 1])
def test_report_reads_a_vertex_blessing_either_way(blessed):
    """Vertex AI hands artifact metadata to a step as struct values; the entry point's own
    parser rebuilds the artifact, and the report must read 0 as 'not blessed', not as
    'no blessing'."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils

    from components.report.executor import report_artifact, run_artifacts

    runtime = {"blessing": {"artifacts": [{
        "name": "projects/1/locations/us-central1/metadataStores/default/artifacts/7",
        "type": {"instanceSchema": "title: tfx.ModelBlessing\ntype: object\n"},
        "uri": "gs://b/root/1/run-3/Evaluator_1/blessing",
        "metadata": {"blessed": float(blessed), "current_model_id": "projects/1/.../9"},
    }]}}  # fmt: skip
    given = pipeline_spec_pb2.ExecutorInput()
    json_format.ParseDict({"inputs": {"artifacts": runtime}}, given)
    parsed = kubeflow_v2_entrypoint_utils.parse_raw_artifact_dict(given.inputs.artifacts)
    assert report_artifact(parsed["blessing"][0]).int_property("blessed") == blessed
    run = run_artifacts(parsed, "census-pipeline", "run-3")
    assert run.blessed is bool(blessed)


def _copy_tree(local: str, uri: str) -> None:
    """A local folder's files, copied under `uri` (through fileio)."""
    for folder, _, names in os.walk(local):
        relative = os.path.relpath(folder, local)
        target = uri if relative == "." else f"{uri}/{relative}"
        fileio.makedirs(target)
        for name in names:
            fileio.copy(os.path.join(folder, name), os.path.join(target, name), overwrite=True)


@pytest.fixture(scope="module")
def evaluated_run(sample, tmp_path_factory) -> dict[str, Any]:
    """A blessed and pushed run on ram://, for the Report's inputs: TFMA's real evaluation
    with the pipeline's own metrics, intervals and fairness gate (tests/model's
    `evaluate`, on scores of a fixed generator), the sample's statistics, a pushed version.
    """
    import dataclasses

    from pipeline.spec import Bootstrap
    from tests.model.test_evaluation_metrics import SPEC, evaluate, people

    ram = f"ram://evaluated-{uuid.uuid4().hex}"
    spec = dataclasses.replace(SPEC, bootstrap=Bootstrap(replicates=100))
    local = evaluate(people(400), tmp_path_factory.mktemp("evaluation"), spec)
    evaluation = _artifact(standard_artifacts.ModelEvaluation, f"{ram}/Evaluator_3/evaluation")
    _copy_tree(local, evaluation.uri)
    blessing = _artifact(standard_artifacts.ModelBlessing, f"{ram}/Evaluator_3/blessing")
    blessing.set_int_custom_property("blessed", 1)
    version = f"{ram}/serving/1796306761"
    io_utils.write_string_file(f"{version}/saved_model.pb", "a model")
    pushed = _artifact(standard_artifacts.PushedModel, f"{ram}/Pusher_4/pushed_model")
    pushed.set_int_custom_property("pushed", 1)
    pushed.set_string_custom_property("pushed_destination", version)
    frame = pd.read_csv(sample.parent / "train.csv")
    inputs = {
        "statistics": [_statistics(f"{ram}/StatisticsGen_1/statistics", frame)],
        "anomalies": [_anomalies(f"{ram}/ExampleValidator_2/anomalies")],
        "model": [_artifact(standard_artifacts.Model, f"{ram}/Trainer_2/model")],
        "evaluation": [evaluation],
        "blessing": [blessing],
        "pushed_model": [pushed],
    }
    return {"spec": spec, "inputs": inputs, "version": version, "ram": ram}


def _report(run: dict[str, Any], **properties: str) -> Any:
    """The Report's real executor on `run`; returns its output artifact."""
    from components.report.component import HtmlReport
    from components.report.executor import Executor

    run_id = f"census-run-{uuid.uuid4().hex[:6]}"
    report = _artifact(HtmlReport, f"{run['ram']}/123/{run_id}/Report_5/report")
    Executor().Do(
        run["inputs"],
        {"report": [report]},
        {"dataset": json.dumps(run["spec"].to_config()), "pipeline_name": "census-pipeline",
         **properties},
    )  # fmt: skip
    return report


def _read(uri: str) -> str:
    with fileio.open(uri) as f:
        return f.read()


def test_report_writes_the_model_card_into_its_artifact_and_the_pushed_version(evaluated_run):
    from components.report import CARD_FILE, REPORT_FILE
    from pipeline.reports.model_card import served_card_path, validate_model_card

    report = _report(evaluated_run)
    card = json.loads(_read(os.path.join(report.uri, CARD_FILE)))
    validate_model_card(card)
    assert card["model_details"]["path"] == evaluated_run["version"]
    assert card["model_details"]["version"]["name"] == "1796306761"
    auc = next(m for m in card["quantitative_analysis"]["performance_metrics"]
               if m["type"] == "auc" and m["slice"] == "sex=Female")  # fmt: skip
    assert set(auc["confidence_interval"]) == {"lower_bound", "upper_bound"}
    # Beside the served model too, as the local runner writes it (TF Serving ignores it).
    served = _read(served_card_path(evaluated_run["version"]))
    assert json.loads(served) == card
    page = _read(os.path.join(report.uri, REPORT_FILE))
    assert 'id="model_card"' in page and card["model_details"]["name"] in page


def test_report_without_a_tracking_uri_logs_nowhere(evaluated_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where MLflow would create ./mlruns
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    _report(evaluated_run)
    assert list(tmp_path.iterdir()) == []


def test_report_logs_the_run_to_mlflow(evaluated_run, tmp_path):
    from components.report import CARD_FILE, REPORT_FILE
    from pipeline.tracking import keys, store
    from pipeline.tracking.mlflow_log import SERVING_ALIAS

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    report = _report(evaluated_run, tracking_uri=uri)
    run_id = report.uri.split("/")[-3]  # the Vertex AI run, from the output's layout
    spec = evaluated_run["spec"]
    client = store.client(uri)
    experiment = client.get_experiment_by_name(keys.experiment_name(spec))
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.run_name == run_id and logged.info.status == "FINISHED"
    tags = logged.data.tags
    assert tags[store.TAG_MLMD_RUN_ID] == run_id and tags[store.TAG_BLESSED] == "true"
    assert tags["mlflow.note.content"] == "BLESSED: every threshold passed."
    assert tags[store.TAG_PUSHED_VERSION] == "1796306761"
    metrics = logged.data.metrics
    for key in ("auc", "auc/ci_lower", "auc/ci_upper", "auc/sex:Female",
                "auc/sex:Female/ci_lower", "miss_rate_at_0.5/sex:Female"):  # fmt: skip
        assert key in metrics, key
    assert not [k for k in metrics if k.startswith("seconds/")]  # unknown in a cloud step
    assert logged.data.params["training.train_steps"] == str(spec.training.train_steps)
    local = client.download_artifacts(logged.info.run_id, "", str(tmp_path / "downloaded"))
    assert Path(local, "report", REPORT_FILE).read_text() == _read(
        os.path.join(report.uri, REPORT_FILE)
    )
    assert Path(local, "model_card", CARD_FILE).read_text() == _read(
        os.path.join(report.uri, CARD_FILE)
    )
    version = client.get_model_version_by_alias(keys.registered_model_name(spec), SERVING_ALIAS)
    assert version.source == evaluated_run["version"] and version.run_id == logged.info.run_id


def test_an_mlflow_error_is_a_warning_and_the_step_succeeds(evaluated_run, caplog, monkeypatch):
    from components.report import CARD_FILE
    from pipeline.tracking.server import HOST, free_port

    uri = f"http://{HOST}:{free_port()}"  # a tracking server that is down
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with caplog.at_level("WARNING"):
        report = _report(evaluated_run, tracking_uri=uri)
    assert fileio.exists(os.path.join(report.uri, CARD_FILE))
    (warning,) = [r for r in caplog.records if "MLflow" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert warning.getMessage().startswith(f"Not logged to MLflow at {uri}: ")
