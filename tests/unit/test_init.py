"""`python -m pipeline init`: what it infers from small files the tests write.

Each file is written here; each spec `init` writes is loaded with `load_spec` (the loader the
pipeline runs) and read back as YAML, so a test fails when a role, task, token, bound or key
is wrong, or when the file does not load.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import math
import random
from pathlib import Path

import pytest
import yaml

from pipeline import cli
from pipeline.spec import load_spec
from pipeline.spec.infer import (
    MIN_STEPS,
    InitError,
    has_key,
    infer,
    profile,
    quantile_buckets,
    read_table,
)
from pipeline.spec.init import write_spec
from pipeline.spec.reference import MODELINE, SCHEMA_PATH
from pipeline.spec.schema import FilesSpec

COMMAND = "python -m pipeline init"


def _rows(count: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """A small tabular data set: an id, a number with N/A, a category, a constant, a label."""
    rng = random.Random(seed)
    header = ["customer_id", "age", "income", "plan", "country", "signup", "churned"]
    rows = []
    for i in range(count):
        age = rng.randint(18, 80)
        plan = rng.choice(["basic", "plus", "pro"])
        churned = "yes" if (age < 30) != (rng.random() < 0.2) else "no"
        income = "N/A" if i % 17 == 0 else f"{rng.uniform(10, 90):.1f}"
        rows.append(
            [f"C{i:05d}", str(age), income, plan, "FR", f"2024-01-{i % 28 + 1:02d}", churned]
        )
    return header, rows


def _write(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    quote_all: bool = False,
) -> Path:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    data = (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _init(path: Path, label: str) -> tuple[dict, Path]:
    spec_path, _ = write_spec(path, label, f"{COMMAND} {path} --label {label}")
    return yaml.safe_load(spec_path.read_text()), spec_path


def test_roles_tokens_and_task_from_the_data(tmp_path):
    header, rows = _rows(300)
    spec, path = _init(_write(tmp_path / "churn.csv", header, rows), "churned")
    columns = spec["columns"]
    assert columns["age"]["role"] == "numeric"  # bucketized: a slice
    # 'N/A' in a numeric column: a declared token, and the column stays numeric.
    assert columns["income"] == "numeric"
    assert spec["missing_values"] == ["N/A"]
    assert columns["plan"] == "categorical"
    assert columns["customer_id"]["role"] == "ignored"
    assert "identifier" in columns["customer_id"]["reason"]
    assert columns["country"]["role"] == "ignored"
    assert "constant" in columns["country"]["reason"]
    assert columns["signup"]["role"] == "ignored" and "date" in columns["signup"]["reason"]
    assert columns["churned"] == "label"
    # Two values: binary, the minority class positive.
    yes = sum(r[-1] == "yes" for r in rows)
    assert spec["task"] == "binary_classification"
    assert spec["label"] == {
        "column": "churned",
        "positive": "yes" if yes < len(rows) / 2 else "no",
        "classes": ["no", "yes"],
    }
    loaded = load_spec(path)
    assert loaded.missing_values == ("N/A",)
    assert loaded.name == "churn"


def test_first_line_is_the_modeline_and_comments_say_why(tmp_path):
    header, rows = _rows(120)
    _, path = _init(_write(tmp_path / "data" / "train.csv", header, rows), "churned")
    first = path.read_text().splitlines()[0]
    # Every bundled spec's first line: editors find the schema from the spec's folder.
    assert first.startswith(MODELINE)
    assert (path.parent / first[len(MODELINE) :]).resolve() == SCHEMA_PATH
    text = path.read_text()
    assert "python -m pipeline run --data" in text
    assert "the minority class" in text
    # A generic file name: the spec is named after its folder.
    assert load_spec(path).name == "data"


def test_multiclass_label_lists_its_classes(tmp_path):
    rng = random.Random(1)
    rows = [
        [f"{rng.gauss(i % 3, 0.3):.2f}", rng.choice("ab"), ["Adelie", "Gentoo", "Chinstrap"][i % 3]]
        for i in range(150)
    ]
    spec, path = _init(_write(tmp_path / "birds.csv", ["x", "c", "species"], rows), "species")
    assert spec["task"] == "multiclass_classification"
    assert spec["label"] == {"column": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"]}
    # The majority class is right in a third of the rows: the bound is above that.
    (bound,) = spec["evaluation"]["thresholds"]
    assert bound["metric"] == "accuracy" and 1 / 3 < bound["lower_bound"] <= 0.35
    assert load_spec(path).task == "multiclass_classification"


def test_many_numbers_are_a_regression_bounded_by_the_mean(tmp_path):
    rng = random.Random(2)
    values = [rng.gauss(100, 15) for _ in range(200)]
    rows = [[f"{v / 10:.3f}", rng.choice("xyz"), f"{v:.2f}"] for v in values]
    spec, path = _init(_write(tmp_path / "prices.csv", ["x", "c", "price"], rows), "price")
    assert spec["task"] == "regression"
    assert "positive" not in spec["label"] and "classes" not in spec["label"]
    (bound,) = spec["evaluation"]["thresholds"]
    mean = sum(float(r[2]) for r in rows) / len(rows)
    std = math.sqrt(sum((float(r[2]) - mean) ** 2 for r in rows) / len(rows))
    # Predicting the mean scores the label's deviation: the bound is that RMSE.
    assert bound["metric"] == "rmse" and bound["upper_bound"] == pytest.approx(std, rel=0.01)
    assert "fairness" not in spec
    load_spec(path)


def test_a_zero_one_label_is_binary_with_whole_number_classes(tmp_path):
    rows = [[str(i % 7), str(int(i % 10 < 3))] for i in range(100)]
    spec, path = _init(_write(tmp_path / "flags.csv", ["x", "y"], rows), "y")
    assert spec["label"] == {"column": "y", "positive": 1, "classes": [0, 1]}
    accuracy = next(t for t in spec["evaluation"]["thresholds"] if t["metric"] == "binary_accuracy")
    # Always predicting 0 is right in 70% of the rows: the bound must beat it.
    assert accuracy["lower_bound"] >= 0.7
    assert {"metric": "auc", "lower_bound": 0.6} in spec["evaluation"]["thresholds"]
    load_spec(path)


def test_slices_sensitive_columns_first_numeric_ones_bucketized_at_quartiles(tmp_path):
    rng = random.Random(3)
    rows = [
        [
            str(rng.randint(20, 69)),
            rng.choice(["F", "M"]),
            rng.choice(["a", "b", "c", "d"]),
            str(rng.randint(0, 1)),
        ]
        for _ in range(400)
    ]
    spec, path = _init(_write(tmp_path / "p.csv", ["age", "sex", "region", "y"], rows), "y")
    slicing = spec["slicing"]
    assert slicing["columns"] == ["sex", "region", "age"]
    assert slicing["crosses"] == [["sex", "region"]]
    ages = sorted(int(r[0]) for r in rows)
    buckets = spec["columns"]["age"]["buckets"]
    assert len(buckets) == 3
    for bound, q in zip(buckets, (0.25, 0.5, 0.75), strict=True):
        assert abs(bound - ages[int(q * len(ages))]) <= 1
    assert spec["fairness"]["sensitive_columns"] == ["sex", "age"]
    assert load_spec(path).slice_columns == ("sex", "region", "age")


def test_quantile_buckets_stay_inside_the_range_and_increase(tmp_path):
    rows = [[f"{0.001 * i:.4f}", str(i % 2)] for i in range(1, 101)]
    draft = infer(_write(tmp_path / "s.csv", ["small", "y"], rows), "y")
    p = profile(draft.table, set())["small"]
    buckets = quantile_buckets(p)
    assert list(buckets) == sorted(set(buckets)) and buckets[0] > 0.001 and buckets[-1] <= 0.1


def test_training_steps_scale_with_the_rows(tmp_path):
    small = infer(_write(tmp_path / "a.csv", *_rows(100)), "churned").training
    large = infer(_write(tmp_path / "b.csv", *_rows(12000)), "churned").training
    assert small["train_steps"] == MIN_STEPS
    assert large["train_steps"] > small["train_steps"]
    # About ten passes over the training rows (80% of them with the default split).
    passes = large["train_steps"] * large["batch_size"] / (12000 * 0.8)
    assert 9 <= passes <= 11
    assert large["batch_size"] > small["batch_size"]


@pytest.mark.parametrize(
    "options",
    [
        {"delimiter": ";"},
        {"delimiter": "\t"},
        {"bom": True},
        {"quote_all": True},
        {"encoding": "latin-1"},
        {},
    ],
    ids=["semicolon", "tab", "bom", "quoted-header", "latin-1", "gzip"],
)
def test_files_are_read_as_they_come(tmp_path, options):
    header, rows = _rows(80)
    rows[3][3] = "prémium" if options.get("encoding") else rows[3][3]
    name = "x.csv.gz" if not options else "x.csv"
    path = _write(tmp_path / name, header, rows, **options)
    table = read_table(path)
    assert table.header == header
    assert table.delimiter == options.get("delimiter", ",")
    assert table.encoding == options.get("encoding", "utf-8")
    assert table.rows == len(rows)
    assert table.cells["plan"][rows[3][3]] >= 1
    needs = ("delimiter" in options, "encoding" in options, not options or "bom" in options)
    supported = has_key(FilesSpec, "delimiter") and has_key(FilesSpec, "encoding")
    if any(needs) and not supported:
        # A version whose spec cannot say how to read the file says so, in one line.
        with pytest.raises(InitError, match="convert the file first"):
            _init(path, "churned")
        assert not (tmp_path / "dataset.yaml").exists()
        return
    spec, spec_path = _init(path, "churned")
    files = spec["files"]
    assert files["train"] == name
    assert files.get("delimiter", ",") == options.get("delimiter", ",")
    assert files.get("encoding", "utf-8") == options.get("encoding", "utf-8")
    assert list(spec["columns"]) == header
    load_spec(spec_path)


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["init", *argv])
    return code, out.getvalue(), err.getvalue()


def test_cli_writes_the_spec_and_prints_the_next_command(tmp_path):
    path = _write(tmp_path / "shop" / "churn.csv", *_rows(150))
    code, out, err = _cli(str(path), "--label", "churned")
    assert (code, err) == (0, "")
    spec = tmp_path / "shop" / "dataset.yaml"
    assert spec.is_file()
    assert out.splitlines()[-1].strip() == f"python -m pipeline run --data {spec.parent}"
    assert load_spec(spec).label.column == "churned"


def test_cli_never_overwrites_a_spec(tmp_path):
    path = _write(tmp_path / "churn.csv", *_rows(50))
    spec = tmp_path / "dataset.yaml"
    spec.write_text("mine\n")
    code, out, err = _cli(str(path), "--label", "churned")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "exists already" in err and str(spec) in err
    assert spec.read_text() == "mine\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.csv", "--label", "y"], "missing.csv: no such file"),
        ([".", "--label", "y"], ".: a folder, not a file: give the CSV file itself"),
        (
            ["churn.csv", "--label", "Churned"],
            "no column 'Churned' in the header; did you mean 'churned'?",
        ),
        (["churn.csv", "--label", "plna"], "did you mean 'plan'?"),
        (["churn.csv", "--label", "country"], "holds a single value ('FR')"),
        (["churn.csv", "--label", "customer_id"], "too many classes"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "churn.csv", *_rows(60))
    code, out, err = _cli(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "dataset.yaml").exists()


def test_a_label_with_missing_values_is_refused_with_the_count(tmp_path):
    header, rows = _rows(40)
    rows[5][-1] = ""
    with pytest.raises(InitError, match="has no value in 1 of 40 rows"):
        infer(_write(tmp_path / "c.csv", header, rows), "churned")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plain.csv", gzip.compress(b"a,y\n1,0\n2,1\n", mtime=0), "its name does not end in .gz"),
        ("named.csv.gz", b"a,y\n1,0\n2,1\n", "but the file is not gzip-compressed"),
        ("index.csv", b",a,y\n0,1,0\n1,2,1\n", "column 1 of the header has no name"),
        ("twice.csv", b"a,a,y\n1,2,0\n2,3,1\n", "the header repeats the column(s) ['a']"),
        ("ragged.csv", b"a,y\n1,0\n2,1,5\n", "line 3: 3 cells where the header has 2"),
        ("empty.csv", b"", "empty file, no header row"),
    ],
    ids=["gzip-named-csv", "csv-named-gz", "unnamed-column", "repeated-column", "ragged", "empty"],
)
def test_files_the_pipeline_cannot_read_are_named_in_one_line(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    code, out, err = _cli(str(tmp_path / name), "--label", "y")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and str(tmp_path / name) in err, err
    assert not (tmp_path / "dataset.yaml").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delimiter": ";"}, "cells are separated by a semicolon"),
        ({"encoding": "latin-1"}, "the file is not UTF-8 (read as latin-1)"),
        ({"bom": True}, "starts with a byte-order mark"),
    ],
)
def test_a_schema_without_the_format_keys_refuses_what_it_cannot_say(
    tmp_path, monkeypatch, options, message
):
    """Without `files.delimiter` / `files.encoding` in the schema (the keys are looked up
    there, not assumed), a file that needs them is one line, and no spec is written."""
    import pipeline.spec.init as init_module

    monkeypatch.setattr(init_module, "has_key", lambda model, field: False)
    header, rows = _rows(40)
    rows[0][3] = "prémium"
    path = _write(tmp_path / "x.csv", header, rows, **options)
    code, out, err = _cli(str(path), "--label", "churned")
    assert (
        code == 2
        and out == ""
        and err.count("\n") == 1
        and message in err
        and "convert the file" in err
    )
    assert not (tmp_path / "dataset.yaml").exists()


def test_a_feature_that_gives_the_class_away_is_flagged_not_dropped(tmp_path):
    rng = random.Random(4)
    rows = []
    for i in range(300):
        y = rng.choice(["yes", "no"])
        status = y if i % 50 else ("no" if y == "yes" else "yes")  # 98% the label itself
        rows.append([str(rng.randint(20, 60)), rng.choice("abc"), status, y])
    path = _write(tmp_path / "leak.csv", ["age", "plan", "status", "y"], rows)
    code, out, err = _cli(str(path), "--label", "y")
    assert (code, err) == (0, "")
    assert "CHECK 'status'" in out and "CHECK 'plan'" not in out
    spec_text = (tmp_path / "dataset.yaml").read_text()
    lines = spec_text.splitlines()
    status = next(i for i, line in enumerate(lines) if line.startswith("  status:"))
    # The warning is the comment just above the column (wrapped), naming it.
    above = [line for line in lines[status - 3 : status] if line.startswith("  # ")]
    assert above[0].startswith("  # CHECK status: it gives the class alone in 98% of the rows")
    assert "leaks the label" in " ".join(above)
    # Flagged, still a feature: whether it is known before the outcome is the user's call.
    assert load_spec(tmp_path).categorical_features == ["plan", "status"]


def test_any_header_name_and_value_survive_the_yaml(tmp_path):
    """Names and classes YAML would read as something else are quoted; plain ones are not."""
    names = ["yes", "123", "a: b", "#tag", "prix (€)", "x-y", "null", "on"]
    rows = [
        [str(i % 5), "a" if i % 3 else "b", *([str(i % 4)] * 6), ["true", "false"][i % 2]]
        for i in range(60)
    ]
    header = [*names, "label"]
    path = _write(tmp_path / "odd.csv", header, rows)
    spec, _ = _init(path, "label")
    assert list(spec["columns"]) == header
    assert spec["label"]["classes"] == ["false", "true"]  # text, not YAML booleans
    assert spec["label"]["positive"] in ("false", "true")


@pytest.mark.parametrize(
    ("relative", "name"),
    [("shop/train.csv", "shop"), ("My Data-2024.csv", "my_data_2024"), ("a/b.csv.gz", "b")],
)
def test_the_spec_is_named_after_the_file_or_its_folder(tmp_path, relative, name):
    from pipeline.spec.infer import dataset_name

    assert dataset_name(tmp_path / relative) == name


def test_a_folder_it_cannot_write_to_is_one_line(tmp_path, monkeypatch):
    """A read-only folder (simulated: the tests run as root, who writes anywhere)."""
    path = _write(tmp_path / "churn.csv", *_rows(40))
    real_open = Path.open

    def refuse_new_files(self: Path, mode: str = "r", *args, **kwargs):
        if mode == "x":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse_new_files)
    code, out, err = _cli(str(path), "--label", "churned")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{tmp_path / 'dataset.yaml'}: cannot be written (Permission denied)" in err
