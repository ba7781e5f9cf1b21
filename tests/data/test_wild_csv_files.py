"""CSV files as exports write them: read as the spec says, or stopped before any component
with one line naming the file (and line) and what to set in the spec.

The training side (the same shapes through a whole blessed run) is in
tests/e2e/test_wild_csv.py; here every case goes through `python -m pipeline run` up to the
input checks, so nothing may have started: no ML Metadata store, no artifact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import cli
from pipeline.runners.input_checks import check_input_files
from pipeline.spec import SpecError, load_spec
from tests.wild_csv import census_rows, census_spec, edit, make_wild_census, save_spec, write_export


def test_exports_the_spec_describes_pass_the_checks(tmp_path):
    # gzip + Latin-1 + semicolons + quoted names with spaces; a byte-order mark; N/A.
    spec = load_spec(make_wild_census(tmp_path))
    assert (spec.delimiter, spec.encoding) == (";", "latin-1")
    assert "hours per week" in spec.numeric_features
    assert check_input_files(spec) == {"train": 400, "test": 200}


def _census(
    directory: Path,
    rows: list[list[str]] | None = None,
    written: dict[str, str] | None = None,
    **files: str,
) -> Path:
    """A small census set as `files` (the spec's section: train.csv and test.csv, comma
    separated, UTF-8 by default) describes it; `rows` replaces the training rows and
    `written` ({delimiter, encoding}) says how the files really are, when not so."""
    header, train = census_rows("train", 120)
    _, test = census_rows("test", 40)
    files = {"train": "train.csv", "test": "test.csv", **files}
    if written is None:
        written = {k: files[k] for k in ("delimiter", "encoding") if k in files}
    write_export(directory / files["train"], header, rows or train, **written)
    write_export(directory / files["test"], header, test, **written)
    return save_spec(directory, census_spec(name="exports", files=files, drift=None, ablation=None))


def _with_mexico(rows: list[list[str]], header: list[str], at: int) -> list[list[str]]:
    """`rows` with the country of row `at` (file line at + 2) written 'México'."""
    return edit(header, rows, "native_country", lambda i, c: "México" if i == at else c)


def _stops(spec_path: Path, output: Path, capsys) -> str:
    """Runs the CLI; checks that it stopped before any component; returns its stderr."""
    code = cli.main(["run", "--data", str(spec_path), "--output-dir", str(output)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    # One line: the spec's error, or the input checks' heading and their one problem.
    lines = err.strip().splitlines()
    assert len(lines) == 1 or (len(lines) == 2 and lines[0].startswith("error: 1 problem")), err
    assert not list(output.rglob("metadata.sqlite")), "a component ran"
    return err


def test_a_latin1_byte_without_an_encoding_names_file_line_and_key(tmp_path, capsys):
    header, rows = census_rows("train", 120)
    train = _with_mexico(rows, header, at=6)
    # The spec says nothing of the encoding: the header loads, the input checks stop.
    spec = _census(tmp_path, train, {"encoding": "latin-1"}, train="train.csv.gz")
    err = _stops(spec, tmp_path / "out", capsys)
    assert (
        f"{tmp_path / 'train.csv.gz'} line 8: byte(s) b'\\xe9' not utf-8 text: the file has "
        "another encoding; set `encoding:` under `files:` in the spec" in err
    )


def test_a_latin1_header_without_an_encoding_is_refused_when_the_spec_loads(tmp_path, capsys):
    spec = _census(tmp_path)
    for name in ("train.csv", "test.csv"):
        path = tmp_path / name
        path.write_bytes(path.read_bytes().replace(b"native_country", b"pa\xeds", 1))
    text = spec.read_text().replace("native_country:", "país:")
    spec.write_text(text)
    err = _stops(spec, tmp_path / "out", capsys)
    path = tmp_path / "train.csv"
    assert f"key 'files.train': {path} line 1: byte(s) b'\\xed' not utf-8 text" in err
    # Declared, the same files load.
    spec.write_text(text.replace("  test: test.csv\n", "  test: test.csv\n  encoding: latin-1\n"))
    assert "país" in load_spec(spec).categorical_features


def test_semicolons_without_a_delimiter_say_which_delimiter_to_set(tmp_path, capsys):
    spec = _census(tmp_path, written={"delimiter": ";"})
    err = _stops(spec, tmp_path / "out", capsys)
    assert "are described but not in the header of train.csv: its header looks separated by " in err
    assert "set `delimiter: ';'` under `files:` in the spec" in err


def test_a_decimal_comma_is_named(tmp_path, capsys):
    header, rows = census_rows("train", 120)
    train = edit(header, rows, "hours_per_week", lambda i, c: "37,5" if i == 3 else c)
    spec = _census(tmp_path, train, delimiter=";")
    err = _stops(spec, tmp_path / "out", capsys)
    assert (
        f"{tmp_path / 'train.csv'} line 5, column 'hours_per_week': '37,5' is not a number: "
        "it has a decimal comma; export the file with '.' as the decimal separator" in err
    )


def test_a_gz_file_that_is_not_gzip_is_named(tmp_path, capsys):
    spec = _census(tmp_path)
    (tmp_path / "train.csv").rename(tmp_path / "train.csv.gz")
    spec.write_text(spec.read_text().replace("train: train.csv", "train: train.csv.gz"))
    err = _stops(spec, tmp_path / "out", capsys)
    assert f"key 'files.train': file {tmp_path / 'train.csv.gz'} cannot be read" in err


@pytest.mark.parametrize(
    ("files", "key", "message"),
    [
        ({"delimiter": ";;"}, "files.delimiter", "expected one character such as ';' or a tab"),
        ({"delimiter": '"'}, "files.delimiter", "expected one character"),
        ({"encoding": "latin-9x"}, "files.encoding", "unknown encoding 'latin-9x'"),
    ],
)
def test_bad_format_keys_are_refused_when_the_spec_loads(tmp_path, files, key, message):
    with pytest.raises(SpecError, match=rf"key '{key}': {message}"):
        load_spec(_census(tmp_path, written={}, **files))
