"""The spec's `score:` file: loaded, checked against its header, read by no training step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.spec import DatasetSpec, SpecError, load_spec
from pipeline.spec.reference import with_modeline
from tests.conftest import DATA, sample_rows, write_csv


def _spec(tmp_path: Path, score: str, header_change=lambda h: h) -> Path:
    """The census spec (its data files by absolute path) with `score`, and a score file
    `new.csv` of 20 test rows without the label and with an id column."""
    header, rows = sample_rows(DATA / "census" / "test.csv", 20)
    label = header.index("income")
    header = ["id", *header[:label], *header[label + 1 :]]
    rows = [[str(i), *r[:label], *r[label + 1 :]] for i, r in enumerate(rows)]
    changed = header_change(header)
    write_csv(tmp_path / "new.csv", changed, [[r[header.index(c)] for c in changed] for r in rows])
    data = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    data["files"] = {
        "train": str(DATA / "census" / "train.csv"),
        "test": str(DATA / "census" / "test.csv"),
    }
    data["score"] = score
    path = tmp_path / "dataset.yaml"
    path.write_text(with_modeline(yaml.safe_dump(data), tmp_path))
    return path


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
