"""DriftCheck component: spec and component class.

Compares the training split's statistics with those of the last data that passed this
check (a Resolver finds them: the newest `approved_statistics` of this component). Above
a bound of the spec's `drift` section the run stops; otherwise the statistics become the
new approved ones. A first run has nothing to compare with and passes.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from components.drift_check import executor


class DriftCheckSpec(component_spec.ComponentSpec):
    """Inputs: this run's statistics and, optionally, the last approved ones.
    Output: this run's statistics, published only when within the bounds."""

    PARAMETERS = {
        # JSON: {"categorical": [...], "numeric": [...], "categorical_max_linf": x|null,
        #        "numeric_max_js": y|null}
        "drift": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        "statistics": component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "baseline_statistics": component_spec.ChannelParameter(
            type=standard_artifacts.ExampleStatistics, optional=True
        ),
    }
    OUTPUTS = {
        "approved_statistics": component_spec.ChannelParameter(
            type=standard_artifacts.ExampleStatistics
        ),
    }


class DriftCheck(base_component.BaseComponent):
    """Fails the run, naming each drifted column and its distance, above the bounds."""

    SPEC_CLASS = DriftCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        statistics: channel.BaseChannel,
        drift: str,
        baseline_statistics: channel.BaseChannel | None = None,
    ) -> None:
        """Builds the check.

        Args:
            statistics: StatisticsGen output of this run (its `train` split is compared).
            drift: JSON of the columns and bounds (`executor.drift_config`).
            baseline_statistics: The last approved statistics; none on a first run.
        """
        spec = DriftCheckSpec(
            statistics=statistics,
            baseline_statistics=baseline_statistics,
            drift=drift,
            approved_statistics=channel.Channel(type=standard_artifacts.ExampleStatistics),
        )
        super().__init__(spec=spec)
