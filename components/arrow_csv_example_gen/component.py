"""CsvExampleGen with the Arrow executor: TFX's component, spec and driver unchanged."""

from __future__ import annotations

from tfx.components import CsvExampleGen
from tfx.dsl.components.base import executor_spec

from components.arrow_csv_example_gen.executor import Executor


class ArrowCsvExampleGen(CsvExampleGen):
    """TFX's CsvExampleGen (same parameters, outputs and caching); Arrow parses the CSV."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
