"""Checks every cell of a data set's CSV files against its spec before a run starts.

ExampleGen would read a malformed file as best it can (a short row becomes missing values,
text in a numeric column turns the column into strings) and the problem would surface
later as a schema anomaly or a training error far from its cause. These checks stop the run
first and name the file, the line, the column and the value, with what to do about it.

Files are read as the spec says (`pipeline.spec.csv_format`: delimiter, encoding, a UTF-8
byte-order mark dropped, `.gz` decompressed), as ExampleGen reads them.

What passes: an empty cell or a `missing_values` token, in any column (a missing value,
imputed by the module file), any text in a categorical column (unseen values map to the
OOV bucket).
What stops the run: no file matching a pattern, an empty file or one with a header but no
rows, files of one split with different headers, a file that is not text in the spec's
encoding, or a `.gz` file that is not gzip, a row with the wrong number of cells,
unbalanced quotes, a numeric cell that is not a finite number (text, NaN, inf), a missing
label, one outside the declared classes or (regression) one that is not a finite number,
and too few rows to fill every split.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from pipeline.spec import DatasetSpec, csv_format

MAX_REPORTED = 10
# Rows per hash bucket below which a split may well end up empty.
MIN_ROWS_PER_BUCKET = 5
# A number written with a decimal comma (spreadsheets in many European locales).
DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


class InputDataError(ValueError):
    """The data files break the spec; the message lists each problem with file and line."""

    def __init__(self, problems: list[str], total: int) -> None:
        more = f"\n  ... and {total - len(problems)} more" if total > len(problems) else ""
        super().__init__(
            f"{total} problem(s) in the input data; nothing was run:\n  - "
            + "\n  - ".join(problems)
            + more
        )
        self.problems = problems
        self.total = total


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.total = 0

    def add(self, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(message)


def files_for(spec: DatasetSpec, split: str) -> list[Path]:
    """The files a split's pattern matches (a file name or a glob like `train-*.csv`)."""
    return sorted(p for p in spec.directory.glob(spec.files[split]) if p.is_file())


def _check_number(
    text: str, column: str, where: str, missing: set[str], problems: _Problems
) -> None:
    try:
        value = float(text)
    except ValueError:
        if DECIMAL_COMMA.fullmatch(text):
            problems.add(
                f"{where}, column '{column}': {text!r} is not a number: it has a decimal "
                "comma; export the file with '.' as the decimal separator"
            )
            return
        problems.add(
            f"{where}, column '{column}': {text!r} is not a number (numeric column; "
            f"leave the cell empty or use one of {sorted(missing)} for a missing value)"
        )
        return
    if not math.isfinite(value):
        problems.add(
            f"{where}, column '{column}': {text!r} is not a finite number; "
            "write a missing value instead of NaN or infinity"
        )


def _check_label_number(text: str, column: str, where: str, problems: _Problems) -> None:
    try:
        finite = math.isfinite(float(text))
    except ValueError:
        finite = False
    if not finite:
        problems.add(
            f"{where}, column '{column}': label {text!r} is not a finite number (the spec's "
            "task is regression: every row needs a numeric label)"
        )


def _check_file(path: Path, spec: DatasetSpec, header: list[str], problems: _Problems) -> int:
    """Checks one file's rows; returns how many data rows it has."""
    missing = {"", *spec.missing_values}
    numeric = {header.index(c): c for c in spec.numeric_features}
    label = header.index(spec.label.column)
    classes = {str(c) for c in spec.label.classes} or None
    rows = 0
    with csv_format.open_text(path, spec.encoding) as f:
        reader = csv.reader(f, delimiter=spec.delimiter, strict=True)
        try:
            next(reader)
            for row in reader:
                where = f"{path} line {reader.line_num}"
                if row == []:
                    continue  # a blank line: csv and ExampleGen skip it
                rows += 1
                if len(row) != len(header):
                    problems.add(
                        f"{where}: {len(row)} cells where the header has {len(header)}"
                        " (a missing or extra separator, or an unquoted comma in a value)"
                    )
                    continue
                for index, column in numeric.items():
                    text = row[index].strip()
                    if text not in missing:
                        _check_number(text, column, where, missing, problems)
                value = row[label].strip()
                if value in missing:
                    problems.add(f"{where}: the label '{spec.label.column}' is missing")
                elif spec.is_regression:
                    _check_label_number(value, spec.label.column, where, problems)
                elif classes and value not in classes:
                    problems.add(
                        f"{where}, column '{spec.label.column}': label {value!r} is not one of "
                        f"the declared classes {sorted(classes)} (label.classes in the spec)"
                    )
        except csv.Error as e:
            problems.add(
                f"{path} line {reader.line_num}: {e} (an unbalanced quote: a value that "
                "opens a quote must close it)"
            )
        except UnicodeDecodeError:
            problems.add(csv_format.undecodable_message(path, spec.encoding))
            return rows
        except (OSError, EOFError) as e:  # a .gz file that is not gzip, or is cut short
            problems.add(f"{path}: cannot be read: {e}")
            return rows
    if rows == 0:
        problems.add(f"{path}: a header but no rows")
    return rows


def check_input_files(spec: DatasetSpec) -> dict[str, int]:
    """Checks every file of `spec`; returns the number of rows per file pattern.

    Raises:
        InputDataError: Listing up to `MAX_REPORTED` problems, each with file and line.
    """
    problems = _Problems()
    counts = {}
    for split, pattern in spec.files.items():
        paths = files_for(spec, split)
        if not paths:
            problems.add(f"{spec.directory / pattern}: no file matches files.{split} ({pattern!r})")
            continue
        headers = {}
        for path in paths:
            try:
                headers[path] = csv_format.read_header(path, spec.encoding, spec.delimiter)
            except UnicodeDecodeError:
                problems.add(csv_format.undecodable_message(path, spec.encoding))
            except (OSError, EOFError) as e:
                problems.add(f"{path}: cannot be read: {e}")
        if len(headers) < len(paths):
            continue
        first = headers[paths[0]]
        if not first:
            problems.add(f"{paths[0]}: empty file, not even a header")
            continue
        differing = [path for path, header in headers.items() if header != first]
        for path in differing:
            problems.add(
                f"{path}: header {headers[path]} differs from {paths[0].name}'s {first}; "
                f"every file of files.{split} must have the same columns in the same order"
            )
        if differing:
            continue
        counts[split] = sum(_check_file(path, spec, first, problems) for path in paths)
    if "train" in counts:
        buckets = sum(spec.split.values())
        if counts["train"] < MIN_ROWS_PER_BUCKET * buckets:
            problems.add(
                f"files.train has {counts['train']} rows: too few to hash-split into "
                f"{spec.split} (at least {MIN_ROWS_PER_BUCKET * buckets} rows needed, or a "
                "split may be empty)"
            )
    if problems.total:
        raise InputDataError(problems.items, problems.total)
    return counts
