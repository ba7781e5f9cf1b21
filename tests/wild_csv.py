"""CSV files as real exports write them, made from the census sample: quoted headers (R's
`write.csv`), a UTF-8 byte-order mark (Excel's "CSV UTF-8"), Latin-1 text, semicolons,
gzip, column names with spaces, `N/A` in numeric columns, decimals in one file only."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pipeline.spec.reference import with_modeline
from tests.conftest import DATA, FAST_TRAINING, sample_rows, write_spec

Rows = list[list[str]]
# Census columns renamed as other exports name them.
RENAMED = {
    "hours_per_week": "hours per week",
    "marital_status": "marital status",
    "native_country": "native country (país)",
    "income": "income class",
}
NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")


def write_export(
    path: Path,
    header: list[str],
    rows: Rows,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    quote_header: bool = False,
) -> Path:
    """Writes a CSV file as an export would; gzip-compressed when `path` ends in `.gz`."""
    text = io.StringIO(newline="")
    quoting = csv.QUOTE_ALL if quote_header else csv.QUOTE_MINIMAL
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n", quoting=quoting).writerow(header)
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def census_rows(split: str, count: int) -> tuple[list[str], Rows]:
    """A sample of the bundled census file `split` (train or test)."""
    return sample_rows(DATA / "census" / f"{split}.csv", count)


def edit(header: list[str], rows: Rows, column: str, change: Callable[[int, str], str]) -> Rows:
    """`rows` with `change(row index, cell)` applied to `column`'s cells."""
    index = header.index(column)
    for i, row in enumerate(rows):
        row[index] = change(i, row[index])
    return rows


def census_spec(**changes: Any) -> dict[str, Any]:
    """data/census/dataset.yaml as a dict, with top-level `changes`."""
    spec = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    spec.update(changes)
    return spec


def renamed_spec(spec: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """`spec` with its columns renamed everywhere the spec names them."""

    def name(column: str) -> str:
        return names.get(column, column)

    spec = dict(spec)
    spec["columns"] = {name(c): role for c, role in spec["columns"].items()}
    spec["label"] = {**spec["label"], "column": name(spec["label"]["column"])}
    spec["feature_crosses"] = [[name(c) for c in cross] for cross in spec["feature_crosses"]]
    slicing = spec.get("slicing") or {}
    spec["slicing"] = {
        "columns": [name(c) for c in slicing.get("columns", [])],
        "crosses": [[name(c) for c in cross] for cross in slicing.get("crosses", [])],
    }
    if spec.get("fairness"):
        fairness = spec["fairness"]
        spec["fairness"] = {
            **fairness,
            "sensitive_columns": [name(c) for c in fairness.get("sensitive_columns", [])],
        }
    return spec


def save_spec(directory: Path, spec: dict[str, Any]) -> Path:
    path = directory / "dataset.yaml"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(
        with_modeline(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), directory)
    )
    return path


def make_wild_census(directory: Path, train_rows: int = 400, test_rows: int = 200) -> Path:
    """Every shape at once, in two files that a spec describes; returns the spec's path.

    train.csv.gz: gzip, Latin-1 ('México'), semicolons, every header name quoted, columns
    named with spaces and a non-ASCII letter, whole numbers, `N/A` and `NA` in numeric
    columns. test.csv: a UTF-8 byte-order mark, semicolons, quoted names, every numeric
    cell a decimal (`39.0`), `N/A` in a numeric column.
    """
    header, train = census_rows("train", train_rows)
    _, test = census_rows("test", test_rows)
    for rows in (train, test):
        edit(header, rows, "native_country", lambda _, c: "México" if c == "Mexico" else c)
        edit(header, rows, "age", lambda i, c: "N/A" if i % 17 == 3 else c)
    edit(header, train, "capital_gain", lambda i, c: "NA" if i % 23 == 5 else c)
    for column in NUMERIC:
        edit(header, test, column, lambda _, c: c if c == "N/A" else f"{float(c):.1f}")
    names = [RENAMED.get(h, h) for h in header]
    options = {"delimiter": ";", "quote_header": True}
    write_export(directory / "train.csv.gz", names, train, encoding="latin-1", **options)
    write_export(directory / "test.csv", names, test, bom=True, **options)
    spec = census_spec(
        name="wild",
        files={
            "train": "train.csv.gz",
            "test": "test.csv",
            "delimiter": ";",
            "encoding": "latin-1",
        },
        missing_values=["?", "N/A", "NA"],
        fairness={"sensitive_columns": ["sex", "race"], "thresholds": [0.5]},
        drift=None,
        ablation=None,
        training={**FAST_TRAINING, "train_steps": 50, "steps_per_evaluation": 25},
        evaluation={
            "thresholds": [{"metric": "auc", "lower_bound": 0.7}],
            "bootstrap": {"replicates": 0},
        },
    )
    spec["slicing"] = {**spec["slicing"], "columns": ["sex", "race", "age", "hours_per_week"]}
    spec = {k: v for k, v in renamed_spec(spec, RENAMED).items() if v is not None}
    return save_spec(directory, spec)


def make_single_class_census(directory: Path) -> Path:
    """A small census sample whose test file holds only '<=50K' rows (rows of the training
    file, so that the test data has no category the schema lacks)."""
    header, train = census_rows("train", 200)
    income = header.index("income")
    test = [row for row in train if row[income] == "<=50K"][:60]
    write_export(directory / "train.csv", header, train)
    write_export(directory / "test.csv", header, test)
    return write_spec(
        directory,
        "census",
        name="one_class",
        fairness=None,
        drift=None,
        ablation=None,
        training={**FAST_TRAINING, "train_steps": 20, "steps_per_evaluation": 20},
        evaluation={
            "thresholds": [{"metric": "auc", "lower_bound": 0.5}],
            "bootstrap": {"replicates": 0},
        },
    )
