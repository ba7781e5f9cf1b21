"""The columns a scored file gets: `python -m pipeline predict` and the pipeline's
PredictionCsv (BulkInferrer's predictions) append the same ones, filled the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pipeline.model.outputs import SCORED_COLUMNS, prediction_key
from pipeline.spec import DatasetSpec

if TYPE_CHECKING:
    import numpy as np

# The decision threshold of `predicted_class`: positive when the probability is above it,
# as the Evaluator's accuracy and error rates count a positive prediction.
DEFAULT_THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class OutputColumns:
    """The columns appended to each row, and how a batch of model outputs fills them.

    Attributes:
        names: The column names, in order.
        cells: Model outputs of a batch (output name -> one row of values per example)
            -> one list of cells per example.
    """

    names: tuple[str, ...]
    cells: Callable[[Mapping[str, np.ndarray]], list[list[str]]]


def number(value: float) -> str:
    """A float32 output in the fewest digits that read back as the same float32."""
    import numpy as np

    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def class_names(spec: DatasetSpec) -> tuple[str, str]:
    """(positive, negative) class names of a binary label, as the CSV writes them."""
    positive = str(spec.label.positive)
    others = [str(c) for c in spec.label.classes if str(c) != positive]
    return positive, others[0] if len(others) == 1 else f"not {positive}"


def output_columns(spec: DatasetSpec, threshold: float = DEFAULT_THRESHOLD) -> OutputColumns:
    """What `predict` appends for the spec's task; the one place a new task adds its columns.

    binary_classification: `probability` (of the positive class) and `predicted_class`
        (the positive class when the probability is above `threshold`, else the other);
    regression: `prediction`, in the label's units.
    """
    key, names = prediction_key(spec.task), SCORED_COLUMNS[spec.task]
    if spec.is_regression:
        return OutputColumns(names, lambda outputs: [[number(v)] for v in outputs[key][:, 0]])
    positive, negative = class_names(spec)

    def classified(outputs: Mapping[str, np.ndarray]) -> list[list[str]]:
        return [[number(p), positive if p > threshold else negative] for p in outputs[key][:, 0]]

    return OutputColumns(names, classified)
