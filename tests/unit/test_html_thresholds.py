"""The HTML report's threshold table finds each bounded metric under the name the
Evaluator writes it (a bound on a rate is its own TFMA instance, e.g. Precision_at_0.5)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

import eval_config
from pipeline.reports.evaluation_tables import COLUMNS
from pipeline.reports.html import _threshold_table
from pipeline.spec import Threshold, load_spec
from tests.conftest import DATA


def test_a_bound_on_a_rate_is_read_where_the_evaluator_writes_it():
    census = load_spec(DATA / "census")
    bounds = (Threshold("auc", 0.8), Threshold("precision", 0.6), Threshold("recall", 0.5))
    spec = dataclasses.replace(census, thresholds=bounds)
    configs = eval_config.compared_metric_configs(spec)
    written = {json.loads(c.config or "{}").get("name") for c in configs}
    assert {"Precision_at_0.5", "Recall_at_0.5"} <= written
    row = {"slice": "Overall", "kind": "overall", "model": "", "output": "probabilities",
           "is_diff": False}  # fmt: skip
    frame = pd.DataFrame(
        [
            {**row, "metric": "auc", "value": 0.9},
            {**row, "metric": "Precision_at_0.5", "value": 0.75},
            {**row, "metric": "Recall_at_0.5", "value": 0.55},
        ]
    ).reindex(columns=COLUMNS)
    table = _threshold_table(frame, spec, {"failures": []})
    cells = [cell for row in table.rows for cell in row.cells]
    assert "missing" not in {cell.text for cell in cells}
    values = [row.cells[table.header.index("value")].text for row in table.rows]
    assert values == ["0.9000", "0.7500", "0.5500"]
    assert sum(cell.text == "pass" and cell.css == "pass" for cell in cells) == 3
