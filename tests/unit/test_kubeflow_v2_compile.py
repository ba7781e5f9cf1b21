"""The Kubeflow V2 / Vertex AI compile: real `KubeflowV2DagRunner` output, read back as KFP's
own protos, against the same `create_pipeline` DAG the local runner uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.runners.cloud_config import load_cloud_config
from pipeline.runners.kubeflow_v2 import (
    KFP_PACKAGE_FILE,
    PIPELINE_FILE,
    SCHEDULE_FILE,
    build_pipeline,
    compile_pipeline,
)
from pipeline.spec import load_spec
from tests.conftest import DATA
from tests.unit.test_cloud_config import EXAMPLE, write_config

BEAM_COMPONENTS = ("ExampleGen", "TestExampleGen", "StatisticsGen", "Transform", "Evaluator")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict:
    """The bundled census spec compiled with deploy/vertex.yaml, twice."""
    spec = load_spec(DATA / "census")
    config = load_cloud_config(EXAMPLE)
    first = compile_pipeline(spec, config, tmp_path_factory.mktemp("first"))
    second = compile_pipeline(spec, config, tmp_path_factory.mktemp("second"))
    return {
        "spec": spec,
        "config": config,
        "first": first,
        "second": second,
        "job": json.loads(first.read_text()),
        "dag": build_pipeline(spec, config),
    }


def _executor(job: dict, task: str) -> dict:
    spec = job["pipelineSpec"]
    executor = spec["components"][task]["executorLabel"]
    return spec["deploymentSpec"]["executors"][executor]


def test_output_parses_as_kfp_pipeline_job_and_spec(compiled):
    job = json_format.ParseDict(compiled["job"], pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(compiled["job"]["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert job.display_name == "census-income-pipeline"
    assert spec.pipeline_info.name == "census-pipeline"
    assert job.runtime_config.gcs_output_directory == compiled["config"].pipeline_root


def test_every_component_is_a_task_with_its_upstream_dependencies(compiled):
    tasks = compiled["job"]["pipelineSpec"]["root"]["dag"]["tasks"]
    # A resolver may compile into several tasks ('<id>-model-resolver', ...); a task's
    # node is the part before the first '-'.
    expected = {node.id: {u.id for u in node.upstream_nodes} for node in compiled["dag"].components}
    assert {name.split("-")[0] for name in tasks} == set(expected)
    for task_id, upstream in expected.items():
        if task_id.endswith("Resolver"):
            continue
        compiled_upstream = {
            name.split("-")[0] for name in tasks[task_id].get("dependentTasks", [])
        }
        assert compiled_upstream == upstream, task_id
    # The DAG's safety edges survive compilation.
    assert set(tasks["Transform"]["dependentTasks"]) >= {"DataGate", "ExampleGen"}
    assert set(tasks["Pusher"]["dependentTasks"]) == {"Evaluator", "Trainer"}
    assert "TestExampleValidator" in tasks["DataGate"]["dependentTasks"]
    # The ordering-only edges: DataGate -> DriftCheck -> Transform.
    assert "DataGate" in tasks["DriftCheck"]["dependentTasks"]
    assert "DriftCheck" in tasks["Transform"]["dependentTasks"]


def test_every_step_runs_the_configured_image(compiled):
    executors = compiled["job"]["pipelineSpec"]["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {compiled["config"].image}


def test_beam_components_get_the_dataflow_args(compiled):
    config = compiled["config"]
    expected = config.beam.pipeline_args(config.project, config.region, config.image)
    for task in BEAM_COMPONENTS:
        args = _executor(compiled["job"], task)["container"]["args"]
        assert all(arg in args for arg in expected), task
        assert "--runner=DataflowRunner" in args and "--max_num_workers=4" in args


def test_user_code_comes_from_the_image_not_a_packaged_wheel(compiled):
    tasks = compiled["job"]["pipelineSpec"]["root"]["dag"]["tasks"]
    transform = tasks["Transform"]["inputs"]["parameters"]
    trainer = tasks["Trainer"]["inputs"]["parameters"]
    value = "runtimeValue", "constantValue", "stringValue"

    def constant(params: dict, key: str) -> str:
        item = params[key]
        for k in value:
            item = item[k]
        return item

    assert constant(transform, "preprocessing_fn") == "module_file.preprocessing_fn"
    assert constant(trainer, "run_fn") == "module_file.run_fn"
    assert "module_file" not in transform and "module_path" not in transform
    # The data set description travels with the pipeline; the data comes from data_root.
    assert json.loads(constant(trainer, "custom_config"))["dataset"]["label"]["column"] == "income"
    example_gen = tasks["ExampleGen"]["inputs"]["parameters"]
    assert constant(example_gen, "input_base") == "gs://my-tfx-bucket/data/census"


def test_runtime_parameters_are_pipeline_parameters_with_defaults(compiled):
    job = compiled["job"]
    root_inputs = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]
    assert set(root_inputs) == {"train_args", "eval_args"}
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    assert trainer["train_args"] == {"componentInputParameter": "train_args"}
    assert trainer["eval_args"] == {"componentInputParameter": "eval_args"}
    defaults = job["runtimeConfig"]["parameters"]
    assert json.loads(defaults["train_args"]["stringValue"]) == {
        "numSteps": 2000,
        "splits": ["train"],
    }
    assert json.loads(defaults["eval_args"]["stringValue"]) == {"numSteps": 50, "splits": ["eval"]}
    # The Trainer executor parses the parameter's string as it parses a compiled proto.
    from tfx.proto import trainer_pb2
    from tfx.utils import proto_utils

    train_args = proto_utils.json_to_proto(
        defaults["train_args"]["stringValue"], trainer_pb2.TrainArgs()
    )
    assert train_args.num_steps == 2000 and list(train_args.splits) == ["train"]


def test_schedule_resource_holds_the_cron_and_the_same_pipeline(compiled):
    from google.cloud.aiplatform_v1.types import Schedule

    text = (compiled["first"].parent / SCHEDULE_FILE).read_text()
    schedule = Schedule.from_json(text)
    assert schedule.cron == "TZ=Europe/Paris 0 3 * * 1"
    assert schedule.max_concurrent_run_count == 1
    request = schedule.create_pipeline_job_request
    assert request.parent == "projects/my-gcp-project/locations/us-central1"
    assert request.pipeline_job.service_account.startswith("tfx-pipeline@")
    raw = json.loads(text)["createPipelineJobRequest"]["pipelineJob"]
    assert raw["pipelineSpec"] == compiled["job"]["pipelineSpec"]


def test_kfp_package_loads_as_the_open_source_client_uploads_it(compiled):
    # kfp.Client().upload_pipeline / create_run_from_pipeline_package read a package with
    # this function before sending it to the cluster.
    from kfp.client.client import _extract_pipeline_yaml

    package = _extract_pipeline_yaml(str(compiled["first"].parent / KFP_PACKAGE_FILE))
    assert json_format.MessageToDict(package.pipeline_spec) == compiled["job"]["pipelineSpec"]


def test_compiling_twice_gives_identical_files(compiled):
    for name in (PIPELINE_FILE, KFP_PACKAGE_FILE, SCHEDULE_FILE):
        first = (compiled["first"].parent / name).read_bytes()
        assert first == (compiled["second"].parent / name).read_bytes(), name


def test_vertex_endpoint_swaps_in_the_vertex_pusher(tmp_path):
    endpoint = {
        "name": "census",
        "serving_image": "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",
    }
    path = write_config(tmp_path, serving={"directory": None, "vertex_endpoint": endpoint},
                        beam={"runner": "DirectRunner", "temp_location": None,
                              "machine_type": None, "max_num_workers": None})  # fmt: skip
    job = json.loads(
        compile_pipeline(
            load_spec(DATA / "census"), load_cloud_config(path), tmp_path / "out"
        ).read_text()
    )
    pusher = _executor(job, "Pusher")["container"]
    assert "tfx.extensions.google_cloud_ai_platform.pusher.executor.Executor" in pusher["args"]
    params = job["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]["inputs"]["parameters"]
    custom = json.loads(params["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    assert custom["ai_platform_serving_args"]["endpoint_name"] == "census"
    assert custom["ai_platform_vertex_container_image_uri"] == endpoint["serving_image"]
    transform_args = _executor(job, "Transform")["container"]["args"]
    assert "--direct_running_mode=multi_processing" in transform_args


def test_dockerfile_builds_on_the_locked_tfx_image_and_carries_the_code():
    from pipeline.project import ROOT

    lock = (ROOT / "requirements.lock").read_text()
    tfx_version = next(
        line.split("==")[1] for line in lock.splitlines() if line.startswith("tfx==")
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM gcr.io/tfx-oss-public/tfx:{tfx_version}\n" in dockerfile
    assert "-r requirements.lock" in dockerfile
    copied = [
        part
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for part in line.split()[1:-1]
    ]
    assert {"module_file.py", "eval_config.py", "setup.py", "pipeline/", "components/"} <= set(
        copied
    )
    assert all((ROOT / part).exists() for part in copied)
    assert Path(ROOT / ".dockerignore").read_text().count(".venv/") == 1
