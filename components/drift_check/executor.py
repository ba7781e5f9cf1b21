"""DriftCheck executor: TFDV's drift comparators on the train split, against a baseline."""

from __future__ import annotations

import json
import os
from typing import Any

from absl import logging
from tensorflow_data_validation import infer_schema, load_stats_binary, validate_statistics
from tensorflow_data_validation.utils import schema_util
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from pipeline.spec import DatasetSpec

STATS_FILE = "FeatureStats.pb"  # what StatisticsGen writes in each split folder
SPLIT = "train"
# The custom property that marks statistics this check approved. On Vertex AI the
# reference is found by a metadata query, which cannot name the producing component
# (see pipeline.runners.kubeflow_v2.approval_filter): it filters on this property.
APPROVED_BY = "approved_by"
_DRIFT_REASONS = (
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
)


class DataDriftError(RuntimeError):
    """The training data moved beyond the spec's drift bounds; the message lists columns."""


def drift_config(spec: DatasetSpec, approved_by: str = "DriftCheck") -> str:
    """The component's `drift` parameter for `spec` (only what the check reads).

    Args:
        spec: The data set spec.
        approved_by: The `APPROVED_BY` property value of the statistics it approves.
    """
    drift = spec.drift
    return json.dumps(
        {
            "name": spec.name,
            "approved_by": approved_by,
            # The file's name only: the message names it, and a machine's path would
            # make the compiled pipeline differ between checkouts.
            "spec_file": spec.spec_path.name,
            "categorical": spec.categorical_features,
            "numeric": spec.numeric_features,
            "categorical_max_linf": drift.categorical_max_linf if drift else None,
            "numeric_max_js": drift.numeric_max_js if drift else None,
        },
        sort_keys=True,
    )


def _load(artifact: types.Artifact) -> statistics_pb2.DatasetFeatureStatisticsList | None:
    if SPLIT not in artifact_utils.decode_split_names(artifact.split_names):
        return None
    return load_stats_binary(os.path.join(artifact.uri, f"Split-{SPLIT}", STATS_FILE))


def find_drift(
    current: statistics_pb2.DatasetFeatureStatisticsList,
    previous: statistics_pb2.DatasetFeatureStatisticsList,
    config: dict[str, Any],
) -> list[str]:
    """One line per column whose distance to `previous` is above its bound."""
    schema = infer_schema(current)
    for name in config["categorical"]:
        if config["categorical_max_linf"] is not None:
            feature = schema_util.get_feature(schema, name)
            feature.drift_comparator.infinity_norm.threshold = config["categorical_max_linf"]
    for name in config["numeric"]:
        if config["numeric_max_js"] is not None:
            feature = schema_util.get_feature(schema, name)
            feature.drift_comparator.jensen_shannon_divergence.threshold = config["numeric_max_js"]
    anomalies = validate_statistics(current, schema, previous_statistics=previous)
    lines = []
    for column, info in sorted(anomalies.anomaly_info.items()):
        for reason in info.reason:
            if reason.type in _DRIFT_REASONS:
                lines.append(f"column '{column}': {reason.description.strip()}")
    return lines


class Executor(base_executor.BaseExecutor):
    """Raises `DataDriftError` above the bounds; otherwise approves this run's statistics."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        config = json.loads(exec_properties["drift"])
        current_artifact = artifact_utils.get_single_instance(input_dict["statistics"])
        current = _load(current_artifact)
        baselines = input_dict.get("baseline_statistics") or []
        previous = _load(baselines[0]) if baselines else None
        if current is None:
            raise DataDriftError(
                f"the statistics at {current_artifact.uri} have no '{SPLIT}' split"
            )
        if previous is None:
            logging.info("DriftCheck: no approved statistics yet (first run): nothing to compare")
        else:
            problems = find_drift(current, previous, config)
            if problems:
                listing = "\n".join(f"  - {p}" for p in problems)
                raise DataDriftError(
                    f"Data set '{config['name']}': the training data drifted from the last "
                    f"validated data ({baselines[0].uri}), so the pipeline stops before "
                    f"Transform and nothing is trained or pushed. {len(problems)} column(s):\n"
                    f"{listing}\n"
                    "If the change is expected, raise the bound in the 'drift' section of "
                    f"{config['spec_file']} for one run; the new data then "
                    "becomes the reference."
                )
        approved = artifact_utils.get_single_instance(output_dict["approved_statistics"])
        approved.split_names = artifact_utils.encode_split_names([SPLIT])
        approved.set_string_custom_property(APPROVED_BY, config["approved_by"])
        io_utils.copy_file(
            os.path.join(current_artifact.uri, f"Split-{SPLIT}", STATS_FILE),
            os.path.join(approved.uri, f"Split-{SPLIT}", STATS_FILE),
            overwrite=True,
        )
