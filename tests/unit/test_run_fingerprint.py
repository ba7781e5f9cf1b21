"""The fingerprint that lets `python -m pipeline run` skip a run that would change nothing:
it moves with every input a run reads, and only with those."""

from __future__ import annotations

import os
import shutil

import pytest

from pipeline.project import ROOT
from pipeline.runners import fingerprint as run_fingerprint
from pipeline.spec import load_spec
from tests.conftest import make_census_sample

OPTIONS = {"beam": [], "cache": True}


@pytest.fixture
def sample(tmp_path):
    spec_path = make_census_sample(tmp_path / "data", train_rows=50, test_rows=20)
    module = tmp_path / "module_file.py"
    shutil.copy(ROOT / "module_file.py", module)
    return spec_path, module


def _print(spec_path, module, options=OPTIONS, overrides=None) -> str:
    return run_fingerprint.fingerprint(load_spec(spec_path, overrides), module, options)


def test_the_same_inputs_give_the_same_fingerprint(sample):
    assert _print(*sample) == _print(*sample)


def test_every_input_moves_the_fingerprint(sample):
    spec_path, module = sample
    before = _print(spec_path, module)
    assert _print(spec_path, module, {**OPTIONS, "beam": ["--direct_num_workers=2"]}) != before
    assert _print(spec_path, module, overrides={"train_steps": 7}) != before

    text = spec_path.read_text()
    spec_path.write_text(text.replace("lower_bound: 0.7", "lower_bound: 0.71"))
    assert _print(spec_path, module) != before
    spec_path.write_text(text)
    assert _print(spec_path, module) == before

    train = spec_path.parent / "train.csv"
    stat = train.stat()
    os.utime(train, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = _print(spec_path, module)
    assert touched != before

    module.write_text(module.read_text() + "\n# an edit\n")
    assert _print(spec_path, module) != touched


def test_only_a_settled_record_with_the_same_fingerprint_skips(tmp_path):
    record = run_fingerprint.LastRun("abc", "run-1", settled=True, summary="Run run-1")
    run_fingerprint.write_last_run(tmp_path, record)
    assert run_fingerprint.unchanged_since(tmp_path, "abc") == record
    assert run_fingerprint.unchanged_since(tmp_path, "abd") is None
    run_fingerprint.write_last_run(tmp_path, record.__class__("abc", "run-2", settled=False))
    assert run_fingerprint.unchanged_since(tmp_path, "abc") is None
    run_fingerprint.forget_last_run(tmp_path)
    assert run_fingerprint.read_last_run(tmp_path) is None
    (tmp_path / run_fingerprint.RECORD_FILE).write_text("{not json")
    assert run_fingerprint.unchanged_since(tmp_path, "abc") is None
