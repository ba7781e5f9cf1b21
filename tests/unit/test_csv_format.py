"""How the spec's CSV files are read (`pipeline.spec.csv_format`) and how any header name
becomes a name TensorFlow accepts (`pipeline.spec.feature_key`)."""

from __future__ import annotations

import gzip
import re

import pytest

from pipeline.spec import csv_format, feature_key
from pipeline.spec.names import bucket_name, cross_name


def _write(path, data: bytes):
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz"])
def test_header_loses_quotes_and_byte_order_mark(tmp_path, name):
    path = _write(tmp_path / name, b'\xef\xbb\xbf"carat","cut","price (\xe2\x82\xac)"\r\n1,a,2\r\n')
    assert csv_format.read_header(path) == ["carat", "cut", "price (€)"]
    # The mark says UTF-8, whatever the spec's encoding.
    assert csv_format.read_header(path, encoding="latin-1") == ["carat", "cut", "price (€)"]
    assert csv_format.file_starts_with_bom(path)


def test_rows_are_read_with_the_encoding_and_delimiter(tmp_path):
    path = _write(tmp_path / "x.csv.gz", "país;n\r\nMéxico;1\r\n".encode("latin-1"))
    assert csv_format.read_rows(path, "latin-1", ";") == [{"país": "México", "n": "1"}]


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz"])
def test_the_first_line_a_codec_cannot_decode_is_found(tmp_path, name):
    path = _write(tmp_path / name, "a,b\n1,x\n2,Caf\xe9\n".encode("latin-1"))
    found = csv_format.first_undecodable_line(path, "utf-8")
    assert found == (3, b"\xe9")
    assert csv_format.first_undecodable_line(path, "latin-1") is None
    message = csv_format.undecodable_message(path, "utf-8")
    assert message.startswith(f"{path} line 3: byte(s) b'\\xe9' not utf-8 text")
    assert "set `encoding:` under `files:` in the spec" in message


@pytest.mark.parametrize(
    ("line", "declared", "found"),
    [
        ("age;workclass;income", ",", ";"),
        ('"age";"workclass";"income"', ",", ";"),
        ("age\tworkclass\tincome", ",", "\t"),
        ("age|workclass", ",", "|"),
        ("age,workclass,income", ",", None),
        ("age,workclass,income", ";", ","),
        ("age", ",", None),
    ],
)
def test_a_header_separated_by_another_delimiter_is_recognised(line, declared, found):
    assert csv_format.other_delimiter(line, declared) == found


def test_gzip_is_recognised_by_its_suffix():
    assert csv_format.is_gzip("gs://bucket/train.csv.gz") and not csv_format.is_gzip("a.csv")


@pytest.mark.parametrize(
    "name",
    ["hours per week", "hours-per-week", "Prix (€)", "Prix ($)", "2019", "_id", "", "über", "a/b"],
)
def test_any_header_name_gets_a_name_tensorflow_accepts(name):
    key = feature_key(name)
    # A Keras layer or input, a TF op or scope, a file name: letters, digits, underscores.
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key), key
    assert feature_key(name) == key  # the same from the name alone, everywhere
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", bucket_name(name))


def test_plain_names_are_kept_and_look_alikes_stay_apart():
    assert feature_key("hours_per_week") == "hours_per_week"
    assert feature_key("education_num") == "education_num"
    keys = {feature_key(n) for n in ["a b", "a-b", "a_b", "a.b", "A b"]}
    assert len(keys) == 5
    assert feature_key("hours per week").startswith("hours_per_week_")
    assert cross_name(("marital status", "sex")) == f"{feature_key('marital status')}_x_sex"
