"""Evaluator output as DataFrames, on a small evaluation written in TFMA's own file format
(metrics TFRecord of `MetricsForSlice`, `eval_config.json`), with hand-chosen numbers:
confidence intervals, thresholded rates, a baseline and diffs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipeline.reports.evaluation_tables import (
    fairness_table,
    metrics_frame,
    model_comparison,
    only_class,
    single_class_slices,
    slice_table,
)
from pipeline.spec import load_spec
from tests.conftest import DATA

THRESHOLDS = [0.3, 0.5]


def _write_evaluation(directory: Path) -> Path:
    import tensorflow as tf
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format
    from tensorflow_model_analysis.proto import config_pb2
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as mfs

    directory.mkdir(parents=True)
    config = tfma.EvalConfig(
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="FallOut", config=json.dumps({"thresholds": THRESHOLDS})),
                    tfma.MetricConfig(class_name="MissRate", config=json.dumps({"thresholds": THRESHOLDS})),
                ]
            )
        ]
    )  # fmt: skip
    run = config_pb2.EvalRun(eval_config=config, version=tfma.version.VERSION)
    (directory / "eval_config.json").write_text(json_format.MessageToJson(run))

    def slice_key(pairs: list[tuple[str, str]]) -> mfs.SliceKey:
        return mfs.SliceKey(
            single_slice_keys=[
                mfs.SingleSliceKey(column=c, bytes_value=v.encode()) for c, v in pairs
            ]
        )

    def entry(
        name: str, model: str, value: float, bounds=None, diff=False
    ) -> mfs.MetricsForSlice.MetricKeyAndValue:
        key = mfs.MetricKey(name=name, model_name=model, is_diff=diff)
        key.example_weighted.value = False
        if bounds:
            metric = mfs.MetricValue(
                bounded_value=mfs.BoundedValue(
                    value={"value": value}, lower_bound={"value": bounds[0]},
                    upper_bound={"value": bounds[1]},
                )
            )  # fmt: skip
        else:
            metric = mfs.MetricValue(double_value={"value": value})
        return mfs.MetricsForSlice.MetricKeyAndValue(key=key, value=metric)

    def rates(name: str, values: list[float]) -> mfs.MetricsForSlice.MetricKeyAndValue:
        key = mfs.MetricKey(name=name, model_name="candidate")
        key.example_weighted.value = False
        array = mfs.ArrayValue(data_type=mfs.ArrayValue.FLOAT64, shape=[len(values)],
                               float64_values=values)  # fmt: skip
        return mfs.MetricsForSlice.MetricKeyAndValue(
            key=key, value=mfs.MetricValue(array_value=array)
        )

    slices = {
        (): [entry("example_count", "candidate", 1000), entry("auc", "candidate", 0.9, (0.88, 0.92)),
             entry("auc", "baseline", 0.85, (0.82, 0.87)), entry("auc", "candidate", 0.05, diff=True),
             rates("fall_out", [0.2, 0.1]), rates("miss_rate", [0.3, 0.4])],
        (("sex", "Female"),): [entry("example_count", "candidate", 300),
                               entry("auc", "candidate", 0.95, (0.91, 0.98)),
                               rates("fall_out", [0.05, 0.02]), rates("miss_rate", [0.25, 0.5])],
        (("race", "Black"), ("sex", "Female")): [entry("example_count", "candidate", 12),
                                                 entry("auc", "candidate", 0.7, (0.4, 0.95))],
        # Every example '<=50K': TFMA writes AUC 0 and an infinite calibration.
        (("race", "Other"),): [entry("example_count", "candidate", 5),
                               entry("auc", "candidate", 0.0, (0.0, 0.0)),
                               entry("auc", "candidate", -0.8, diff=True),
                               entry("auc_precision_recall", "candidate", 0.0),
                               entry("calibration", "candidate", math.inf),
                               entry("binary_accuracy", "candidate", 0.8),
                               entry("mean_label", "candidate", 0.0)],
        (("race", "White"),): [entry("example_count", "candidate", 40),
                               entry("auc", "candidate", 0.8),
                               entry("mean_label", "candidate", 0.25)],
    }  # fmt: skip
    with tf.io.TFRecordWriter(str(directory / "metrics-00000-of-00001.tfrecord")) as writer:
        for pairs, entries in slices.items():
            metrics = mfs.MetricsForSlice(
                slice_key=slice_key(list(pairs)), metric_keys_and_values=entries
            )
            writer.write(metrics.SerializeToString())
    return directory


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    return metrics_frame(str(_write_evaluation(tmp_path_factory.mktemp("eval") / "evaluation")))


def test_long_frame_keeps_intervals_models_thresholds_and_diffs(frame):
    auc = frame[(frame["metric"] == "auc") & (frame["slice"] == "Overall")]
    candidate = auc[(auc["model"] == "candidate") & ~auc["is_diff"]].iloc[0]
    assert (candidate["value"], candidate["lower"], candidate["upper"]) == (0.9, 0.88, 0.92)
    assert auc[auc["is_diff"]]["value"].tolist() == [0.05]
    fall_out = frame[(frame["metric"] == "fall_out") & (frame["slice"] == "Overall")]
    assert dict(zip(fall_out["threshold"], fall_out["value"], strict=True)) == {0.3: 0.2, 0.5: 0.1}
    # Overall first, then single features, then crosses.
    assert frame["kind"].drop_duplicates().tolist() == ["overall", "feature", "cross"]


def test_slice_table_puts_the_interval_beside_each_metric(frame):
    table = slice_table(frame)
    assert list(table.index) == [
        "Overall", "race=Other", "race=White", "sex=Female", "race=Black, sex=Female"
    ]  # fmt: skip
    assert table.loc["sex=Female", "AUC"] == 0.95
    assert (table.loc["sex=Female", "AUC low"], table.loc["sex=Female", "AUC high"]) == (0.91, 0.98)
    assert table.loc["race=Black, sex=Female", "n"] == 12
    # The baseline's numbers are not mixed into the candidate's table.
    assert table.loc["Overall", "AUC"] == 0.9


def test_fairness_gaps_are_group_minus_overall(frame):
    spec = load_spec(DATA / "census")  # sensitive columns: sex, race
    table = fairness_table(frame, spec).set_index(["column", "group", "threshold"])
    row = table.loc[("sex", "Female", 0.5)]
    assert row["FPR"] == 0.02 and row["FPR gap"] == pytest.approx(0.02 - 0.1)
    assert row["FNR"] == 0.5 and row["FNR gap"] == pytest.approx(0.5 - 0.4)
    assert row["n"] == 300
    assert math.isnan(row["TPR"])  # not in this evaluation: shown as missing, not invented
    assert "race" not in table.index.get_level_values("column")  # only a cross has race


def test_model_comparison_is_candidate_minus_baseline(frame):
    comparison = model_comparison(frame).set_index(["slice", "metric"])
    row = comparison.loc[("Overall", "AUC")]
    assert (row["candidate"], row["baseline"]) == (0.9, 0.85)
    assert row["change"] == pytest.approx(0.05)


def test_metrics_that_need_both_classes_are_undefined_on_a_single_class_slice(frame):
    assert single_class_slices(frame) == {"race=Other": 0.0}
    other = frame[frame["slice"] == "race=Other"].set_index(["metric", "is_diff"])
    # No 0 (or infinity) shown as a measurement: AUC, its interval, its change, the
    # PR-AUC and the calibration are NaN; what is defined stays.
    for metric, diff in [("auc", False), ("auc", True), ("auc_precision_recall", False),
                         ("calibration", False)]:  # fmt: skip
        row = other.loc[(metric, diff)]
        assert math.isnan(row["value"]) and math.isnan(row["lower"]), metric
    assert other.loc[("binary_accuracy", False), "value"] == 0.8
    table = slice_table(frame)
    assert math.isnan(table.loc["race=Other", "AUC"]) and table.loc["race=White", "AUC"] == 0.8


def test_the_one_class_of_a_slice_is_named_from_the_spec():
    spec = load_spec(DATA / "census")  # positive '>50K', classes ['<=50K', '>50K']
    assert only_class(0.0, spec) == "only '<=50K'"
    assert only_class(1.0, spec) == "only '>50K'"
    assert only_class(0.0, None) == "only negatives"


def test_a_failed_bound_on_a_single_class_split_says_auc_is_undefined():
    from tensorflow_model_analysis.proto import config_pb2, validation_result_pb2

    from pipeline.reports.summary import describe_single_class

    failure = validation_result_pb2.ValidationFailure()
    failure.metric_key.name = "auc"
    failure.metric_value.double_value.value = 0.0
    failure.metric_threshold.CopyFrom(
        config_pb2.MetricThreshold(
            value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.7})
        )
    )
    line = describe_single_class(failure, "Overall", "only '<=50K'")
    assert line.startswith(
        "auc: the test split holds a single class (only '<=50K'): AUC is undefined, so its "
        "lower bound 0.7 cannot be met"
    )
    assert "0.0000" not in line
    failure.metric_key.is_diff = True
    assert "no change against the baseline model can be measured" in describe_single_class(
        failure, "race=Other", "only '<=50K'"
    )
