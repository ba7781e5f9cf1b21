"""Report executor: the run's artifacts, from its inputs, rendered as the local report is.

Locally the report finds a run's artifacts in ML Metadata (`pipeline.reports.artifacts`).
A Vertex AI container cannot query Vertex ML Metadata that way, so this executor builds
the same `RunArtifacts` from its own input artifacts: each input key stands for one
output of one component (`SOURCES`), and the renderer reads every file through
TensorFlow's filesystems, so gs:// works as a local folder does.

What the local runner does after a run, this executor does inside the cloud run:
- the model card (`pipeline.reports.model_card`) of an evaluated run goes into the
  artifact as `CARD_FILE` and, for a model pushed to a folder (gs://), into its version's
  `assets.extra/`; the report shows it in its model-card section;
- with a `tracking_uri`, the run is logged to MLflow by the local runner's `log_run`,
  the report and the card as its artifacts (MLflow logs local files: they are written to
  a temporary folder too). A tracking error is a warning: the report is the step's output,
  and the run's outcome (trained, blessed, pushed) was settled before it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from pipeline.reports.model_card import CARD_FILE

REPORT_FILE = "report.html"
# Input key -> (component id, "outputs" or "inputs" of it, its key there).
SOURCES = {
    "examples": ("ExampleGen", "outputs", "examples"),
    "statistics": ("StatisticsGen", "outputs", "statistics"),
    "test_statistics": ("TestStatisticsGen", "outputs", "statistics"),
    "anomalies": ("ExampleValidator", "outputs", "anomalies"),
    "test_anomalies": ("TestExampleValidator", "outputs", "anomalies"),
    "schema": ("DataGate", "outputs", "validated_schema"),
    "transform_graph": ("Transform", "outputs", "transform_graph"),
    "model": ("Trainer", "outputs", "model"),
    "test_examples": ("Evaluator", "inputs", "examples"),
    "baseline_model": ("Evaluator", "inputs", "baseline_model"),
    "evaluation": ("Evaluator", "outputs", "evaluation"),
    "blessing": ("Evaluator", "outputs", "blessing"),
    "ablation": ("Ablation", "outputs", "report"),
    "pushed_model": ("Pusher", "outputs", "pushed_model"),
}
# The components whose executions the report lists, in DAG order.
_ORDER = list(dict.fromkeys(node for node, _, _ in SOURCES.values()))


def _value(value: Any) -> str | int | float:
    """A property value as the local report reads it (structs and lists as JSON)."""
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(value, sort_keys=True)


def report_artifact(artifact: Any) -> Any:
    """A TFX artifact as `pipeline.reports.artifacts.Artifact`.

    On Vertex AI, custom properties arrive as struct values (a blessing's `blessed` is
    1.0 or 0.0). They are decoded with `get_json_value_custom_property`:
    `get_custom_property` returns None for a struct holding a false value (0.0), so an
    unblessed model would read as having no blessing (tfx/types/artifact.py:753).
    """
    from pipeline.reports.artifacts import Artifact

    mlmd = artifact.mlmd_artifact
    properties: dict[str, str | int | float] = {}
    for name, value in mlmd.properties.items():
        kind = value.WhichOneof("value")
        if kind in ("int_value", "double_value", "string_value"):
            properties[name] = getattr(value, kind)
    for name, value in mlmd.custom_properties.items():
        if value.HasField("struct_value"):
            properties[name] = _value(artifact.get_json_value_custom_property(name))
        else:
            properties[name] = _value(artifact.get_custom_property(name))
    return Artifact(
        id=artifact.id, type=artifact.type_name, uri=artifact.uri, properties=properties
    )


def run_id_of(output_uri: str) -> str:
    """The Vertex AI run an output belongs to.

    Vertex AI lays out <pipeline root>/<project number>/<run id>/<task>_<id>/<output key>
    (tfx/orchestration/kubeflow/v2/container/kubeflow_v2_run_executor.py:83, the comment on
    `task_root`).
    """
    parts = PurePosixPath(output_uri.removeprefix("gs://")).parts
    return parts[-3] if len(parts) >= 3 else output_uri


def run_artifacts(input_dict: dict[str, list[Any]], pipeline_name: str, run_id: str) -> Any:
    """The `RunArtifacts` the local report would find in ML Metadata for this run."""
    from pipeline.reports.artifacts import Execution, RunArtifacts

    found: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for key, artifacts in input_dict.items():
        if key not in SOURCES or not artifacts:
            continue
        node, direction, node_key = SOURCES[key]
        sides = found.setdefault(node, {"inputs": {}, "outputs": {}})
        sides[direction][node_key] = [report_artifact(a) for a in artifacts]
    executions = [
        Execution(
            node_id=node,
            id=index,
            # The report component only starts when every upstream task succeeded; how
            # long each took is in the Vertex AI console, not in the artifacts.
            state="succeeded",
            seconds=math.nan,
            inputs=found[node]["inputs"],
            outputs=found[node]["outputs"],
        )
        for index, node in enumerate(_ORDER)
        if node in found
    ]
    baseline = (found.get("Evaluator", {}).get("inputs", {}).get("baseline_model") or [None])[0]
    return RunArtifacts(
        pipeline_name=pipeline_name, run_id=run_id, executions=executions, baseline=baseline
    )


def model_card(run: Any, spec: Any) -> dict[str, Any] | None:
    """The run's model card, written where the local runner writes it for a pushed model
    (`write_model_card`, through fileio); None without an evaluation, or when the card
    cannot be built (a warning: the report still shows the run)."""
    from pipeline.reports.model_card import build_model_card, write_model_card

    if run.evaluation is None:
        return None
    try:
        card = build_model_card(run, spec)
        written = write_model_card(run, spec, None, card=card)
    except Exception as e:
        logging.warning("No model card: %s: %s", type(e).__name__, e)
        return None
    if written:
        logging.info("Model card of the pushed model: %s", written[0])
    return card


def log_to_mlflow(
    run: Any, spec: Any, tracking_uri: str, report: Path, card: Path | None
) -> str | None:
    """Logs `run` to MLflow at `tracking_uri` (`pipeline.tracking.log_run`); returns
    MLflow's run id, or None when logging failed (a warning, never an error)."""
    from pipeline.tracking import log_run, store
    from pipeline.tracking.mlflow_log import RegistrationError, one_line

    # A tracking server keeps artifacts where it is configured to; a SQLite store (tests,
    # a shared disk) keeps them beside its file, as the local runner's does.
    database = store.sqlite_file(tracking_uri)
    location = store.artifact_location(tracking_uri, database.parent) if database else None
    try:
        mlflow_run_id = log_run(
            run, spec, tracking_uri, artifact_location=location, report=report, model_card=card
        )
    except RegistrationError as e:
        cause = e.__cause__ if isinstance(e.__cause__, Exception) else e
        logging.warning(
            "MLflow: run logged to %s, pushed model not registered: %s",
            tracking_uri,
            one_line(cause),
        )
        return e.mlflow_run_id
    except Exception as e:
        logging.warning("Not logged to MLflow at %s: %s", tracking_uri, one_line(e))
        return None
    logging.info("MLflow: run %s logged to %s as %s", run.run_id, tracking_uri, mlflow_run_id)
    return mlflow_run_id


class Executor(base_executor.BaseExecutor):
    """Writes `report.html` (and `model_card.json`) into the `report` artifact, through
    fileio, and logs the run to MLflow when given a `tracking_uri`."""

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        from pipeline.reports.html import render_report
        from pipeline.reports.model_card import card_json
        from pipeline.spec import DatasetSpec

        spec = DatasetSpec.from_config(json.loads(exec_properties["dataset"]))
        out = artifact_utils.get_single_instance(output_dict["report"])
        run = run_artifacts(input_dict, exec_properties["pipeline_name"], run_id_of(out.uri))
        card = model_card(run, spec)
        files = {REPORT_FILE: render_report(run, spec, card)}
        if card is not None:
            files[CARD_FILE] = card_json(card)
        fileio.makedirs(out.uri)
        for name, text in files.items():
            with fileio.open(os.path.join(out.uri, name), "w") as f:
                f.write(text)
        logging.info("Report of run %s: %s", run.run_id, os.path.join(out.uri, REPORT_FILE))
        tracking_uri = exec_properties.get("tracking_uri")
        if not tracking_uri:
            return
        with tempfile.TemporaryDirectory() as local:
            for name, text in files.items():
                Path(local, name).write_text(text, encoding="utf-8")
            card_file = Path(local, CARD_FILE) if card is not None else None
            log_to_mlflow(run, spec, tracking_uri, Path(local, REPORT_FILE), card_file)
