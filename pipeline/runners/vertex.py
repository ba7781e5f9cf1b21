"""Vertex AI Pipelines: submit a compiled pipeline, schedule it, list its runs, read a
run's report.

Every SDK function takes the `google.cloud.aiplatform` module as an argument
(`aiplatform`), so that the calls cross one boundary that tests replace with a fake. With
`dry_run=True` nothing is called: the exact calls are returned (and printed by the CLI)
instead. Reports are read from the pipeline root with TensorFlow's filesystems (gs://).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pipeline.runners.cloud_config import CloudConfig


@dataclasses.dataclass(frozen=True)
class Call:
    """One call into the Vertex AI SDK, as it is (or would be) made."""

    target: str
    kwargs: dict[str, Any]

    def __str__(self) -> str:
        args = ",\n".join(f"    {k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.target}(\n{args}\n)"


def _display_name(template: Path) -> str:
    return json.loads(template.read_text())["displayName"]


def _init_call(config: CloudConfig) -> Call:
    return Call("aiplatform.init", {"project": config.project, "location": config.region})


def _job_call(
    config: CloudConfig,
    template: Path,
    parameter_values: dict[str, str] | None,
    enable_caching: bool,
) -> Call:
    return Call(
        "aiplatform.PipelineJob",
        {
            "display_name": _display_name(template),
            "template_path": str(template),
            "pipeline_root": config.pipeline_root,
            "parameter_values": dict(parameter_values or {}),
            "enable_caching": enable_caching,
            "project": config.project,
            "location": config.region,
        },
    )


def _service_account(config: CloudConfig) -> dict[str, Any]:
    return {"service_account": config.service_account} if config.service_account else {}


def submit_run(
    config: CloudConfig,
    template: Path,
    aiplatform: Any,
    parameter_values: dict[str, str] | None = None,
    enable_caching: bool = True,
    dry_run: bool = False,
) -> tuple[list[Call], str | None]:
    """Starts one run of the compiled pipeline on Vertex AI.

    Args:
        config: The deployment.
        template: The compiled `pipeline.json`.
        aiplatform: The `google.cloud.aiplatform` module (or a fake of it).
        parameter_values: Pipeline parameters for this run (defaults: the compiled ones).
        enable_caching: Let Vertex reuse outputs of unchanged steps.
        dry_run: Return the calls without making them.

    Returns:
        The calls, and the new run's resource name (None on a dry run).
    """
    calls = [
        _init_call(config),
        _job_call(config, template, parameter_values, enable_caching),
        Call("PipelineJob.submit", _service_account(config)),
    ]
    if dry_run:
        return calls, None
    aiplatform.init(**calls[0].kwargs)
    job = aiplatform.PipelineJob(**calls[1].kwargs)
    job.submit(**calls[2].kwargs)
    return calls, job.resource_name


def apply_schedule(
    config: CloudConfig,
    template: Path,
    aiplatform: Any,
    replace: bool = False,
    dry_run: bool = False,
) -> tuple[list[Call], str | None]:
    """Creates the configured schedule, or updates the one of the same name.

    An update changes the cron and the concurrency only: Vertex AI keeps the pipeline
    definition a schedule was created with. After building a new image, pass
    `replace=True` to delete the old schedule and create it again from `template`.

    Returns:
        The calls, and the schedule's resource name (None on a dry run).
    """
    if config.schedule is None:
        raise ValueError(f"{config.path}: key 'schedule': missing; add a schedule with a cron")
    name = f"{_display_name(template)}-schedule"
    settings = {
        "cron": config.schedule.vertex_cron,
        "max_concurrent_run_count": config.schedule.max_concurrent_runs,
    }
    lookup = Call(
        "aiplatform.PipelineJobSchedule.list",
        {"filter": f'display_name="{name}"', "order_by": "create_time desc"},
    )
    create = [
        _job_call(config, template, None, enable_caching=True),
        Call(
            "PipelineJob.create_schedule",
            {"display_name": name, **settings, **_service_account(config)},
        ),
    ]
    init = _init_call(config)
    if dry_run:
        # Without credentials the lookup cannot run: show both outcomes.
        return [init, lookup, Call("if none found", {}), *create], None

    aiplatform.init(**init.kwargs)
    existing = aiplatform.PipelineJobSchedule.list(**lookup.kwargs)
    calls = [init, lookup]
    if existing and not replace:
        update = Call("PipelineJobSchedule.update", settings)
        existing[0].update(**update.kwargs)
        return [*calls, update], existing[0].resource_name
    for schedule in existing:
        schedule.delete()
        calls.append(Call("PipelineJobSchedule.delete", {"name": schedule.resource_name}))
    job = aiplatform.PipelineJob(**create[0].kwargs)
    schedule = job.create_schedule(**create[1].kwargs)
    return [*calls, *create], schedule.resource_name


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """One pipeline run, as `list_runs` reports it."""

    name: str
    state: str
    created: str


def list_runs(
    config: CloudConfig, display_name: str, aiplatform: Any, limit: int = 10
) -> list[RunInfo]:
    """The most recent runs of the pipeline `display_name`, newest first."""
    aiplatform.init(project=config.project, location=config.region)
    jobs = aiplatform.PipelineJob.list(
        filter=f'display_name="{display_name}"', order_by="create_time desc"
    )
    return [
        RunInfo(
            name=job.resource_name,
            state=getattr(job.state, "name", str(job.state)),
            created=str(job.create_time),
        )
        for job in jobs[:limit]
    ]


# What the Report component writes, where Vertex AI puts a task's outputs:
# <pipeline root>/<project number>/<run id>/<task>_<task id>/<output key>/
# (tfx/orchestration/kubeflow/v2/container/kubeflow_v2_run_executor.py:83, on `task_root`).
REPORT_TASK = "Report"
REPORT_OUTPUT = "report"
REPORT_FILE = "report.html"  # components.report.REPORT_FILE (not imported: no TFX here)


def _listdir(uri: str) -> list[str]:
    import tensorflow as tf

    # GCS lists folders with a trailing slash.
    return sorted(name.rstrip("/") for name in tf.io.gfile.listdir(uri))


def _reports_of_run(run_dir: str) -> list[str]:
    import tensorflow as tf

    found = []
    for task in _listdir(run_dir):
        if task.startswith(f"{REPORT_TASK}_"):
            path = f"{run_dir}/{task}/{REPORT_OUTPUT}/{REPORT_FILE}"
            if tf.io.gfile.exists(path):
                found.append(path)
    return found


def find_report(pipeline_root: str, run_id: str | None = None) -> tuple[str, str]:
    """The report of Vertex AI run `run_id` (default: the newest report) under the root.

    Returns:
        The run id and the report's URI.

    Raises:
        LookupError: No such run, or the run wrote no report (it stopped before the
            Evaluator, or is still running).
    """
    import tensorflow as tf

    root = pipeline_root.rstrip("/")
    if not tf.io.gfile.isdir(root):
        raise LookupError(f"no pipeline runs under {root}")
    found: list[tuple[str, str]] = []
    for project in _listdir(root):
        runs = [run_id] if run_id else _listdir(f"{root}/{project}")
        for run in runs:
            run_dir = f"{root}/{project}/{run}"
            if tf.io.gfile.isdir(run_dir):
                found += [(run, path) for path in _reports_of_run(run_dir)]
    if not found:
        which = f"run {run_id}" if run_id else "any run"
        raise LookupError(
            f"no {REPORT_FILE} of {which} under {root}: a run writes its report once the "
            "Evaluator has run (a run stopped by the DataGate or the DriftCheck has none)"
        )
    return max(found, key=lambda item: tf.io.gfile.stat(item[1]).mtime_nsec)


def fetch_report(config: CloudConfig, run_id: str | None = None) -> tuple[str, str]:
    """The run id and the HTML of a Vertex AI run's report (see `find_report`)."""
    import tensorflow as tf

    try:
        run, uri = find_report(config.pipeline_root, run_id)
        with tf.io.gfile.GFile(uri) as f:
            return run, f.read()
    except tf.errors.OpError as e:
        raise OSError(
            f"cannot read {config.pipeline_root}: {e.message.splitlines()[0]} (credentials: "
            "`gcloud auth application-default login`)"
        ) from None
