"""Where runs are logged (the tracking URI), an MLflow client on it, and the run listing.

The tracking URI, first found wins: the one given (`--tracking-uri`, or `tracking_uri:` in
a deployment file), `$MLFLOW_TRACKING_URI`, then `sqlite:///<output>/<set>/mlflow.db`.
A new experiment's artifacts (reports, model cards) go to `<output>/<set>/mlflow-artifacts`,
unless the URI is a tracking server's, which stores them where it is configured to.

MLflow is imported here only when a run is logged or listed (it takes a second or two).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import Any

DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlflow-artifacts"
SERVER_SCHEMES = ("http://", "https://", "databricks")
# Tags every logged run carries (see mlflow_log.log_run).
TAG_MLMD_RUN_ID = "mlmd_run_id"
TAG_BLESSED = "blessed"
TAG_PUSHED_VERSION = "pushed_version"
TAG_REGISTERED_VERSION = "registered_version"


def default_tracking_uri(root: Path) -> str:
    """The SQLite store beside a data set's ML Metadata: `<output>/<set>/mlflow.db`."""
    return f"sqlite:///{Path(root).resolve() / DB_FILE}"


def resolve_tracking_uri(root: Path, given: str | None = None) -> str:
    """`given`, else `$MLFLOW_TRACKING_URI`, else `default_tracking_uri(root)`."""
    return given or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(root)


def is_server(uri: str) -> bool:
    """True for a tracking server (which chooses where artifacts go), False for a database."""
    return uri.startswith(SERVER_SCHEMES)


def artifact_location(uri: str, root: Path) -> str | None:
    """Where a new experiment's artifacts go: None (the server decides) for a server URI,
    else `<root>/mlflow-artifacts`."""
    return None if is_server(uri) else (Path(root).resolve() / ARTIFACTS_DIR).as_uri()


def sqlite_file(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, None for other URIs."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def client(uri: str) -> Any:
    """An `mlflow.MlflowClient` on `uri` for tracking and the model registry.

    Unless their environment variables say otherwise: MLflow's usage telemetry is off (a
    pipeline run should not call out), and a tracking server that does not answer costs a
    run a minute at most (2 retries, 20 s each), not MLflow's default of many. MLflow's
    INFO lines (a new database's migrations, "registered model ... created") stay off the
    pipeline's console.
    """
    import logging

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    from mlflow import MlflowClient

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@dataclasses.dataclass(frozen=True)
class LoggedRun:
    """One pipeline run as MLflow holds it, for the listing.

    Attributes:
        mlmd_run_id: The ML Metadata run id (what `--run-id` takes).
        mlflow_run_id: MLflow's id of the run.
        started: When the run started (local time).
        status: MLflow's status: FINISHED, or FAILED when a component failed.
        blessed: 'true', 'false', or 'none' when nothing was evaluated.
        metrics: The overall slice's metrics, by MLflow key.
        pushed_version: The serving version pushed (its directory name), or ''.
        registered_version: The model registry's version of the pushed model, or ''.
    """

    mlmd_run_id: str
    mlflow_run_id: str
    started: datetime.datetime
    status: str
    blessed: str
    metrics: dict[str, float]
    pushed_version: str
    registered_version: str


def list_runs(uri: str, experiment: str, limit: int = 10) -> list[LoggedRun]:
    """The `limit` newest runs of `experiment` in the store at `uri`, newest first.

    A SQLite store that does not exist has no runs (and is not created).
    """
    database = sqlite_file(uri)
    if database is not None and not database.is_file():
        return []
    mlflow = client(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = mlflow.search_runs(
        [found.experiment_id], max_results=limit, order_by=["attributes.start_time DESC"]
    )
    return [
        LoggedRun(
            mlmd_run_id=r.data.tags.get(TAG_MLMD_RUN_ID, r.info.run_name or ""),
            mlflow_run_id=r.info.run_id,
            started=datetime.datetime.fromtimestamp(r.info.start_time / 1000),
            status=r.info.status,
            blessed=r.data.tags.get(TAG_BLESSED, "none"),
            metrics={k: v for k, v in r.data.metrics.items() if "/" not in k},
            pushed_version=r.data.tags.get(TAG_PUSHED_VERSION, ""),
            registered_version=r.data.tags.get(TAG_REGISTERED_VERSION, ""),
        )
        for r in runs
    ]


def format_runs(runs: list[LoggedRun], model_name: str) -> str:
    """The listing `python -m pipeline runs` prints: one line per run, headline metrics of
    the overall slice, and the pushed model's registry version and serving directory."""
    from pipeline.metrics import catalogue

    # The run summary's columns (those the runs have), but the example count.
    columns = catalogue.either_task(catalogue.SUMMARY_COLUMNS)
    metrics = [
        m
        for m in columns
        if m != catalogue.EXAMPLE_COUNT and any(m.tfma_name in r.metrics for r in runs)
    ]
    header = f"{'run id':<28} {'started':<19} {'status':<8} {'blessed':<7} "
    header += "".join(f"{m.title:>12}" for m in metrics) + "  pushed"
    lines = [header]
    for r in runs:
        cells = "".join(
            f"{r.metrics[m.tfma_name]:>12.4f}" if m.tfma_name in r.metrics else f"{'-':>12}"
            for m in metrics
        )
        pushed = (
            f"{model_name} v{r.registered_version} ({r.pushed_version})"
            if r.registered_version
            else r.pushed_version or "-"
        )
        lines.append(
            f"{r.mlmd_run_id:<28} {r.started:%Y-%m-%d %H:%M:%S} {r.status:<8} "
            f"{r.blessed:<7} {cells}  {pushed}"
        )
    return "\n".join(lines)
