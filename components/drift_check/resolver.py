"""The resolver strategy that finds the DriftCheck's reference: the latest, if any."""

from __future__ import annotations

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.orchestration import metadata


class LatestIfAnyStrategy(LatestArtifactStrategy):
    """`LatestArtifactStrategy` that resolves to nothing, instead of failing, when there is
    no artifact yet: a pipeline's first run has no approved statistics, and that is normal
    (TFX's strategy would mark the resolver failed and log an error on every first run)."""

    def resolve_artifacts(
        self, store: metadata.Metadata, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]]:
        return self._resolve(input_dict)
