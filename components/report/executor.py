"""Report executor: the run's artifacts, from its inputs, rendered as the local report is.

Locally the report finds a run's artifacts in ML Metadata (`pipeline.reports.artifacts`).
A Vertex AI container cannot query Vertex ML Metadata that way, so this executor builds
the same `RunArtifacts` from its own input artifacts: each input key stands for one
output of one component (`SOURCES`), and the renderer reads every file through
TensorFlow's filesystems, so gs:// works as a local folder does.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import PurePosixPath
from typing import Any

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

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


class Executor(base_executor.BaseExecutor):
    """Writes `report.html` into the `report` artifact, through fileio."""

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        from pipeline.reports.html import render_report
        from pipeline.spec import DatasetSpec

        spec = DatasetSpec.from_config(json.loads(exec_properties["dataset"]))
        out = artifact_utils.get_single_instance(output_dict["report"])
        run = run_artifacts(input_dict, exec_properties["pipeline_name"], run_id_of(out.uri))
        page = render_report(run, spec)
        fileio.makedirs(out.uri)
        path = os.path.join(out.uri, REPORT_FILE)
        with fileio.open(path, "w") as f:
            f.write(page)
        logging.info("Report of run %s: %s", run.run_id, path)
