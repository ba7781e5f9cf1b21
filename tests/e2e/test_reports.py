"""Reports people read: the ML Metadata API, the static HTML report in a real browser, and
the notebooks on a real Jupyter kernel, all on the census workspace's real runs."""

from __future__ import annotations

import base64
import io
import math
import os
import re
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.metrics.intervals import interval_name
from pipeline.model.outputs import PREDICTION_KEY
from pipeline.project import ROOT
from pipeline.reports.artifacts import find_run
from pipeline.reports.evaluation_tables import gain_table, metrics_frame, slice_label, slice_table
from pipeline.reports.html import report_path
from tests.e2e.browser import open_page
from tests.e2e.conftest import ANOMALY, BASELINE, BIASED, CACHED, FIRST, NOT_BLESSED


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
    assert second.model.id == first.model.id  # Trainer was cached


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
    # Self-contained: nothing is fetched from anywhere.
    assert "http://" not in page.dom and "https://" not in page.dom and "<script" not in page.dom


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
    row = re.search(r"<tr><td>sex</td><td>Female</td>.*?FNR.*?</tr>", text)
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


# --- The notebooks -----------------------------------------------------------------------


def _execute(notebook: str, workspace) -> tuple[str, set[str]]:
    """Runs a notebook top to bottom on a real kernel; returns its text and output types."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    env = {"PIPELINE_METADATA": str(workspace.paths.metadata_path),
           "PIPELINE_NAME": workspace.pipeline_name,
           "PIPELINE_SPEC": str(workspace.spec_path),
           "PIPELINE_RUN_ID": workspace.summaries[BASELINE].run_id}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()  # fmt: skip
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    texts, types = [], set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output
            texts.append(output.get("text", ""))
            data = output.get("data", {})
            texts += [data.get("text/plain", ""), data.get("text/html", "")]
            types |= set(data)
    return "\n".join(texts), types


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
