"""CsvExampleGen with the Arrow executor: TFX's component, spec and driver unchanged."""

from __future__ import annotations

from tfx.components import CsvExampleGen
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.arrow_csv_example_gen.executor import Executor


class ArrowCsvExampleGen(CsvExampleGen):
    """TFX's CsvExampleGen (same parameters, outputs and caching); Arrow parses the CSV."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(
        self,
        input_base: str | None = None,
        input_config: example_gen_pb2.Input | None = None,
        output_config: example_gen_pb2.Output | None = None,
        custom_config: example_gen_pb2.CustomConfig | None = None,
    ) -> None:
        """CsvExampleGen's parameters, and the `custom_config` of its spec, which
        CsvExampleGen does not pass on: the executor's `CsvOptions` (and so, in the cache
        key, how the files are read)."""
        FileBasedExampleGen.__init__(
            self,
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            custom_config=custom_config,
        )
