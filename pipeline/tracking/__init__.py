"""Run history in MLflow: every pipeline run logged, pushed models registered.

    keys.py        metric keys, the experiment and registered model names
    store.py       the tracking URI, an MLflow client, the run listing
    mlflow_log.py  log_run (a RunArtifacts -> an MLflow run), the local runner's hook
    server.py      MLflow's UI on a local store

Nothing here imports MLflow until a run is logged or listed.
"""

from pipeline.tracking.mlflow_log import log_latest_run, log_run
from pipeline.tracking.store import default_tracking_uri, list_runs, resolve_tracking_uri

__all__ = [
    "default_tracking_uri",
    "list_runs",
    "log_latest_run",
    "log_run",
    "resolve_tracking_uri",
]
