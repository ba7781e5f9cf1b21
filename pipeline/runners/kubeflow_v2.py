"""Compiles the pipeline for Kubeflow Pipelines (v2) and Vertex AI Pipelines.

Like `local_runner`, this module only turns configuration into arguments of
`create_pipeline`; the DAG is the same object. It writes two files:

- `pipeline.json`: the `PipelineJob` that `KubeflowV2DagRunner` compiles. Vertex AI takes it
  as `template_path`; an open-source KFP v2 cluster takes it as an uploaded pipeline.
- `kfp_pipeline.yaml`: the `PipelineSpec` alone, the package format an open-source KFP v2
  cluster uploads (`kfp.Client().upload_pipeline`); its runs take the parameters' values
  as arguments.
- `schedule.json`: the Vertex AI `Schedule` resource for the configured cron (the REST body
  of `projects.locations.schedules.create`), for users who schedule without the SDK.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.runners.cloud_config import CloudConfig
from pipeline.runners.local import pipeline_name
from pipeline.spec import DatasetSpec

PIPELINE_FILE = "pipeline.json"
KFP_PACKAGE_FILE = "kfp_pipeline.yaml"
SCHEDULE_FILE = "schedule.json"
# setup.py installs module_file.py as a top-level module; the image carries it.
IMAGE_MODULE = "module_file"
# Pipeline parameters: TFX's Trainer reads its step counts from these JSON-encoded protos.
PARAMETER_FOR = {"train_steps": "train_args", "eval_steps": "eval_args"}


def cloud_pipeline_name(spec: DatasetSpec) -> str:
    """The local pipeline name in the form KFP accepts ([a-z0-9][a-z0-9-]*)."""
    return re.sub(r"[^a-z0-9-]+", "-", pipeline_name(spec).lower()).strip("-")


def parameter_values(spec: DatasetSpec, steps: dict[str, int]) -> dict[str, str]:
    """Values of the pipeline parameters for `steps` (train_steps / eval_steps).

    Args:
        spec: The data set spec (its splits).
        steps: Step counts by name, as in the cloud config's `runtime_parameters`.

    Returns:
        Pipeline parameter name -> JSON value, e.g. {"train_args": '{"numSteps": 500, ...}'}.
    """
    from google.protobuf import json_format

    from pipeline.pipeline import training_args

    train, evaluation = training_args(spec, steps.get("train_steps"), steps.get("eval_steps"))
    protos = {"train_args": train, "eval_args": evaluation}
    return {
        PARAMETER_FOR[name]: json_format.MessageToJson(
            protos[PARAMETER_FOR[name]], sort_keys=True, indent=None
        )
        for name in steps
    }


def build_pipeline(spec: DatasetSpec, config: CloudConfig) -> Any:
    """The `tfx.dsl.Pipeline` for `config`: cloud paths, the image's module, parameters."""
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline

    runtime = {
        name: tfx.dsl.experimental.RuntimeParameter(name=name, ptype=str, default=value)
        for name, value in parameter_values(spec, config.runtime_parameters).items()
    }
    return create_pipeline(
        pipeline_name=cloud_pipeline_name(spec),
        pipeline_root=config.pipeline_root,
        spec=spec,
        serving_model_dir=config.serving_dir or "",
        beam_pipeline_args=config.beam.pipeline_args(config.project, config.region, config.image),
        data_root=config.data_root,
        user_module=IMAGE_MODULE,
        train_args=runtime.get("train_args"),
        eval_args=runtime.get("eval_args"),
        vertex_push_config=config.vertex_push_config(),
        kubeflow=True,
    )


def schedule_resource(config: CloudConfig, job: dict[str, Any]) -> dict[str, Any]:
    """The Vertex AI `Schedule` (REST JSON) that starts `job` on the configured cron."""
    if config.schedule is None:
        raise ValueError(f"{config.path}: key 'schedule': missing; add a schedule with a cron")
    pipeline_job = {
        "displayName": job["displayName"],
        "pipelineSpec": job["pipelineSpec"],
        "runtimeConfig": {**job["runtimeConfig"], "gcsOutputDirectory": config.pipeline_root},
        "labels": job.get("labels", {}),
    }
    if config.service_account:
        pipeline_job["serviceAccount"] = config.service_account
    return {
        "displayName": f"{job['displayName']}-schedule",
        "cron": config.schedule.vertex_cron,
        "maxConcurrentRunCount": str(config.schedule.max_concurrent_runs),
        "createPipelineJobRequest": {
            "parent": f"projects/{config.project}/locations/{config.region}",
            "pipelineJob": pipeline_job,
        },
    }


def compile_pipeline(spec: DatasetSpec, config: CloudConfig, output_dir: Path) -> Path:
    """Compiles the pipeline into `output_dir` (the files above); returns `pipeline.json`.

    Compiling the same inputs twice gives byte-identical files.
    """
    # No usage-telemetry labels: they would differ by environment, not by pipeline.
    os.environ.setdefault("TFX_DISABLE_USAGE_TRACKING", "1")
    from tfx import v1 as tfx

    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            display_name=config.display_name or cloud_pipeline_name(spec),
            default_image=config.image,
        ),
        output_dir=str(output_dir),
        output_filename=PIPELINE_FILE,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    # The parameters' defaults go into the job's runtime config, so a run needs none.
    defaults = parameter_values(spec, config.runtime_parameters)
    job = runner.run(build_pipeline(spec, config), parameter_values=defaults, write_out=False)
    pipeline_file = output_dir / PIPELINE_FILE
    pipeline_file.write_text(json.dumps(job, indent=2, sort_keys=True) + "\n")
    (output_dir / KFP_PACKAGE_FILE).write_text(
        yaml.safe_dump(job["pipelineSpec"], sort_keys=True, width=100)
    )
    if config.schedule is not None:
        schedule = schedule_resource(config, job)
        (output_dir / SCHEDULE_FILE).write_text(
            json.dumps(schedule, indent=2, sort_keys=True) + "\n"
        )
    return pipeline_file
