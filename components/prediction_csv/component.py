"""PredictionCsv component: spec, artifact type and component class.

BulkInferrer writes its predictions as PredictionLog protos (its `inference_result`),
which only TensorFlow reads. This component turns them into `predictions.csv`: the
columns of the scored file, then the columns `python -m pipeline predict` adds
(`pipeline.serving.output_columns`). It is a component, not a step after the
run, so that a scheduled run on Vertex AI writes the CSV too, with ML Metadata lineage
(which model scored which file), and is cached with its inputs.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import artifact, channel, component_spec, standard_artifacts

from components.prediction_csv import executor


class Predictions(artifact.Artifact):
    """A directory holding `predictions.csv` (see `executor.PREDICTIONS_FILE`)."""

    # Kubeflow V2 needs `<namespace>.<Title>` for a custom artifact type.
    TYPE_NAME = "modeling.Predictions"


class PredictionCsvSpec(component_spec.ComponentSpec):
    """Inputs: BulkInferrer's result and the blessing it went by. Output: the CSV."""

    PARAMETERS = {
        # DatasetSpec.for_transform().to_config() as JSON: the task and the label's classes.
        "dataset": component_spec.ExecutionParameter(type=str),
        # The scored file (a file or glob pattern): its header orders the columns.
        "score_file": component_spec.ExecutionParameter(type=str),
        "threshold": component_spec.ExecutionParameter(type=float),
    }
    INPUTS = {
        "inference_result": component_spec.ChannelParameter(
            type=standard_artifacts.InferenceResult
        ),
        "model_blessing": component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
    }
    OUTPUTS = {"predictions": component_spec.ChannelParameter(type=Predictions)}


class PredictionCsv(base_component.BaseComponent):
    """Writes BulkInferrer's predictions as a CSV file (none for an unblessed model)."""

    SPEC_CLASS = PredictionCsvSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        inference_result: channel.BaseChannel,
        model_blessing: channel.BaseChannel,
        dataset: str,
        score_file: str,
        threshold: float,
    ) -> None:
        """Builds the component.

        Args:
            inference_result: BulkInferrer's `inference_result`.
            model_blessing: The Evaluator's blessing, which BulkInferrer went by.
            dataset: JSON of `DatasetSpec.for_transform().to_config()`.
            score_file: Path (or glob pattern) of the file BulkInferrer scored.
            threshold: The decision threshold of `predicted_class`.
        """
        spec = PredictionCsvSpec(
            inference_result=inference_result,
            model_blessing=model_blessing,
            dataset=dataset,
            score_file=score_file,
            threshold=threshold,
            predictions=channel.Channel(type=Predictions),
        )
        super().__init__(spec=spec)
