"""Find a pipeline run's artifacts in ML Metadata.

    from pipeline.reports.artifacts import find_run
    run = find_run("outputs/census/metadata.sqlite", "census_pipeline")   # latest run
    run.evaluation.uri, run.blessed, run.model.uri, run.baseline_model, run.schema.uri

A run's artifacts are those its executions read and wrote. A cached execution is recorded
with the outputs it re-used, so a fully cached run finds the same artifacts as the run that
made them. Lookups return None (not an error) for what a run did not have, e.g. a baseline
on the first run or a blessing when the Evaluator never ran.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "ran",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}
# The PushedModel's custom property for a model found already serving; the atomic Pusher
# (components.atomic_pusher.ALREADY_SERVING_KEY) writes it. Read here without importing TFX.
ALREADY_SERVING_PROPERTY = "already_serving"
_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One artifact as a reader needs it.

    Attributes:
        id: ML Metadata artifact id.
        type: Artifact type name, e.g. "ModelEvaluation".
        uri: Where its files are.
        properties: Its properties and custom properties (split_names, blessed,
            pushed_destination, ...).
    """

    id: int
    type: str
    uri: str
    properties: dict[str, str | int | float]

    def int_property(self, name: str) -> int | None:
        value = self.properties.get(name)
        return int(value) if value is not None else None


@dataclasses.dataclass(frozen=True)
class Execution:
    """One component's execution in a run, with what it read and wrote."""

    node_id: str
    id: int
    state: str
    seconds: float
    inputs: dict[str, list[Artifact]]
    outputs: dict[str, list[Artifact]]


@dataclasses.dataclass(frozen=True)
class RunArtifacts:
    """A run of a pipeline: its executions in order, and shortcuts to what readers want."""

    pipeline_name: str
    run_id: str
    executions: list[Execution]
    baseline: Artifact | None = None

    def execution(self, node_id: str) -> Execution | None:
        return next((e for e in self.executions if e.node_id == node_id), None)

    def output(self, node_id: str, key: str) -> Artifact | None:
        """The first `key` output of `node_id` in this run, or None."""
        execution = self.execution(node_id)
        artifacts = execution.outputs.get(key) if execution else None
        return artifacts[0] if artifacts else None

    def input(self, node_id: str, key: str) -> Artifact | None:
        """The first `key` input of `node_id` in this run, or None."""
        execution = self.execution(node_id)
        artifacts = execution.inputs.get(key) if execution else None
        return artifacts[0] if artifacts else None

    @property
    def evaluation(self) -> Artifact | None:
        return self.output("Evaluator", "evaluation")

    @property
    def ablation(self) -> Artifact | None:
        """The Ablation component's report (a cached run reuses the earlier one)."""
        return self.output("Ablation", "report")

    @property
    def blessing(self) -> Artifact | None:
        return self.output("Evaluator", "blessing")

    @property
    def blessed(self) -> bool | None:
        """True/False from the Evaluator's blessing; None if there is none."""
        return None if self.blessing is None else self.blessing.int_property("blessed") == 1

    @property
    def model(self) -> Artifact | None:
        return self.output("Trainer", "model")

    @property
    def baseline_model(self) -> Artifact | None:
        """The model the Evaluator compared against (None on a first run)."""
        return self.baseline

    @property
    def examples(self) -> Artifact | None:
        return self.output("ExampleGen", "examples")

    @property
    def test_examples(self) -> Artifact | None:
        """The Evaluator's examples: the test file's, or ExampleGen's test split."""
        return self.input("Evaluator", "examples")

    @property
    def schema(self) -> Artifact | None:
        """The schema Transform and Trainer used (the DataGate's validated copy)."""
        return self.output("DataGate", "validated_schema") or self.output("SchemaGen", "schema")

    @property
    def statistics(self) -> Artifact | None:
        return self.output("StatisticsGen", "statistics")

    @property
    def test_statistics(self) -> Artifact | None:
        return self.output("TestStatisticsGen", "statistics")

    @property
    def anomalies(self) -> Artifact | None:
        return self.output("ExampleValidator", "anomalies")

    @property
    def test_anomalies(self) -> Artifact | None:
        return self.output("TestExampleValidator", "anomalies")

    @property
    def model_run(self) -> Artifact | None:
        """The Trainer's TensorBoard logs."""
        return self.output("Trainer", "model_run")

    @property
    def already_serving(self) -> bool:
        """Whether this run's Pusher found its model already serving and wrote nothing."""
        pushed = self.output("Pusher", "pushed_model")
        return pushed is not None and pushed.int_property(ALREADY_SERVING_PROPERTY) == 1

    @property
    def pushed_to(self) -> str | None:
        """Where the model this run's Pusher passed serves (a version it wrote, or the
        latest version when that held the same model), or None if it passed nothing."""
        pushed = self.output("Pusher", "pushed_model")
        if pushed is None or pushed.int_property("pushed") != 1:
            return None
        return str(pushed.properties.get("pushed_destination"))


def open_store(metadata_path: Path) -> metadata_store.MetadataStore:
    """A handle on the SQLite ML Metadata store of a local run."""
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


def node_ids(store: metadata_store.MetadataStore, pipeline_name: str) -> dict[int, str]:
    """Execution id -> node id, for every execution of the pipeline."""
    prefix = f"{pipeline_name}."
    by_execution = {}
    for context in store.get_contexts_by_type("node"):
        if context.name.startswith(prefix):
            for execution in store.get_executions_by_context(context.id):
                by_execution[execution.id] = context.name[len(prefix) :]
    return by_execution


def _value(value: metadata_store_pb2.Value) -> str | int | float:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("int_value", "double_value", "string_value") else ""


def _artifact(
    store: metadata_store.MetadataStore,
    artifact: metadata_store_pb2.Artifact,
    types: dict[int, str],
) -> Artifact:
    if artifact.type_id not in types:
        types[artifact.type_id] = store.get_artifact_types_by_id([artifact.type_id])[0].name
    return Artifact(
        id=artifact.id,
        type=types[artifact.type_id],
        uri=artifact.uri,
        properties={
            k: _value(v)
            for k, v in [*artifact.properties.items(), *artifact.custom_properties.items()]
        },
    )


def artifacts_by_key(
    store: metadata_store.MetadataStore, execution_id: int, kinds: tuple[int, ...]
) -> dict[str, list[Artifact]]:
    """Artifacts an execution read (`_INPUT_EVENTS`) or wrote (`_OUTPUT_EVENTS`), by key."""
    events = [e for e in store.get_events_by_execution_ids([execution_id]) if e.type in kinds]
    found = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    types: dict[int, str] = {}
    by_key: dict[str, list[Artifact]] = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        by_key.setdefault(key, []).append(_artifact(store, found[event.artifact_id], types))
    return by_key


def outputs_of(store: metadata_store.MetadataStore, execution_id: int) -> dict[str, list[Artifact]]:
    return artifacts_by_key(store, execution_id, _OUTPUT_EVENTS)


def find_run(
    metadata_path: Path | str, pipeline_name: str, run_id: str | None = None
) -> RunArtifacts:
    """The artifacts of run `run_id` (default: the latest) of `pipeline_name`.

    Raises:
        FileNotFoundError: There is no store at `metadata_path`.
        LookupError: The pipeline has no run, or no run `run_id` (the message lists the runs).
    """
    store = open_store(Path(metadata_path))
    ids = run_ids(store, pipeline_name)
    if not ids:
        raise LookupError(f"pipeline '{pipeline_name}' has no run in {metadata_path}")
    run_id = run_id or ids[-1]
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run is None:
        raise LookupError(f"no run '{run_id}' of '{pipeline_name}'; runs: {ids}")
    nodes = node_ids(store, pipeline_name)
    executions = [
        Execution(
            node_id=nodes.get(e.id, e.type),
            id=e.id,
            state=STATE_NAMES.get(e.last_known_state, str(e.last_known_state)),
            seconds=max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000),
            inputs=artifacts_by_key(store, e.id, _INPUT_EVENTS),
            outputs=outputs_of(store, e.id),
        )
        for e in sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    ]
    run_artifacts = RunArtifacts(pipeline_name=pipeline_name, run_id=run_id, executions=executions)
    baseline = _baseline(store, run_artifacts)
    return dataclasses.replace(run_artifacts, baseline=baseline)


def _baseline(store: metadata_store.MetadataStore, run: RunArtifacts) -> Artifact | None:
    """The baseline model of the run's evaluation.

    Read from the Evaluator's input events when they hold it; otherwise from the model
    locations TFMA saved with the evaluation, because ML Metadata records one input event
    per artifact, so a baseline that is also the candidate (a cached Trainer) has no
    'baseline_model' event of its own.
    """
    recorded = run.input("Evaluator", "baseline_model")
    if recorded is not None or run.evaluation is None:
        return recorded
    from tensorflow_model_analysis.writers.eval_config_writer import load_eval_run

    location = load_eval_run(run.evaluation.uri)[3].get("baseline")
    if not location:
        return None
    # TFX points TFMA at <model uri>/Format-Serving.
    model_uri = location.rstrip("/").removesuffix("/Format-Serving")
    for artifact in store.get_artifacts_by_uri(model_uri):
        return _artifact(store, artifact, {})
    return None


def latest_output_uri(
    metadata_path: Path, pipeline_name: str, node_id: str, output_key: str
) -> str:
    """URI of the newest `output_key` artifact that `node_id` produced in any run."""
    store = open_store(metadata_path)
    for execution_id, node in sorted(node_ids(store, pipeline_name).items(), reverse=True):
        if node == node_id:
            artifacts = outputs_of(store, execution_id).get(output_key)
            if artifacts:
                return artifacts[0].uri
    raise LookupError(f"no '{output_key}' output of {node_id} in {metadata_path}")


def baseline_evaluation(metadata_path: Path | str, run: RunArtifacts) -> Artifact | None:
    """The evaluation in which `run`'s baseline model was itself the candidate.

    The Evaluator scores a baseline model on the headline metrics only (what the
    comparison and the bounds need); its rates, intervals and fairness numbers are in the
    evaluation that blessed it. This is the newest evaluation, other than the run's own,
    whose Evaluator took the baseline model as its `model` and blessed it; None when the
    run has no baseline (or that evaluation is gone from the store).
    """
    baseline = run.baseline_model
    if baseline is None:
        return None
    store = open_store(Path(metadata_path))
    own = run.evaluation.id if run.evaluation is not None else None
    for execution_id, node in sorted(node_ids(store, run.pipeline_name).items(), reverse=True):
        if node != "Evaluator":
            continue
        inputs = artifacts_by_key(store, execution_id, _INPUT_EVENTS)
        if baseline.id not in {a.id for a in inputs.get("model", [])}:
            continue
        outputs = outputs_of(store, execution_id)
        evaluation = (outputs.get("evaluation") or [None])[0]
        blessing = (outputs.get("blessing") or [None])[0]
        if evaluation is None or evaluation.id == own:
            continue
        if blessing is not None and blessing.int_property("blessed") == 1:
            return evaluation
    return None
