"""Rebuilds `data/penguins/penguins.csv` from the file the PyPI package `palmerpenguins` ships.

The CSV is committed, so nothing here runs at pipeline time. `palmerpenguins` (in the lock
file) ships Horst, Hill and Gorman's `penguins.csv` inside its wheel; this copies it row
for row, with one change: the source writes a missing value as `NA`, and here it is an
empty cell, the form every column type of the pipeline reads as missing (a numeric column
holding the text `NA` would be read as a string column). To rebuild:

    .venv/bin/python data/prepare_penguins.py
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

from prepare_data import write_csv

DATA_DIR = Path(__file__).resolve().parent
COLUMNS = [
    "species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
    "body_mass_g", "sex", "year",
]  # fmt: skip
MISSING = "NA"


def package_csv() -> Path:
    """`penguins.csv` inside the installed palmerpenguins package (not imported)."""
    spec = importlib.util.find_spec("palmerpenguins")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("palmerpenguins is not installed: install requirements.lock first")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "penguins.csv"


def read_rows(source: Path) -> list[list[str]]:
    """The source's rows, `NA` cells emptied; fails on a header or row of another shape."""
    with source.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != COLUMNS:
            raise ValueError(f"{source}: header {header}, expected {COLUMNS}")
        rows = []
        for row in reader:
            if len(row) != len(COLUMNS):
                raise ValueError(f"{source} line {reader.line_num}: {len(row)} cells")
            rows.append(["" if cell == MISSING else cell for cell in row])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="a penguins.csv to read")
    args = parser.parse_args()
    rows = read_rows(args.source or package_csv())
    write_csv(DATA_DIR / "penguins" / "penguins.csv", COLUMNS, rows)


if __name__ == "__main__":
    main()
