"""Each committed notebook is what its jupytext source gives, without outputs.

The `.py` files (jupytext percent format) are the notebooks' source: linted, reviewed and
diffed as code. `make notebooks` writes each paired `.ipynb` from its `.py`; a stale or
executed `.ipynb` in git fails here. The notebooks themselves run on a real kernel against
real runs in tests/e2e/test_reports.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

from pipeline.project import ROOT

NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))


def _without_ids(notebook: dict) -> dict:
    """A notebook as JSON without its cell ids: random on a new cell (`make notebooks`
    keeps those of the committed cells)."""
    cells = [{k: v for k, v in cell.items() if k != "id"} for cell in notebook["cells"]]
    return {**notebook, "cells": cells}


def test_every_notebook_has_its_source():
    names = {path.stem for path in SOURCES}
    assert names == {"model_analysis", "data_analysis"}
    assert names == {path.stem for path in NOTEBOOKS.glob("*.ipynb")}


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_committed_notebook_is_what_its_source_gives(source: Path):
    expected = json.loads(jupytext.writes(jupytext.read(source), fmt="ipynb"))
    assert expected["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"  # paired
    committed = json.loads(source.with_suffix(".ipynb").read_text())
    for cell in committed["cells"]:
        assert not cell.get("outputs") and cell.get("execution_count") is None, (
            f"{source.with_suffix('.ipynb').name} holds outputs: run `make notebooks`"
        )
    assert _without_ids(committed) == _without_ids(expected), (
        f"{source.with_suffix('.ipynb').name} is not what {source.name} gives: run `make notebooks`"
    )
