"""A run's data statistics, anomalies and schema as pandas DataFrames and plain values.

Everything here reads the files TFX wrote (StatisticsGen's `Split-<split>/FeatureStats.pb`,
ExampleValidator's `Split-<split>/SchemaDiff.pb`, SchemaGen's `schema.pbtxt`), so tables and
plots show TFDV's numbers, never a recomputation.

    run = find_run("outputs/census/metadata.sqlite", "census_pipeline")
    feature_statistics_frame(run.statistics.uri, "train")   # one row per feature
    anomalies_frame(run.anomalies.uri, "eval")              # one row per anomalous feature
    numeric_histograms(run.statistics.uri, "train")         # feature -> [(low, high, count)]
    top_values(run.statistics.uri, "train", k=10)           # feature -> [(value, frequency)]

TFDV and TensorFlow are imported inside the functions: importing them takes seconds,
which callers that only need the module's names (e.g. a CLI's --help) should not pay.
"""

from __future__ import annotations

import math
import posixpath
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

STATISTICS_FILE = "FeatureStats.pb"
ANOMALIES_FILE = "SchemaDiff.pb"
SCHEMA_FILE = "schema.pbtxt"
_SPLIT_PREFIX = "Split-"

FEATURE_COLUMNS = [
    "feature",
    "type",
    "count",
    "missing",
    "missing_fraction",
    "mean",
    "std",
    "min",
    "median",
    "max",
    "zeros_fraction",
    "unique",
    "top_value",
    "top_frequency",
]
ANOMALY_COLUMNS = ["feature", "severity", "short_description", "description"]
# Row label for anomalies about the whole data set (e.g. too few examples), not one feature.
DATASET_ANOMALY = "(dataset)"


def available_splits(uri: str) -> list[str]:
    """Split names with a `Split-<name>` folder under an artifact's `uri`, sorted."""
    import tensorflow as tf

    if not tf.io.gfile.isdir(uri):
        return []
    # gfile lists folders with a trailing slash on some file systems (GCS), not on others.
    names = (entry.rstrip("/") for entry in tf.io.gfile.listdir(uri))
    return sorted(n[len(_SPLIT_PREFIX) :] for n in names if n.startswith(_SPLIT_PREFIX))


def _split_file(uri: str, split: str, filename: str, what: str) -> str:
    """Path of `filename` in the split's folder, or a FileNotFoundError that says what exists."""
    import tensorflow as tf

    path = posixpath.join(uri, f"{_SPLIT_PREFIX}{split}", filename)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"no {what} for split '{split}': {path} does not exist; "
            f"splits under {uri}: {available_splits(uri) or 'none'}"
        )
    return path


def load_statistics_list(
    statistics_uri: str, split: str
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The file of one split of a StatisticsGen output, as `tfdv.visualize_statistics` takes it.

    Raises:
        FileNotFoundError: The artifact has no such split (the message lists the splits it has).
    """
    import tensorflow_data_validation as tfdv

    return tfdv.load_stats_binary(_split_file(statistics_uri, split, STATISTICS_FILE, "statistics"))


def load_statistics(statistics_uri: str, split: str) -> statistics_pb2.DatasetFeatureStatistics:
    """The statistics of one split of a StatisticsGen output.

    Raises:
        FileNotFoundError: The artifact has no such split (the message lists the splits it has).
    """
    # StatisticsGen writes a list holding a single (unsliced) data set.
    return load_statistics_list(statistics_uri, split).datasets[0]


def load_anomalies(anomalies_uri: str, split: str) -> anomalies_pb2.Anomalies:
    """The anomalies of one split of an ExampleValidator output.

    Raises:
        FileNotFoundError: The artifact has no such split (the message lists the splits it has).
    """
    import tensorflow as tf
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    path = _split_file(anomalies_uri, split, ANOMALIES_FILE, "anomalies")
    anomalies = anomalies_pb2.Anomalies()
    with tf.io.gfile.GFile(path, "rb") as f:
        anomalies.ParseFromString(f.read())
    return anomalies


def load_schema(schema_uri: str) -> schema_pb2.Schema:
    """The schema a SchemaGen (or DataGate) artifact holds."""
    import tensorflow_data_validation as tfdv

    return tfdv.load_schema_text(posixpath.join(schema_uri, SCHEMA_FILE))


def _feature_name(feature: statistics_pb2.FeatureNameStatistics) -> str:
    # StatisticsGen fills `path`; `name` only appears in statistics from older TFDV versions.
    return ".".join(feature.path.step) if feature.path.step else feature.name


def _sorted_features(
    dataset: statistics_pb2.DatasetFeatureStatistics,
) -> list[tuple[str, statistics_pb2.FeatureNameStatistics]]:
    return sorted(((_feature_name(f), f) for f in dataset.features), key=lambda item: item[0])


def _top_values(stats: statistics_pb2.StringStatistics) -> list[tuple[str, float]]:
    """(value, frequency), most frequent first."""
    if stats.top_values:
        return [(v.value, v.frequency) for v in stats.top_values]
    # Some statistics carry only the rank histogram, which holds the same counts.
    return [(b.label, b.sample_count) for b in stats.rank_histogram.buckets]


def _feature_row(
    name: str, feature: statistics_pb2.FeatureNameStatistics, num_examples: int
) -> dict[str, object]:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    kind = feature.WhichOneof("stats")
    stats = getattr(feature, kind) if kind else None
    common = stats.common_stats if kind in ("num_stats", "string_stats", "bytes_stats") else None
    count = common.num_non_missing if common else 0
    missing = common.num_missing if common else num_examples - count
    row: dict[str, object] = {
        "feature": name,
        "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
        "count": count,
        "missing": missing,
        "missing_fraction": missing / num_examples if num_examples else math.nan,
    }
    if kind == "num_stats":
        total = common.tot_num_values
        row.update(
            mean=stats.mean,
            std=stats.std_dev,
            min=stats.min,
            median=stats.median,
            max=stats.max,
            # Over values, not examples: a multivalent feature can have several zeros per row.
            zeros_fraction=stats.num_zeros / total if total else math.nan,
        )
    elif kind == "string_stats":
        top = _top_values(stats)
        row.update(unique=stats.unique)
        if top:
            row.update(top_value=top[0][0], top_frequency=top[0][1])
    return row


def feature_statistics_frame(statistics_uri: str, split: str) -> pd.DataFrame:
    """One row per feature of a split, sorted by feature name.

    Columns (`FEATURE_COLUMNS`): feature; type (INT, FLOAT, STRING, ...); count (examples that
    have the feature); missing and missing_fraction (examples that do not); for numeric
    features mean, std, min, median (TFDV's approximate quantile), max and zeros_fraction (of
    values); for string features unique (distinct values), top_value and top_frequency.
    Columns that do not apply to a feature are NaN/None.
    """
    dataset = load_statistics(statistics_uri, split)
    rows = [_feature_row(n, f, dataset.num_examples) for n, f in _sorted_features(dataset)]
    frame = pd.DataFrame(rows, columns=FEATURE_COLUMNS)
    # Counts are whole numbers: keep them integers, and `unique` nullable where it is absent.
    frame = frame.astype({"count": "int64", "missing": "int64", "unique": "Int64"})
    return frame


def anomalies_frame(anomalies_uri: str, split: str) -> pd.DataFrame:
    """One row per anomalous feature of a split, sorted by feature name.

    Columns (`ANOMALY_COLUMNS`): feature, severity (e.g. "ERROR"), short_description and
    description. An anomaly of the whole data set has feature `DATASET_ANOMALY`. The frame is
    empty, with those columns, when the split has no anomalies.
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    anomalies = load_anomalies(anomalies_uri, split)
    infos = sorted(anomalies.anomaly_info.items())
    if anomalies.HasField("dataset_anomaly_info"):
        infos.insert(0, (DATASET_ANOMALY, anomalies.dataset_anomaly_info))
    rows = [
        {
            # The column as the header names it: TFDV quotes a key that holds spaces.
            "feature": ".".join(info.path.step) or feature,
            "severity": anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
            "short_description": info.short_description,
            "description": info.description,
        }
        for feature, info in infos
    ]
    return pd.DataFrame(rows, columns=ANOMALY_COLUMNS)


def numeric_histograms(
    statistics_uri: str, split: str
) -> dict[str, list[tuple[float, float, float]]]:
    """Numeric feature -> its standard (equal-width) histogram as (low, high, count) buckets."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    standard = statistics_pb2.Histogram.STANDARD
    dataset = load_statistics(statistics_uri, split)
    histograms = {}
    for name, feature in _sorted_features(dataset):
        if feature.WhichOneof("stats") != "num_stats":
            continue
        for histogram in feature.num_stats.histograms:
            if histogram.type == standard:
                histograms[name] = [
                    (b.low_value, b.high_value, b.sample_count) for b in histogram.buckets
                ]
                break
    return histograms


def top_values(statistics_uri: str, split: str, k: int = 10) -> dict[str, list[tuple[str, float]]]:
    """String feature -> its `k` most frequent (value, frequency), most frequent first.

    StatisticsGen keeps the top 20 values by default, so a larger `k` returns at most those.
    """
    dataset = load_statistics(statistics_uri, split)
    return {
        name: _top_values(feature.string_stats)[:k]
        for name, feature in _sorted_features(dataset)
        if feature.WhichOneof("stats") == "string_stats"
    }
