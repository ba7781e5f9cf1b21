"""Reports people read: the ML Metadata API, the static HTML report in a real browser, the
model card of each pushed model, and the notebooks on a real Jupyter kernel, all on the
census workspace's real runs."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline import cli
from pipeline.metrics.intervals import interval_name
from pipeline.model.outputs import PREDICTION_KEY
from pipeline.project import ROOT
from pipeline.reports.artifacts import find_run
from pipeline.reports.evaluation_tables import gain_table, metrics_frame, slice_label, slice_table
from pipeline.reports.html import report_path
from pipeline.reports.model_card import model_card_path
from tests.e2e.browser import open_page
from tests.e2e.conftest import (
    ANOMALY,
    BASELINE,
    BIASED,
    CACHED,
    FIRST,
    MODULE_EDIT,
    NOT_BLESSED,
    SCORED,
    SLICES,
)
from tests.e2e.devtools import Browser
from tests.e2e.notebook import execute_notebook
from tests.unit.test_model_card import schema_errors


def _run(workspace, index: int):
    return find_run(
        workspace.paths.metadata_path, workspace.pipeline_name, workspace.summaries[index].run_id
    )


def _report(workspace, index: int) -> Path:
    return report_path(workspace.paths.reports_dir, workspace.summaries[index].run_id)


# --- The metadata API --------------------------------------------------------------------


def test_api_finds_a_first_blessed_run_without_baseline(workspace):
    run = _run(workspace, FIRST)
    assert run.blessed is True and run.baseline_model is None
    assert run.pushed_to == workspace.summaries[FIRST].pushed_to
    for artifact in (run.evaluation, run.model, run.schema, run.statistics, run.anomalies,
                     run.test_statistics, run.test_anomalies, run.examples, run.test_examples):  # fmt: skip
        assert artifact is not None and Path(artifact.uri).exists()
    assert run.evaluation.type == "ModelEvaluation" and run.model.type == "Model"
    assert run.test_examples.id != run.examples.id  # the Evaluator scores the test file


def test_api_finds_the_baseline_the_evaluator_compared_against(workspace):
    first, second = _run(workspace, FIRST), _run(workspace, BASELINE)
    assert second.baseline_model is not None
    assert second.baseline_model.id == first.model.id
    assert second.evaluation.id != first.evaluation.id
    assert second.model.id != first.model.id  # trained again, with more steps


def test_api_on_a_fully_cached_run_finds_the_reused_artifacts(workspace):
    cached, second = _run(workspace, CACHED), _run(workspace, BASELINE)
    assert cached.execution("Evaluator").state == "cached"
    assert cached.evaluation.uri == second.evaluation.uri
    assert cached.blessed is True
    assert cached.execution("Pusher").state == "cached"


def test_api_on_a_run_that_was_not_blessed(workspace):
    run = _run(workspace, NOT_BLESSED)
    assert run.blessed is False and run.pushed_to is None
    assert run.evaluation is not None and run.execution("Evaluator").state == "ran"


def test_api_on_a_run_stopped_by_the_data_gate(workspace):
    from pipeline.reports.data_tables import anomalies_frame

    run = _run(workspace, ANOMALY)
    assert run.execution("DataGate").state == "failed"
    assert run.evaluation is None and run.blessed is None and run.model is None
    frame = anomalies_frame(run.anomalies.uri, "train")
    assert "workclass" in set(frame["feature"])


def test_unknown_run_id_lists_the_runs(workspace):
    with pytest.raises(LookupError, match="runs: "):
        find_run(workspace.paths.metadata_path, workspace.pipeline_name, "no-such-run")


def _tfma_headline(
    evaluation_uri: str, model_name: str | None, spec=None
) -> dict[str, dict[str, float]]:
    """Per-slice headline numbers read with TFMA's own loader, independently of our code:
    each metric, and its bootstrap bounds under 'ci_lower/<metric>', 'ci_upper/<metric>'."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri, model_name=model_name)
    out = {}
    for slice_key, metrics in result.slicing_metrics:
        # Keyed by output, then sub key: the model's own output, not a baseline's.
        values = metrics[PREDICTION_KEY][""]
        names = ["example_count"]
        for metric in ("auc", "binary_accuracy"):
            names += [metric, interval_name("lower", metric), interval_name("upper", metric)]
        found = {
            name: values[name]["doubleValue"]
            for name in names
            if "doubleValue" in values.get(name, {})
        }
        # A slice whose examples hold one class (TFMA's own mean label 0 or 1): TFMA writes
        # AUC 0, which measures nothing; our tables hold no AUC there.
        if values.get("mean_label", {}).get("doubleValue") in (0.0, 1.0):
            found = {k: v for k, v in found.items() if "auc" not in k}
        out[slice_label(slice_key, spec)] = {"parts": len(slice_key), **found}
    return out


def _cell(text: str) -> tuple[str, str | None, str | None]:
    """(value, low, high) of a report cell 'value [low, high]'; low and high are None for a
    cell without an interval."""
    match = re.fullmatch(r"(\S+)(?: \[(\S+), (\S+)\])?", text)
    assert match, text
    return match.group(1), match.group(2), match.group(3)


def _expected_bounds(values: dict[str, float], metric: str) -> tuple[str | None, str | None]:
    """The (low, high) a report cell must show for TFMA's bounds of `metric`: none when the
    bootstrap gave the slice no interval, '–' for a missing bound."""
    bounds = [values.get(interval_name(bound, metric)) for bound in ("lower", "upper")]
    if all(b is None or math.isnan(b) for b in bounds):
        return None, None
    low, high = ("–" if b is None or math.isnan(b) else f"{b:.4f}" for b in bounds)
    return low, high


def test_metrics_frame_holds_the_numbers_tfma_wrote(workspace):
    run = _run(workspace, BASELINE)
    frame = metrics_frame(run.evaluation.uri)
    expected = _tfma_headline(run.evaluation.uri, "candidate")
    table = slice_table(frame)
    assert set(table.index) == set(expected)
    for name, values in expected.items():
        assert table.loc[name, "n"] == values["example_count"]
        if "auc" in values:
            assert table.loc[name, "AUC"] == pytest.approx(values["auc"], abs=1e-12)
        else:
            assert math.isnan(table.loc[name, "AUC"]), name
    # The bootstrap's bounds sit beside each metric of the candidate (its ci_* rows are
    # folded in); a diff row has none.
    auc = frame[(frame["slice"] == "Overall") & (frame["metric"] == "auc") & ~frame["is_diff"]]
    candidate = auc[auc["model"] == "candidate"]
    assert set(candidate["output"]) == {PREDICTION_KEY, "linear", "majority", "chance"}
    model = candidate[candidate["output"] == PREDICTION_KEY]
    assert len(model) == 1 and (model["lower"] <= model["value"]).all()
    assert (model["value"] <= model["upper"]).all()
    # The baseline model is evaluated on what the comparison and the bounds need: its
    # own output, without intervals, simple baselines, rates or fairness gaps.
    baseline = frame[(frame["model"] == "baseline") & ~frame["is_diff"]]
    assert set(baseline["output"]) == {PREDICTION_KEY}
    assert len(auc[auc["model"] == "baseline"]) == 1 and baseline["lower"].isna().all()
    assert not baseline["metric"].isin(["fall_out", "miss_rate"]).any()
    assert not baseline["metric"].str.startswith("fairness_gap").any()
    assert frame.loc[frame["is_diff"], "lower"].isna().all()
    assert not frame["metric"].str.startswith("ci_").any()
    # Both models and the diff rows are there when a baseline was compared.
    assert {"candidate", "baseline"} <= set(frame["model"]) and frame["is_diff"].any()


# --- The HTML report ---------------------------------------------------------------------


def test_every_run_wrote_its_report(workspace):
    reports = workspace.paths.reports_dir
    for index in range(BIASED + 1):
        assert _report(workspace, index).is_file(), index
    assert (reports / "latest.html").read_bytes() == _report(workspace, BIASED).read_bytes()


@pytest.fixture(scope="module")
def baseline_page(workspace, tmp_path_factory):
    screenshot = tmp_path_factory.mktemp("browser") / "report.png"
    return open_page(_report(workspace, BASELINE), screenshot), screenshot


def test_report_renders_in_chromium_without_console_errors(baseline_page):
    from PIL import Image

    page, screenshot = baseline_page
    assert page.console == []
    image = Image.open(screenshot)
    assert image.size == (1280, 4000)
    low, high = image.convert("L").getextrema()
    assert high - low > 100  # not a blank page
    # Self-contained: nothing is fetched from anywhere (the model card's references are
    # links a reader may follow, nothing the page loads).
    assert not re.search(r"""\b(src|srcset|action|data)\s*=\s*["']?\s*(https?:)?//""", page.dom)
    assert "<script" not in page.dom and "<link" not in page.dom and "@import" not in page.dom
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page.dom)


def test_report_plots_are_real_images(baseline_page):
    from PIL import Image

    page, _ = baseline_page
    # AUC per slice, fairness by sex and by race, ROC, PR, calibration, confusion matrix.
    assert len(page.images) >= 7
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert image.format == "PNG" and min(image.size) > 100


def test_report_slice_table_holds_the_numbers_tfma_wrote(workspace, baseline_page):
    page, _ = baseline_page
    uri = _run(workspace, BASELINE).evaluation.uri
    expected = _tfma_headline(uri, "candidate", workspace.spec)
    header, *rows = page.tables["slice-metrics"]
    # One column per metric: its interval is in the same cell, 'value [low, high]'.
    assert header[:4] == ["slice", "n", "AUC", "accuracy"]
    assert not any(name.endswith((" low", " high")) for name in header)
    shown = {row[0]: row for row in rows}
    assert set(shown) == {name for name, values in expected.items() if values["parts"] <= 1}
    for name, row in shown.items():
        values = expected[name]
        assert row[1] == f"{values['example_count']:.0f}", name
        for text, metric in ((row[2], "auc"), (row[3], "binary_accuracy")):
            value, *bounds = _cell(text)
            assert value == (f"{values[metric]:.4f}" if metric in values else "–"), (name, metric)
            assert tuple(bounds) == _expected_bounds(values, metric), (name, metric)
    # The bootstrap ran: the overall slice's numbers have their intervals.
    assert all(bound is not None for bound in _cell(shown["Overall"][2])[1:])
    assert shown["Overall"][1] == "600" and "age < 25" in shown
    crosses = {row[0] for row in page.tables["cross-metrics"][1:]}
    assert crosses == {name for name, values in expected.items() if values["parts"] == 2}


def test_report_shows_decision_fairness_comparison_and_lineage(workspace, baseline_page):
    page, _ = baseline_page
    assert "BLESSED" in page.dom
    thresholds = page.tables["thresholds"]
    assert thresholds[0][:5] == ["metric", "slice", "value", "lower bound", "bound"]
    assert thresholds[1][0].startswith("auc") and thresholds[1][1:2] == ["Overall"]
    assert thresholds[1][4] == "pass"
    fairness = page.tables["fairness-sex"]
    assert fairness[0][:3] == ["group", "threshold", "n"] and "FPR gap" in fairness[0]
    assert {row[0] for row in fairness[1:]} == {"Female", "Male"}
    assert page.tables["comparison-overall"][0] == ["metric", "candidate", "baseline", "change"]
    # Gain and lift by decile: TFMA's numbers (the custom metrics), with their intervals.
    frame = metrics_frame(_run(workspace, BASELINE).evaluation.uri, workspace.spec)
    gains = gain_table(frame)
    header, *rows = page.tables["gain-lift"]
    assert header == ["top", "gain", "lift"]
    assert [row[0] for row in rows] == list(gains.index)
    for title, column in (("gain", 1), ("lift", 2)):
        assert [_cell(row[column]) for row in rows] == [
            (f"{v:.4f}", f"{low:.4f}", f"{high:.4f}")
            for v, low, high in gains[[title, f"{title} low", f"{title} high"]].itertuples(
                index=False
            )
        ], title
    ablation = page.tables["ablation"]
    assert ablation[0][:4] == ["group", "columns", "AUC with", "AUC without"]
    assert [row[0] for row in ablation[1:]] == ["relationship"]
    baselines = page.tables["baselines-auc"]
    assert baselines[0] == ["slice", "n", "model", "linear", "majority", "chance", "above best"]
    overall = next(row for row in baselines[1:] if row[0] == "Overall")
    assert overall[2] == shown_auc(workspace) and overall[4] == "0.5000"
    gate = page.tables["fairness-gate"]
    assert gate[0] == ["column", "group", "n", "rate", "gap", "bound", "verdict"]
    assert {row[-1] for row in gate[1:]} <= {"passed", "not gated (small)"}
    lineage = {row[0]: row for row in page.tables["lineage"][1:]}
    first = _run(workspace, FIRST)
    assert lineage["baseline model"][3] == first.model.uri
    assert lineage["pushed model"][3] == workspace.summaries[BASELINE].pushed_to


def shown_auc(workspace) -> str:
    """The baseline run's overall AUC as the report prints it."""
    expected = _tfma_headline(_run(workspace, BASELINE).evaluation.uri, "candidate")
    return f"{expected['Overall']['auc']:.4f}"


def test_report_of_an_unblessed_run_names_the_failed_threshold(workspace):
    text = _report(workspace, NOT_BLESSED).read_text()
    assert "NOT blessed, so not pushed" in text
    assert "below the lower bound 0.9999" in text
    assert '<td class="fail">fail</td>' in text


def test_report_of_the_biased_model_shows_the_failed_fairness_gate(workspace):
    text = _report(workspace, BIASED).read_text()
    assert "NOT blessed, so not pushed" in text and "fairness gate" in text
    # The Female FNR row itself (a lazy match from the Female FPR row could run into the next).
    row = re.search(r"<tr><td>sex</td><td>Female</td><td>\d+</td><td>FNR</td>.*?</tr>", text)
    assert row and "FAILED" in row.group(0)


def test_report_of_a_stopped_run_shows_the_anomaly(workspace):
    text = _report(workspace, ANOMALY).read_text()
    assert "No blessing: the run stopped at DataGate" in text
    assert "workclass" in text and "Martian-corp" in text


def test_cli_writes_the_report_of_a_past_run(workspace, tmp_path, capsys):
    out = tmp_path / "first.html"
    args = ["report", "--data", str(workspace.spec_path), "--output-dir",
            str(workspace.output_dir), "--run-id", workspace.summaries[FIRST].run_id,
            "--out", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    text = out.read_text()
    assert "No baseline: this is the first blessed model" in text
    assert workspace.summaries[FIRST].run_id in capsys.readouterr().out


# --- The model card ----------------------------------------------------------------------


def _served_card(pushed_to: str) -> dict:
    return json.loads((Path(pushed_to) / "assets.extra" / "model_card.json").read_text())


def _card_metrics(card: dict) -> dict[tuple[str, str], dict]:
    return {
        (m["slice"], m["type"]): m for m in card["quantitative_analysis"]["performance_metrics"]
    }


def test_the_pushed_model_holds_its_model_card(workspace):
    first = workspace.summaries[FIRST]
    card = _served_card(first.pushed_to)
    assert schema_errors(card) == []  # Model Card Toolkit's schema, no undeclared key
    # The spec's model_card: section, as written.
    text = workspace.spec.model_card
    details = card["model_details"]
    assert (details["name"], details["overview"]) == (text.name, text.overview)
    assert details["owners"] == [{"name": o.name, "contact": o.contact} for o in text.owners]
    assert details["licenses"] == [{"custom_text": x.custom_text} for x in text.licenses]
    assert [r["reference"] for r in details["references"]] == list(text.references)
    assert [c["citation"] for c in details["citations"]] == [c.citation for c in text.citations]
    considerations = card["considerations"]
    assert [u["description"] for u in considerations["use_cases"]] == list(text.use_cases)
    limitations = [x["description"] for x in considerations["limitations"]]
    assert limitations[: len(text.limitations)] == list(text.limitations)
    assert [r["name"] for r in considerations["ethical_considerations"]][:2] == [
        r.name for r in text.ethical_considerations
    ]
    # The blessing, in the summary's words, and where the model went.
    assert details["version"]["name"] == Path(first.pushed_to).name
    assert details["path"] == first.pushed_to
    assert (
        f"Blessing: BLESSED (every threshold passed) and pushed to {first.pushed_to}."
        in details["documentation"].splitlines()
    )
    assert "Threshold auc (AUC) on Overall" in details["documentation"]
    # The data: the splits the run read, with their sizes.
    data = {d["name"].rsplit(": ", 1)[1]: d for d in card["model_parameters"]["data"]}
    assert list(data) == ["train", "eval", "test"]
    assert data["test"]["description"].startswith("test split: 600 examples, test.csv")
    # The same card beside the run's report.
    report_card = Path(model_card_path(workspace.paths.reports_dir, first.run_id))
    assert json.loads(report_card.read_text()) == card


def test_the_card_holds_the_evaluations_metrics_and_intervals_per_slice(workspace):
    run = _run(workspace, FIRST)
    card = _served_card(workspace.summaries[FIRST].pushed_to)
    metrics = _card_metrics(card)
    # Read with TFMA's own loader, independently of the code that wrote the card.
    expected = _tfma_headline(run.evaluation.uri, None, workspace.spec)
    assert {"Overall", "sex=Female", "race=White, sex=Male"} <= set(expected)
    for name, values in expected.items():
        assert float(metrics[(name, "example_count")]["value"]) == values["example_count"]
        for metric in ("auc", "binary_accuracy"):
            # TFMA's loader gives NaN as the text 'NaN'; the card leaves such values out.
            value = float(values.get(metric, math.nan))
            if math.isnan(value):
                assert (name, metric) not in metrics, (name, metric)
                continue
            entry = metrics[(name, metric)]
            assert float(entry["value"]) == value, (name, metric)
            low, high = (
                float(values.get(interval_name(b, metric), math.nan)) for b in ("lower", "upper")
            )
            if math.isnan(low) or math.isnan(high):
                assert "confidence_interval" not in entry, (name, metric)
            else:
                interval = entry["confidence_interval"]
                assert float(interval["lower_bound"]) == low, (name, metric)
                assert float(interval["upper_bound"]) == high, (name, metric)
    assert "confidence_interval" in metrics[("Overall", "auc")]
    # Fairness rates per group and threshold, with intervals, and their gaps.
    female = metrics[("sex=Female", "fall_out@0.5")]
    assert "confidence_interval" in female
    gap = float(metrics[("sex=Female", "fall_out@0.5 gap to Overall")]["value"])
    overall = float(metrics[("Overall", "fall_out@0.5")]["value"])
    assert gap == pytest.approx(float(female["value"]) - overall, abs=1e-12)
    # The simple baselines, slice by slice.
    assert metrics[("Overall", "auc (majority baseline)")]["value"] == "0.5"
    assert ("sex=Male", "auc (linear baseline)") in metrics
    gate = card["considerations"]["ethical_considerations"][-1]
    assert gate["mitigation_strategy"].startswith("Fairness gate passed")


def test_a_run_that_is_not_blessed_writes_no_card_into_the_serving_directory(workspace):
    serving = workspace.paths.serving_dir
    cards = sorted(serving.rglob("model_card.json"))
    versions = workspace.versions_after[BIASED]
    assert versions == workspace.versions_after[CACHED] and len(versions) == 2
    assert cards == [serving / v / "assets.extra" / "model_card.json" for v in versions]
    assert not [p for p in serving.rglob(".*")]  # nothing half-written left
    # Each served card was last written by a run that pushed (or re-used) that version:
    # the first run's, and, after the second run's push, the last run re-using it (the
    # scoring run, whose model and evaluation were cached).
    writers = [_served_card(str(serving / v))["model_details"]["documentation"] for v in versions]
    assert workspace.summaries[FIRST].run_id in writers[0]
    assert workspace.summaries[SCORED].run_id in writers[1]
    for index in (NOT_BLESSED, MODULE_EDIT, SLICES, BIASED):
        assert not any(workspace.summaries[index].run_id in text for text in writers), index
    # The unblessed run's card stays beside its report, saying why.
    rejected = json.loads(
        Path(
            model_card_path(workspace.paths.reports_dir, workspace.summaries[NOT_BLESSED].run_id)
        ).read_text()
    )
    assert schema_errors(rejected) == []
    documentation = rejected["model_details"]["documentation"]
    assert "Blessing: NOT blessed, so not pushed. Failed: auc = " in documentation
    assert "below the lower bound 0.9999" in documentation
    assert rejected["model_details"]["version"]["name"] == "not pushed"
    # A run stopped before the Evaluator has no card.
    stopped = workspace.summaries[ANOMALY].run_id
    assert not Path(model_card_path(workspace.paths.reports_dir, stopped)).exists()


def test_cli_report_writes_a_past_runs_model_card_beside_it_only(workspace, tmp_path, capsys):
    serving = workspace.paths.serving_dir
    before = {p: p.stat().st_mtime_ns for p in serving.rglob("*")}
    run_id = workspace.summaries[BIASED].run_id
    args = ["report", "--data", str(workspace.spec_path), "--output-dir",
            str(workspace.output_dir), "--run-id", run_id, "--out", str(tmp_path / "r.html")]  # fmt: skip
    assert cli.main(args) == 0
    card_file = Path(model_card_path(tmp_path, run_id))
    assert f"Model card of run {run_id}: {card_file}" in capsys.readouterr().out
    card = json.loads(card_file.read_text())
    assert schema_errors(card) == []
    gate = card["considerations"]["ethical_considerations"][-1]["mitigation_strategy"]
    assert gate.startswith("Fairness gate FAILED") and "sex=Female" in gate
    assert "Model card" in (tmp_path / "r.html").read_text()
    assert {p: p.stat().st_mtime_ns for p in serving.rglob("*")} == before


def test_report_shows_the_model_card(workspace, baseline_page):
    page, _ = baseline_page
    pushed = workspace.summaries[BASELINE].pushed_to
    card = json.loads(
        Path(
            model_card_path(workspace.paths.reports_dir, workspace.summaries[BASELINE].run_id)
        ).read_text()
    )
    assert (
        '<section id="model_card">' in page.dom and workspace.spec.model_card.overview in page.dom
    )
    overall = {row[0]: row[1] for row in page.tables["model-card-overall"][1:]}
    auc = _card_metrics(card)[("Overall", "auc")]
    interval = auc["confidence_interval"]
    assert overall["auc"] == (
        f"{float(auc['value']):.4f} [{float(interval['lower_bound']):.4f}, "
        f"{float(interval['upper_bound']):.4f}]"
    )
    assert overall["auc"].startswith(shown_auc(workspace))
    risks = page.tables["model-card-risks"]
    assert [row[0] for row in risks[1:3]] == [
        " ".join(r.name.split()) for r in workspace.spec.model_card.ethical_considerations
    ]
    assert len(page.tables["model-card-metrics"]) - 1 == len(_card_metrics(card))
    assert f"BLESSED (every threshold passed) and pushed to {pushed}" in page.dom
    # The version's diff: the candidate against the model it was compared with.
    diff = card["model_details"]["version"]["diff"]
    assert diff.startswith(
        f"Against the previously blessed model ({_run(workspace, FIRST).model.uri})"
    )
    assert f"AUC {shown_auc(workspace)} against " in diff


# --- The notebooks -----------------------------------------------------------------------


def _execute(notebook: str, workspace) -> tuple[str, set[str]]:
    """Runs a notebook top to bottom on a real kernel; returns its text and output types."""
    env = {"PIPELINE_METADATA": str(workspace.paths.metadata_path),
           "PIPELINE_NAME": workspace.pipeline_name,
           "PIPELINE_SPEC": str(workspace.spec_path),
           "PIPELINE_RUN_ID": workspace.summaries[BASELINE].run_id}  # fmt: skip
    return execute_notebook(notebook, env)


def test_model_analysis_notebook_runs_and_shows_the_slices(workspace):
    text, types = _execute("model_analysis.ipynb", workspace)
    for name in ("Overall", "sex=Female", "sex=Male", "race=White", "race=White, sex=Male",
                 "FPR gap", "candidate", "baseline"):  # fmt: skip
        assert name in text, name
    assert "image/png" in types  # the static plots


def test_data_analysis_notebook_runs_and_shows_the_features(workspace):
    text, types = _execute("data_analysis.ipynb", workspace)
    for name in ("age", "workclass", "hours_per_week"):
        assert name in text, name
    assert "image/png" in types


# --- The notebook in a browser: TFMA's views and the fairness view ------------------------

# What rendered, read from the live page. TFMA's views are Polymer elements whose parts sit
# in nested shadow roots; `deep` finds elements through them.
_NOTEBOOK_PROBE = r"""
(() => {
  const deep = (root, selector, found = []) => {
    const scope = root.shadowRoot || root;
    scope.querySelectorAll(selector).forEach(e => found.push(e));
    scope.querySelectorAll('*').forEach(e => e.shadowRoot && deep(e, selector, found));
    return found;
  };
  const views = (tag) => [...document.querySelectorAll(
      '.output_subarea.jupyter-widgets-view ' + tag)];
  const upgraded = (e) => !!e.shadowRoot && e.constructor !== HTMLElement;
  const slicing = views('tfma-nb-slicing-metrics').map(e => {
    const browser = deep(e, 'tfma-slicing-metrics-browser')[0];
    return {
      upgraded: upgraded(e),
      parts: ['tfma-slicing-metrics-browser', 'tfma-metrics-table'].filter(t => deep(e, t).length),
      slices: browser && browser.data ? browser.data.map(d => d.slice) : [],
      metrics: browser && browser.metrics ? browser.metrics : [],
    };
  });
  const plots = views('tfma-nb-plot').map(e => ({
    upgraded: upgraded(e),
    slice: e.config ? e.config.sliceName : null,
    parts: ['tfma-plot', 'paper-tabs'].filter(t => deep(e, t).length),
    headings: deep(e, 'h4').map(h => h.textContent.trim()),
  }));
  const fairness = [...document.querySelectorAll('.widget-vbox.fairness-view')].map(v => ({
    controls: [...v.querySelectorAll('.widget-dropdown')].map(d => ({
      label: d.querySelector('label').textContent,
      options: [...d.querySelectorAll('option')].map(o => o.textContent),
      value: d.querySelector('select').selectedOptions[0].textContent,
    })),
    images: [...v.querySelectorAll('.widget-image')].map(i => [i.naturalWidth, i.naturalHeight]),
    caption: (v.querySelector('.fairness-table b') || {}).textContent,
    rows: [...v.querySelectorAll('table#fairness-rates tr')].map(
      r => [...r.children].map(c => c.textContent.trim())),
  }));
  return {slicing, plots, fairness, d3Tip: typeof d3 !== 'undefined' && typeof d3.tip === 'function'};
})()
"""
# Console messages that mean a widget failed, not noise.
_WIDGET_FAILURES = ("Mismatched anonymous define", "_deserialize_state", "Error displaying widget",
                    "Could not create a model", "Could not create view", "tfma_amd_shim")  # fmt: skip


@dataclasses.dataclass
class NotebookPage:
    """What the notebook showed in the browser: the CLI's announcement, the first cell's
    output, the probe's readings, the console's errors, what a change of the fairness
    view's rate redrew, and the screenshots."""

    announced: str
    setup_output: str
    dom: dict[str, Any]
    console: list[str]
    redrawn: dict[str, Any]
    screenshots: list[Path]


# Where the browser test keeps its screenshots and the server's log (a CI job collects it).
NOTEBOOK_ARTIFACTS = ROOT / "build" / "test-artifacts" / "model_notebook"


def run_notebook_in_browser(workspace, artifacts: Path, scratch: Path) -> NotebookPage:
    """Serves the model notebook as `make notebook` does (`python -m pipeline notebook`, on
    the latest run, on 127.0.0.1), runs it in headless Chromium and reads what rendered.
    Server, kernel and browser are stopped on return; screenshots and the CLI's output
    stay in `artifacts`."""
    import queue
    import signal
    import subprocess
    import sys
    import threading

    from pipeline.reports import notebook

    jupyter = scratch / "jupyter"  # no user config, kernels or runtime files of this machine
    isolated = {"JUPYTER_CONFIG_DIR": jupyter / "config", "JUPYTER_DATA_DIR": jupyter / "data",
                "JUPYTER_RUNTIME_DIR": jupyter / "runtime", "IPYTHONDIR": jupyter / "ipython"}  # fmt: skip
    command = [sys.executable, "-m", "pipeline", "notebook", "--data", str(workspace.spec_path),
               "--output-dir", str(workspace.output_dir), "--port", str(notebook.free_port())]  # fmt: skip
    cli_process = subprocess.Popen(
        command,
        env={**os.environ, **{k: str(v) for k, v in isolated.items()}},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=os.setsid,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        for line in cli_process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True)
    try:
        url = None
        deadline = time.monotonic() + 180
        while url is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"`pipeline notebook` printed no URL: {output}") from None
            if line.startswith("Open http://127.0.0.1:"):
                url = line.split()[1]
        with Browser(scratch / "profile", height=1600) as page:
            try:
                return _drive_notebook(page, url, shots, "".join(output))
            except (TimeoutError, AssertionError) as e:
                failure = page.screenshot(shots / "failure.png")
                raise AssertionError(
                    f"{e}\nscreenshot: {failure}\ncells: {_cell_states(page)}"
                    f"\nconsole: {page.console[-20:]}"
                ) from e
    finally:
        # As Ctrl-C or a closed terminal would: the CLI stops its server and kernel.
        cli_process.send_signal(signal.SIGTERM)
        try:
            cli_process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(cli_process.pid, signal.SIGKILL)
            cli_process.wait(10)
        (artifacts / "cli-output.txt").write_text("".join(output))


def _cell_states(page: Browser) -> Any:
    """Each code cell's prompt number (None: not run) and its outputs' types, or errors."""
    try:
        return page.evaluate(
            "Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c =>"
            " [c.input_prompt_number, c.output_area.outputs.map(o => o.ename ||"
            " Object.keys(o.data || {}).join('+') || o.output_type)])"
        )
    except Exception as e:  # the page itself is broken: say so instead
        return repr(e)


def _drive_notebook(page: Browser, url: str, shots: Path, announced: str) -> NotebookPage:
    page.open(url)
    page.wait_for(
        "!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded"
        " && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())",
        180, "the notebook to load and its kernel to connect",
    )  # fmt: skip
    page.evaluate("Jupyter.notebook.set_autosave_interval(0)")
    # The first code cell (the imports) alone, then the rest once the kernel is idle: when
    # the kernel connects, ipywidgets' manager restores widget state and re-renders each
    # widget output it finds, and under "Run All" at once that lands while TFMA's views
    # attach, losing some. A person opens the notebook before running it; so does this.
    first = page.evaluate("Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code')")
    page.evaluate(f"Jupyter.notebook.execute_cells([{first}])")
    page.wait_for(
        f"typeof Jupyter.notebook.get_cell({first}).input_prompt_number === 'number'"
        " && !document.querySelector('#kernel_indicator_icon.kernel_busy_icon')",
        300, "the first cell (imports) to run",
    )  # fmt: skip
    time.sleep(2)
    page.evaluate(f"Jupyter.notebook.execute_cell_range({first + 1}, Jupyter.notebook.ncells())")
    errors = (
        "Jupyter.notebook.get_cells().flatMap(c => c.output_area ? c.output_area.outputs : [])"
        ".filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)"
    )
    page.wait_for(  # or until a cell fails: the kernel then skips the cells after it
        "Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')"
        f".every(c => typeof c.input_prompt_number === 'number') || {errors}.length",
        900, "every cell to run",
    )  # fmt: skip
    cell_errors = page.evaluate(errors)
    assert not cell_errors, f"cells failed in the browser: {cell_errors}"
    setup_output = page.evaluate(
        f"Jupyter.notebook.get_cell({first}).output_area.outputs.map(o => o.text || '').join('')"
    )
    page.wait_for(
        "[...document.querySelectorAll('tfma-nb-slicing-metrics, tfma-nb-plot')]"
        ".every(e => !!e.shadowRoot) && !!document.querySelector('.fairness-view img')",
        120, "TFMA's views to upgrade and the fairness view to draw",
    )  # fmt: skip
    # Polymer stamps the views' parts and binds their data a moment after they upgrade.
    deadline = time.monotonic() + 60
    while True:
        dom = page.evaluate(_NOTEBOOK_PROBE)
        views = dom["slicing"] + dom["plots"]
        if all(v.get("slices") or v.get("headings") for v in views) or time.monotonic() > deadline:
            break
        time.sleep(1)
    screenshots = [page.screenshot(shots / "notebook.png")]
    widgets = "tfma-nb-slicing-metrics, tfma-nb-plot, .fairness-view"
    for i in range(page.evaluate(f"document.querySelectorAll('{widgets}').length")):
        box = page.evaluate(
            f"(() => {{ const e = document.querySelectorAll('{widgets}')[{i}];"
            " e.scrollIntoView(); const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: Math.min(r.height, 1400),"
            " tag: e.tagName.toLowerCase()}; })()"
        )
        if box["width"] and box["height"]:
            name = f"widget{i}-{box.pop('tag')}.png"
            screenshots.append(page.screenshot(shots / name, box))
    # The fairness view is live: another rate redraws its chart and table in the kernel.
    chart = page.evaluate("document.querySelector('.fairness-view img').src")
    page.evaluate(
        "(() => { const s = [...document.querySelectorAll('.fairness-view .widget-dropdown')]"
        ".find(d => d.querySelector('label').textContent === 'rate').querySelector('select');"
        " s.value = [...s.options].find(o => o.textContent === 'FNR').value;"
        " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )
    redrawn = page.wait_for(
        "(() => { const b = document.querySelector('.fairness-view .fairness-table b');"
        " const src = document.querySelector('.fairness-view img').src;"
        " return b && b.textContent.startsWith('FNR') && {caption: b.textContent,"
        f" chart_changed: src !== {json.dumps(chart)}}}; }})()",
        60, "the fairness view to redraw for FNR",
    )  # fmt: skip
    return NotebookPage(announced, setup_output, dom, list(page.console), redrawn, screenshots)


@pytest.fixture(scope="module")
def notebook_in_browser(workspace, tmp_path_factory) -> NotebookPage:
    import shutil

    shutil.rmtree(NOTEBOOK_ARTIFACTS, ignore_errors=True)
    scratch = tmp_path_factory.mktemp("notebook")
    return run_notebook_in_browser(workspace, NOTEBOOK_ARTIFACTS, scratch)


def _tfma_slices(workspace, column: str) -> set[str]:
    """The run's slices of `column` as TFMA names them ('sex:Female'), read with TFMA."""
    import tensorflow_model_analysis as tfma

    run = _run(workspace, BIASED)
    result = tfma.load_eval_result(run.evaluation.uri, model_name="candidate")
    names = set()
    for key, _ in result.slicing_metrics:
        if len(key) == 1 and key[0][0] == column:
            value = key[0][1]
            names.add(f"{column}:{value.decode() if isinstance(value, bytes) else value}")
    return names


def test_make_notebook_opens_on_the_latest_run(workspace, notebook_in_browser):
    latest = workspace.summaries[-1].run_id
    assert latest == workspace.summaries[BIASED].run_id
    announced = f"Model notebook on run {latest} of {workspace.pipeline_name}"
    assert announced in notebook_in_browser.announced
    assert f"run: {latest}" in notebook_in_browser.setup_output  # what the kernel read


def test_notebook_tfma_slicing_views_render_the_runs_slices(workspace, notebook_in_browser):
    views = notebook_in_browser.dom["slicing"]
    assert len(views) == len(workspace.spec.sensitive_columns) == 2  # sex, race
    for column, view in zip(workspace.spec.sensitive_columns, views, strict=True):
        assert view["upgraded"], view  # TFMA's Polymer element, not an unknown tag
        assert view["parts"] == ["tfma-slicing-metrics-browser", "tfma-metrics-table"], view
        expected = _tfma_slices(workspace, column)
        assert len(expected) >= 2 and set(view["slices"]) == expected, view["slices"]
        assert "auc" in " ".join(view["metrics"]).lower(), view["metrics"]


def test_notebook_tfma_plot_views_render_overall_and_a_group(workspace, notebook_in_browser):
    plots = notebook_in_browser.dom["plots"]
    assert [p["slice"] for p in plots][:1] == ["Overall"] and len(plots) == 2, plots
    assert plots[1]["slice"] in _tfma_slices(workspace, "sex"), plots
    for plot in plots:
        assert plot["upgraded"] and "tfma-plot" in plot["parts"], plot


def test_notebook_fairness_view_shows_the_runs_rates_and_redraws(workspace, notebook_in_browser):
    (view,) = notebook_in_browser.dom["fairness"]
    controls = {c["label"]: c for c in view["controls"]}
    assert controls["column"]["options"] == list(workspace.spec.sensitive_columns)
    assert {"FPR", "FNR"} <= set(controls["rate"]["options"])
    thresholds = [f"{t:g}" for t in workspace.spec.fairness_thresholds]
    assert (
        controls["threshold"]["options"] == thresholds and controls["threshold"]["value"] == "0.5"
    )
    assert view["images"] and all(w > 100 and h > 100 for w, h in view["images"]), view["images"]
    # The biased run against the model serving before it (its own evaluation's rates).
    assert view["caption"] == "FPR by sex at threshold 0.5: candidate vs. baseline"
    header, overall, *groups = view["rows"]
    assert header[:4] == ["group", "n", "FPR", "gap"] and "change" in header
    assert overall[0] == "Overall"
    assert {f"sex:{row[0]}" for row in groups} == _tfma_slices(workspace, "sex")
    frame = metrics_frame(_run(workspace, BIASED).evaluation.uri, workspace.spec)
    female = frame[
        (frame["slice"] == "sex=Female") & (frame["metric"] == "fall_out")
        & (frame["model"] == "candidate") & (frame["output"] == PREDICTION_KEY)
        & ((frame["threshold"] - 0.5).abs() < 1e-9) & ~frame["is_diff"]
    ]  # fmt: skip
    (value,) = female["value"]
    row = next(r for r in groups if r[0] == "Female")
    assert row[2].startswith(f"{value:.4f}"), row
    # Another rate, chosen in the page, is computed by the kernel and drawn again.
    assert notebook_in_browser.redrawn["caption"].startswith("FNR by sex at threshold 0.5")
    assert notebook_in_browser.redrawn["chart_changed"]


def test_notebook_widgets_load_without_errors_and_leave_screenshots(notebook_in_browser):
    from PIL import Image

    failures = [m for m in notebook_in_browser.console if any(f in m for f in _WIDGET_FAILURES)]
    assert not failures
    assert notebook_in_browser.dom["d3Tip"]  # TFMA's bundle ran outside RequireJS (the shim)
    shots = {p.name: p for p in notebook_in_browser.screenshots}
    assert set(shots) >= {"notebook.png", "widget4-div.png"}, shots
    assert len(shots) == 1 + 2 + 2 + 1  # the page, then each slicing, plot and fairness view
    for path in shots.values():
        assert path.parent == NOTEBOOK_ARTIFACTS / "screenshots"
        low, high = Image.open(path).convert("L").getextrema()
        assert high - low > 100, path  # not blank
