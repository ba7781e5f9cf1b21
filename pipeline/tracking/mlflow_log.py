"""Log a pipeline run to MLflow: its settings, metrics, verdict, report and pushed model.

    from pipeline.tracking import log_run
    log_run(run, spec, "sqlite:///outputs/census/mlflow.db")   # run: a RunArtifacts

One MLflow run per pipeline run, in one experiment per data set (`<set>_pipeline`), named
by its ML Metadata run id. What it holds:

- params: the spec's training settings (`training.<name>`), the data set fingerprint
  (`data.fingerprint`: a digest of what each ExampleGen recorded of its input files, their
  count, size and modification times, which is what TFX's cache compares; and each
  ExampleGen's own string as `data.<node>`), the data set's name, task and thresholds;
- metrics: the evaluated model's headline metrics on every slice and the Fairness
  Indicators rates at each decision threshold (a multi-class model's: of each class) on
  the overall slice and the sensitive columns' groups, each with its bootstrap interval
  (keys: `pipeline.tracking.keys`), a multi-class model's precision, recall, F1 and AUC of
  each class on every slice, the fairness gate's gaps, and each component's seconds
  (`seconds/<component>`; a cloud run's steps have none: Vertex AI shows them);
- tags: `mlmd_run_id`, `blessed` (true / false / none), the blessing and why (the failed
  thresholds, or the component that stopped the run) as the run's description, and the
  pushed model's serving and registry versions;
- artifacts: the HTML report (`report/`) and the model card (`model_card/`) when the run
  has them;
- the model registry: a pushed model becomes a version of `<set>_model` whose source is
  the pushed serving directory (nothing is copied), and the alias `serving` moves to it.

Logging is idempotent: a pipeline run already in the experiment (found by its ML Metadata
id) is left as it is. A run whose logging fails half-way is deleted, so it is logged again
next time. The registration comes last: a registry that refuses the model (a tracking
server refuses a source on this machine's disk) leaves the run logged, without a version.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.spec import DatasetSpec
from pipeline.tracking import keys, store

if TYPE_CHECKING:
    from pipeline.reports.artifacts import RunArtifacts

SERVING_ALIAS = "serving"
_EXAMPLE_GENS = ("ExampleGen", "TestExampleGen")
_BATCH = 1000  # MLflow's most metrics in one log_batch call
_PARAMS_BATCH = 100  # and params


def _is_logged(row: Any, sensitive: tuple[str, ...]) -> bool:
    """Whether a row of `metrics_frame` (the evaluated model's own) is logged: a headline
    metric on any slice; a multi-class model's class columns (precision, recall, F1, AUC of
    each class) on any slice; a Fairness Indicators rate (at a threshold, or of a class) on
    the overall slice or a sensitive column's group; the fairness gate's largest gap per
    column and rate (and class)."""
    from pipeline.metrics import catalogue
    from pipeline.reports.evaluation_tables import FAIRNESS_RATES, HEADLINE

    thresholded = not math.isnan(row.threshold)
    of_class = row.label_class is not None
    if of_class and row.metric in {m.tfma_name for m in catalogue.CLASS_COLUMNS}:
        return True
    if row.metric in HEADLINE and not of_class:
        return not thresholded
    if row.metric in FAIRNESS_RATES:
        group = row.kind == "feature" and row.slice.startswith(sensitive)
        return (thresholded or of_class) and (row.kind == "overall" or group)
    gate = row.metric.startswith("fairness_gap/") and "=" not in row.metric
    return gate and row.kind == "overall"


def run_metrics(run: RunArtifacts, spec: DatasetSpec) -> dict[str, float]:
    """The numbers a run logs, by MLflow key (see the module docstring)."""
    # The evaluation first: MLflow's UI charts a run's first metrics by default.
    metrics = _evaluation_metrics(run, spec) if run.evaluation is not None else {}
    # A cloud run's executions have no durations here (NaN): its console has them.
    timed = [e for e in run.executions if not math.isnan(e.seconds)]
    metrics.update({f"seconds/{e.node_id}": round(e.seconds, 3) for e in timed})
    return metrics


def _evaluation_metrics(run: RunArtifacts, spec: DatasetSpec) -> dict[str, float]:
    """The evaluated model's metrics and intervals, from the Evaluator's output."""
    from pipeline.model.outputs import MODEL_OUTPUTS
    from pipeline.reports.evaluation_tables import metrics_frame

    metrics: dict[str, float] = {}
    frame = metrics_frame(run.evaluation.uri, spec)
    model = "candidate" if "candidate" in set(frame["model"]) else ""
    own = frame["output"].isin(["", *MODEL_OUTPUTS])
    rows = frame[(frame["model"] == model) & ~frame["is_diff"].astype(bool) & own]
    # `class` is a Python keyword: itertuples would rename it.
    rows = rows.rename(columns={"class": "label_class"}).astype({"label_class": object})
    rows["label_class"] = rows["label_class"].where(rows["label_class"].notna(), None)
    # A group of a sensitive column: 'sex=Female', or 'age [25, 35)' if bucketized.
    sensitive = tuple(
        f"{c} " if c in spec.bucketized_features else f"{c}=" for c in spec.sensitive_columns
    )
    for row in rows.itertuples(index=False):
        if not _is_logged(row, sensitive):
            continue
        threshold = None if math.isnan(row.threshold) else row.threshold
        values = {"": row.value, "ci_lower": row.lower, "ci_upper": row.upper}
        for bound, value in values.items():
            if not math.isnan(value):
                key = keys.metric_key(row.metric, row.slice, threshold, bound, row.label_class)
                metrics[key] = float(value)
    return metrics


def data_fingerprint(run: RunArtifacts) -> dict[str, str]:
    """`data.<ExampleGen node>`: the input fingerprint TFX recorded; `data.fingerprint`: a
    16-digit digest of them all (the same data files give the same digest)."""
    found = {}
    for node in _EXAMPLE_GENS:
        examples = run.output(node, "examples")
        if examples is not None and examples.properties.get("input_fingerprint"):
            found[f"data.{node}"] = str(examples.properties["input_fingerprint"])
    if found:
        text = "\n".join(f"{k}={v}" for k, v in sorted(found.items()))
        found["data.fingerprint"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return found


def _threshold_text(spec: DatasetSpec) -> str:
    texts = []
    for t in spec.thresholds:
        where = f" on {t.slice[0]}={t.slice[1]}" if t.slice else ""
        bounds = [f">= {t.lower_bound:g}" if t.lower_bound is not None else ""]
        bounds.append(f"<= {t.upper_bound:g}" if t.upper_bound is not None else "")
        if t.max_regression is not None:
            bounds.append(f"max regression {t.max_regression:g}")
        of = f" of {t.label_class}" if t.label_class is not None else ""
        texts.append(f"{t.metric}{of} {', '.join(b for b in bounds if b)}{where}")
    return "; ".join(texts)


def run_params(run: RunArtifacts, spec: DatasetSpec) -> dict[str, str]:
    """The run's settings: training, data fingerprint, data set, thresholds."""
    import dataclasses

    params = {"dataset": spec.name, "task": spec.task}
    for name, value in dataclasses.asdict(spec.training).items():
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value
        params[f"training.{name}"] = str(text)
    params["evaluation.thresholds"] = _threshold_text(spec)
    params.update(data_fingerprint(run))
    return params


def stopped_at(run: RunArtifacts) -> str | None:
    """The component that failed (or never finished) in the run, or None."""
    return next((e.node_id for e in run.executions if e.state in ("failed", "running")), None)


def blessing_reason(run: RunArtifacts, spec: DatasetSpec) -> str:
    """The verdict and why, in a sentence or a list of the failed thresholds."""
    failed = stopped_at(run)
    if run.blessed is None:
        where = f"the run stopped at {failed}" if failed else "no Evaluator ran"
        return f"Not evaluated: {where}."
    if run.blessed:
        return "BLESSED: every threshold passed."
    from pipeline.reports.summary import failed_thresholds

    lines = failed_thresholds(run.evaluation.uri, spec) if run.evaluation else []
    return "NOT blessed, so not pushed. Failed thresholds:\n" + "\n".join(
        f"- {line}" for line in lines or ["(see the Evaluator output)"]
    )


def _start_ms(run_id: str) -> int | None:
    """The start of a local run from its id (LocalDagRunner names runs by their start
    time, ISO 8601, local time); None for other ids (MLflow then uses the logging time)."""
    try:
        return int(datetime.datetime.fromisoformat(run_id).timestamp() * 1000)
    except ValueError:
        return None


def _find_logged(client: Any, experiment_id: str, run_id: str) -> Any | None:
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.{store.TAG_MLMD_RUN_ID} = '{run_id}'", max_results=1
    )
    return found[0] if found else None


def _experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location)


class RegistrationError(Exception):
    """The run is logged (`mlflow_run_id`), but its pushed model could not be registered;
    the registry's error is the `__cause__`."""

    def __init__(self, mlflow_run_id: str) -> None:
        super().__init__(f"run {mlflow_run_id} is logged; its pushed model is not registered")
        self.mlflow_run_id = mlflow_run_id


def register_pushed_model(
    client: Any, spec: DatasetSpec, source: str, mlflow_run_id: str, mlmd_run_id: str
) -> str:
    """Registers the model pushed to `source` as a version of the data set's registered
    model (the same source is one version, however often it is logged) and points the
    `serving` alias at the version TF Serving serves: the highest numbered serving
    directory (runs logged out of order do not move it back). Returns the version number
    of `source`."""
    from mlflow.exceptions import MlflowException

    name = keys.registered_model_name(spec)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description=f"Models the {spec.name} pipeline pushed ({spec.description})"
        )
    versions = client.search_model_versions(f"name = '{name}'")
    same = [v for v in versions if v.source == source]
    if same:
        version = same[0].version
    else:
        version = client.create_model_version(
            name,
            source=source,
            run_id=mlflow_run_id,
            tags={store.TAG_MLMD_RUN_ID: mlmd_run_id, store.TAG_PUSHED_VERSION: Path(source).name},
            description=f"Pushed by run {mlmd_run_id} to {source}",
        ).version
    sources = {str(version): source, **{str(v.version): v.source for v in versions}}
    serving = max(sources, key=lambda v: (_serving_number(sources[v]), int(v)))
    client.set_registered_model_alias(name, SERVING_ALIAS, serving)
    return str(version)


def _serving_number(source: str) -> int:
    """TF Serving's version number of a pushed model: its directory's name (-1 if not a
    number)."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    return int(name) if name.isdigit() else -1


def log_run(
    run: RunArtifacts,
    spec: DatasetSpec,
    tracking_uri: str,
    *,
    artifact_location: str | None = None,
    report: Path | None = None,
    model_card: Path | None = None,
) -> str:
    """Logs one pipeline run to MLflow at `tracking_uri`; returns MLflow's run id.

    Callable wherever a `RunArtifacts` can be had: the local runner after a run (from
    ML Metadata), or a component of a cloud run, building one from its input artifacts. It
    reads `run.run_id`, `run.executions` (each one's node id, state and seconds),
    `run.evaluation`, `run.blessed`, `run.pushed_to` and the ExampleGens' `examples`.

    Args:
        run: The pipeline run.
        spec: Its data set spec.
        tracking_uri: Any MLflow tracking URI (a `sqlite:///` file, a server's URL).
        artifact_location: Where the experiment keeps artifacts, if this call creates it
            (None: the tracking server's default).
        report: The run's HTML report, logged under `report/`.
        model_card: The pushed model's `model_card.json`, logged under `model_card/`.

    Raises:
        RegistrationError: The run is logged, but the registry refused the pushed model.
        Exception: Whatever MLflow or a reader raises; no run is left half-logged.
    """
    client = store.client(tracking_uri)
    experiment_id = _experiment_id(client, keys.experiment_name(spec), artifact_location)
    logged = _find_logged(client, experiment_id, run.run_id)
    if logged is not None:
        return logged.info.run_id
    metrics = run_metrics(run, spec)
    params = run_params(run, spec)
    blessed = {True: "true", False: "false", None: "none"}[run.blessed]
    tags = {
        store.TAG_MLMD_RUN_ID: run.run_id,
        store.TAG_BLESSED: blessed,
        "pipeline": run.pipeline_name,
        "mlflow.note.content": blessing_reason(run, spec),
    }
    if failed := stopped_at(run):
        tags["stopped_at"] = failed
    created = client.create_run(
        experiment_id, start_time=_start_ms(run.run_id), tags=tags, run_name=run.run_id
    )
    mlflow_run_id = created.info.run_id
    try:
        _log_values(client, mlflow_run_id, metrics, params)
        if report is not None and Path(report).is_file():
            client.log_artifact(mlflow_run_id, str(report), artifact_path="report")
        if model_card is not None and Path(model_card).is_file():
            client.log_artifact(mlflow_run_id, str(model_card), artifact_path="model_card")
        if run.pushed_to:
            client.set_tag(mlflow_run_id, store.TAG_PUSHED_VERSION, Path(run.pushed_to).name)
        client.set_terminated(mlflow_run_id, "FAILED" if failed else "FINISHED")
    except BaseException:
        # Not left half-done, where the next call would find it and skip it.
        with contextlib.suppress(Exception):
            client.delete_run(mlflow_run_id)
        raise
    if run.pushed_to:
        # After the run is complete: a registry that refuses the model (a tracking
        # server refuses a source on this machine's disk) loses the run nothing.
        try:
            version = register_pushed_model(client, spec, run.pushed_to, mlflow_run_id, run.run_id)
        except Exception as e:
            raise RegistrationError(mlflow_run_id) from e
        client.set_tag(mlflow_run_id, store.TAG_REGISTERED_VERSION, version)
    return mlflow_run_id


def _log_values(
    client: Any, mlflow_run_id: str, metrics: dict[str, float], params: dict[str, str]
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    items = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for start in range(0, len(items), _BATCH):
        client.log_batch(mlflow_run_id, metrics=items[start : start + _BATCH])
    values = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(values), _PARAMS_BATCH):
        client.log_batch(mlflow_run_id, params=values[start : start + _PARAMS_BATCH])


def model_card_path(run: RunArtifacts) -> Path | None:
    """The pushed model's model card, if the run wrote one: `assets.extra/model_card.json`
    in the version it pushed to (`pipeline.reports.model_card.served_card_path`)."""
    from pipeline.reports.model_card import served_card_path

    if not run.pushed_to:
        return None
    card = Path(served_card_path(run.pushed_to))
    return card if card.is_file() else None


class RunLocation(Protocol):
    """Where a local pipeline keeps its state (`pipeline.runners.local.RunPaths`)."""

    @property
    def root(self) -> Path: ...

    @property
    def metadata_path(self) -> Path: ...

    @property
    def reports_dir(self) -> Path: ...


def log_latest_run(
    spec: DatasetSpec, paths: RunLocation, pipeline_name: str, tracking_uri: str | None = None
) -> str | None:
    """The local runner's hook: logs the latest run of `pipeline_name` (see
    `store.resolve_tracking_uri` for where). Never raises: a failure is one line on the
    console, and the pipeline run's outcome stands. Returns MLflow's run id, or None."""
    uri = store.resolve_tracking_uri(paths.root, tracking_uri)
    try:
        from pipeline.reports.artifacts import find_run
        from pipeline.reports.html import report_path

        run = find_run(paths.metadata_path, pipeline_name)
        with _quiet_retries():
            mlflow_run_id = log_run(
                run,
                spec,
                uri,
                artifact_location=store.artifact_location(uri, paths.root),
                report=report_path(paths.reports_dir, run.run_id),
                model_card=model_card_path(run),
            )
    except RegistrationError as e:
        cause = e.__cause__ if isinstance(e.__cause__, Exception) else e
        print(f"  MLflow: run logged to {uri}, pushed model not registered: {one_line(cause)}")
        return e.mlflow_run_id
    except Exception as e:
        print(f"  (not logged to MLflow at {uri}: {one_line(e)})")
        return None
    print(f"  MLflow: run logged to {uri} (python -m pipeline runs | ui)")
    return mlflow_run_id


def one_line(error: Exception, width: int = 240) -> str:
    """`Type: message` on one line; a long message keeps its start and its end (where
    MLflow puts the cause, e.g. 'Connection refused')."""
    text = f"{type(error).__name__}: {' '.join(str(error).split())}"
    return text if len(text) <= width else f"{text[: width - 80]} ... {text[-75:]}"


@contextlib.contextmanager
def _quiet_retries() -> Iterator[None]:
    """urllib3 warns on the console at each retry of a tracking server's request; the one
    line `log_latest_run` prints says what failed."""
    import logging

    logger = logging.getLogger("urllib3.connectionpool")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
