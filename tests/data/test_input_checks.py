"""Bad input files stop a run before any component, naming the file, line, column and value.

Each case edits a real census sample the way such files come about, then checks the error;
the CLI cases show that nothing ran: no ML Metadata store, no artifact, no pushed model.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.runners.input_checks import InputDataError, check_input_files
from pipeline.spec import SpecError, load_spec
from tests.conftest import make_census_sample, write_spec

Rows = list[list[str]]


@pytest.fixture
def sample(tmp_path) -> Path:
    return make_census_sample(tmp_path / "data", train_rows=200, test_rows=60)


def _edit(path: Path, change: Callable[[Rows], Rows]) -> None:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(change(rows))


def _set(column: str, value: str, line: int = 5) -> Callable[[Rows], Rows]:
    """Sets `column` on file line `line` (line 1 is the header)."""

    def change(rows: Rows) -> Rows:
        rows[line - 1][rows[0].index(column)] = value
        return rows

    return change


def _problems(spec_path: Path) -> str:
    with pytest.raises(InputDataError) as error:
        check_input_files(load_spec(spec_path))
    return str(error.value)


def test_the_bundled_samples_pass(sample):
    counts = check_input_files(load_spec(sample))
    assert counts == {"train": 200, "test": 60}


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("age", "forty", "column 'age': 'forty' is not a number"),
        ("hours_per_week", "nan", "column 'hours_per_week': 'nan' is not a finite number"),
        ("capital_gain", "inf", "column 'capital_gain': 'inf' is not a finite number"),
        ("income", ">70K", "label '>70K' is not one of the declared classes ['<=50K', '>50K']"),
        ("income", "", "the label 'income' is missing"),
    ],
)
def test_bad_cells_are_named_with_file_line_and_value(sample, column, value, expected):
    _edit(sample.parent / "train.csv", _set(column, value, line=5))
    message = _problems(sample)
    assert f"{sample.parent / 'train.csv'} line 5" in message
    assert expected in message


def test_missing_values_and_unseen_categories_pass(sample):
    # An empty cell or a missing token is a missing value; a new category maps to OOV.
    _edit(sample.parent / "train.csv", _set("age", "", line=3))
    _edit(sample.parent / "train.csv", _set("hours_per_week", "?", line=4))
    _edit(sample.parent / "train.csv", _set("workclass", "Martian-corp", line=6))
    _edit(sample.parent / "train.csv", _set("occupation", "", line=7))
    assert check_input_files(load_spec(sample))["train"] == 200


def test_row_with_a_missing_cell(sample):
    _edit(sample.parent / "train.csv", lambda rows: [*rows[:9], rows[9][:-1], *rows[10:]])
    assert "train.csv line 10: 14 cells where the header has 15" in _problems(sample)


def test_unbalanced_quote(sample):
    path = sample.parent / "train.csv"
    lines = path.read_text().splitlines()
    lines[20] = lines[20].replace(",", ',"', 1)  # opens a quote that never closes
    path.write_text("\n".join(lines) + "\n")
    assert "unexpected end of data (an unbalanced quote" in _problems(sample)


def test_file_with_a_header_only(sample):
    _edit(sample.parent / "test.csv", lambda rows: rows[:1])
    assert "test.csv: a header but no rows" in _problems(sample)


def test_empty_file_is_refused_when_the_spec_loads(sample):
    (sample.parent / "test.csv").write_text("")
    with pytest.raises(SpecError, match=r"files\.test.*test\.csv is empty"):
        load_spec(sample)


def test_missing_column_is_refused_when_the_spec_loads(sample):
    _edit(sample.parent / "train.csv", lambda rows: [r[:-1] for r in rows])  # drops income
    with pytest.raises(
        SpecError, match=r"\['income'\] are described but not in the header of train"
    ):
        load_spec(sample)


def test_extra_column_is_refused_when_the_spec_loads(sample):
    _edit(sample.parent / "test.csv", lambda rows: [[*r, "x"] for r in rows])
    with pytest.raises(SpecError, match=r"column\(s\) \['x'\] of test\.csv are not described"):
        load_spec(sample)


def test_files_of_one_split_with_different_headers(sample):
    directory = sample.parent
    with (directory / "train.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    part = directory / "parts"
    part.mkdir()
    with (part / "train-1.csv").open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows[:100])
    swapped = [[r[1], r[0], *r[2:]] for r in [rows[0], *rows[100:]]]  # age and workclass swapped
    with (part / "train-2.csv").open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(swapped)
    spec = write_spec(
        directory, "census", name="s", files={"train": "parts/train-*.csv", "test": "test.csv"}
    )
    message = _problems(spec)
    assert "train-2.csv: header ['workclass', 'age'," in message
    assert "must have the same columns in the same order" in message


def test_pattern_matching_no_file(sample):
    directory = sample.parent
    (directory / "parts").mkdir()
    spec = write_spec(
        directory, "census", name="s", files={"train": "parts/*.csv", "test": "test.csv"}
    )
    with pytest.raises(SpecError, match=r"files\.train.*does not exist"):
        load_spec(spec)


def test_too_few_rows_to_fill_every_split(tmp_path):
    spec = make_census_sample(tmp_path / "tiny", train_rows=12, test_rows=10)
    assert "files.train has 12 rows: too few to hash-split" in _problems(spec)


def test_many_problems_are_listed_up_to_a_limit(sample):
    def ruin(rows: Rows) -> Rows:
        for row in rows[1:30]:
            row[0] = "old"
        return rows

    _edit(sample.parent / "train.csv", ruin)
    message = _problems(sample)
    assert message.startswith("29 problem(s) in the input data; nothing was run")
    assert message.count("is not a number") == 10 and "... and 19 more" in message


def test_cli_stops_before_any_component_and_pushes_nothing(sample, tmp_path, capsys):
    _edit(sample.parent / "train.csv", _set("age", "forty", line=5))
    output = tmp_path / "outputs"
    assert cli.main(["run", "--data", str(sample), "--output-dir", str(output)]) == 2
    err = capsys.readouterr().err
    assert "train.csv line 5, column 'age': 'forty' is not a number" in err
    # Nothing ran: no ML Metadata store, no artifacts, no model.
    assert not (output / "census_sample" / "metadata.sqlite").exists()
    assert not (output / "census_sample" / "serving_model").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("high", "label 'high' is not a finite number (the spec's task is regression"),
        ("inf", "label 'inf' is not a finite number"),
        ("", "the label 'progression' is missing"),
    ],
)
def test_a_regression_label_must_be_a_finite_number(tmp_path, value, expected):
    from tests.conftest import DATA, sample_rows, write_csv

    header, rows = sample_rows(DATA / "diabetes" / "diabetes.csv", 100)
    write_csv(tmp_path / "diabetes.csv", header, rows)
    spec = write_spec(tmp_path, "diabetes")
    assert check_input_files(load_spec(spec)) == {"train": 100}
    _edit(tmp_path / "diabetes.csv", _set("progression", value, line=7))
    message = _problems(spec)
    assert f"{tmp_path / 'diabetes.csv'} line 7" in message
    assert expected in message
