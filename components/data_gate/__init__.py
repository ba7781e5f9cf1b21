"""DataGate: stops the pipeline before Transform when the data has anomalies."""

from components.data_gate.component import DataGate
from components.data_gate.executor import DataValidationError

__all__ = ["DataGate", "DataValidationError"]
