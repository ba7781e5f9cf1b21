"""Batch scoring: a CSV file in, the same rows with the model's outputs appended.

    python -m pipeline predict --data new.csv --output predictions.csv [--model VERSION]

The file is checked first, cell by cell, as a training file is (the label may be absent:
`pipeline.runners.input_checks.check_scoring_file`), so a bad cell stops the scoring
before anything is written. Then it is read again in batches of `batch_size` rows (a file
larger than memory streams through); each row's model features become a raw tf.Example,
typed as the model parses them, and the pushed model's `serving_default` scores the
batch. The output holds every input column as given, in the input's order, then the
columns of `pipeline.serving.output_columns`; it is written under a temporary name and renamed when
complete, so a failed run leaves no partial file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.runners.input_checks import check_scoring_file
from pipeline.serving.model import ServedModel
from pipeline.serving.output_columns import DEFAULT_THRESHOLD, output_columns
from pipeline.serving.raw_examples import serialize_rows
from pipeline.spec import DatasetSpec, csv_format

DEFAULT_BATCH_SIZE = 1000


class PredictError(ValueError):
    """The model, the spec and the file do not fit together; the message says how."""


def _batches(rows: Iterable[list[str]], size: int) -> Iterator[list[list[str]]]:
    """Rows in lists of `size` (the last one shorter); blank lines are not rows."""
    batch: list[list[str]] = []
    for row in rows:
        if not row:
            continue  # a blank line, skipped by the checks and by ExampleGen alike
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def check_fit(spec: DatasetSpec, model: ServedModel) -> None:
    """The model reads exactly the spec's features.

    Raises:
        PredictError: The spec's features changed since the model was trained.
    """
    reads, features = sorted(model.features), sorted(spec.raw_feature_columns)
    if reads != features:
        raise PredictError(
            f"model version {model.version} reads {reads}, but the features of "
            f"{spec.spec_path} are {features}: the spec changed since this model was "
            "trained; run the pipeline again, or score with the spec it was trained on"
        )


def predict_csv(
    spec: DatasetSpec,
    model: ServedModel,
    data: Path,
    output: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: float = DEFAULT_THRESHOLD,
) -> int:
    """Scores every row of `data` with `model`; writes `output`; returns the row count.

    Raises:
        InputDataError: A cell or the header of `data` is wrong (nothing is written).
        PredictError: The model does not read the spec's features, or `output` is
            `data` itself.
    """
    if batch_size < 1:
        raise PredictError(f"the batch size is a positive number of rows, got {batch_size}")
    if output.resolve() == data.resolve():
        raise PredictError(f"--output {output} is the file to score: write to another file")
    check_fit(spec, model)
    header = check_scoring_file(spec, data, model.types, model.required)
    columns = output_columns(spec, threshold)
    taken = [name for name in columns.names if name in header]
    if taken:
        raise PredictError(
            f"{data}: column(s) {taken} have the names of the model's output columns; rename them"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    count = 0
    try:
        with (
            csv_format.open_text(data, spec.encoding) as source,
            partial.open("w", newline="") as target,
        ):
            reader = csv.reader(source, delimiter=spec.delimiter)
            next(reader)
            writer = csv.writer(target, lineterminator="\n")
            writer.writerow([*header, *columns.names])
            for batch in _batches(reader, batch_size):
                examples = serialize_rows(
                    spec, (dict(zip(header, row, strict=True)) for row in batch), model.types
                )
                cells = columns.cells(model.score(examples))
                writer.writerows([*row, *added] for row, added in zip(batch, cells, strict=True))
                count += len(batch)
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
