"""Ablation executor: one short model per feature group, and a reference model.

Every model is `pipeline.model.keras_model.build_model` (the Trainer's architecture), trained for the same
`train_steps` on the same batches; an ablated model sees the group's inputs (values,
buckets and every cross that includes a column of the group) replaced by zeros, so it
learns without them. All are scored on the whole eval split, and the change in what the
catalogue compares models on (AUC and accuracy; top-1 accuracy and macro F1 for a
multi-class task; RMSE and R-squared for a regression task) against the reference comes
with a paired bootstrap interval.

The models train side by side in one Keras model: each is an independent sub-model with
its own loss, and the total loss is their sum, so each one's gradients (and Adam's
per-weight state) are exactly those of training it alone on those batches. One input
pipeline and one traced training step serve them all. Measured on the census data (four
groups, 200 steps): 38 s, against 42 s one model after the other once TensorFlow is warm
(76 s cold); the time is the models' own steps.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from pipeline.metrics import catalogue

RESULT_FILE = "ablation.json"


def headline_metrics(task: str) -> tuple[str, ...]:
    """The metrics an ablation reports for a data set spec's `task`, the first one logged:
    what the catalogue compares models on (`catalogue.COMPARED`)."""
    return tuple(m.tfma_name for m in catalogue.COMPARED[task])


def ablation_config(
    groups: dict[str, tuple[str, ...]], train_steps: int, replicates: int, seed: int = 42
) -> str:
    """The component's `ablation` parameter."""
    return json.dumps(
        {
            "groups": {name: list(columns) for name, columns in groups.items()},
            "train_steps": train_steps,
            "replicates": replicates,
            "seed": seed,
        }
    )


def _files(examples: Any, split: str) -> str:
    uri = artifact_utils.get_split_uri([examples], split)
    return os.path.join(uri, "*")


def side_by_side(members: list[Any], removed: list[set[str]]) -> Any:
    """One Keras model running every member on the same inputs, member i with the inputs
    in `removed[i]` replaced by zeros; one output and one loss (the member's) per member."""
    import tensorflow as tf
    import tf_keras as keras

    first = members[0]
    inputs = {
        name: keras.Input(shape=tensor.shape[1:], name=name, dtype=tensor.dtype)
        for name, tensor in first.input.items()
    }
    outputs = []
    for i, (member, dropped) in enumerate(zip(members, removed, strict=True)):
        fed = {
            name: keras.layers.Lambda(tf.zeros_like, name=f"without_{i}_{name}")(tensor)
            if name in dropped
            else tensor
            for name, tensor in inputs.items()
        }
        outputs.append(keras.layers.Activation("linear", name=f"variant_{i}")(member(fed)))
    model = keras.Model(inputs=inputs, outputs=outputs, name="ablation")
    model.compile(optimizer=first.optimizer.__class__.from_config(first.optimizer.get_config()),
                  loss=[member.loss for member in members])  # fmt: skip
    return model


def _scores(model: Any, dataset: Any) -> tuple[list[Any], Any]:
    """Each output's predictions (one row per example: a multi-class model's holds its
    class probabilities), and the labels, over one pass of `dataset`."""
    import numpy as np
    import tensorflow as tf

    # One traced call for every batch: eager calls of the side-by-side model cost ~0.1 s
    # a batch (3.3 s of the census ablation under cProfile).
    predict = tf.function(
        lambda features: model(features, training=False),
        input_signature=[dataset.element_spec[0]],
    )
    scores: list[list[Any]] = [[] for _ in model.outputs]
    labels = []
    for features, label in dataset:
        for i, output in enumerate(predict(features)):
            output = np.asarray(output)
            scores[i].append(output.reshape(len(output), -1))
        labels.append(np.asarray(label).reshape(-1))
    # One column (a binary or regression model's score) is a vector, as the metrics take it.
    columns = [np.concatenate(s) for s in scores]
    columns = [c[:, 0] if c.shape[1] == 1 else c for c in columns]
    return columns, np.concatenate(labels).astype(np.float64)


def run_ablation(
    spec: Any, examples: Any, transform_uri: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Trains the reference and every ablated model; returns the report (see module doc)."""
    import tensorflow as tf
    import tensorflow_transform as tft
    import tf_keras as keras
    from tfx_bsl.public import tfxio

    from pipeline.metrics.intervals import paired_differences_against
    from pipeline.model.data import label_stats, repeated_batches
    from pipeline.model.keras_model import build_for_fit, build_model, features_from, input_sizes

    tf_transform_output = tft.TFTransformOutput(transform_uri)
    schema = tf_transform_output.transformed_metadata.schema
    batch_size = spec.training.batch_size

    def dataset(split: str, epochs: int | None) -> tf.data.Dataset:
        options = tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=spec.label.column,
            num_epochs=epochs,
            shuffle=split == "train",
            shuffle_seed=config["seed"],
        )
        record = tfxio.TFExampleRecord(file_pattern=_files(examples, split), schema=schema)
        return record.TensorFlowDataset(options)

    # As the Trainer reads it: parsed once and kept in memory when it is small.
    training = repeated_batches(
        [_files(examples, "train")], lambda epochs: dataset("train", epochs), config["seed"]
    )
    sizes = input_sizes(spec, tf_transform_output)
    stats = label_stats(training)
    evaluation = dataset("eval", 1)
    metrics = headline_metrics(spec.task)

    started = time.monotonic()
    names = list(config["groups"])
    removed = [set()] + [features_from(spec, tuple(config["groups"][name])) for name in names]
    keras.utils.set_random_seed(config["seed"])
    members = [build_model(spec, sizes, stats) for _ in removed]
    model = side_by_side(members, removed)
    count = len(members)
    train = training.map(lambda features, label: (features, (label,) * count))
    build_for_fit(model, train)
    model.fit(
        train,
        steps_per_epoch=config["train_steps"],
        epochs=1,
        verbose=0,
    )
    (reference, *ablated), labels = _scores(model, evaluation)
    # The same bootstrap draws for every group: the reference is scored once per draw.
    all_changes = paired_differences_against(
        reference, ablated, labels, metrics, replicates=config["replicates"],
        seed=config["seed"], regression=spec.is_regression, multiclass=spec.is_multiclass,
    )  # fmt: skip
    groups = []
    for i, (name, changes) in enumerate(zip(names, all_changes, strict=True), start=1):
        columns = config["groups"][name]
        groups.append({"name": name, "columns": list(columns), "inputs": sorted(removed[i]),
                       "metrics": changes})  # fmt: skip
        first = changes[metrics[0]]
        logging.info(
            "ablation %d/%d: without %s (%s): %s %.4f, change %+.4f [%+.4f, %+.4f]",
            i, len(config["groups"]), name, ", ".join(columns), metrics[0], first["b"],
            first["change"], first["low"], first["high"],
        )  # fmt: skip
    reference_metrics = {m: groups[0]["metrics"][m]["a"] for m in metrics} if groups else {}
    return {
        "train_steps": config["train_steps"],
        "replicates": config["replicates"],
        "eval_examples": int(labels.size),
        "reference": reference_metrics,
        "groups": groups,
        "seconds": round(time.monotonic() - started, 1),
    }


class Executor(base_executor.BaseExecutor):
    """Writes `ablation.json` into the `report` artifact."""

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        from pipeline.spec import DatasetSpec

        spec = DatasetSpec.from_config(json.loads(exec_properties["dataset"]))
        config = json.loads(exec_properties["ablation"])
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        transform_graph = artifact_utils.get_single_instance(input_dict["transform_graph"])
        report = run_ablation(spec, examples, transform_graph.uri, config)
        out = artifact_utils.get_single_instance(output_dict["report"])
        # fileio, not open(): on Vertex AI the URI is gs://, where open() would write
        # into the container's own disk and the report would be lost with it.
        fileio.makedirs(out.uri)
        with fileio.open(os.path.join(out.uri, RESULT_FILE), "w") as f:
            f.write(json.dumps(report, indent=2))


class VertexTrainingExecutor(base_executor.BaseExecutor):
    """Runs `Executor` as a Vertex AI custom training job, on the configured machine.

    The job runs this image's `tfx.scripts.run_executor` with the same inputs, outputs
    and properties (TFX's `google_cloud_ai_platform` Trainer does the same for the
    Trainer); `exec_properties["custom_config"]` holds the job (`ai_platform_training_args`,
    `ai_platform_enable_vertex`, `ai_platform_vertex_region`).
    """

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        from tfx.extensions.google_cloud_ai_platform import runner
        from tfx.extensions.google_cloud_ai_platform.constants import (
            ENABLE_VERTEX_KEY,
            VERTEX_REGION_KEY,
        )
        from tfx.extensions.google_cloud_ai_platform.trainer.executor import TRAINING_ARGS_KEY
        from tfx.utils import name_utils

        custom_config = json.loads(exec_properties.get("custom_config") or "{}")
        if TRAINING_ARGS_KEY not in custom_config:
            raise ValueError(f"custom_config has no '{TRAINING_ARGS_KEY}': no job to start")
        runner.start_cloud_training(
            input_dict,
            output_dict,
            exec_properties,
            name_utils.get_full_name(Executor),
            dict(custom_config[TRAINING_ARGS_KEY]),
            job_id=None,
            enable_vertex=custom_config.get(ENABLE_VERTEX_KEY, True),
            vertex_region=custom_config.get(VERTEX_REGION_KEY),
        )
