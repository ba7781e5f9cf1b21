"""The pipeline's module file: `preprocessing_fn` (Transform) and `run_fn` (Trainer).

TFX's entry points, and nothing else: the preprocessing, the Keras model, its training
data and its signatures live in `pipeline/model/`. Nothing here or there names a column:
both functions read the data set spec from the component's `custom_config["dataset"]`
(see `pipeline.spec`), so switching data sets only switches the spec.

To change the model, edit `pipeline/model/` (its code is part of the cache key of
Transform and the Trainer, as this file is), or point the pipeline at a module file of
your own with the same two functions.
"""

from __future__ import annotations

from typing import Any

from pipeline.model.preprocessing import preprocess
from pipeline.model.training import train_and_export
from pipeline.spec import DatasetSpec


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, Any]:
    """TFT preprocessing: z-scores, vocabularies, buckets, crosses and the label.

    Args:
        inputs: Raw features keyed by CSV column.
        custom_config: `{"dataset": DatasetSpec.to_config()}`, set by the pipeline.

    Returns:
        Transformed features, each of shape [batch, 1].
    """
    return preprocess(inputs, DatasetSpec.from_config(custom_config["dataset"]))


def run_fn(fn_args: Any) -> None:
    """Trains the wide-and-deep model and its linear baseline, and exports them.

    Args:
        fn_args: TFX's `FnArgs`; `custom_config["dataset"]` holds the spec.
    """
    train_and_export(fn_args)
