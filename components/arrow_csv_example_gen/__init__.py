"""TFX's CsvExampleGen with Arrow parsing: the same examples and splits, without Python per row."""

from components.arrow_csv_example_gen.component import ArrowCsvExampleGen
from components.arrow_csv_example_gen.executor import CsvOptions, Executor

__all__ = ["ArrowCsvExampleGen", "CsvOptions", "Executor"]
