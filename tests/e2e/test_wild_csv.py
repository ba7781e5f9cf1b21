"""Exports the pipeline has never seen run from their spec alone, through the CLI.

Two short runs, each `python -m pipeline run` in this process:
(0) every shape at once (`tests.wild_csv.make_wild_census`): a gzip-compressed Latin-1
training file and a test file with a UTF-8 byte-order mark, both semicolon-separated with
every header name quoted, columns named `hours per week`, `marital status` and
`native country (país)`, a label named `income class`, `N/A` and `NA` in numeric columns,
whole numbers in the training file and decimals in the test file. It is blessed, and the
user's names are what the summary, the report, the examples and the serving signature use.
(1) a test file that holds one class: AUC is undefined there, and the summary says so
instead of showing AUC 0 as a measurement; the model is not blessed.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
from pathlib import Path

import pytest
import tensorflow as tf

from pipeline import cli
from pipeline.reports.summary import latest_output_uri, summarize_run
from pipeline.runners import local as local_runner
from pipeline.serving.raw_examples import schema_types, serialize_rows
from pipeline.spec import DatasetSpec, csv_format, load_spec
from tests.wild_csv import (
    NUMERIC,
    RENAMED,
    census_rows,
    make_single_class_census,
    make_wild_census,
)

WILD, ONE_CLASS = range(2)


class CliRun:
    """One `python -m pipeline run` on a spec, and what it printed and left."""

    def __init__(self, spec_path: Path, output_dir: Path) -> None:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.code = cli.main(["run", "--data", str(spec_path), "--output-dir", str(output_dir)])
        self.out, self.err = out.getvalue(), err.getvalue()
        self.output_dir = output_dir
        self.spec: DatasetSpec = load_spec(spec_path)
        self.paths = local_runner.paths_for(self.spec, output_dir)
        self.name = local_runner.pipeline_name(self.spec)
        self.summary = summarize_run(self.paths.metadata_path, self.name, spec=self.spec)

    def output(self, component: str, key: str) -> Path:
        return Path(latest_output_uri(self.paths.metadata_path, self.name, component, key))

    def report(self) -> str:
        return (self.paths.reports_dir / "latest.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[CliRun]:
    root = tmp_path_factory.mktemp("wild")
    return [
        CliRun(make_wild_census(root / "wild"), root / "outputs"),
        CliRun(make_single_class_census(root / "one_class"), root / "outputs"),
    ]


def _examples(split_dir: Path) -> list[tf.train.Example]:
    files = sorted(str(p) for p in split_dir.glob("*.gz"))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(r.numpy()) for r in dataset]


def test_every_export_shape_at_once_is_blessed(runs):
    run = runs[WILD]
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert "Model: BLESSED (every threshold passed)" in run.out
    assert run.summary.blessed is True and run.summary.pushed_to
    # The user's column names in the summary: a bucketized column with a space is sliced.
    assert "hours per week [35, 41)" in run.summary.metrics
    assert re.search(r"\n  hours per week \[35, 41\) +\d+ ", run.out)
    assert run.summary.metrics["Overall"]["AUC"] >= 0.7


def test_examples_hold_the_headers_names_and_the_specs_types(runs):
    run = runs[WILD]
    header = [RENAMED.get(c, c) for c in census_rows("train", 1)[0]]
    numeric = [RENAMED.get(c, c) for c in NUMERIC]
    for component, splits in (("ExampleGen", ("train", "eval")), ("TestExampleGen", ("test",))):
        examples = [
            e for s in splits for e in _examples(run.output(component, "examples") / f"Split-{s}")
        ]
        names = {name for e in examples for name in e.features.feature}
        assert names == set(header), component  # no quotes, no byte-order mark
        # Numeric columns are floats in both files (whole numbers in train, decimals in
        # test); N/A and NA are missing values, not text.
        for name in numeric:
            assert all(e.features.feature[name].HasField("float_list") for e in examples), name
        ages = [list(e.features.feature["age"].float_list.value) for e in examples]
        assert [] in ages and all(len(a) <= 1 for a in ages)
        countries = {
            v
            for e in examples
            for v in e.features.feature["native country (país)"].bytes_list.value
        }
        assert "México".encode() in countries  # Latin-1 in train, UTF-8 in test
    types = schema_types(run.output("SchemaGen", "schema"))
    assert {types[name] for name in numeric} == {"float"}


def test_the_pushed_model_reads_raw_examples_keyed_by_the_header_names(runs):
    run = runs[WILD]
    rows = csv_format.read_rows(run.spec.file_path("test"), run.spec.encoding, run.spec.delimiter)
    assert "hours per week" in rows[0] and any(row["age"] == "N/A" for row in rows)
    types = schema_types(run.output("SchemaGen", "schema"))
    serve = tf.saved_model.load(run.summary.pushed_to).signatures["serving_default"]
    scores = serve(examples=tf.constant(serialize_rows(run.spec, rows[:20], types)))
    assert ((scores["probabilities"] >= 0) & (scores["probabilities"] <= 1)).numpy().all()
    # The feature named 'hours per week' is what the model reads for that column.
    longer = [{**row, "hours per week": "99.0"} for row in rows[:20]]
    changed = serve(examples=tf.constant(serialize_rows(run.spec, longer, types)))
    assert (changed["probabilities"].numpy() != scores["probabilities"].numpy()).any()


def test_predict_scores_an_export_read_as_the_spec_says(runs, tmp_path, capsys):
    # The test file as exported: semicolons, a byte-order mark, quoted names, N/A.
    run = runs[WILD]
    output = tmp_path / "predictions.csv"
    args = ["--data", str(run.spec.file_path("test")), "--dataset", str(run.spec.spec_path)]
    args += ["--output-dir", str(run.output_dir), "--output", str(output)]
    assert cli.main(["predict", *args]) == 0, capsys.readouterr().err
    rows = csv_format.read_rows(output)
    assert len(rows) == 200 and "hours per week" in rows[0]
    assert all(0 <= float(row["probability"]) <= 1 for row in rows)


def test_the_report_names_columns_as_the_header_does(runs):
    page = runs[WILD].report()
    assert "hours per week [35, 41)" in page
    assert "native country (país)" in page
    assert "hours_per_week_" not in page  # the internal name stays inside the model


def test_a_single_class_test_split_says_auc_is_undefined_not_zero(runs):
    run = runs[ONE_CLASS]
    assert run.code == 0, run.err
    assert run.summary.blessed is False and run.summary.pushed_to is None
    line = (
        "auc: the test split holds a single class (only '<=50K'): AUC is undefined, so its "
        "lower bound 0.5 cannot be met"
    )
    assert any(f.startswith(line) for f in run.summary.failed_thresholds), run.summary
    assert line in run.out and "auc = 0" not in run.out
    assert "AUC" not in run.summary.metrics["Overall"]  # no number that measures nothing
    page = run.report()
    assert line in html.unescape(page)
    # The bound's value and the overall AUC: '–', not 0.
    assert "<tr><td>auc (AUC)</td><td>Overall</td><td>–</td>" in page
    assert "<tr><td>Overall</td><td>60</td><td>–</td>" in page  # n, then AUC
