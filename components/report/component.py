"""Report component: spec, artifact type and component class."""

from __future__ import annotations

from typing import Any

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import artifact, channel, component_spec, standard_artifacts

from components.ablation.component import AblationReport
from components.report import executor


class HtmlReport(artifact.Artifact):
    """A directory holding `report.html` and, for an evaluated run, `model_card.json`
    (`executor.REPORT_FILE`, `executor.CARD_FILE`)."""

    # Importable under this name from the top-level `modeling` module, as Kubeflow V2's
    # container entry point requires (see AblationReport).
    TYPE_NAME = "modeling.HtmlReport"


def _input(artifact_type: type[artifact.Artifact], optional: bool = False) -> Any:
    return component_spec.ChannelParameter(type=artifact_type, optional=optional)


class ReportSpec(component_spec.ComponentSpec):
    """Inputs: what the report shows, by the name `executor.SOURCES` maps to a component.
    Output: the report."""

    PARAMETERS = {
        # DatasetSpec.to_config() as JSON: slices, thresholds, fairness settings.
        "dataset": component_spec.ExecutionParameter(type=str),
        "pipeline_name": component_spec.ExecutionParameter(type=str),
        # The MLflow tracking URI the run is logged to (the cloud config's `tracking_uri`);
        # absent: not logged.
        "tracking_uri": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        "examples": _input(standard_artifacts.Examples),
        "test_examples": _input(standard_artifacts.Examples, optional=True),
        "statistics": _input(standard_artifacts.ExampleStatistics),
        "test_statistics": _input(standard_artifacts.ExampleStatistics, optional=True),
        "anomalies": _input(standard_artifacts.ExampleAnomalies),
        "test_anomalies": _input(standard_artifacts.ExampleAnomalies, optional=True),
        "schema": _input(standard_artifacts.Schema),
        "transform_graph": _input(standard_artifacts.TransformGraph),
        "model": _input(standard_artifacts.Model),
        "baseline_model": _input(standard_artifacts.Model, optional=True),
        "evaluation": _input(standard_artifacts.ModelEvaluation),
        "blessing": _input(standard_artifacts.ModelBlessing),
        "ablation": _input(AblationReport, optional=True),
        "pushed_model": _input(standard_artifacts.PushedModel, optional=True),
    }
    OUTPUTS = {"report": component_spec.ChannelParameter(type=HtmlReport)}


class Report(base_component.BaseComponent):
    """Renders the run's HTML report and model card into its `report` artifact, and logs
    the run to MLflow when given a tracking URI."""

    SPEC_CLASS = ReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        dataset: str,
        pipeline_name: str,
        tracking_uri: str | None = None,
        **inputs: channel.BaseChannel,
    ) -> None:
        """Builds the component.

        Args:
            dataset: JSON of `DatasetSpec.to_config()`.
            pipeline_name: The pipeline's name, the report's title.
            tracking_uri: The MLflow tracking URI to log the run to; None: no logging.
            **inputs: The run's artifacts, under the keys of `ReportSpec.INPUTS`.
        """
        spec = ReportSpec(
            dataset=dataset,
            pipeline_name=pipeline_name,
            tracking_uri=tracking_uri,
            report=channel.Channel(type=HtmlReport),
            **inputs,
        )
        super().__init__(spec=spec)
