"""COMPAS runs end to end from its bundled spec alone: no code names a census column.

Its shape differs from census: one CSV (ExampleGen makes the test split, so there are
no Test* components), an integer 0/1 label, leaky columns marked ignored.
"""

from __future__ import annotations

from pipeline import local_runner
from pipeline.dataset_spec import load_spec
from pipeline.run_summary import summarize_run
from tests.conftest import DATA


def test_compas_pipeline_runs_from_its_spec(tmp_path):
    spec = load_spec(DATA / "compas", {"train_steps": 100, "steps_per_evaluation": 50})
    local_runner.run(spec, tmp_path)
    paths = local_runner.paths_for(spec, tmp_path)
    summary = summarize_run(paths.metadata_path, local_runner.pipeline_name(spec), spec=spec)

    assert {c.state for c in summary.components} == {"ran"}
    assert not any(c.node_id.startswith("Test") for c in summary.components)
    # About a tenth of the 6,172 rows land in the hash-split test split.
    assert 450 < summary.metrics["Overall"]["n"] < 800
    assert {"race=African-American", "race=Caucasian", "sex=Female"} <= set(summary.metrics)
    assert any(name.startswith("race=") and ", sex=" in name for name in summary.metrics)
    # The spec's floor is AUC 0.65; the model clears it and is pushed.
    assert summary.blessed is True and summary.pushed_to
    assert summary.metrics["Overall"]["AUC"] >= 0.65
