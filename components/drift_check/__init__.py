"""DriftCheck: stops a run whose training data moved too far from the last validated data."""

from components.drift_check.component import DriftCheck
from components.drift_check.executor import DataDriftError

__all__ = ["DataDriftError", "DriftCheck"]
