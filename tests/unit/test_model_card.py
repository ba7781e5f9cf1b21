"""The model card built from an evaluation's frame and the spec: valid against Model Card
Toolkit's schema (as jsonschema, MCT's own validator, reads it, and with no key the
schema does not declare), carrying the spec's `model_card:` text, every metric with its
interval, the fairness rates, the baselines and the blessing; written beside the report
and into the pushed version, whole or not at all; laid out in the HTML report.

The card of real runs, through the CLI, is tested in tests/e2e/test_reports.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

from pipeline.reports.artifacts import Artifact, Execution, RunArtifacts
from pipeline.reports.evaluation_tables import COLUMNS
from pipeline.reports.html import model_card_section, render_page
from pipeline.reports.model_card import (
    SCHEMA_PATH,
    InvalidCard,
    card_from_evaluation,
    card_schema,
    model_card_path,
    served_card_path,
    validate_model_card,
    write_model_card,
)
from pipeline.spec import load_spec
from tests.conftest import DATA

# The overall and group values of the hand-made evaluation: (n, auc, its interval).
SLICES = {
    "Overall": (1000, 0.9, (0.88, 0.92)),
    "sex=Female": (600, 0.93, (0.9, 0.95)),
    "sex=Male": (400, 0.85, (0.81, 0.89)),
    "race=Other": (12, 0.7, (0.4, 0.95)),
    "race=White, sex=Female": (500, 0.92, (0.89, 0.95)),
}
# FPR at each decision threshold, by slice; its interval is value +- 0.02.
FPR = {"Overall": {0.3: 0.2, 0.5: 0.1}, "sex=Female": {0.3: 0.15, 0.5: 0.06},
       "sex=Male": {0.3: 0.3, 0.5: 0.2}}  # fmt: skip


def _row(where: str, metric: str, value: float, **extra: Any) -> dict[str, Any]:
    kind = "overall" if where == "Overall" else ("cross" if "," in where else "feature")
    return {"slice": where, "kind": kind, "model": "", "output": "probabilities",
            "metric": metric, "threshold": math.nan, "value": value, "lower": math.nan,
            "upper": math.nan, "is_diff": False, **extra}  # fmt: skip


def evaluation_frame() -> pd.DataFrame:
    """A `metrics_frame` as TFMA's output gives it, with numbers chosen by hand."""
    rows = []
    for where, (n, auc, (low, high)) in SLICES.items():
        rows += [
            _row(where, "example_count", float(n)),
            _row(where, "auc", auc, lower=low, upper=high),
            _row(where, "binary_accuracy", 0.8, lower=0.78, upper=0.82),
            _row(where, "calibration", math.inf),  # TFMA's value for a slice with no positive
        ]
        # The linear baseline beats the model on race=Other.
        linear = 0.75 if where == "race=Other" else auc - 0.05
        for baseline, value in (("linear", linear), ("majority", 0.5), ("chance", 0.49)):
            rows.append(_row(where, "auc", value, output=baseline))
    for where, by_threshold in FPR.items():
        for threshold, value in by_threshold.items():
            rows.append(_row(where, "fall_out", value, threshold=threshold,
                             lower=value - 0.02, upper=value + 0.02))  # fmt: skip
            rows.append(_row(where, "miss_rate", 0.3, threshold=threshold))
    for group, gap in (("Female", -0.04), ("Male", 0.1)):  # the gate's metrics (Overall)
        rows.append(_row("Overall", f"fairness_gap/fpr/sex={group}", gap))
        rows.append(_row("Overall", f"fairness_group_size/fpr/sex={group}", 600.0))
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def make_run(tmp_path: Path, blessed: bool = True, pushed: bool = True) -> RunArtifacts:
    """A run with an evaluation, its blessing, and (when pushed) a version folder."""
    version = tmp_path / "serving" / "1795330620"
    if pushed:
        (version / "variables").mkdir(parents=True, exist_ok=True)
        (version / "saved_model.pb").write_bytes(b"model")

    def artifact(kind: str, uri: str, **properties: Any) -> Artifact:
        return Artifact(id=len(uri), type=kind, uri=uri, properties=properties)

    pushed_model = artifact("PushedModel", str(tmp_path / "push"), pushed=int(pushed),
                            pushed_destination=str(version) if pushed else "")  # fmt: skip
    executions = [
        Execution("Trainer", 1, "ran", 1.0, {}, {"model": [artifact("Model", "/m")]}),
        Execution("Evaluator", 2, "ran", 1.0, {}, {
            "evaluation": [artifact("ModelEvaluation", "/unused")],
            "blessing": [artifact("ModelBlessing", "/b", blessed=int(blessed))]}),
        Execution("Pusher", 3, "ran", 1.0, {}, {"pushed_model": [pushed_model]}),
    ]  # fmt: skip
    return RunArtifacts("census_pipeline", "2026-11-22T06:53:28.176189", executions)


VALIDATION = {"ok": True, "failures": []}


@pytest.fixture(scope="module")
def spec():
    census = load_spec(DATA / "census")
    gate = dataclasses.replace(census.fairness_gate, max_gap={"fpr": 0.08}, min_group_size=500)
    return dataclasses.replace(census, fairness_gate=gate, fairness_thresholds=(0.3, 0.5))


@pytest.fixture
def card(spec, tmp_path):
    return card_from_evaluation(make_run(tmp_path), spec, evaluation_frame(), [], VALIDATION)


def _strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object: MCT's loader refuses
    a field its schema does not declare, though the schema itself allows one."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def schema_errors(card: dict[str, Any], strict: bool = True) -> list[str]:
    """MCT's schema errors of `card`, as MCT validates (jsonschema), formats checked."""
    schema = _strict(card_schema()) if strict else card_schema()
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(card)]


def metrics_of(card: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    entries = card["quantitative_analysis"]["performance_metrics"]
    keyed = {(m["slice"], m["type"]): m for m in entries}
    assert len(keyed) == len(entries)  # no metric twice on a slice
    return keyed


# --- The card --------------------------------------------------------------------------------


def test_the_vendored_schema_is_model_card_toolkits_v0_0_2():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert set(schema["properties"]) == {"schema_version", "model_details", "model_parameters",
                                         "quantitative_analysis", "considerations"}  # fmt: skip
    notice = (SCHEMA_PATH.parent / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice and "v0.0.2" in notice
    assert "Apache License" in (SCHEMA_PATH.parent / "LICENSE").read_text()


def test_the_card_is_valid_against_mcts_schema_and_declares_no_other_key(card):
    assert card["schema_version"] == "0.0.2"
    assert schema_errors(card) == []
    validate_model_card(card)  # the writer's own check agrees


def test_the_card_says_what_the_spec_says(card, spec):
    text = spec.model_card
    details = card["model_details"]
    assert details["name"] == text.name and details["overview"] == text.overview
    assert details["owners"] == [{"name": o.name, "contact": o.contact} for o in text.owners]
    assert details["licenses"] == [{"custom_text": text.licenses[0].custom_text}]
    assert [r["reference"] for r in details["references"]] == list(text.references)
    assert [c["citation"] for c in details["citations"]] == [c.citation for c in text.citations]
    considerations = card["considerations"]
    assert [u["description"] for u in considerations["users"]] == list(text.users)
    assert [u["description"] for u in considerations["use_cases"]] == list(text.use_cases)
    limitations = [x["description"] for x in considerations["limitations"]]
    assert limitations[: len(text.limitations)] == list(text.limitations)
    risks = considerations["ethical_considerations"]
    assert [(r["name"], r["mitigation_strategy"]) for r in risks[:2]] == [
        (r.name, r.mitigation_strategy) for r in text.ethical_considerations
    ]
    data = card["model_parameters"]["data"]
    assert [d["name"] for d in data] == ["UCI Adult (census income): test"]
    assert data[0]["link"] == text.dataset.link
    assert data[0]["description"].startswith("test split: 1,000 examples, test.csv;")
    assert "sex (fairness.sensitive_columns)" in data[0]["sensitive"]["sensitive_data"]


def test_a_spec_without_a_card_section_still_gets_a_valid_card(spec, tmp_path):
    from pipeline.spec import ModelCard

    bare = dataclasses.replace(spec, model_card=ModelCard())
    card = card_from_evaluation(make_run(tmp_path), bare, evaluation_frame(), [], VALIDATION)
    assert schema_errors(card) == []
    assert card["model_details"]["name"] == "census binary classifier"
    assert card["model_details"]["overview"] == spec.description
    assert "owners" not in card["model_details"]  # nothing invented


def test_every_metric_and_interval_is_the_evaluations_exactly(card):
    frame = evaluation_frame()
    metrics = metrics_of(card)
    model = frame[(frame["output"] == "probabilities") & frame["threshold"].isna()]
    for row in model[
        model["metric"].isin(["auc", "binary_accuracy", "example_count"])
    ].itertuples():
        entry = metrics[(row.slice, row.metric)]
        assert float(entry["value"]) == row.value  # the string reads back as TFMA's float
        if math.isnan(row.lower):
            assert "confidence_interval" not in entry
        else:
            interval = entry["confidence_interval"]
            assert float(interval["lower_bound"]) == row.lower
            assert float(interval["upper_bound"]) == row.upper
    assert metrics[("Overall", "example_count")]["value"] == "1000"
    assert metrics[("race=White, sex=Female", "auc")]["value"] == "0.92"  # crosses too
    # A value TFMA could not compute is left out, not written as 'inf'.
    assert not any(m["type"] == "calibration" for m in metrics.values())


def test_fairness_rates_per_group_and_threshold_with_intervals_and_gaps(card):
    metrics = metrics_of(card)
    female = metrics[("sex=Female", "fall_out@0.5")]
    assert female["value"] == "0.06"
    assert float(female["confidence_interval"]["lower_bound"]) == pytest.approx(0.04)
    gap = metrics[("sex=Female", "fall_out@0.5 gap to Overall")]
    assert float(gap["value"]) == pytest.approx(0.06 - 0.1)
    assert "confidence_interval" not in gap
    assert metrics[("sex=Male", "fall_out@0.3")]["value"] == "0.3"
    assert ("Overall", "fall_out@0.3 gap to Overall") not in metrics
    # The gate's verdict is an ethical consideration, with its bound and the gaps.
    gate = card["considerations"]["ethical_considerations"][-1]
    assert "FPR 0.08 at decision threshold 0.5" in gate["name"]
    assert gate["mitigation_strategy"].startswith("Fairness gate FAILED")
    assert "FPR sex=Male +0.1000 (bound 0.08)" in gate["mitigation_strategy"]
    tradeoff = card["considerations"]["tradeoffs"][-1]["description"]
    assert "at 0.3, FPR 0.2000 and FNR 0.3000; at 0.5, FPR 0.1000" in tradeoff


def test_simple_baselines_and_the_slices_they_win(card):
    metrics = metrics_of(card)
    assert metrics[("Overall", "auc (linear baseline)")]["value"] == repr(0.9 - 0.05)
    assert metrics[("Overall", "auc (majority baseline)")]["value"] == "0.5"
    assert float(metrics[("Overall", "auc above the best baseline")]["value"]) == pytest.approx(
        0.05
    )
    limitations = [x["description"] for x in card["considerations"]["limitations"]]
    assert any(
        "A simple baseline's AUC is at least the model's on: race=Other (-0.0500)" in x
        for x in limitations
    )
    assert any("fewer than 30 test examples" in x and "race=Other (12)" in x for x in limitations)


def test_the_blessing_and_each_threshold_in_the_summarys_words(spec, tmp_path):
    frame = evaluation_frame()
    blessed = card_from_evaluation(make_run(tmp_path), spec, frame, [], VALIDATION)
    documentation = blessed["model_details"]["documentation"].splitlines()
    assert documentation[1] == (
        "Blessing: BLESSED (every threshold passed) and pushed to "
        f"{tmp_path / 'serving' / '1795330620'}."
    )
    assert documentation[2].startswith(
        "Threshold auc (AUC) on Overall = 0.9000; lower bound 0.85: pass"
    )
    assert documentation[3].startswith("Threshold binary_accuracy (BinaryAccuracy) on Overall")
    failure = "auc = 0.9000 is below the lower bound 0.95 (Overall)"
    failed = {
        "ok": False,
        "failures": [{"slice": "Overall", "metric": "auc", "class": None, "is_diff": False}],
    }
    rejected = card_from_evaluation(
        make_run(tmp_path / "b", blessed=False, pushed=False), spec, frame, [failure], failed
    )
    documentation = rejected["model_details"]["documentation"].splitlines()
    assert documentation[1] == f"Blessing: NOT blessed, so not pushed. Failed: {failure}."
    assert "lower bound 0.85: fail" in documentation[2]
    assert rejected["model_details"]["version"]["name"] == "not pushed"
    assert rejected["model_details"]["version"]["date"] == "2026-11-22"
    assert schema_errors(rejected) == []


def test_the_version_is_the_pushed_folder_and_its_date(card, tmp_path):
    version = card["model_details"]["version"]
    assert version["name"] == "1795330620" and version["date"] == "2026-11-22"  # UTC
    assert version["diff"].startswith("No previously blessed model")
    assert card["model_details"]["path"] == str(tmp_path / "serving" / "1795330620")


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (("model_details", "licenses"), [{}]),  # an identifier or a text, required
        (("model_details", "version", "date"), "22 November 2026"),
        (("model_details", "references"), [{"reference": "not a uri"}]),
        (("quantitative_analysis", "performance_metrics", 0, "value"), 0.9),  # a string
        (("considerations", "users"), "everyone"),
    ],
    ids=["licence", "date", "uri", "value", "users"],
)
def test_a_wrong_field_fails_validation_and_nothing_is_written(card, tmp_path, where, bad):
    broken = copy.deepcopy(card)
    node: Any = broken
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = bad
    assert schema_errors(broken, strict=False) != []  # MCT's own validation refuses it
    with pytest.raises(InvalidCard, match=f"data.{where[0]}"):
        validate_model_card(broken)
    run = make_run(tmp_path)
    with pytest.raises(InvalidCard):
        write_model_card(run, None, tmp_path / "reports", card=broken)
    assert not (tmp_path / "reports").exists()
    assert not Path(served_card_path(run.pushed_to)).exists()


def test_a_key_the_schema_does_not_declare_fails_the_strict_check(card):
    broken = copy.deepcopy(card)
    broken["model_details"]["run_id"] = "x"
    assert schema_errors(broken, strict=False) == []  # the schema itself lets it through
    assert schema_errors(broken) == ["['model_details']: Additional properties are not allowed "
                                     "('run_id' was unexpected)"]  # fmt: skip


# --- Writing ---------------------------------------------------------------------------------


def test_written_beside_the_report_and_into_the_pushed_version(card, tmp_path):
    run = make_run(tmp_path)
    reports = tmp_path / "reports"
    paths = write_model_card(run, None, reports, card=card)
    served = Path(run.pushed_to) / "assets.extra" / "model_card.json"
    assert paths == [model_card_path(reports, run.run_id), str(served)]
    assert Path(paths[0]).name == "model_card-2026-11-22T06-53-28.176189.json"
    assert json.loads(served.read_text()) == card
    assert Path(paths[0]).read_bytes() == served.read_bytes()
    # Renamed into place: no hidden file is left beside either.
    assert sorted(p.name for p in served.parent.iterdir()) == ["model_card.json"]
    assert sorted(p.name for p in reports.iterdir()) == [Path(paths[0]).name]
    # Written again (a later run of the same model): replaced whole.
    write_model_card(run, None, reports, card={**card, "schema_version": "0.0.2"})
    assert sorted(p.name for p in served.parent.iterdir()) == ["model_card.json"]


def test_a_write_that_fails_midway_leaves_the_previous_card_whole(card, tmp_path, monkeypatch):
    from tfx.dsl.io import fileio

    run = make_run(tmp_path)
    write_model_card(run, None, None, card=card)
    served = Path(served_card_path(run.pushed_to))
    before = served.read_bytes()

    def killed(*args: Any, **kwargs: Any) -> None:
        raise OSError("killed before the rename")

    monkeypatch.setattr(fileio, "rename", killed)
    edited = copy.deepcopy(card)
    edited["model_details"]["overview"] = "a newer card"
    with pytest.raises(OSError, match="killed"):
        write_model_card(run, None, None, card=edited)
    assert served.read_bytes() == before  # a reader never sees a half-written card


def test_nothing_goes_into_the_serving_directory_unless_a_folder_was_pushed(
    card, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # where a wrong write to a relative name would land
    not_pushed = make_run(tmp_path / "a", blessed=False, pushed=False)
    assert write_model_card(not_pushed, None, tmp_path / "r", card=card) == [
        model_card_path(tmp_path / "r", not_pushed.run_id)
    ]
    assert not (tmp_path / "a" / "serving").exists()
    pushed = make_run(tmp_path / "b")
    assert len(write_model_card(pushed, None, tmp_path / "r2", card=card, serving=False)) == 1
    assert not (Path(pushed.pushed_to) / "assets.extra").exists()
    # A Vertex AI endpoint is a resource name, not a folder.
    endpoint = dataclasses.replace(make_run(tmp_path / "c", pushed=False))
    endpoint.executions[2].outputs["pushed_model"][0].properties.update(
        pushed=1, pushed_destination="projects/1/locations/x/endpoints/2"
    )
    assert endpoint.pushed_to.startswith("projects/")
    assert write_model_card(endpoint, None, None, card=card) == []
    assert not (tmp_path / "projects").exists()


# --- The report section ----------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_the_report_section_lays_out_the_cards_content(card, spec):
    page_html = render_page("run", spec, [model_card_section(card)])
    page = _Page()
    page.feed(page_html)
    text = " ".join(" ".join(page.text).split())
    assert spec.model_card.overview in text
    assert spec.model_card.limitations[0] in text and spec.model_card.users[0] in text
    assert "Blessing: BLESSED (every threshold passed)" in text
    risks = page.tables["model-card-risks"]
    assert risks[0] == ["risk", "mitigation"] and len(risks) == 1 + 3
    overall = {row[0]: row[1] for row in page.tables["model-card-overall"][1:]}
    assert overall["auc"] == "0.9000 [0.8800, 0.9200]" and overall["example_count"] == "1000"
    assert overall["fall_out@0.5"] == "0.1000 [0.0800, 0.1200]"
    every = page.tables["model-card-metrics"]
    assert every[0] == ["slice", "type", "value"]
    assert len(every) - 1 == len(card["quantitative_analysis"]["performance_metrics"])
    for reference in spec.model_card.references:
        assert f'<a href="{reference}">' in page_html
    assert '"performance_metrics"' not in page_html  # laid out, not dumped
