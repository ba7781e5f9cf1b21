"""The notebook's Fairness Indicators view on a hand-made `metrics_frame`: the rates per
group and threshold with their intervals and gaps, the baseline beside the candidate, the
controls redrawing the chart and the table, and the static HTML a front end without
widgets shows. (It renders in a real browser in tests/e2e/test_reports.py.)"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from pipeline.model.outputs import PREDICTION_KEY
from pipeline.reports.evaluation_tables import COLUMNS
from pipeline.reports.fairness_view import (
    CSS_CLASS,
    FairnessView,
    NoRates,
    fairness_rates,
    fairness_view,
    rate_rows,
    selection,
)
from pipeline.spec import load_spec
from tests.conftest import DATA

SPEC = load_spec(DATA / "census")  # sensitive columns: sex, race; thresholds 0.3, 0.5, 0.7
NAN = math.nan


def _row(slice_, metric, value, threshold=NAN, lower=NAN, upper=NAN, **key):
    kind = "overall" if slice_ == "Overall" else ("cross" if ", " in slice_ else "feature")
    return {"slice": slice_, "kind": kind, "model": key.get("model", "candidate"),
            "output": key.get("output", PREDICTION_KEY), "metric": metric,
            "threshold": threshold, "value": value, "lower": lower, "upper": upper,
            "is_diff": key.get("is_diff", False)}  # fmt: skip


def _frame(model: str, shift: float = 0.0) -> pd.DataFrame:
    """An evaluation of one model (`model`: 'candidate', or '' without a baseline):
    counts, FPR with intervals at 0.3 and 0.5, FNR without, and rows that are not the
    model's own rates (a simple baseline's output, a diff, a cross, the baseline model)."""
    rows = []
    for name, n, fpr, fnr in (("Overall", 600, 0.10, 0.30), ("sex=Female", 200, 0.04, 0.45),
                              ("sex=Male", 400, 0.13, 0.25), ("race=Other", 5, 0.0, 1.0)):  # fmt: skip
        rows.append(_row(name, "example_count", n, model=model))
        for t, scale in ((0.3, 1.5), (0.5, 1.0)):
            value = fpr * scale + shift
            rows.append(_row(name, "fall_out", value, t, value - 0.02, value + 0.03, model=model))
            rows.append(_row(name, "miss_rate", fnr / scale, t, model=model))
        rows.append(_row(name, "fall_out", 0.9, 0.5, model=model, output="linear"))
        rows.append(_row(name, "fall_out", 0.5, 0.5, model=model, is_diff=True))
        if model:
            rows.append(_row(name, "fall_out", 0.7, 0.5, model="baseline"))
    rows.append(_row("race=White, sex=Female", "fall_out", 0.2, 0.5, model=model))
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture(scope="module")
def frame():
    return _frame("candidate")


@pytest.fixture(scope="module")
def baseline_frame():
    # The baseline model's own evaluation (it had no baseline: model '').
    return _frame("", shift=0.01)


def test_rates_per_group_and_threshold_with_intervals_and_gap_to_overall(frame):
    rates = rate_rows(frame, SPEC).set_index(["column", "group", "rate", "threshold"])
    female = rates.loc[("sex", "Female", "FPR", 0.5)]
    assert (female["value"], female["lower"], female["upper"]) == pytest.approx((0.04, 0.02, 0.07))
    assert female["gap"] == pytest.approx(0.04 - 0.10)
    assert (female["overall"], female["overall lower"]) == pytest.approx((0.10, 0.08))
    assert (female["n"], female["overall n"], female["model"]) == (200, 600, "candidate")
    assert rates.loc[("sex", "Male", "FPR", 0.3), "value"] == pytest.approx(0.195)
    fnr = rates.loc[("sex", "Female", "FNR", 0.5)]
    assert fnr["gap"] == pytest.approx(0.45 - 0.30)
    assert math.isnan(fnr["lower"])  # no interval computed: none invented
    # Only the model's own rates of single sensitive columns: no cross, simple baseline,
    # diff or baseline-model row (all of which say 0.2 or more for FPR at 0.5 here).
    assert set(rates.index.get_level_values("group")) == {"Female", "Male", "Other"}
    assert rates.xs(("FPR", 0.5), level=("rate", "threshold"))["value"].max() < 0.2
    assert len(rates) == 3 * 2 * 2  # groups x rates x thresholds


def test_baseline_rates_come_from_its_own_evaluation(frame, baseline_frame):
    rates = fairness_rates(frame, SPEC, baseline_frame)
    assert set(rates["model"]) == {"candidate", "baseline"}
    chosen = selection(rates, "sex", "FPR", 0.5)
    assert list(chosen.index) == ["Female", "Male"]
    assert chosen.loc["Female", "baseline"] == pytest.approx(0.05)
    assert chosen.loc["Female", "change"] == pytest.approx(-0.01)
    assert chosen.loc["Male", "baseline gap"] == pytest.approx(0.13 - 0.10)
    assert chosen.attrs["overall"]["baseline"][1] == pytest.approx(0.11)
    alone = selection(fairness_rates(frame, SPEC), "sex", "FPR", 0.5)
    assert "baseline" not in alone and "change" not in alone


class _Tables(HTMLParser):
    """Rows of cell texts of every <table>, and the <img> sources."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def test_view_controls_redraw_the_chart_and_the_table(frame, baseline_frame):
    view = fairness_view(frame, SPEC, baseline_frame)
    assert isinstance(view, FairnessView)
    assert CSS_CLASS in view.widget._dom_classes
    assert view.column.options == ("sex", "race")
    assert view.rate.options == ("FPR", "FNR")  # the rates the evaluation has
    assert (view.rate.value, view.threshold.value) == ("FPR", 0.5)
    header, overall, *groups = _parse(view.table.value).rows
    assert header == ["group", "n", "FPR", "gap", "baseline", "baseline gap", "change"]
    assert overall[:3] == ["Overall", "600", "0.1000 [0.0800, 0.1300]"]
    assert [row[0] for row in groups] == ["Female", "Male"]
    assert groups[0][2:4] == ["0.0400 [0.0200, 0.0700]", "-0.0600"]
    chart = bytes(view.chart.value)
    assert chart.startswith(b"\x89PNG")

    view.rate.value = "FNR"
    assert "FNR by sex at threshold 0.5" in view.table.value
    assert bytes(view.chart.value) != chart
    view.threshold.value = 0.3
    view.column.value = "race"
    header, overall, *groups = _parse(view.table.value).rows
    assert [row[0] for row in groups] == ["Other"] and header[2] == "FNR"
    assert groups[0][2] == f"{1.0 / 1.5:.4f}"  # no interval: the value alone


def test_view_displays_as_a_widget_with_static_html_beside_it(frame):
    bundle = fairness_view(frame, SPEC)._repr_mimebundle_()
    widget = bundle["application/vnd.jupyter.widget-view+json"]
    assert widget["version_major"] == 2 and re.fullmatch(r"[0-9a-f]{32}", widget["model_id"])
    page = _parse(bundle["text/html"])
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    assert [row[0] for row in page.rows[2:]] == ["Female", "Male"]
    assert "FPR by sex at threshold 0.5: candidate" in bundle["text/html"]
    assert bundle["text/plain"] == "FPR by sex at threshold 0.5: candidate"


def test_without_rates_or_sensitive_columns_the_view_says_why(frame):
    regression = frame[~frame["metric"].isin(["fall_out", "miss_rate"])]
    shown = fairness_view(regression, SPEC)
    assert isinstance(shown, NoRates) and "holds no rates" in shown.reason
    without = load_spec(DATA / "diabetes")
    assert not without.sensitive_columns or isinstance(fairness_view(frame, without), NoRates)
    multiclass = fairness_view(frame, load_spec(DATA / "penguins"))
    assert isinstance(multiclass, NoRates) and "multi-class" in multiclass.reason
