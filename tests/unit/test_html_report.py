"""The HTML report's rendering: cells (intervals, missing values), escaping, the table of
contents, and the templates shipping inside the installed package.

The report of real runs, opened in Chromium, is tested in tests/e2e/test_reports.py.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from pipeline.project import ROOT
from pipeline.reports.html import (
    MISSING,
    Section,
    comparison_section,
    render_page,
    slices_section,
    table,
)
from pipeline.spec import load_spec
from tests.conftest import DATA

TEMPLATES = ROOT / "pipeline" / "reports" / "templates"


class _Cells(HTMLParser):
    """Every table of a page as rows of cell texts, keyed by the table's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.ids: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "table":
            self._table = attributes.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "a":
            self.links.append(attributes.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def spec():
    return load_spec(DATA / "census")


def test_an_interval_shows_beside_its_value_and_a_missing_value_as_a_dash():
    frame = pd.DataFrame(
        {
            "n": [1000.0, 12.0, 7.0],
            "AUC": [0.91234, 0.5, math.nan],
            "AUC low": [0.9, math.nan, math.nan],
            "AUC high": [0.92, math.nan, math.nan],
            "KS": [0.4, 0.3, 0.2],
            "KS low": [0.35, 0.1, math.nan],
            "KS high": [0.45, 0.5, 0.3],
            "note": ["a", None, pd.NA],
            "rank": pd.array([1, pd.NA, 3], dtype="Int64"),
        },
        index=pd.Index(["Overall", "small", "none"], name="slice"),
    )
    shown = table(frame, "t", small_rows=["small"])
    assert shown.header == ["slice", "n", "AUC", "KS", "note", "rank"]
    rows = [[(c.text, c.interval) for c in row.cells] for row in shown.rows]
    assert rows[0] == [("Overall", ""), ("1000", ""), ("0.9123", "[0.9000, 0.9200]"),
                       ("0.4000", "[0.3500, 0.4500]"), ("a", ""), ("1", "")]  # fmt: skip
    # No bounds at all: the value alone; one bound missing: a dash in its place.
    assert rows[1] == [("small", ""), ("12", ""), ("0.5000", ""), ("0.3000", "[0.1000, 0.5000]"),
                       (MISSING, ""), (MISSING, "")]  # fmt: skip
    assert rows[2][2:4] == [(MISSING, ""), ("0.2000", f"[{MISSING}, 0.3000]")]
    assert [row.small for row in shown.rows] == [False, True, False]


def test_verdict_cells_are_coloured(spec):
    frame = pd.DataFrame({"bound": ["pass", "fail", "missing"], "other": ["fail"] * 3})
    shown = table(frame, "t", verdict_columns=["bound"])
    assert [row.cells[1].css for row in shown.rows] == ["pass", "fail", "fail"]
    assert {row.cells[2].css for row in shown.rows} == {""}
    page = render_page("run", spec, [Section("crosses", "Crosses", {"small_slice": 30,
                                                                     "table": shown})])  # fmt: skip
    assert '<td class="fail">fail</td>' in page


EVIL_SLICE = "race=<script>alert('x')</script>"
EVIL_COLUMN = "AUC & <b>bold</b>"


def test_the_report_escapes_slice_values_and_column_names(spec):
    features = pd.DataFrame(
        {"n": [600.0, 40.0], "AUC": [0.9, 0.8], "AUC low": [0.85, 0.7], "AUC high": [0.95, 0.9],
         EVIL_COLUMN: [0.5, math.nan]},
        index=pd.Index(["Overall", EVIL_SLICE], name="slice"),
    )  # fmt: skip
    comparison = pd.DataFrame(
        [{"slice": EVIL_SLICE, "metric": "AUC", "candidate": 0.8, "baseline": 0.7, "change": 0.1},
         {"slice": "Overall", "metric": EVIL_COLUMN, "candidate": 0.8, "baseline": 0.7,
          "change": 0.1}]
    )  # fmt: skip
    sections = [slices_section(features, "AUC"), comparison_section(comparison, "AUC")]
    page = render_page("census & <friends>: run 1", spec, sections)

    assert "<script" not in page and "<b>bold" not in page and "<friends>" not in page
    assert "race=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "AUC &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<title>census &amp; &lt;friends&gt;: run 1</title>" in page
    # Read back as a browser would, every text is the original one.
    parsed = _parse(page)
    header, *rows = parsed.tables["slice-metrics"]
    assert header == ["slice", "n", "AUC", EVIL_COLUMN]
    assert rows[1] == [EVIL_SLICE, "40", "0.8000 [0.7000, 0.9000]", MISSING]
    assert [row[0] for row in parsed.tables["comparison-auc"][1:]] == [EVIL_SLICE]
    assert [row[0] for row in parsed.tables["comparison-overall"][1:]] == [EVIL_COLUMN]


def test_the_table_of_contents_links_every_section_in_order(spec):
    features = pd.DataFrame({"n": [600.0], "AUC": [0.9]}, index=pd.Index(["Overall"], name="slice"))
    empty = pd.DataFrame(columns=["slice", "metric", "candidate", "baseline", "change"])
    sections = [slices_section(features, "AUC"), comparison_section(empty, "AUC")]
    parsed = _parse(render_page("run", spec, sections))
    assert parsed.links == ["#slices", "#comparison"]
    assert [i for i in parsed.ids if i in ("slices", "comparison")] == ["slices", "comparison"]


def test_the_installed_package_ships_every_template(tmp_path: Path):
    """Installs the project as the Dockerfile does (its files, `pip install .`) and finds
    every template and style sheet inside the installed `pipeline.reports`."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "module_file.py", "eval_config.py"):
        shutil.copy(ROOT / name, source / name)
    for name in ("pipeline", "components"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", sys.executable,
         "--no-deps", "--no-build-isolation", "--no-cache", "--target", str(target),
         str(source)],
        check=True,
    )  # fmt: skip
    installed = target / "pipeline" / "reports" / "templates"
    expected = {p.relative_to(TEMPLATES) for p in TEMPLATES.rglob("*") if p.is_file()}
    assert expected and {p.relative_to(installed) for p in installed.rglob("*") if p.is_file()} == (
        expected
    )
    assert (installed / "sections" / "slices.html.j2").is_file()
    # Model Card Toolkit's schema, which every model card is checked against, ships too.
    schema = Path("pipeline") / "reports" / "model_card_schema" / "model_card.schema.json"
    assert (target / schema).read_bytes() == (ROOT / schema).read_bytes()
