"""DriftCheck through its real `Executor().Do`, on statistics TFDV computes from census rows."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.drift_check import DataDriftError
from components.drift_check.executor import Executor, drift_config
from pipeline.spec import load_spec
from tests.conftest import DATA, write_spec


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    directory = tmp_path_factory.mktemp("spec")
    for name in ("train.csv", "test.csv"):
        (directory / name).write_text((DATA / "census" / name).read_text())
    path = write_spec(
        directory, "census", drift={"categorical_max_linf": 0.2, "numeric_max_js": 0.2}
    )
    return load_spec(path)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "census" / "train.csv", nrows=4000)


def _statistics(directory: Path, frame: pd.DataFrame) -> standard_artifacts.ExampleStatistics:
    """`frame`'s statistics as StatisticsGen lays them out (split 'train')."""
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(directory)
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    stats = tfdv.generate_statistics_from_dataframe(frame)
    io_utils.write_bytes_file(
        os.path.join(artifact.uri, "Split-train", "FeatureStats.pb"), stats.SerializeToString()
    )
    return artifact


def _run(tmp_path: Path, spec, current: pd.DataFrame, previous: pd.DataFrame | None):
    inputs = {"statistics": [_statistics(tmp_path / "current", current)]}
    if previous is not None:
        inputs["baseline_statistics"] = [_statistics(tmp_path / "previous", previous)]
    approved = standard_artifacts.ExampleStatistics()
    approved.uri = str(tmp_path / "approved")
    Executor().Do(inputs, {"approved_statistics": [approved]}, {"drift": drift_config(spec)})
    return approved


def test_first_run_without_a_baseline_passes_and_becomes_the_reference(tmp_path, spec, rows):
    approved = _run(tmp_path, spec, rows, previous=None)
    assert artifact_utils.decode_split_names(approved.split_names) == ["train"]
    assert Path(approved.uri, "Split-train", "FeatureStats.pb").exists()


def test_new_data_from_the_same_distribution_passes(tmp_path, spec, rows):
    _run(tmp_path, spec, rows.iloc[2000:], previous=rows.iloc[:2000])


def test_a_moved_category_distribution_stops_the_run(tmp_path, spec, rows):
    moved = rows.copy()
    moved.loc[moved.index[:1600], "workclass"] = "Self-emp-inc"
    with pytest.raises(DataDriftError) as error:
        _run(tmp_path, spec, moved, previous=rows)
    message = str(error.value)
    assert "column 'workclass'" in message and "Linfty distance" in message
    assert "nothing is trained or pushed" in message and "column 'age'" not in message
    assert not Path(tmp_path, "approved", "Split-train").exists()  # not the new reference


def test_a_shifted_numeric_distribution_stops_the_run(tmp_path, spec, rows):
    older = rows.copy()
    older["age"] = older["age"] + 25
    with pytest.raises(DataDriftError, match=r"column 'age'.*Jensen-Shannon"):
        _run(tmp_path, spec, older, previous=rows)


def test_without_drift_bounds_nothing_is_compared(tmp_path, rows):
    spec = dataclasses.replace(load_spec(DATA / "census"), drift=None)
    moved = rows.copy()
    moved["workclass"] = "Self-emp-inc"
    _run(tmp_path, spec, moved, previous=rows)
