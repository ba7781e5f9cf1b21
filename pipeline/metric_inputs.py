"""What every custom TFMA metric of the project needs: its key, and its inputs as floats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
