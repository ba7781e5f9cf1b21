"""The spec's `score:` file: loaded, checked before a run, fingerprinted, read by no training step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.project import MODULE_FILE
from pipeline.runners import fingerprint as run_fingerprint
from pipeline.runners.input_checks import InputDataError, check_input_files
from pipeline.spec import DatasetSpec, SpecError, load_spec
from tests.conftest import DATA, make_census_sample, sample_rows, write_csv


def _spec(tmp_path: Path, score: str, header_change=lambda h: h) -> Path:
    """A census sample with `score`, and a score file `new.csv` of 20 test rows without
    the label and with an id column."""
    header, rows = sample_rows(DATA / "census" / "test.csv", 20)
    label = header.index("income")
    header = ["id", *header[:label], *header[label + 1 :]]
    rows = [[str(i), *r[:label], *r[label + 1 :]] for i, r in enumerate(rows)]
    changed = header_change(header)
    write_csv(tmp_path / "new.csv", changed, [[r[header.index(c)] for c in changed] for r in rows])
    return make_census_sample(tmp_path, train_rows=100, test_rows=40, score=score)


def test_a_score_file_loads_and_no_training_step_reads_it(tmp_path):
    spec = load_spec(_spec(tmp_path, "new.csv"))
    assert spec.score == "new.csv" and spec.directory == tmp_path
    # Adding a score file must leave Transform, the Trainer and the ablation cached.
    assert spec.for_transform().score is None and spec.for_trainer().score is None
    assert DatasetSpec.from_config(json.loads(json.dumps(spec.to_config()))) == spec


def test_a_missing_score_file_names_the_key(tmp_path):
    with pytest.raises(SpecError, match=r"key 'score': file .*other\.csv does not exist"):
        load_spec(_spec(tmp_path, "other.csv"))


def test_a_score_file_without_a_feature_names_the_key(tmp_path):
    path = _spec(tmp_path, "new.csv", lambda h: [c for c in h if c != "age"])
    with pytest.raises(SpecError, match=r"key 'score': column\(s\) \['age'\], features of"):
        load_spec(path)


def test_the_pipeline_scores_only_when_the_spec_names_a_file(tmp_path):
    from pipeline.pipeline import create_pipeline

    def nodes(spec_path: Path) -> dict:
        spec = load_spec(spec_path)
        built = create_pipeline("p", str(tmp_path / "root"), spec, str(tmp_path / "serving"))
        return {c.id: c for c in built.components}

    scoring = {"ScoreExampleGen", "BulkInferrer", "PredictionCsv"}
    assert not scoring & set(nodes(DATA / "census"))
    with_score = nodes(_spec(tmp_path, "new.csv"))
    assert scoring <= set(with_score)
    upstream = {n: {u.id for u in with_score[n].upstream_nodes} for n in scoring}
    # The run's own model, and its blessing: only a blessed model scores.
    assert upstream["BulkInferrer"] == {"ScoreExampleGen", "Trainer", "Evaluator"}
    assert upstream["PredictionCsv"] == {"BulkInferrer", "Evaluator"}


def test_a_bad_cell_in_the_score_file_stops_the_run_before_any_component(tmp_path):
    path = _spec(tmp_path, "new.csv")
    lines = (tmp_path / "new.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index("age")] = "old"
    lines[4] = ",".join(cells)
    (tmp_path / "new.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        InputDataError, match=r"new\.csv line 5, column 'age': 'old' is not a number"
    ):
        check_input_files(load_spec(path))


def test_an_edited_score_file_is_a_run_with_something_to_do(tmp_path):
    path = _spec(tmp_path, "new.csv")
    before = run_fingerprint.fingerprint(load_spec(path), MODULE_FILE, {})
    with (tmp_path / "new.csv").open("a") as f:
        f.write((tmp_path / "new.csv").read_text().splitlines()[1] + "\n")
    assert run_fingerprint.fingerprint(load_spec(path), MODULE_FILE, {}) != before
