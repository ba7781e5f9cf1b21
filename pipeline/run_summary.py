"""What a pipeline run did, read back from ML Metadata.

Per component: ran, cached or failed, and for how long. Then the Evaluator's verdict
(blessed, or which thresholds failed), where the Pusher put the model, and the headline
metrics overall and per slice.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.dataset_spec import DatasetSpec, bucket_label, bucket_name

_STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "ran",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}
# Headline metrics shown per slice: TFMA metric name -> column title.
HEADLINE = {
    "example_count": "n",
    "auc": "AUC",
    "binary_accuracy": "accuracy",
    "auc_precision_recall": "AUC-PR",
    "calibration": "calibration",
}


@dataclasses.dataclass(frozen=True)
class ComponentRun:
    """One component's execution in a run."""

    node_id: str
    state: str
    seconds: float
    execution_id: int


@dataclasses.dataclass
class RunSummary:
    """The outcome of one pipeline run."""

    run_id: str
    components: list[ComponentRun]
    blessed: bool | None = None
    failed_thresholds: list[str] = dataclasses.field(default_factory=list)
    pushed_to: str | None = None
    metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def state_of(self, node_id: str) -> str | None:
        return next((c.state for c in self.components if c.node_id == node_id), None)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.components)


def open_store(metadata_path: Path) -> metadata_store.MetadataStore:
    """A read/write handle on the SQLite ML Metadata store of a local run."""
    if not Path(metadata_path).is_file():
        raise FileNotFoundError(f"no ML Metadata store at {metadata_path}: run the pipeline first")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return metadata_store.MetadataStore(config)


def run_ids(store: metadata_store.MetadataStore, pipeline_name: str) -> list[str]:
    """Run ids of `pipeline_name`, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    runs = [
        c for c in store.get_children_contexts_by_context(pipeline.id) if c.type == "pipeline_run"
    ]
    return [c.name for c in sorted(runs, key=lambda c: c.create_time_since_epoch)]


def _node_ids(store: metadata_store.MetadataStore, pipeline_name: str) -> dict[int, str]:
    """Execution id -> node id, for every execution of the pipeline."""
    prefix = f"{pipeline_name}."
    by_execution = {}
    for context in store.get_contexts_by_type("node"):
        if context.name.startswith(prefix):
            for execution in store.get_executions_by_context(context.id):
                by_execution[execution.id] = context.name[len(prefix) :]
    return by_execution


def _outputs(
    store: metadata_store.MetadataStore, execution_id: int
) -> dict[str, list[metadata_store_pb2.Artifact]]:
    """Output artifacts of an execution, keyed by output name."""
    events = [
        e
        for e in store.get_events_by_execution_ids([execution_id])
        if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
    ]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    outputs: dict[str, list[metadata_store_pb2.Artifact]] = {}
    for event in events:
        outputs.setdefault(event.path.steps[0].key, []).append(artifacts[event.artifact_id])
    return outputs


def _int_property(artifact: metadata_store_pb2.Artifact, name: str) -> int | None:
    value = artifact.custom_properties.get(name)
    return None if value is None else value.int_value


def slice_name(slice_key: tuple, spec: DatasetSpec | None = None) -> str:
    """'Overall', or 'sex=Female, age in [25, 35)' with bucket indices made readable."""
    if not slice_key:
        return "Overall"
    parts = []
    for feature, value in slice_key:
        column = feature.removesuffix("_bucket")
        if spec and feature == bucket_name(column) and column in spec.bucketized_features:
            parts.append(f"{column} {bucket_label(spec.bucketized_features[column], int(value))}")
        else:
            parts.append(f"{feature}={value}")
    return ", ".join(parts)


def load_slice_metrics(
    evaluation_uri: str, spec: DatasetSpec | None = None
) -> dict[str, dict[str, float]]:
    """Headline metrics per slice of one Evaluator output, keyed by readable slice name."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri)
    table = {}
    # Overall first, then single-column slices, then crosses, each alphabetically.
    ordered = sorted(result.slicing_metrics, key=lambda item: (len(item[0]), item[0]))
    for slice_key, metrics in ordered:
        values = metrics.get("", {}).get("", {})
        row = {}
        for name, title in HEADLINE.items():
            if name in values and "doubleValue" in values[name]:
                row[title] = values[name]["doubleValue"]
        table[slice_name(slice_key, spec)] = row
    return table


def describe_failure(failure, where: str) -> str:
    """One line for a failed TFMA threshold: metric, value, bound, slice."""
    name = failure.metric_key.name
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if failure.metric_key.is_diff:
        allowed = threshold.change_threshold.absolute.value
        return (
            f"{name} changed by {value:+.4f} against the baseline model; at most "
            f"{allowed:+.4f} is allowed ({where})"
        )
    bounds = threshold.value_threshold
    if bounds.HasField("lower_bound") and value < bounds.lower_bound.value:
        return (
            f"{name} = {value:.4f} is below the lower bound {bounds.lower_bound.value:g} ({where})"
        )
    if bounds.HasField("upper_bound") and value > bounds.upper_bound.value:
        return (
            f"{name} = {value:.4f} is above the upper bound {bounds.upper_bound.value:g} ({where})"
        )
    return f"{name} = {value:.4f} failed: {failure.message or threshold} ({where})"


def failed_thresholds(evaluation_uri: str, spec: DatasetSpec | None = None) -> list[str]:
    """Readable lines for each threshold the candidate model failed."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.slicer import slicer_lib

    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    for per_slice in result.metric_validations_per_slice:
        where = slice_name(slicer_lib.deserialize_slice_key(per_slice.slice_key), spec)
        lines += [describe_failure(f, where) for f in per_slice.failures]
    if result.missing_thresholds:
        lines.append("the eval config has no threshold, so TFMA cannot bless any model")
    for missing in result.missing_slices:
        keys = ", ".join(missing.feature_keys) or "Overall"
        lines.append(f"the slice on {keys} has a threshold but no examples")
    return lines


def summarize_run(
    metadata_path: Path,
    pipeline_name: str,
    run_id: str | None = None,
    spec: DatasetSpec | None = None,
) -> RunSummary:
    """Summarises run `run_id` (default: the latest) of `pipeline_name` from ML Metadata."""
    store = open_store(metadata_path)
    ids = run_ids(store, pipeline_name)
    if not ids:
        raise LookupError(f"pipeline '{pipeline_name}' has no run in {metadata_path}")
    run_id = run_id or ids[-1]
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run is None:
        raise LookupError(f"no run '{run_id}' of '{pipeline_name}'; runs: {ids}")
    node_ids = _node_ids(store, pipeline_name)
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    components = [
        ComponentRun(
            node_id=node_ids.get(e.id, e.type),
            state=_STATE_NAMES.get(e.last_known_state, str(e.last_known_state)),
            seconds=max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000),
            execution_id=e.id,
        )
        for e in executions
    ]
    summary = RunSummary(run_id=run_id, components=components)
    by_node = {c.node_id: c for c in components}

    if "Evaluator" in by_node:
        outputs = _outputs(store, by_node["Evaluator"].execution_id)
        if outputs.get("blessing"):
            summary.blessed = _int_property(outputs["blessing"][0], "blessed") == 1
        if outputs.get("evaluation"):
            uri = outputs["evaluation"][0].uri
            summary.metrics = load_slice_metrics(uri, spec)
            if summary.blessed is False:
                summary.failed_thresholds = failed_thresholds(uri, spec)
    if "Pusher" in by_node:
        outputs = _outputs(store, by_node["Pusher"].execution_id)
        pushed = outputs.get("pushed_model")
        if pushed and _int_property(pushed[0], "pushed") == 1:
            summary.pushed_to = pushed[0].custom_properties["pushed_destination"].string_value
    return summary


def latest_output_uri(
    metadata_path: Path, pipeline_name: str, node_id: str, output_key: str
) -> str:
    """URI of the newest `output_key` artifact that `node_id` produced in any run."""
    store = open_store(metadata_path)
    for execution_id, node in sorted(_node_ids(store, pipeline_name).items(), reverse=True):
        if node == node_id:
            artifacts = _outputs(store, execution_id).get(output_key)
            if artifacts:
                return artifacts[0].uri
    raise LookupError(f"no '{output_key}' output of {node_id} in {metadata_path}")


def format_summary(summary: RunSummary) -> str:
    """The end-of-run report printed by the CLI."""
    lines = [f"Run {summary.run_id}: {len(summary.components)} components"]
    for c in summary.components:
        lines.append(f"  {c.node_id:<28} {c.state:<7} {c.seconds:7.1f} s")
    lines.append(f"  {'total (in components)':<36} {summary.seconds:7.1f} s")
    if summary.blessed is None:
        lines.append("Model: not evaluated in this run")
    elif summary.blessed:
        lines.append("Model: BLESSED (every threshold passed)")
    else:
        lines.append("Model: NOT blessed, so not pushed. Failed thresholds:")
        lines += [f"  - {f}" for f in summary.failed_thresholds] or ["  (see the Evaluator output)"]
    lines.append(f"Pushed to: {summary.pushed_to}" if summary.pushed_to else "Pushed: nothing")
    if summary.metrics:
        titles = list(HEADLINE.values())
        width = max(len(name) for name in summary.metrics)
        lines.append("Metrics on the test split:")
        lines.append(f"  {'slice':<{width}}  " + "  ".join(f"{t:>11}" for t in titles))
        for name, row in summary.metrics.items():
            cells = "  ".join(_cell(t, row.get(t)) for t in titles)
            lines.append(f"  {name:<{width}}  {cells}")
    return "\n".join(lines)


def _cell(title: str, value: float | None) -> str:
    """A metric in the summary table: counts whole, rates to 4 places, '-' if absent."""
    if value is None or math.isnan(value):
        return f"{'-':>11}"
    return f"{value:>11.0f}" if title == "n" else f"{value:>11.4f}"
