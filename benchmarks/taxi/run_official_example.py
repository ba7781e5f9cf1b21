"""Runs the official TFX example `taxi_pipeline_native_keras` with chosen paths and steps.

The example (shipped in the tfx wheel, `tfx/examples/chicago_taxi_pipeline/`) keeps its
paths in module globals under $HOME and hard-codes the Trainer's steps (1000 train, 150
eval in TFX 1.16). This driver imports it, builds its pipeline with its own
`_create_pipeline` on the paths given here, then changes only:

- the Trainer's `train_args` (and `eval_args` when `--eval-steps` is given);
- the Evaluator's eval config: `AUC` is added beside the example's `BinaryAccuracy`, so
  that its AUC can be read from the Evaluator output like ours;
- the orchestrator: `LocalDagRunner` (the one our pipeline uses), not `BeamDagRunner`.

Everything else (components, module file, eval steps, Beam arguments: multi-processing
with one worker per CPU) is the example's own. It is run as its own process by
`benchmarks/taxi_comparison.py`:

    python benchmarks/taxi/run_official_example.py --data-root DIR --module-file FILE \
        --pipeline-root DIR --metadata-path FILE --serving-model-dir DIR --train-steps 1000
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

# Before TensorFlow is imported: the example's `tf.keras` must be Keras 2 (TFX 1.16).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def set_training_steps(pipeline: Any, train_steps: int, eval_steps: int | None) -> None:
    """Replaces the step counts the example hard-codes in its Trainer.

    Args:
        pipeline: The example's `tfx.orchestration.pipeline.Pipeline`.
        train_steps: `TrainArgs.num_steps`.
        eval_steps: `EvalArgs.num_steps`; None keeps the example's.
    """
    from tfx.proto import trainer_pb2
    from tfx.utils import proto_utils

    trainer = next(c for c in pipeline.components if c.id == "Trainer")
    properties = trainer.exec_properties  # the component's own dict: JSON-encoded protos
    properties["train_args"] = proto_utils.proto_to_json(
        trainer_pb2.TrainArgs(num_steps=train_steps)
    )
    if eval_steps is not None:
        properties["eval_args"] = proto_utils.proto_to_json(
            trainer_pb2.EvalArgs(num_steps=eval_steps)
        )


def add_auc(pipeline: Any) -> None:
    """Adds TFMA's `AUC` to the first metrics spec of the example's Evaluator."""
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format
    from tfx.utils import proto_utils

    evaluator = next(c for c in pipeline.components if c.id == "Evaluator")
    config = json_format.Parse(evaluator.exec_properties["eval_config"], tfma.EvalConfig())
    config.metrics_specs[0].metrics.append(tfma.MetricConfig(class_name="AUC"))
    evaluator.exec_properties["eval_config"] = proto_utils.proto_to_json(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True, help="folder of the CSV only")
    parser.add_argument("--module-file", type=Path, required=True,
                        help="a copy of taxi_utils_native_keras.py, alone in its folder")  # fmt: skip
    parser.add_argument("--pipeline-root", type=Path, required=True)
    parser.add_argument("--metadata-path", type=Path, required=True, help="SQLite ML Metadata")
    parser.add_argument("--serving-model-dir", type=Path, required=True)
    parser.add_argument("--train-steps", type=int, required=True)
    parser.add_argument("--eval-steps", type=int, help="default: the example's own")
    parser.add_argument("--in-memory", action="store_true",
                        help="in-memory DirectRunner instead of the example's multi-processing")  # fmt: skip
    args = parser.parse_args()

    from absl import logging as absl_logging
    from tfx.examples.chicago_taxi_pipeline import taxi_pipeline_native_keras as example
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    absl_logging.set_verbosity(absl_logging.INFO)  # as the example's own __main__
    beam_args = [] if args.in_memory else list(example._beam_pipeline_args)
    pipeline = example._create_pipeline(
        pipeline_name=example._pipeline_name,
        pipeline_root=str(args.pipeline_root),
        data_root=str(args.data_root),
        module_file=str(args.module_file),
        serving_model_dir=str(args.serving_model_dir),
        metadata_path=str(args.metadata_path),
        beam_pipeline_args=beam_args,
    )
    set_training_steps(pipeline, args.train_steps, args.eval_steps)
    add_auc(pipeline)
    print(f"{example._pipeline_name}: {args.train_steps} train steps, Beam args {beam_args}")
    LocalDagRunner().run(pipeline)


if __name__ == "__main__":
    main()
