"""Ablation component: spec, artifact type and component class.

For each feature group of the spec's `ablation` section, trains a short model with that
group's inputs held constant, and reports the change in AUC and accuracy (RMSE and R2 for
regression) on the eval split against a model trained the same way on every feature, with
a paired bootstrap interval. The models train side by side in one Keras model.
It reads what Transform wrote (so only data that passed the DataGate), gates nothing, and
its `report` (`ablation.json`) feeds the reports.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import artifact, channel, component_spec, standard_artifacts

from components.ablation import executor


class AblationReport(artifact.Artifact):
    """A directory holding `ablation.json` (see `executor.RESULT_FILE`)."""

    # Kubeflow V2 needs `<namespace>.<Title>` for a custom artifact type, and its container
    # entry point imports the class from that path: the top-level `modeling` module
    # re-exports it (tfx/orchestration/kubeflow/v2/container/kubeflow_v2_entrypoint_utils.py:252,
    # `_retrieve_class_path`).
    TYPE_NAME = "modeling.AblationReport"


class AblationSpec(component_spec.ComponentSpec):
    """Inputs: Transform's examples and graph. Output: the ablation report."""

    PARAMETERS = {
        # DatasetSpec.for_trainer().to_config() as JSON: the model's settings.
        "dataset": component_spec.ExecutionParameter(type=str),
        # {"groups": {name: [columns]}, "train_steps": n, "replicates": n, "seed": n}
        "ablation": component_spec.ExecutionParameter(type=str),
        # JSON: the Vertex AI custom training job (VertexAblation only).
        "custom_config": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "examples": component_spec.ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": component_spec.ChannelParameter(type=standard_artifacts.TransformGraph),
    }
    OUTPUTS = {"report": component_spec.ChannelParameter(type=AblationReport)}


class Ablation(base_component.BaseComponent):
    """Retrains without each feature group and reports the metric changes."""

    SPEC_CLASS = AblationSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        examples: channel.BaseChannel,
        transform_graph: channel.BaseChannel,
        dataset: str,
        ablation: str,
        custom_config: str | None = None,
    ) -> None:
        """Builds the component.

        Args:
            examples: Transform's `transformed_examples` (train and eval splits).
            transform_graph: Transform's `transform_graph`.
            dataset: JSON of `DatasetSpec.for_trainer().to_config()`.
            ablation: JSON of the groups, steps, replicates and seed.
            custom_config: JSON of the Vertex AI training job (`VertexAblation`).
        """
        spec = AblationSpec(
            examples=examples,
            transform_graph=transform_graph,
            dataset=dataset,
            ablation=ablation,
            custom_config=custom_config,
            report=channel.Channel(type=AblationReport),
        )
        super().__init__(spec=spec)


class VertexAblation(Ablation):
    """The Ablation run as a Vertex AI custom training job on a chosen machine.

    `custom_config` holds the job: TFX's `google_cloud_ai_platform` Trainer keys
    (`ai_platform_training_args`, `ai_platform_enable_vertex`, `ai_platform_vertex_region`).
    """

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.VertexTrainingExecutor)
