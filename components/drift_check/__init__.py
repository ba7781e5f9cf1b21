"""DriftCheck: stops a run whose training data moved too far from the last validated data.

Contract: `DriftCheck(statistics, baseline_statistics, drift=drift_config(spec))` raises
`DataDriftError` above the bounds, else publishes the statistics as `approved_statistics`
marked with the custom property `APPROVED_BY`, which `LatestIfAnyStrategy` (locally) or a
metadata query on that property (Vertex AI) resolves as the next run's reference.
`find_drift` is the comparison itself (the skew check reuses it).
"""

from components.drift_check.component import DriftCheck
from components.drift_check.executor import APPROVED_BY, DataDriftError, drift_config, find_drift
from components.drift_check.resolver import LatestIfAnyStrategy

__all__ = [
    "APPROVED_BY",
    "DataDriftError",
    "DriftCheck",
    "LatestIfAnyStrategy",
    "drift_config",
    "find_drift",
]
