"""The summary a run ends with: aligned, with intervals, saying where the model serves
and where to look next. Built from `RunSummary` values, without a pipeline."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pipeline.project import DEFAULT_DATA
from pipeline.reports.summary import (
    ComponentRun,
    RunSummary,
    display_path,
    format_summary,
    next_steps,
)

LONG = "LastApprovedStatisticsResolver"


def _summary(**changes) -> RunSummary:
    components = [
        ComponentRun("ExampleGen", "ran", 4.04, 1),
        ComponentRun(LONG, "ran", 0.1, 2),
        ComponentRun("Evaluator", "cached", 0.1, 3),
        ComponentRun("Pusher", "ran", 0.2, 4),
    ]
    metrics = {
        "Overall": {"n": 16281, "AUC": 0.91184, "AUC low": 0.9065, "AUC high": 0.917,
                    "accuracy": 0.8579, "accuracy low": 0.8525, "accuracy high": 0.8632},
        "race=Amer-Indian-Eskimo, sex=Female": {"n": 66, "AUC": 0.9471, "accuracy": 0.9242},
        "sex=Male": {"n": 10860, "AUC": 0.8895, "AUC low": 0.881, "AUC high": 0.898,
                     "accuracy": 0.8215, "accuracy low": 0.814, "accuracy high": 0.829},
    }  # fmt: skip
    values = dict(
        run_id="2026-12-03T14:00:30.939888", components=components, blessed=True,
        pushed_to="/srv/serving/1796306642", metrics=metrics, confidence=0.95,
        model_run="/out/census/pipeline_root/Trainer/model_run/14",
    )  # fmt: skip
    return RunSummary(**{**values, **changes})


def test_components_are_aligned_whatever_their_names():
    lines = format_summary(_summary()).splitlines()
    rows = [line for line in lines if line.startswith("  ") and line.endswith(" s")]
    assert [row.split()[0] for row in rows] == ["ExampleGen", LONG, "Evaluator", "Pusher"]
    # Every state starts in one column, every number ends in one column.
    assert len({row.index(" ran") if " ran" in row else row.index(" cached") for row in rows}) == 1
    assert len({len(row) for row in rows}) == 1
    assert lines[0] == (
        "Run 2026-12-03T14:00:30.939888: 4 components (3 ran, 1 cached), 4.4 s in components"
    )


def test_the_table_is_left_out_when_the_console_showed_it():
    text = format_summary(_summary(), components=False)
    assert LONG not in text and text.startswith("Run 2026-12-03T14:00:30.939888: 4 components")


def test_headline_metrics_come_with_their_intervals():
    lines = format_summary(_summary()).splitlines()
    assert "Metrics on the test split (16281 examples, 95% bootstrap intervals):" in lines
    assert "  AUC         0.9118  [0.9065, 0.9170]" in lines
    assert "  accuracy    0.8579  [0.8525, 0.8632]" in lines
    slices = lines[lines.index("Per slice:") + 1 :]
    assert re.match(r"  slice +n +AUC +accuracy$", slices[0])
    cross = next(line for line in slices if line.startswith("  race=Amer-Indian-Eskimo"))
    male = next(line for line in slices if line.startswith("  sex=Male"))
    assert male.endswith("0.8895  [0.8810, 0.8980]    0.8215  [0.8140, 0.8290]")
    # A slice without intervals keeps its values in the same columns.
    assert cross.index("0.9471") == male.index("0.8895")
    assert cross.index("0.9242") == male.index("0.8215")


def test_where_the_model_serves():
    assert "Pushed to: /srv/serving/1796306642" in format_summary(_summary())
    identical = format_summary(_summary(already_serving=True))
    assert (
        "Already serving: /srv/serving/1796306642 (byte-for-byte the latest version: "
        "not pushed again)" in identical
    )
    cached = _summary(already_serving=True)
    cached.components[-1] = ComponentRun("Pusher", "cached", 0.1, 4)
    assert "Already serving: /srv/serving/1796306642 (pushed by an earlier run)" in format_summary(
        cached
    )
    assert "Pushed: nothing" in format_summary(_summary(blessed=False, pushed_to=None))


def test_next_steps_name_the_report_the_commands_and_the_model(tmp_path):
    summary = _summary()
    steps = dict(
        next_steps(
            summary,
            report=tmp_path / "reports" / "run.html",
            log=tmp_path / "logs" / "run.log",
            metadata_path=tmp_path / "census" / "metadata.sqlite",
            spec_path=DEFAULT_DATA / "dataset.yaml",
        )
    )
    assert list(steps) == ["report", "log", "TensorBoard", "notebook", "serving"]
    assert steps["report"] == str(tmp_path / "reports" / "run.html")
    bin_dir = Path(sys.executable).parent
    assert steps["TensorBoard"].endswith(f"tensorboard --logdir {summary.model_run}")
    assert str(bin_dir.name) in steps["TensorBoard"]
    # The notebook served where TFMA's views render, on the latest run; only the options
    # that differ from the defaults (here: the output directory).
    python = Path(display_path(bin_dir)) / "python"
    assert steps["notebook"] == f"{python} -m pipeline notebook --output-dir {tmp_path}"
    assert steps["serving"] == "/srv/serving/1796306642"
    text = format_summary(summary, next_lines=list(steps.items()))
    assert text.splitlines()[-6:-4] == ["Next:", f"  report       {steps['report']}"]


def test_paths_below_the_working_directory_are_shown_relative(tmp_path, monkeypatch):
    from pipeline.reports.summary import display_path

    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "outputs" / "census") == "outputs/census"
    assert display_path("/elsewhere/serving/1") == "/elsewhere/serving/1"
    assert display_path("gs://bucket/serving/1") == "gs://bucket/serving/1"
