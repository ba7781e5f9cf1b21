"""Vertex AI Pipelines: submit a compiled pipeline, schedule it, list its runs.

Every function takes the `google.cloud.aiplatform` module as an argument (`aiplatform`), so
that the calls cross one boundary that tests replace with a fake. With `dry_run=True`
nothing is called: the exact calls are returned (and printed by the CLI) instead.
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
