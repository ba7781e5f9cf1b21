"""DataGate executor: turns recorded anomalies into one readable error, or passes."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from absl import logging
from tensorflow_data_validation.utils import anomalies_util
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from pipeline.spec import DatasetSpec

ANOMALIES_FILE = "SchemaDiff.pb"  # what ExampleValidator writes in each split folder
SCHEMA_FILE = "schema.pbtxt"
NUMERIC_TYPES = (schema_pb2.INT, schema_pb2.FLOAT)


class DataValidationError(RuntimeError):
    """The data failed validation; the message lists each problem."""


# TFDV marks each unexpected value with its share of the rows, e.g. "France (<1%)".
_VALUE_SHARE = re.compile(r"\((<1|~?\d+)%\)")


def is_rare_unseen_category(reason: anomalies_pb2.AnomalyInfo.Reason, categorical: bool) -> bool:
    """True for a categorical column meeting values unseen in training, each under 1%.

    The model maps unseen categories to its OOV bucket, so a few rare ones (a country
    that only the test file has) are reported but do not stop the run; a new value on
    1% of the rows or more still does.
    """
    if (
        not categorical
        or reason.type != anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
    ):
        return False
    shares = _VALUE_SHARE.findall(reason.description)
    return bool(shares) and all(share == "<1" for share in shares)


def describe_anomalies(
    anomalies: anomalies_pb2.Anomalies, where: str, categorical: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """Plain-words lines per anomalous column: (blocking problems, tolerated warnings)."""
    problems, warnings = [], []
    for key, info in sorted(anomalies.anomaly_info.items()):
        # The column as the CSV header names it (TFDV quotes a key holding spaces).
        column = ".".join(info.path.step) or key
        for reason in info.reason or [
            anomalies_pb2.AnomalyInfo.Reason(description=info.description)
        ]:
            line = f"{where}, column '{column}': {(reason.description or reason.short_description).strip()}"
            if is_rare_unseen_category(reason, column in categorical):
                warnings.append(line)
            else:
                problems.append(line)
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        reasons = "; ".join(r.description or r.short_description for r in info.reason)
        problems.append(f"{where}, whole data set: {reasons or info.description}")
    return problems, warnings


def check_schema_against_spec(schema: schema_pb2.Schema, spec: DatasetSpec) -> list[str]:
    """Columns whose data type contradicts the role the spec gives them."""
    types_by_name = {f.name: f.type for f in schema.feature}
    problems = []
    for name in [*spec.numeric_features, spec.label.column]:
        if name not in types_by_name:
            problems.append(f"column '{name}' is described in {spec.spec_path} but has no data")
    for name in spec.numeric_features:
        if types_by_name.get(name, schema_pb2.FLOAT) not in NUMERIC_TYPES:
            problems.append(
                f"column '{name}' is declared numeric in {spec.spec_path}, but its values are "
                f"not all numbers (some cell holds text)"
            )
        elif types_by_name.get(name) == schema_pb2.INT:
            # Only a curated schema can say so: ExampleGen writes numeric columns as floats.
            problems.append(
                f"column '{name}' is declared numeric in {spec.spec_path}, so its values are "
                "floats, but the curated schema (schema_file) gives it type INT: change it to "
                "FLOAT there, or export the schema again (python -m pipeline export-schema)"
            )
    return problems


def _load_split_anomalies(
    artifact: types.Artifact, categorical: frozenset[str]
) -> tuple[list[str], list[str]]:
    problems, warnings = [], []
    for split in artifact_utils.decode_split_names(artifact.split_names):
        path = os.path.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE)
        anomalies = anomalies_util.load_anomalies_binary(path)
        split_problems, split_warnings = describe_anomalies(
            anomalies, f"split '{split}'", categorical
        )
        problems += split_problems
        warnings += split_warnings
    return problems, warnings


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
        categorical = frozenset(spec.categorical_features)
        for key in ("anomalies", "evaluation_anomalies"):
            for artifact in input_dict.get(key, []):
                found, tolerated = _load_split_anomalies(artifact, categorical)
                problems += found
                for line in tolerated:
                    logging.warning("DataGate: tolerated (rare unseen category, OOV): %s", line)
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
