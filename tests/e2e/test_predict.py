"""Batch scoring and serving requests, through the CLI, with the models the census workspace
pushed, and the pipeline's own scoring of a `score:` file (tests/e2e/conftest.py).

`python -m pipeline predict` is checked against the SavedModel called directly; the
request bodies of `python -m pipeline request` are decoded as TF Serving's JSON decoder
decodes them and run through the same SavedModel; BulkInferrer's predictions.csv against
`predict` with the same model. No model server runs here.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from pipeline import cli
from pipeline.reports.artifacts import find_run
from pipeline.serving.model import ServedModel, pushed_versions
from pipeline.serving.raw_examples import schema_types, serialize_rows
from tests.conftest import write_csv
from tests.e2e.conftest import BIASED, CACHED, FIRST, SCORE_FILE, SCORED

Rows = list[list[str]]


def _read(path: Path) -> tuple[list[str], Rows]:
    with path.open(newline="") as f:
        header, *rows = csv.reader(f)
    return header, rows


def _dicts(header: list[str], rows: Rows) -> list[dict[str, str]]:
    return [dict(zip(header, row, strict=True)) for row in rows]


def _args(workspace, data: Path, output: Path | None = None, *more: str) -> list[str]:
    args = ["--data", str(data), "--dataset", str(workspace.spec_path)]
    args += ["--output-dir", str(workspace.output_dir)]
    return [*args, *(["--output", str(output)] if output else []), *more]


def _predict(workspace, data: Path, output: Path, *more: str) -> int:
    return cli.main(["predict", *_args(workspace, data, output, *more)])


@pytest.fixture(scope="module")
def scoring_file(workspace, tmp_path_factory) -> Path:
    """The workspace's 600 test rows, label included."""
    header, rows = _read(workspace.spec.file_path("test"))
    return write_csv(tmp_path_factory.mktemp("scoring") / "new.csv", header, rows)


@pytest.fixture(scope="module")
def latest(workspace) -> ServedModel:
    versions = pushed_versions(workspace.paths.serving_dir)
    return ServedModel.load(workspace.paths.serving_dir / versions[-1])


def _direct_scores(workspace, model_dir: str, rows: list[dict[str, str]]) -> np.ndarray:
    """P(positive) from the SavedModel's signature, with tf.Examples typed by the schema of
    the run that pushed it (not by the model: an independent check of `parsed_features`)."""
    run = find_run(workspace.paths.metadata_path, workspace.pipeline_name)
    examples = serialize_rows(workspace.spec, rows, schema_types(run.schema.uri))
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    return serve(examples=tf.constant(examples))["probabilities"].numpy().reshape(-1)


def test_the_model_parses_the_types_of_the_schema_it_was_trained_with(workspace, latest):
    run = find_run(workspace.paths.metadata_path, workspace.pipeline_name)
    schema = schema_types(run.schema.uri)
    assert latest.types == {name: schema[name] for name in workspace.spec.raw_feature_columns}
    # Columns with missing cells in training are optional; the others are required.
    assert {"workclass", "occupation", "native_country"}.isdisjoint(latest.required)
    assert "age" in latest.required and "sex" in latest.required


def test_predict_keeps_every_column_and_adds_probability_and_class(
    workspace, scoring_file, latest, tmp_path, capsys
):
    output = tmp_path / "predictions.csv"
    assert _predict(workspace, scoring_file, output) == 0
    out = capsys.readouterr().out
    assert f"with model version {latest.version}" in out
    assert "predicted_class ('>50K' when the probability > 0.5, else '<=50K')" in out
    header, rows = _read(scoring_file)
    out_header, out_rows = _read(output)
    assert out_header == [*header, "probability", "predicted_class"]
    assert [r[: len(header)] for r in out_rows] == rows  # every cell as given, in order
    probabilities = np.array([float(r[-2]) for r in out_rows], dtype=np.float32)
    direct = _direct_scores(workspace, str(latest.path), _dicts(header, rows))
    np.testing.assert_allclose(probabilities, direct, rtol=0, atol=1e-6)
    assert [r[-1] for r in out_rows] == [">50K" if p > 0.5 else "<=50K" for p in probabilities]
    # A sample model still separates the classes: the labels agree with most classes.
    labels = [r[header.index("income")] for r in rows]
    assert np.mean([r[-1] == y for r, y in zip(out_rows, labels, strict=True)]) > 0.75


def test_the_label_is_optional_and_other_columns_pass_through(workspace, scoring_file, tmp_path):
    header, rows = _read(scoring_file)
    label = header.index("income")
    # No label, an id column first, and the feature columns in another order.
    unlabeled = [["id", *reversed([h for h in header if h != "income"])]]
    unlabeled += [[f"c{i}", *reversed(r[:label] + r[label + 1 :])] for i, r in enumerate(rows)]
    write_csv(tmp_path / "unlabeled.csv", unlabeled[0], unlabeled[1:])
    assert _predict(workspace, tmp_path / "unlabeled.csv", tmp_path / "a.csv") == 0
    assert _predict(workspace, scoring_file, tmp_path / "b.csv") == 0
    a_header, a_rows = _read(tmp_path / "a.csv")
    _, b_rows = _read(tmp_path / "b.csv")
    assert a_header == [*unlabeled[0], "probability", "predicted_class"]
    assert [r[:-2] for r in a_rows] == unlabeled[1:]
    assert [r[-2:] for r in a_rows] == [r[-2:] for r in b_rows]


def test_a_file_larger_than_a_batch_gives_the_same_bytes(workspace, scoring_file, tmp_path):
    assert _predict(workspace, scoring_file, tmp_path / "one.csv") == 0
    assert _predict(workspace, scoring_file, tmp_path / "many.csv", "--batch-size", "7") == 0
    assert _predict(workspace, scoring_file, tmp_path / "block.csv", "--batch-size", "100") == 0
    # 600 rows in 86 batches of 7 (the last one of 5), or 6 of 100: byte for byte the same.
    one = (tmp_path / "one.csv").read_bytes()
    assert (tmp_path / "many.csv").read_bytes() == one
    assert (tmp_path / "block.csv").read_bytes() == one


def test_the_threshold_decides_the_class(workspace, scoring_file, tmp_path, capsys):
    assert _predict(workspace, scoring_file, tmp_path / "t.csv", "--threshold", "0.2") == 0
    assert "'>50K' when the probability > 0.2" in capsys.readouterr().out
    _, rows = _read(tmp_path / "t.csv")
    assert [r[-1] for r in rows] == [">50K" if float(r[-2]) > 0.2 else "<=50K" for r in rows]
    assert _predict(workspace, scoring_file, tmp_path / "u.csv", "--threshold", "1.5") == 2
    assert "--threshold lies in (0, 1), got 1.5" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("age", "forty", "column 'age': 'forty' is not a number"),
        # A decimal comma (a numeric column is a float: '40.5' scores).
        ("hours_per_week", "40,5", "column 'hours_per_week': '40,5' is not a number"),
        ("age", "", "column 'age': no value, and the model cannot score a row without one"),
        ("income", ">70K", "label '>70K' is not one of the declared classes"),
    ],
)
def test_a_bad_cell_is_one_line_and_nothing_is_written(
    workspace, scoring_file, tmp_path, capsys, column, value, expected
):
    header, rows = _read(scoring_file)
    rows[41][header.index(column)] = value  # file line 43
    bad = write_csv(tmp_path / "bad.csv", header, rows)
    output = tmp_path / "predictions.csv"
    assert _predict(workspace, bad, output) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {bad} line 43, ")
    assert expected in err and err.rstrip().endswith("nothing was scored")
    assert list(tmp_path.iterdir()) == [bad]  # no output, no partial file


def test_missing_values_the_model_can_impute_pass(workspace, scoring_file, tmp_path):
    header, rows = _read(scoring_file)
    rows[0][header.index("occupation")] = ""
    rows[1][header.index("workclass")] = "?"
    rows[2][header.index("workclass")] = "Martian-corp"  # unseen: the OOV bucket
    rows[3][header.index("income")] = ""  # an unlabeled row among labeled ones
    data = write_csv(tmp_path / "gaps.csv", header, rows)
    assert _predict(workspace, data, tmp_path / "p.csv") == 0
    assert len(_read(tmp_path / "p.csv")[1]) == 600


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty.csv: empty file, not even a header; nothing was scored"),
        ("age,sex\n", "empty.csv: no column ['workclass', "),
        (None, "empty.csv: a header but no rows; nothing was scored"),
    ],
)
def test_an_empty_file_is_one_line(workspace, scoring_file, tmp_path, capsys, content, expected):
    data = tmp_path / "empty.csv"
    if content is None:
        content = scoring_file.read_text().splitlines()[0] + "\n"
    data.write_text(content)
    assert _predict(workspace, data, tmp_path / "p.csv") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err
    assert not (tmp_path / "p.csv").exists()


def test_a_folder_to_score_is_one_line(workspace, tmp_path, capsys):
    # As with `run`, where --data is the data set's folder.
    assert _predict(workspace, workspace.spec_path.parent, tmp_path / "p.csv") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a folder, not a CSV file; nothing was scored" in err


def test_an_output_column_name_in_the_input_is_refused(workspace, scoring_file, tmp_path, capsys):
    header, rows = _read(scoring_file)
    data = write_csv(tmp_path / "x.csv", [*header, "probability"], [[*r, "1"] for r in rows])
    assert _predict(workspace, data, tmp_path / "p.csv") == 2
    assert (
        "column(s) ['probability'] have the names of the columns the scores go to"
        in capsys.readouterr().err
    )


def test_model_version_old_new_and_unknown(workspace, scoring_file, tmp_path, capsys):
    versions = pushed_versions(workspace.paths.serving_dir)
    assert len(versions) >= 2 and versions == workspace.versions_after[-1]
    first = Path(workspace.summaries[FIRST].pushed_to).name
    assert first == versions[0]
    assert _predict(workspace, scoring_file, tmp_path / "old.csv", "--model", first) == 0
    assert f"with model version {first}" in capsys.readouterr().out
    header, rows = _read(scoring_file)
    _, old = _read(tmp_path / "old.csv")
    direct = _direct_scores(workspace, workspace.summaries[FIRST].pushed_to, _dicts(header, rows))
    np.testing.assert_allclose([float(r[-2]) for r in old], direct, rtol=0, atol=1e-6)
    assert _predict(workspace, scoring_file, tmp_path / "new.csv", "--model", "latest") == 0
    assert f"with model version {versions[-1]}" in capsys.readouterr().out

    assert _predict(workspace, scoring_file, tmp_path / "x.csv", "--model", "123") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"no pushed model version '123' under {workspace.paths.serving_dir}" in err
    assert f"available: {', '.join(versions)} (or 'latest')" in err


def test_no_pushed_model_says_to_run_the_pipeline(workspace, scoring_file, tmp_path, capsys):
    args = ["predict", "--data", str(scoring_file), "--dataset", str(workspace.spec_path)]
    args += ["--output-dir", str(tmp_path / "outputs"), "--output", str(tmp_path / "p.csv")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no pushed model under" in err
    assert "run the pipeline first (python -m pipeline run --data" in err


# What TF Serving does with a REST `predict` body, after its JSON decoder
# (tensorflow_serving/util/json_tensor.cc): the row format's `instances` hold one value per
# example for a signature with one input, or an object naming the input; an object whose
# only key is "b64" is the base64 of a string value. One output: its name is left out.
def _serve_json(model: Any, body: dict) -> dict:
    signature = model.signatures[body.get("signature_name", "serving_default")]
    ((name, spec),) = signature.structured_input_signature[1].items()
    assert spec.dtype == tf.string and spec.shape.as_list() == [None]
    values = []
    for instance in body["instances"]:
        if set(instance) != {"b64"}:
            ((key, instance),) = instance.items()
            assert key == name
        values.append(base64.b64decode(instance["b64"], validate=True))
    ((_, output),) = signature(**{name: tf.constant(values)}).items()
    return {"predictions": output.numpy().tolist()}


@pytest.mark.parametrize("server", ["tf-serving", "vertex"])
def test_request_bodies_score_as_predict_does(
    workspace, scoring_file, latest, tmp_path, capsys, server
):
    header, rows = _read(scoring_file)
    few = write_csv(tmp_path / "rows.csv", header, rows[:5])
    assert cli.main(["request", *_args(workspace, few), "--server", server]) == 0
    body = json.loads(capsys.readouterr().out)
    if server == "tf-serving":
        assert set(body) == {"signature_name", "instances"}
        assert body["signature_name"] == "serving_default"
    else:
        assert set(body) == {"instances"}  # Vertex's body has no signature_name
    assert [set(i) for i in body["instances"]] == [{"b64"}] * 5
    # The bytes are the tf.Examples predict builds for the same rows.
    examples = serialize_rows(workspace.spec, _dicts(header, rows[:5]), latest.types)
    assert [base64.b64decode(i["b64"]) for i in body["instances"]] == examples

    saved_model = tf.saved_model.load(str(latest.path))
    response = _serve_json(saved_model, body)
    assert np.asarray(response["predictions"]).shape == (5, 1)
    assert _predict(workspace, few, tmp_path / "p.csv") == 0
    _, predicted = _read(tmp_path / "p.csv")
    np.testing.assert_allclose(
        [p for (p,) in response["predictions"]], [float(r[-2]) for r in predicted], atol=1e-6
    )
    # The same examples named by the input ({"examples": {"b64": ...}}) score the same.
    named = {**body, "instances": [{"examples": i} for i in body["instances"]]}
    assert _serve_json(saved_model, named) == response


def test_a_request_for_a_bad_row_is_refused_like_predict(workspace, scoring_file, tmp_path, capsys):
    header, rows = _read(scoring_file)
    rows[2][header.index("hours_per_week")] = "many"
    bad = write_csv(tmp_path / "rows.csv", header, rows[:5])
    assert cli.main(["request", *_args(workspace, bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad} line 4, column 'hours_per_week': 'many' is not a number" in captured.err


def test_a_score_file_in_the_spec_is_scored_by_the_blessed_model(workspace, tmp_path):
    summary = workspace.summaries[SCORED]
    assert workspace.errors[SCORED] is None and summary.blessed is True
    # Only the scoring steps ran: the rest is the cached run's (nothing new was pushed).
    assert {"ScoreExampleGen", "BulkInferrer", "PredictionCsv"} <= {
        c.node_id for c in summary.components if c.state == "ran"
    }
    for node in ("Transform", "Trainer", "Evaluator", "Pusher", "Ablation"):
        assert summary.state_of(node) == "cached", node
    assert workspace.versions_after[SCORED] == workspace.versions_after[CACHED]
    run = find_run(workspace.paths.metadata_path, workspace.pipeline_name, summary.run_id)
    predictions = run.output("PredictionCsv", "predictions")
    assert predictions.int_property("rows") == 600
    assert list(Path(run.output("BulkInferrer", "inference_result").uri).glob("prediction_logs*"))
    header, rows = _read(Path(predictions.uri) / "predictions.csv")
    score_header, score_rows = _read(workspace.spec_path.parent / SCORE_FILE)
    assert header == [*score_header, "probability", "predicted_class"]

    # The same file and model through `predict`: the same cells (ids join the rows).
    version = Path(summary.pushed_to).name
    output = tmp_path / "p.csv"
    assert (
        _predict(workspace, workspace.spec_path.parent / SCORE_FILE, output, "--model", version)
        == 0
    )
    _, predicted = _read(output)
    by_id = {row[0]: row for row in rows}
    assert sorted(by_id) == sorted(r[0] for r in score_rows)
    for row in predicted:
        scored = by_id[row[0]]
        assert scored[:-2] == row[:-2] and scored[-1] == row[-1], row[0]
        assert float(scored[-2]) == pytest.approx(float(row[-2]), abs=1e-6)


def test_an_unblessed_model_scores_nothing(workspace):
    summary = workspace.summaries[BIASED]
    assert summary.blessed is False
    run = find_run(workspace.paths.metadata_path, workspace.pipeline_name, summary.run_id)
    assert summary.state_of("BulkInferrer") == "ran"  # and found the model not blessed
    assert not list(Path(run.output("BulkInferrer", "inference_result").uri).glob("*"))
    predictions = run.output("PredictionCsv", "predictions")
    assert predictions.int_property("rows") == 0
    assert not (Path(predictions.uri) / "predictions.csv").exists()
