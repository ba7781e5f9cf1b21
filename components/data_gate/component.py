"""DataGate component: spec and component class.

ExampleValidator only records anomalies; it never stops a run. DataGate reads them and
either fails with every anomaly in plain words, or passes the schema on. Transform and
Trainer take their schema from DataGate's output, so they cannot run on data that failed
validation.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from components.data_gate import executor


class DataGateSpec(component_spec.ComponentSpec):
    """Inputs: the schema, the anomalies of the training data and optionally of the
    evaluation data. Output: the same schema, published only when there is no anomaly."""

    PARAMETERS = {
        # JSON of `DatasetSpec.to_config()`: the columns' declared roles are checked too.
        "dataset": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        "schema": component_spec.ChannelParameter(type=standard_artifacts.Schema),
        "anomalies": component_spec.ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        "evaluation_anomalies": component_spec.ChannelParameter(
            type=standard_artifacts.ExampleAnomalies, optional=True
        ),
    }
    OUTPUTS = {
        "validated_schema": component_spec.ChannelParameter(type=standard_artifacts.Schema),
    }


class DataGate(base_component.BaseComponent):
    """Fails the run, naming each anomaly, unless the validated data is clean."""

    SPEC_CLASS = DataGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        schema: channel.BaseChannel,
        anomalies: channel.BaseChannel,
        dataset: str,
        evaluation_anomalies: channel.BaseChannel | None = None,
    ) -> None:
        """Builds the gate.

        Args:
            schema: The schema the data was validated against.
            anomalies: ExampleValidator output for the training data.
            dataset: JSON of the data set spec (`DatasetSpec.to_config()`).
            evaluation_anomalies: ExampleValidator output for a separate evaluation file.
        """
        spec = DataGateSpec(
            schema=schema,
            anomalies=anomalies,
            evaluation_anomalies=evaluation_anomalies,
            dataset=dataset,
            validated_schema=channel.Channel(type=standard_artifacts.Schema),
        )
        super().__init__(spec=spec)
