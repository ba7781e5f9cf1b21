"""Rebuilds `data/diabetes/diabetes.csv` from the files scikit-learn ships.

The CSV is committed, so nothing here runs at pipeline time. scikit-learn (in the lock
file) ships Efron et al.'s diabetes data unscaled, as two gzipped text files; this joins
them under readable column names. To rebuild:

    .venv/bin/python data/prepare_diabetes.py
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from prepare_data import write_csv

DATA_DIR = Path(__file__).resolve().parent
# sklearn's order: age, sex, bmi, bp, s1..s6 (the six blood serum measurements).
COLUMNS = ["age", "sex", "bmi", "bp", "tc", "ldl", "hdl", "tch", "ltg", "glu"]
LABEL = "progression"


def sklearn_data_dir() -> Path:
    """The directory of data files inside the installed scikit-learn package."""
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "data"


def read_rows(source: Path) -> list[list[str]]:
    """Rows of features and target, as the files write them (integers without '.0')."""
    with gzip.open(source / "diabetes_data_raw.csv.gz", "rt") as f:
        features = [line.split() for line in f if line.strip()]
    with gzip.open(source / "diabetes_target.csv.gz", "rt") as f:
        targets = [float(line) for line in f if line.strip()]
    if len(features) != len(targets):
        raise ValueError(f"{len(features)} feature rows but {len(targets)} targets in {source}")
    rows = []
    for line_no, (cells, target) in enumerate(zip(features, targets, strict=True), start=1):
        if len(cells) != len(COLUMNS):
            raise ValueError(f"diabetes_data_raw line {line_no}: {len(cells)} cells")
        rows.append([*cells, f"{target:g}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="sklearn/datasets/data")
    args = parser.parse_args()
    rows = read_rows(args.source or sklearn_data_dir())
    write_csv(DATA_DIR / "diabetes" / "diabetes.csv", [*COLUMNS, LABEL], rows)


if __name__ == "__main__":
    main()
