"""PredictionCsv executor: BulkInferrer's PredictionLogs -> `predictions.csv`.

Each PredictionLog holds one scored tf.Example (its request) and the model's outputs for
it (its response). A row of the CSV is the example's value in each column of the scored
file's header (empty where the example has none: an empty cell), then the cells of
`output_columns`, in the order BulkInferrer wrote the logs (the file's order is not kept
on a distributed runner: give the file an id column to join on).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging
from tensorflow_serving.apis import prediction_log_pb2
from tfx import types
from tfx.components.util import model_utils
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from pipeline.serving.output_columns import number, output_columns
from pipeline.spec import DatasetSpec, csv_format

PREDICTIONS_FILE = "predictions.csv"
# BulkInferrer's output files: gzipped TFRecords of PredictionLog.
LOG_FILES = "prediction_logs*"
BATCH = 1000


def read_logs(uri: str) -> Iterator[prediction_log_pb2.PredictionLog]:
    """The PredictionLogs under an InferenceResult artifact's directory, file by file."""
    files = sorted(fileio.glob(f"{uri.rstrip('/')}/{LOG_FILES}"))
    if not files:
        return
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        yield prediction_log_pb2.PredictionLog.FromString(record)


def example_cells(example: tf.train.Example, columns: Sequence[str]) -> list[str]:
    """The example's value in each column, as a CSV cell ('' where it has none)."""
    cells = []
    features = example.features.feature
    for column in columns:
        feature = features.get(column)
        kind = feature.WhichOneof("kind") if feature is not None else None
        values = list(getattr(feature, kind).value) if kind else []
        if not values:
            cells.append("")
        elif kind == "bytes_list":
            cells.append(values[0].decode("utf-8"))
        elif kind == "float_list":
            cells.append(number(values[0]))
        else:
            cells.append(str(values[0]))
    return cells


def score_header(pattern: str, spec: DatasetSpec) -> list[str]:
    """The header of the first file `pattern` matches, read as the spec's files are."""
    files = sorted(fileio.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no file matches the score file {pattern}")
    with fileio.open(files[0], "rb") as f:
        return csv_format.parse_header(f, files[0], spec.encoding, spec.delimiter)


def _rows(
    logs: Iterator[prediction_log_pb2.PredictionLog],
    columns: Sequence[str],
    spec: DatasetSpec,
    threshold: float,
) -> Iterator[list[str]]:
    """One CSV row per log, the model's outputs turned into cells a batch at a time."""
    cells = output_columns(spec, threshold).cells
    batch: list[prediction_log_pb2.PredictionLog] = []

    def flush() -> Iterator[list[str]]:
        inputs, outputs = [], {}
        for log in batch:
            (example,) = next(iter(log.predict_log.request.inputs.values())).string_val
            inputs.append(example_cells(tf.train.Example.FromString(example), columns))
            for name, tensor in log.predict_log.response.outputs.items():
                outputs.setdefault(name, []).append(tf.make_ndarray(tensor).reshape(-1))
        added = cells({name: np.stack(values) for name, values in outputs.items()})
        yield from ([*row, *more] for row, more in zip(inputs, added, strict=True))

    for log in logs:
        batch.append(log)
        if len(batch) == BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


class Executor(base_executor.BaseExecutor):
    """Writes `predictions.csv` from an InferenceResult, if the model was blessed."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        blessing = artifact_utils.get_single_instance(input_dict["model_blessing"])
        result = artifact_utils.get_single_instance(input_dict["inference_result"])
        predictions = artifact_utils.get_single_instance(output_dict["predictions"])
        if not model_utils.is_model_blessed(blessing):
            # BulkInferrer scored nothing either: only a blessed model scores.
            logging.info("PredictionCsv: the model was not blessed; no predictions")
            predictions.set_int_custom_property("rows", 0)
            return
        spec = DatasetSpec.from_config(json.loads(exec_properties["dataset"]))
        columns = score_header(exec_properties["score_file"], spec)
        threshold = float(exec_properties["threshold"])
        header = [*columns, *output_columns(spec, threshold).names]
        target = f"{predictions.uri.rstrip('/')}/{PREDICTIONS_FILE}"
        count = 0
        with fileio.open(target, "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            for row in _rows(read_logs(result.uri), columns, spec, threshold):
                writer.writerow(row)
                count += 1
        predictions.set_int_custom_property("rows", count)
        logging.info("PredictionCsv: %d rows written to %s", count, target)
