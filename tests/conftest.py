"""Shared fixtures: small real samples of the bundled data sets, with their specs.

Tests are in tiers, by folder: unit/ (no Beam), data/ (TFT and TFDV on a few rows),
model/ (run_fn on a few hundred rows), e2e/ (the real pipeline with LocalDagRunner). Each
test gets its tier's marker from its folder: `pytest -m "not e2e"` runs the first three.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
import yaml

from pipeline.project import DATA_DIR as DATA
from pipeline.spec.reference import with_modeline


def sample_rows(path: Path, count: int, offset: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and every k-th row of a CSV, so that a sample spans the whole file."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    step = max(1, len(rows) // count)
    return header, rows[offset::step][:count]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_spec(directory: Path, source: str, **changes: Any) -> Path:
    """Copies data/<source>/dataset.yaml into `directory`, with top-level `changes`.

    A change whose value is a dict is merged into that section.
    """
    spec = yaml.safe_load((DATA / source / "dataset.yaml").read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        elif value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "dataset.yaml"
    path.write_text(with_modeline(yaml.safe_dump(spec, sort_keys=False), directory))
    return path


# Short training: enough for the sample to clear the (lowered) sample thresholds.
FAST_TRAINING = {
    "train_steps": 60,
    "steps_per_evaluation": 30,
    "eval_steps": 5,
    "batch_size": 64,
    "learning_rate": 0.01,
}
SAMPLE_THRESHOLDS = {
    "thresholds": [{"metric": "auc", "lower_bound": 0.7, "max_regression": 0.05}],
    "bootstrap": {"replicates": 200},  # enough for tests; the census default is 1,000
}
# 600 test rows: sex and race=White have 100+ examples. The sample model's largest gated
# gap is an FNR of -0.18 (sex=Female, 25 positives); a model trained without a single
# positive woman misses them all (+0.4 or more).
SAMPLE_FAIRNESS_GATE = {"gate": {"max_gap": {"fnr": 0.25, "fpr": 0.15}, "min_group_size": 100}}
SAMPLE_ABLATION = {
    "train_steps": 60,
    "groups": {"relationship": ["relationship", "marital_status"]},
}
# What every census sample spec changes in data/census/dataset.yaml (training aside). No
# ablation (None drops the section): it costs two short trainings per new Transform output;
# the e2e workspace adds it back to its first runs, where it is tested.
SAMPLE_CHANGES = {"name": "census_sample", "fairness": SAMPLE_FAIRNESS_GATE, "ablation": None}


def make_census_sample(
    directory: Path, train_rows: int = 1200, test_rows: int = 600, **changes: Any
) -> Path:
    """A small census data set (real rows) and its spec under `directory`."""
    header, rows = sample_rows(DATA / "census" / "train.csv", train_rows)
    write_csv(directory / "train.csv", header, rows)
    header, rows = sample_rows(DATA / "census" / "test.csv", test_rows)
    write_csv(directory / "test.csv", header, rows)
    changes = {
        **SAMPLE_CHANGES,
        "training": FAST_TRAINING,
        "evaluation": SAMPLE_THRESHOLDS,
        **changes,
    }
    return write_spec(directory, "census", **changes)


@pytest.fixture
def census_sample(tmp_path: Path) -> Path:
    """Path of a small census spec whose CSVs sit beside it."""
    return make_census_sample(tmp_path / "census_sample")


TIERS = ("unit", "data", "model", "e2e")
# Seconds an e2e test may take, its workspace's runs included (pyproject.toml's limit is
# for the other tiers): the census workspace's nine runs, built while another worker
# builds a second one, on 2 busy cores.
E2E_TIMEOUT = 2400


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test with its tier, the name of the folder it sits in under tests/."""
    for item in items:
        tier = next((part for part in item.path.parts if part in TIERS), None)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        if tier == "e2e" and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
