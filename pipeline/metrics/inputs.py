"""What every custom TFMA metric of the project needs: its key, and its inputs as floats."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util


def metric_key(
    name: str,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricKey:
    """The key a metric's value is written under, for one model and output."""
    return metric_types.MetricKey(
        name=name,
        model_name=model_name,
        output_name=output_name,
        sub_key=sub_key,
        example_weighted=example_weighted,
    )


def scalar_examples(
    element: metric_types.StandardMetricInputs, key: metric_types.MetricKey, eval_config: Any
) -> Iterator[tuple[float, float, float]]:
    """(label, prediction, weight) of each example in `element`, for `key`'s model and output."""
    for label, prediction, weight in metric_util.to_label_prediction_example_weight(
        element,
        eval_config=eval_config,
        model_name=key.model_name,
        output_name=key.output_name,
        sub_key=key.sub_key,
        example_weighted=bool(key.example_weighted),
    ):
        yield (
            metric_util.safe_to_scalar(label),
            metric_util.safe_to_scalar(prediction),
            metric_util.safe_to_scalar(weight),
        )


def _label_key(eval_config: Any, model_name: str) -> str:
    """The model spec's label key, found as TFMA finds it (with one model, any model name
    matches)."""
    if not eval_config or not eval_config.model_specs:
        return ""
    for spec in eval_config.model_specs:
        name = spec.name if len(eval_config.model_specs) > 1 else ""
        if name == model_name:
            return spec.label_key
    return ""


def _lookup(value: Any, key: str, required: bool) -> Any:
    if not key or not isinstance(value, Mapping):
        return None if required and key else value
    if key in value:
        return value[key]
    return None if required else value


def _scalar(value: Any) -> float | None:
    """The one number in `value`, or None when it is not exactly one number."""
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "biuf":
            return None
        return float(value.reshape(-1)[0])
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    return None


class ScalarReader:
    """Reads (label, prediction, weight) of one model output, one example at a time.

    TFMA calls each combiner once per example and slice. Its generic reader,
    `to_label_prediction_example_weight`, handles every layout of multi-model,
    multi-output and top-k inputs and defines a class on each call, so with many slices
    and combiners it dominates the Evaluator's time. The common layout
    (one number for the label and for the prediction, no example weights) is read here
    directly; anything else goes through TFMA's reader, so the results are the same.
    """

    def __init__(self, key: metric_types.MetricKey, eval_config: Any) -> None:
        self._key = key
        self._eval_config = eval_config
        self._label_key = _label_key(eval_config, key.model_name)
        # A prediction still keyed after the model and output lookups (by the spec's
        # prediction_key or a common key) is not one number: TFMA's reader handles it.
        self._simple = key.sub_key is None and not key.example_weighted
        # The last inputs read and what they held, as one tuple: replaced in one store.
        self._last: tuple[Any, tuple[tuple[float, float, float], ...]] = (None, ())

    def fast(self, element: metric_types.StandardMetricInputs) -> tuple[float, float] | None:
        """(label, prediction) read directly, or None when the layout needs TFMA's reader."""
        if not self._simple:
            return None
        label = _lookup(element.label, self._label_key, required=False)
        prediction = element.prediction
        for name in (self._key.model_name, self._key.output_name):
            if name:
                prediction = _lookup(prediction, name, required=True)
                label = _lookup(label, name, required=False)
        label_value, prediction_value = _scalar(label), _scalar(prediction)
        if label_value is None or prediction_value is None:
            return None
        return label_value, prediction_value

    def __call__(
        self, element: metric_types.StandardMetricInputs
    ) -> tuple[tuple[float, float, float], ...]:
        """(label, prediction, weight) of each example in `element`."""
        # TFMA hands the same inputs object to a combiner once for every slice the example
        # falls in (five times in a census evaluation): read it once. The reference held
        # in `_last` keeps the object alive, so identity cannot match a different one.
        last, last_read = self._last
        if element is last:
            return last_read
        fast = self.fast(element)
        if fast is not None:
            read = ((fast[0], fast[1], 1.0),)
        else:
            read = tuple(scalar_examples(element, self._key, self._eval_config))
        self._last = (element, read)
        return read
