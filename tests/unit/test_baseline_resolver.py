"""The Evaluator's baseline: the latest blessed model that is not the candidate.

The strategy's decision on artifacts as ML Metadata hands them to it (ids, the blessing's
`current_model_id` and `blessed`); the e2e tiers run it inside real pipelines.
"""

from __future__ import annotations

from tfx.types import standard_artifacts

from components.baseline_model import PreviousBlessedModelStrategy


def _model(artifact_id: int) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.id = artifact_id
    return model


def _blessing(model_id: int, blessed: bool) -> standard_artifacts.ModelBlessing:
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _baseline(models, blessings, candidate) -> list[int]:
    resolved = PreviousBlessedModelStrategy().resolve_artifacts(
        None,
        {
            "model": [_model(i) for i in models],
            "model_blessing": [_blessing(i, b) for i, b in blessings],
            "candidate": [_model(candidate)],
        },
    )
    assert [a.id for a in resolved["candidate"]] == [candidate]
    assert len(resolved["model_blessing"]) == len(resolved["model"])
    return [a.id for a in resolved["model"]]


def test_a_first_run_has_no_baseline():
    assert _baseline([], [], candidate=1) == []


def test_the_candidate_is_never_its_own_baseline():
    # Run 2 with nothing changed: the cached Trainer's model is the only blessed one.
    assert _baseline([1], [(1, True)], candidate=1) == []
    # Model 2 was blessed against model 1; re-evaluating model 2 compares it with 1 again.
    assert _baseline([1, 2], [(1, True), (2, True)], candidate=2) == [1]


def test_a_new_model_is_compared_with_the_latest_blessed_one():
    assert _baseline([1, 2], [(1, True), (2, True)], candidate=3) == [2]
    # An unblessed model is never a baseline.
    assert _baseline([1, 2], [(1, True), (2, False)], candidate=3) == [1]
    # A model trained again from older data (the Trainer's cache): the newest other one.
    assert _baseline([1, 2, 3], [(1, True), (2, True), (3, True)], candidate=1) == [3]
