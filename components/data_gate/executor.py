"""DataGate executor: turns recorded anomalies into one readable error, or passes."""

from __future__ import annotations

import json
import os
from typing import Any

from tensorflow_data_validation.utils import anomalies_util
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from pipeline.dataset_spec import DatasetSpec

ANOMALIES_FILE = "SchemaDiff.pb"  # what ExampleValidator writes in each split folder
SCHEMA_FILE = "schema.pbtxt"
NUMERIC_TYPES = (schema_pb2.INT, schema_pb2.FLOAT)


class DataValidationError(RuntimeError):
    """The data failed validation; the message lists each problem."""


def describe_anomalies(anomalies: anomalies_pb2.Anomalies, where: str) -> list[str]:
    """One plain-words line per anomalous column (and for the data set as a whole)."""
    lines = []
    for column, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(r.description or r.short_description for r in info.reason)
        lines.append(f"{where}, column '{column}': {reasons or info.description}")
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        reasons = "; ".join(r.description or r.short_description for r in info.reason)
        lines.append(f"{where}, whole data set: {reasons or info.description}")
    return lines


def check_schema_against_spec(schema: schema_pb2.Schema, spec: DatasetSpec) -> list[str]:
    """Columns whose data type contradicts the role the spec gives them."""
    types_by_name = {f.name: f.type for f in schema.feature}
    problems = []
    for name in [*spec.numeric_features, spec.label.column]:
        if name not in types_by_name:
            problems.append(f"column '{name}' is described in {spec.spec_path} but has no data")
    for name in spec.numeric_features:
        if types_by_name.get(name, schema_pb2.INT) not in NUMERIC_TYPES:
            problems.append(
                f"column '{name}' is declared numeric in {spec.spec_path}, but its values are "
                f"not all numbers (some cell holds text)"
            )
    return problems


def _load_split_anomalies(artifact: types.Artifact) -> list[str]:
    lines = []
    for split in artifact_utils.decode_split_names(artifact.split_names):
        path = os.path.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE)
        anomalies = anomalies_util.load_anomalies_binary(path)
        lines += describe_anomalies(anomalies, f"split '{split}'")
    return lines


class Executor(base_executor.BaseExecutor):
    """Raises `DataValidationError` on any anomaly; otherwise copies the schema through."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        spec = DatasetSpec.from_config(json.loads(exec_properties["dataset"]))
        schema_uri = artifact_utils.get_single_uri(input_dict["schema"])
        schema_path = io_utils.get_only_uri_in_dir(schema_uri)
        schema = io_utils.SchemaReader().read(schema_path)

        problems = check_schema_against_spec(schema, spec)
        for key in ("anomalies", "evaluation_anomalies"):
            for artifact in input_dict.get(key, []):
                problems += _load_split_anomalies(artifact)
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems)
            raise DataValidationError(
                f"Data set '{spec.name}' failed validation, so the pipeline stops before "
                f"Transform and nothing is trained or pushed. {len(problems)} problem(s):\n"
                f"{listing}\n"
                f"Fix the data files under {spec.directory}, or, if the change is expected, "
                f"update the schema (schema_file in {spec.spec_path.name}) or the spec."
            )
        output_uri = artifact_utils.get_single_uri(output_dict["validated_schema"])
        io_utils.copy_file(schema_path, os.path.join(output_uri, SCHEMA_FILE), overwrite=True)
