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

A file to score (`check_scoring_file`, for `python -m pipeline predict`) gets the same
checks, except that its label may be absent or empty and columns the spec does not
describe pass (they are copied to the output); it must also suit the trained model: a
whole number where the model reads integers, a value in every column no training row
lacked (the model has no default for those). The spec's `score:` file is checked with the
training files, the same way but by role only (no model is trained yet).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path

from pipeline.model.outputs import SCORED_COLUMNS
from pipeline.spec import DatasetSpec, csv_format

MAX_REPORTED = 10
# Rows per hash bucket below which a split may well end up empty.
MIN_ROWS_PER_BUCKET = 5
# A number written with a decimal comma (spreadsheets in many European locales).
DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


class InputDataError(ValueError):
    """The data files break the spec; the message lists each problem with file and line."""

    def __init__(self, problems: list[str], total: int, outcome: str = "nothing was run") -> None:
        more = f"\n  ... and {total - len(problems)} more" if total > len(problems) else ""
        super().__init__(
            f"{total} problem(s) in the input data; {outcome}:\n  - "
            + "\n  - ".join(problems)
            + more
        )
        self.problems = problems
        self.total = total
        self.outcome = outcome


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


def _check_model_type(
    text: str, column: str, kind: str, where: str, numeric: bool, problems: _Problems
) -> None:
    """A cell the model parses as a number: 'int' needs a whole number, 'float' a number.

    A numeric column's cell that is not a finite number was already reported.
    """
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None and not numeric:
        what = "whole numbers" if kind == "int" else "numbers"
        problems.add(
            f"{where}, column '{column}': {text!r} is not a number (the model reads "
            f"'{column}' as {what}: every training value was one)"
        )
    elif kind == "int" and value is not None and math.isfinite(value) and not value.is_integer():
        problems.add(
            f"{where}, column '{column}': {text!r} is not a whole number (the model reads "
            f"'{column}' as integers: every training value was one)"
        )


def _check_file(
    path: Path,
    spec: DatasetSpec,
    header: list[str],
    problems: _Problems,
    label_required: bool = True,
    model_types: Mapping[str, str] | None = None,
    required: Collection[str] = (),
) -> int:
    """Checks one file's rows; returns how many data rows it has.

    Args:
        label_required: Every row has a label (training); otherwise the label column may
            be absent, and an empty label cell passes (scoring).
        model_types: Column -> 'int', 'float' or 'bytes', as the model parses it.
        required: Columns the model cannot parse a row without.
    """
    missing = {"", *spec.missing_values}
    numeric = {header.index(c): c for c in spec.numeric_features}
    label = header.index(spec.label.column) if spec.label.column in header else None
    classes = {str(c) for c in spec.label.classes} or None
    typed = {
        header.index(c): (c, kind) for c, kind in (model_types or {}).items() if kind != "bytes"
    }
    needed = {header.index(c): c for c in required}
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
                for index, column in needed.items():
                    if row[index].strip() in missing:
                        problems.add(
                            f"{where}, column '{column}': no value, and the model cannot score "
                            f"a row without one (no training row lacked '{column}', so it "
                            "has no default for it)"
                        )
                for index, (column, kind) in typed.items():
                    text = row[index].strip()
                    if text not in missing:
                        _check_model_type(text, column, kind, where, index in numeric, problems)
                if label is None:
                    continue
                value = row[label].strip()
                if value in missing:
                    if label_required:
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
    if spec.score:
        # Checked by role only: the model that will score it is not trained yet.
        paths = sorted(p for p in spec.directory.glob(spec.score) if p.is_file())
        if not paths:
            problems.add(f"{spec.directory / spec.score}: no file matches score ({spec.score!r})")
        for path in paths:
            _check_scoring(spec, path, problems)
    if problems.total:
        raise InputDataError(problems.items, problems.total)
    return counts


def _check_scoring(
    spec: DatasetSpec,
    path: Path,
    problems: _Problems,
    model_types: Mapping[str, str] | None = None,
    required: Collection[str] = (),
) -> list[str]:
    """Adds the problems of a file to score to `problems`; returns its header."""
    try:
        header = csv_format.read_header(path, spec.encoding, spec.delimiter)
    except FileNotFoundError:
        problems.add(f"{path}: no such file")
        return []
    except IsADirectoryError:
        problems.add(f"{path}: a folder, not a CSV file")
        return []
    except UnicodeDecodeError:
        problems.add(csv_format.undecodable_message(path, spec.encoding))
        return []
    except (OSError, EOFError) as e:  # a .gz file that is not gzip, or is cut short
        problems.add(f"{path}: cannot be read: {e}")
        return []
    if not header:
        problems.add(f"{path}: empty file, not even a header")
        return []
    before = problems.total
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        problems.add(f"{path}: the header repeats the column(s) {duplicates}")
    reads = spec.raw_feature_columns
    absent = [c for c in reads if c not in header]
    if absent:
        problems.add(
            f"{path}: no column {absent} in the header; the model reads {reads} (other "
            "columns, an id for example, are copied to the output as they are)"
        )
    taken = [c for c in SCORED_COLUMNS[spec.task] if c in header]
    if taken:
        problems.add(
            f"{path}: column(s) {taken} have the names of the columns the scores go to; rename them"
        )
    if problems.total == before:
        _check_file(path, spec, header, problems, False, model_types, required)
    return header


def check_scoring_file(
    spec: DatasetSpec,
    path: Path,
    model_types: Mapping[str, str] | None = None,
    required: Collection[str] = (),
) -> list[str]:
    """Checks a CSV file to score with the model of `spec`; returns its header.

    Args:
        spec: The data set the model was trained on.
        path: The file to score.
        model_types: Each column the model reads (the spec's features) -> 'int',
            'float' or 'bytes', as the model parses it (default: checked by role only).
        required: Columns the model cannot score a row without.

    Raises:
        InputDataError: Listing up to `MAX_REPORTED` problems, each with file and line.
    """
    problems = _Problems()
    header = _check_scoring(spec, path, problems, model_types, required)
    if problems.total:
        raise InputDataError(problems.items, problems.total, "nothing was scored")
    return header
