"""A resolver strategy that never gives the Evaluator its own candidate as the baseline.

TFX's `LatestBlessedModelStrategy` resolves the latest blessed model, whatever the
candidate is. After a run that blessed a model, the next run with nothing changed gets a
cached Trainer whose model *is* that latest blessed model: the Evaluator's inputs differ
(a baseline appeared), so it re-runs to compare the model with itself, and the Pusher pushes
the same model again as a new version. Excluding the candidate, the baseline of an
unchanged re-run is the one the model was first judged against, every input of the
Evaluator and the Pusher is the same, and TFX's cache reuses both.
"""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)

CANDIDATE_KEY = "candidate"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"


class PreviousBlessedModelStrategy(LatestBlessedModelStrategy):
    """`LatestBlessedModelStrategy` over every model but the candidate's.

    Its inputs are TFX's two (`model`, `model_blessing`: every model and blessing of the
    pipeline) plus `candidate`, the Trainer's model of this run. Kubeflow V2's compiler
    knows TFX's own strategies only; the pipeline uses TFX's there.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]]:
        candidate = {a.id for a in input_dict.get(CANDIDATE_KEY, [])}
        models = [m for m in input_dict.get(MODEL_KEY, []) if m.id not in candidate]
        blessings = list(input_dict.get(BLESSING_KEY, []))
        result = {MODEL_KEY: [], BLESSING_KEY: []}
        if models and blessings:
            result = self._resolve(
                {MODEL_KEY: models, BLESSING_KEY: blessings}, MODEL_KEY, BLESSING_KEY
            )
        return {**result, CANDIDATE_KEY: list(input_dict.get(CANDIDATE_KEY, []))}
