"""data_tables on statistics and anomalies that TFDV computes from small DataFrames.

The files are written in the layout TFX uses (`Split-<split>/FeatureStats.pb`,
`Split-<split>/SchemaDiff.pb`), so the functions read them exactly as they read a run's.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from pipeline.reports.data_tables import (
    ANOMALY_COLUMNS,
    FEATURE_COLUMNS,
    anomalies_frame,
    available_splits,
    feature_statistics_frame,
    load_statistics,
    numeric_histograms,
    top_values,
)

# Six examples: `x` has one missing value and one zero; `color` has red x3, blue x2, green x1.
TRAIN = pd.DataFrame(
    {
        "x": [0.0, 2.0, 4.0, 10.0, None, 4.0],
        "color": ["red", "red", "blue", "red", "green", "blue"],
    }
)
# A second split that drops `x` and brings a `color` the schema has never seen.
SHIFTED = pd.DataFrame({"color": ["red", "purple", "blue"]})


def _write(uri: Path, split: str, filename: str, proto_bytes: bytes) -> None:
    path = uri / f"Split-{split}" / filename
    path.parent.mkdir(parents=True)
    path.write_bytes(proto_bytes)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """URIs of a statistics artifact (split train) and an anomalies one (train and eval)."""
    root = tmp_path_factory.mktemp("artifacts")
    statistics, anomalies = root / "statistics", root / "anomalies"
    train = tfdv.generate_statistics_from_dataframe(TRAIN)
    _write(statistics, "train", "FeatureStats.pb", train.SerializeToString())

    schema = tfdv.infer_schema(train)
    clean = tfdv.validate_statistics(train, schema)
    _write(anomalies, "train", "SchemaDiff.pb", clean.SerializeToString())
    shifted = tfdv.validate_statistics(tfdv.generate_statistics_from_dataframe(SHIFTED), schema)
    _write(anomalies, "eval", "SchemaDiff.pb", shifted.SerializeToString())
    return {"statistics": str(statistics), "anomalies": str(anomalies)}


def test_feature_statistics_have_exact_numbers(artifacts: dict[str, str]) -> None:
    frame = feature_statistics_frame(artifacts["statistics"], "train")

    assert list(frame.columns) == FEATURE_COLUMNS
    assert list(frame["feature"]) == ["color", "x"]  # sorted by name
    x = frame.set_index("feature").loc["x"]
    assert x["type"] == "FLOAT"
    assert (x["count"], x["missing"]) == (5, 1)
    assert x["missing_fraction"] == pytest.approx(1 / 6)
    assert (x["mean"], x["min"], x["max"]) == (4.0, 0.0, 10.0)
    # Population standard deviation of 0, 2, 4, 10, 4.
    assert x["std"] == pytest.approx(math.sqrt(56 / 5))
    assert x["zeros_fraction"] == pytest.approx(1 / 5)
    assert x["min"] <= x["median"] <= x["max"]
    assert pd.isna(x["unique"])

    color = frame.set_index("feature").loc["color"]
    assert color["type"] == "STRING"
    assert (color["count"], color["missing"], color["missing_fraction"]) == (6, 0, 0.0)
    assert color["unique"] == 3
    assert (color["top_value"], color["top_frequency"]) == ("red", 3.0)
    assert pd.isna(color["mean"])


def test_histograms_and_top_values(artifacts: dict[str, str]) -> None:
    histograms = numeric_histograms(artifacts["statistics"], "train")
    assert list(histograms) == ["x"]
    buckets = histograms["x"]
    assert buckets[0][0] == 0.0 and buckets[-1][1] == 10.0
    assert sum(count for _, _, count in buckets) == pytest.approx(5)

    assert top_values(artifacts["statistics"], "train") == {
        "color": [("red", 3.0), ("blue", 2.0), ("green", 1.0)]
    }
    assert top_values(artifacts["statistics"], "train", k=1) == {"color": [("red", 3.0)]}


def test_anomalies_name_the_features(artifacts: dict[str, str]) -> None:
    frame = anomalies_frame(artifacts["anomalies"], "eval")

    assert list(frame.columns) == ANOMALY_COLUMNS
    rows = frame.set_index("feature")
    assert sorted(rows.index) == ["color", "x"]
    assert set(rows["severity"]) == {"ERROR"}
    assert "purple" in rows.loc["color", "description"]
    assert rows.loc["x", "short_description"] == "Column dropped"


def test_no_anomalies_is_an_empty_frame_with_the_columns(artifacts: dict[str, str]) -> None:
    frame = anomalies_frame(artifacts["anomalies"], "train")

    assert frame.empty
    assert list(frame.columns) == ANOMALY_COLUMNS


def test_a_missing_split_names_the_path_and_the_splits(artifacts: dict[str, str]) -> None:
    uri = artifacts["statistics"]
    assert available_splits(uri) == ["train"]

    with pytest.raises(FileNotFoundError) as raised:
        load_statistics(uri, "eval")
    message = str(raised.value)
    assert str(Path(uri) / "Split-eval" / "FeatureStats.pb") in message
    assert "['train']" in message

    with pytest.raises(FileNotFoundError, match="Split-test"):
        anomalies_frame(artifacts["anomalies"], "test")
