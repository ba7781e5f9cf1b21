"""Cloud deployment files: the bundled example loads, and each bad value names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.project import ROOT
from pipeline.runners.cloud_config import CloudConfigError, check_cron, load_cloud_config

EXAMPLE = ROOT / "deploy" / "vertex.yaml"


def write_config(directory: Path, **changes: Any) -> Path:
    """deploy/vertex.yaml with top-level `changes`; a value of None deletes the key.

    A dict value is merged into that section, where a None inside deletes the sub-key.
    """
    config = yaml.safe_load(EXAMPLE.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            merged = {**config[key], **value}
            config[key] = {k: v for k, v in merged.items() if v is not None}
        elif value is None:
            config.pop(key, None)
        else:
            config[key] = value
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vertex.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_bundled_example_loads_with_dataflow_and_a_schedule():
    config = load_cloud_config(EXAMPLE)
    assert config.project == "my-gcp-project" and config.region == "us-central1"
    assert config.pipeline_root.startswith("gs://") and config.data_root.startswith("gs://")
    assert config.schedule.vertex_cron == "TZ=Europe/Paris 0 3 * * 1"
    args = config.beam.pipeline_args(config.project, config.region, config.image)
    assert "--runner=DataflowRunner" in args
    assert f"--sdk_container_image={config.image}" in args
    assert "--temp_location=gs://my-tfx-bucket/beam-tmp" in args
    assert config.vertex_push_config() is None and config.serving_dir.startswith("gs://")


def test_direct_runner_uses_multi_processing(tmp_path):
    path = write_config(tmp_path, beam={"runner": "DirectRunner", "direct_num_workers": 2,
                                        "temp_location": None, "machine_type": None,
                                        "max_num_workers": None})  # fmt: skip
    config = load_cloud_config(path)
    assert config.beam.pipeline_args(config.project, config.region, config.image) == [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        f"--sdk_container_image={config.image}",
    ]
    # With the image named, TFX does not build an sdist of itself for the workers.
    from tfx.utils import dependency_utils

    args = config.beam_pipeline_args()
    assert dependency_utils.make_beam_dependency_flags(args) == args


def test_vertex_endpoint_gives_the_vertex_pusher_config(tmp_path):
    endpoint = {"name": "census", "serving_image": "us-docker.pkg.dev/vertex-ai/prediction/x:1"}
    path = write_config(tmp_path, serving={"directory": None, "vertex_endpoint": endpoint})
    assert load_cloud_config(path).vertex_push_config() == {
        "project": "my-gcp-project",
        "region": "us-central1",
        "endpoint_name": "census",
        "model_name": "census",  # one registry model, named as the endpoint by default
        "serving_image": "us-docker.pkg.dev/vertex-ai/prediction/x:1",
        "machine_type": "n1-standard-2",
        "min_replicas": 1,
        "max_replicas": 1,
        "keep_deployed": 1,  # only the newest deployment keeps (billed) replicas
    }
    endpoint |= {"model_name": "census-income", "keep_deployed": 2}
    path = write_config(tmp_path, serving={"directory": None, "vertex_endpoint": endpoint})
    push = load_cloud_config(path).vertex_push_config()
    assert push["model_name"] == "census-income" and push["keep_deployed"] == 2


def test_dataflow_workers_run_as_the_configured_identity_on_the_configured_network(tmp_path):
    config = load_cloud_config(EXAMPLE)
    args = config.beam_pipeline_args()
    assert "--service_account_email=tfx-pipeline@my-gcp-project.iam.gserviceaccount.com" in args
    assert not any(a.startswith(("--network", "--subnetwork", "--no_use_public_ips")) for a in args)
    path = write_config(tmp_path, beam={"network": "tfx-vpc", "use_public_ips": False,
                                        "subnetwork": "regions/us-central1/subnetworks/tfx"})  # fmt: skip
    args = load_cloud_config(path).beam_pipeline_args()
    assert {"--network=tfx-vpc", "--subnetwork=regions/us-central1/subnetworks/tfx",
            "--no_use_public_ips"} <= set(args)  # fmt: skip
    # Beam reads them as Dataflow's worker options.
    from apache_beam.options.pipeline_options import (
        GoogleCloudOptions,
        PipelineOptions,
        WorkerOptions,
    )

    options = PipelineOptions(args)
    assert options.view_as(GoogleCloudOptions).service_account_email.startswith("tfx-pipeline@")
    assert options.view_as(WorkerOptions).use_public_ips is False
    assert options.view_as(WorkerOptions).subnetwork == "regions/us-central1/subnetworks/tfx"
    path = write_config(tmp_path, gcp={"service_account": None})
    assert not any("service_account" in a for a in load_cloud_config(path).beam_pipeline_args())


def test_training_machine_becomes_a_vertex_custom_job(tmp_path):
    assert load_cloud_config(EXAMPLE).custom_training_config() is None
    training = {"machine_type": "n1-highmem-8", "accelerator_type": "NVIDIA_TESLA_T4"}
    config = load_cloud_config(write_config(tmp_path, training=training))
    custom = config.custom_training_config()
    from tfx.extensions.google_cloud_ai_platform import constants
    from tfx.extensions.google_cloud_ai_platform.trainer.executor import TRAINING_ARGS_KEY

    assert custom[constants.ENABLE_VERTEX_KEY] is True
    assert custom[constants.VERTEX_REGION_KEY] == "us-central1"
    job = custom[TRAINING_ARGS_KEY]
    assert job["project"] == "my-gcp-project"
    assert job["job_spec"]["service_account"] == config.service_account
    (pool,) = job["job_spec"]["worker_pool_specs"]
    assert pool == {
        "machine_spec": {"machine_type": "n1-highmem-8", "accelerator_type": "NVIDIA_TESLA_T4",
                         "accelerator_count": 1},
        "replica_count": 1,
        "container_spec": {"image_uri": config.image},
    }  # fmt: skip
    # The job spec is what Vertex AI's CustomJobSpec accepts.
    from google.cloud.aiplatform_v1.types import CustomJobSpec

    CustomJobSpec(**job["job_spec"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gcp": {"project": None}}, r"key 'gcp\.project': is required"),
        ({"gcp": {"project": "My Project"}}, r"key 'gcp\.project': 'My Project' is not a GCP project id"),
        ({"gcp": {"region": "central"}}, r"key 'gcp\.region'"),
        ({"pipeline_root": "/home/me/pipeline_root"}, r"key 'pipeline_root': expected a Cloud Storage path"),
        ({"data_root": "data/census"}, r"key 'data_root': expected a Cloud Storage path"),
        ({"image": "census-pipeline"}, r"key 'image': .*tag or digest"),
        ({"schedule": {"cron": "0 3 * *"}}, r"key 'schedule\.cron': .*expected 5 fields"),
        ({"schedule": {"cron": "61 3 * * 1"}}, r"key 'schedule\.cron': .*minute field '61'.*0-59"),
        ({"schedule": {"cron": "0 3 * * mon"}}, r"key 'schedule\.cron': .*day of week"),
        ({"beam": {"runner": "SparkRunner"}}, r"key 'beam\.runner': expected one of"),
        ({"beam": {"temp_location": "/tmp/beam"}}, r"key 'beam\.temp_location': expected a Cloud Storage path"),
        ({"beam": {"temp_location": None}}, r"key 'beam\.temp_location': is required"),
        ({"serving": {"vertex_endpoint": {"name": "x", "serving_image": "y"}}}, r"key 'serving': set exactly one"),
        ({"serving": {"directory": "./serving"}}, r"key 'serving\.directory': expected a Cloud Storage path"),
        ({"runtime_parameters": {"train_steps": -1}}, r"key 'runtime_parameters\.train_steps': expected a positive"),
        ({"runtime_parameters": {"learning_rate": 1}}, r"key 'runtime_parameters': unknown key\(s\) \['learning_rate'\]"),
        ({"regoin": "us-central1"}, r"key '<top level>': unknown key\(s\) \['regoin'\]"),
        ({"tracking_uri": "sqlite:///mlflow.db"}, r"key 'tracking_uri': 'sqlite:///mlflow.db' is a file inside the step's container"),
        ({"tracking_uri": "outputs/mlruns"}, r"key 'tracking_uri': .* give an MLflow tracking server's URL"),
        ({"beam": {"use_public_ips": "no"}}, r"key 'beam\.use_public_ips': expected true or false"),
        ({"beam": {"runner": "DirectRunner", "network": "vpc", "temp_location": None,
                   "machine_type": None, "max_num_workers": None}},
         r"key 'beam\.network': only applies to runner: DataflowRunner"),
        ({"training": {"accelerator_type": "NVIDIA_TESLA_T4"}}, r"key 'training\.machine_type': is required"),
        ({"training": {"machine_type": "n1-standard-8", "accelerator_count": 2}},
         r"key 'training\.accelerator_count': set accelerator_type too"),
        ({"training": {"machine_type": "n1-standard-8", "accelerator_type": "t4"}},
         r"key 'training\.accelerator_type': 't4' is not a Vertex AI accelerator name"),
        ({"serving": {"directory": None, "vertex_endpoint": {"name": "x", "serving_image": "y",
                                                            "keep_deployed": 0}}},
         r"key 'serving\.vertex_endpoint\.keep_deployed': expected a positive"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key(tmp_path, changes, message):
    path = write_config(tmp_path, **changes)
    with pytest.raises(CloudConfigError, match=message) as error:
        load_cloud_config(path)
    assert str(path) in str(error.value)


def test_a_tracking_server_is_optional(tmp_path):
    assert load_cloud_config(EXAMPLE).tracking_uri is None
    path = write_config(tmp_path, tracking_uri="https://mlflow.example.com")
    assert load_cloud_config(path).tracking_uri == "https://mlflow.example.com"


def test_missing_file_says_where_to_start(tmp_path):
    with pytest.raises(CloudConfigError, match=r"no such file; start from deploy/vertex\.yaml"):
        load_cloud_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "cron", ["* * * * *", "0 3 * * 1", "*/15 0-6 1,15 1-12/2 0", "30 23 31 12 7"]
)
def test_valid_crons(cron):
    assert check_cron(cron) is None


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 24 * * *", "hour field"),
        ("0 0 0 * *", "day of month field"),
        ("0 0 * 13 *", "month field"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "step of 0"),
        ("@daily", "expected 5 fields"),
    ],
)
def test_invalid_crons(cron, problem):
    assert problem in check_cron(cron)


def test_the_examples_commented_options_are_valid(tmp_path):
    """deploy/vertex.yaml documents its optional keys as comments: uncommented, they load."""
    import re

    lines = [
        re.sub(r"^(\s*)# ?(\s*[a-z_]+:)", r"\1\2", line)
        for line in EXAMPLE.read_text().splitlines()
    ]
    config = yaml.safe_load("\n".join(lines))
    del config["serving"]["directory"]  # the endpoint replaces it
    path = tmp_path / "vertex.yaml"
    path.write_text(yaml.safe_dump(config))
    loaded = load_cloud_config(path)
    assert loaded.training.machine_type == "n1-standard-8"
    assert loaded.training.accelerator_type == "NVIDIA_TESLA_T4"
    assert loaded.beam.network == "tfx-vpc" and loaded.beam.use_public_ips is False
    assert loaded.vertex_endpoint.keep_deployed == 1
    assert loaded.vertex_push_config()["model_name"] == "census-income"
