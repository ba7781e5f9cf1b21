"""Compiles the pipeline for Kubeflow Pipelines (v2) and Vertex AI Pipelines.

Like `local_runner`, this module only turns configuration into arguments of
`create_pipeline`; the DAG is the same object. It writes three files, all PipelineSpec
schema 2.1.0 (the only version the open-source KFP backend accepts, kubeflow/pipelines#9447;
Vertex AI takes it too):

- `pipeline.json`: the `PipelineJob` that `KubeflowV2DagRunner` compiles, for Vertex AI
  (`template_path`).
- `kfp_pipeline.yaml`: the `PipelineSpec` for an open-source KFP v2 cluster
  (`kfp.Client().upload_pipeline`), with the parameters' defaults in it. It has no
  resolver tasks: the KFP backend's Argo compiler does not implement them
  (backend/src/v2/compiler/argocompiler/argo.go, `Resolver` returns "resolver not
  implemented yet"), so it has no DriftCheck and no baseline model.
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
# What TFX 1.16 compiles a LatestArtifactStrategy resolver to: the type and state only,
# not the producer nor the output key (tfx/orchestration/kubeflow/v2/step_builder.py:688,
# in `_build_latest_artifact_resolver`). Any ExampleStatistics would match. (A custom
# artifact type would not help: it compiles to the title "tfx.Artifact", compiler_utils.py:400.)
LATEST_STATISTICS_QUERY = 'schema_title="tfx.ExampleStatistics" AND state=LIVE'


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


def build_pipeline(spec: DatasetSpec, config: CloudConfig, resolvers: bool = True) -> Any:
    """The `tfx.dsl.Pipeline` for `config`: cloud paths, the image's module, parameters.

    Args:
        spec: The data set spec.
        config: The deployment.
        resolvers: False for open-source KFP (see the module docstring).
    """
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
        beam_pipeline_args=config.beam_pipeline_args(),
        data_root=config.data_root,
        user_module=IMAGE_MODULE,
        train_args=runtime.get("train_args"),
        eval_args=runtime.get("eval_args"),
        vertex_push_config=config.vertex_push_config(),
        kubeflow=True,
        custom_training=config.custom_training_config(),
        resolvers=resolvers,
        tracking_uri=config.tracking_uri,
    )


def approval_filter(name: str) -> str:
    """The Vertex ML Metadata filter clause that only matches statistics the DriftCheck of
    pipeline `name` approved (`metadata.<key>.string_value`: the `ListArtifacts` filter
    syntax; TFX's blessed-model query filters `metadata.blessed.number_value` alike)."""
    from components.drift_check import APPROVED_BY
    from pipeline.pipeline import approval_marker

    return f'metadata.{APPROVED_BY}.string_value="{approval_marker(name)}"'


def narrow_approved_statistics_query(job: dict[str, Any]) -> None:
    """Makes the DriftCheck's reference query match only what the DriftCheck approved.

    TFX compiles the resolver to a query on the artifact type alone, so it would return
    the newest ExampleStatistics of any producer of an earlier run: StatisticsGen's (after
    a run stopped by drift, the drifted data's statistics, so the same data passes the
    next time) or TestStatisticsGen's (no 'train' split: nothing is compared). Vertex AI
    scopes a query without `in_context` to the pipeline's context
    (api/v2alpha1/pipeline_spec.proto in kubeflow/pipelines, the comment on
    `ResolverSpec.ArtifactQuerySpec.filter`); this adds the DriftCheck's mark.
    """
    from pipeline.pipeline import LAST_APPROVED_RESOLVER

    spec = job["pipelineSpec"]
    if LAST_APPROVED_RESOLVER not in spec["components"]:
        return  # no drift section: no resolver
    label = spec["components"][LAST_APPROVED_RESOLVER]["executorLabel"]
    query = spec["deploymentSpec"]["executors"][label]["resolver"]["outputArtifactQueries"][
        "statistics"
    ]
    if query["filter"] != LATEST_STATISTICS_QUERY:
        raise RuntimeError(
            f"TFX compiled the {LAST_APPROVED_RESOLVER} query as {query['filter']!r}, not "
            f"{LATEST_STATISTICS_QUERY!r}: check the approval filter against this TFX version"
        )
    query["filter"] = f"{query['filter']} AND {approval_filter(spec['pipelineInfo']['name'])}"


def _compile(runner_config: Any, pipeline: Any, defaults: dict[str, str]) -> dict[str, Any]:
    from tfx import v1 as tfx

    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(config=runner_config)
    return runner.run(pipeline, parameter_values=defaults, write_out=False)


def kfp_package(job: dict[str, Any]) -> dict[str, Any]:
    """The PipelineSpec an open-source KFP cluster uploads: the parameters' defaults (in
    the job's runtime config) become the root inputs' defaults, so runs need no
    arguments."""
    spec = json.loads(json.dumps(job["pipelineSpec"]))
    values = job["runtimeConfig"].get("parameterValues", {})
    for name, definition in spec["root"].get("inputDefinitions", {}).get("parameters", {}).items():
        if name in values:
            definition["defaultValue"] = values[name]
    return spec


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

    runner_config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
        display_name=config.display_name or cloud_pipeline_name(spec),
        default_image=config.image,
        use_pipeline_spec_2_1=True,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    # The parameters' defaults go into the job's runtime config, so a run needs none.
    defaults = parameter_values(spec, config.runtime_parameters)
    job = _compile(runner_config, build_pipeline(spec, config), defaults)
    narrow_approved_statistics_query(job)
    pipeline_file = output_dir / PIPELINE_FILE
    pipeline_file.write_text(json.dumps(job, indent=2, sort_keys=True) + "\n")
    kfp_job = _compile(runner_config, build_pipeline(spec, config, resolvers=False), defaults)
    (output_dir / KFP_PACKAGE_FILE).write_text(
        yaml.safe_dump(kfp_package(kfp_job), sort_keys=True, width=100)
    )
    if config.schedule is not None:
        schedule = schedule_resource(config, job)
        (output_dir / SCHEDULE_FILE).write_text(
            json.dumps(schedule, indent=2, sort_keys=True) + "\n"
        )
    return pipeline_file
