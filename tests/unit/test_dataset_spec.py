"""Spec loading: the bundled specs load, and each kind of bad spec names its problem."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from eval_config import create_eval_config
from pipeline.spec import (
    DatasetSpec,
    ModelCard,
    SpecError,
    bucket_label,
    evaluated_features,
    load_spec,
)
from pipeline.spec.reference import with_modeline
from tests.conftest import DATA, write_csv

CENSUS_TRAIN = str(DATA / "census" / "train.csv")
CENSUS_TEST = str(DATA / "census" / "test.csv")


def test_census_spec_describes_every_column_once():
    spec = load_spec(DATA / "census")
    assert spec.drift is not None and spec.drift.categorical_max_linf == 0.1
    assert spec.for_transform().drift is None  # a drift edit never invalidates Transform
    assert spec.label.column == "income" and spec.label.positive == ">50K"
    assert spec.numeric_features == [
        "age", "education_num", "capital_gain", "capital_loss", "hours_per_week",
    ]  # fmt: skip
    assert "fnlwgt" not in spec.raw_feature_columns
    assert spec.bucketized_features["age"] == (25, 35, 45, 55, 65)
    assert spec.slice_crosses == (("sex", "race"),)
    assert spec.split == {"train": 4, "eval": 1} and spec.has_test_file


def test_census_spec_declares_intervals_gate_and_ablation_outside_transform_and_trainer():
    spec = load_spec(DATA / "census")
    assert spec.bootstrap.replicates == 1000 and spec.bootstrap.confidence == 0.95
    assert spec.fairness_gate.max_gap == {"fpr": 0.1, "fnr": 0.2}
    assert spec.fairness_gate.min_group_size == 500
    assert spec.ablation.groups["capital"] == ("capital_gain", "capital_loss")
    for view in (spec.for_transform(), spec.for_trainer()):
        assert view.fairness_gate is None and view.ablation is None
        assert view.bootstrap == type(spec.bootstrap)()
    assert DatasetSpec.from_config(json.loads(json.dumps(spec.to_config()))) == spec


def test_ablation_defaults_to_every_feature_alone(tmp_path):
    data = _census_yaml()
    data["ablation"] = {"train_steps": 50}
    spec = load_spec(_write(tmp_path, data))
    assert spec.ablation.groups == {c: (c,) for c in spec.raw_feature_columns}


def test_compas_spec_has_one_file_and_an_integer_label():
    spec = load_spec(DATA / "compas" / "dataset.yaml")
    assert not spec.has_test_file
    assert spec.split == {"train": 8, "eval": 1, "test": 1}
    assert spec.label.positive == 1
    assert {"id", "is_recid", "decile_score"}.isdisjoint(spec.raw_feature_columns)


def test_spec_round_trips_through_custom_config_json():
    spec = load_spec(DATA / "census")
    assert DatasetSpec.from_config(json.loads(json.dumps(spec.to_config()))) == spec


def test_component_views_drop_what_the_component_does_not_read():
    spec = load_spec(DATA / "census")
    transform = spec.for_transform()
    assert transform.thresholds == () and transform.slice_columns == ()
    assert transform.columns == spec.columns and transform.feature_crosses == spec.feature_crosses
    assert spec.for_trainer().training == spec.training


def test_no_component_reads_the_model_card_so_editing_it_reruns_none():
    spec = load_spec(DATA / "census")
    assert spec.model_card.overview and spec.model_card.limitations
    edited = dataclasses.replace(
        spec,
        model_card=dataclasses.replace(spec.model_card, overview="edited", limitations=()),
    )
    # What Transform, the Trainer, the DataGate and the ablation get is the same.
    assert edited.for_transform().to_config() == spec.for_transform().to_config()
    assert edited.for_trainer().to_config() == spec.for_trainer().to_config()
    assert spec.for_trainer().model_card == ModelCard()
    # The eval config does not read it either.
    assert create_eval_config(edited) == create_eval_config(spec)


@pytest.mark.parametrize("name", ["census", "compas", "diabetes"])
def test_bundled_specs_describe_their_models_intended_use_and_limits(name):
    card = load_spec(DATA / name).model_card
    assert card.name and card.overview and card.owners and card.licenses
    assert card.references and card.citations and card.dataset.link
    assert card.users and card.use_cases and card.limitations and card.ethical_considerations
    # Each bundled set says its model is not for decisions about people.
    assert any("Not for" in text or "not for" in text for text in card.limitations) or any(
        "Not a medical device" in r.name for r in card.ethical_considerations
    )


def test_training_overrides_are_validated():
    assert load_spec(DATA / "census", {"train_steps": 7}).training.train_steps == 7
    with pytest.raises(SpecError, match=r"training\.train_steps.*positive whole number"):
        load_spec(DATA / "census", {"train_steps": 0})


@pytest.mark.parametrize(("index", "expected"), [(0, "< 25"), (1, "[25, 35)"), (5, ">= 65")])
def test_bucket_label(index, expected):
    assert bucket_label((25, 35, 45, 55, 65), index) == expected


def _census_yaml() -> dict:
    spec = yaml.safe_load((DATA / "census" / "dataset.yaml").read_text())
    spec["files"] = {"train": CENSUS_TRAIN, "test": CENSUS_TEST}
    return spec


def _write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "dataset.yaml"
    path.write_text(with_modeline(yaml.safe_dump(spec), tmp_path))
    return path


def _set(spec: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    node = spec
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return spec


_DELETE = object()

BAD_SPECS = [
    ("colums", {}, r"key '<top level>': unknown key\(s\) \['colums'\]"),
    ("columns.age", {"role": "number"}, r"key 'columns\.age\.role': unknown role 'number'"),
    ("label", _DELETE, r"key 'label': is required"),
    ("label.column", "sex", r"key 'label\.column': 'sex' must be the one column with role 'label'"),
    ("label.positive", "rich", r"key 'label\.positive': 'rich' is not one of label\.classes"),
    (
        "columns.salary",
        "numeric",
        r"\['salary'\] are described but not in the header of .*(train|test)\.csv",
    ),
    (
        "columns.fnlwgt",
        _DELETE,
        r"\['fnlwgt'\] of .*(train|test)\.csv are not described.*'ignored'",
    ),
    ("columns.age", {"role": "numeric", "buckets": [30, 20]}, r"columns\.age\.buckets.*increase"),
    ("slicing.columns", ["capital_gain"], r"'capital_gain' is numeric: slice on categorical"),
    ("slicing.columns", ["zodiac"], r"key 'slicing\.columns': column 'zodiac' is not described"),
    ("feature_crosses", [["sex", "race", "age"]], r"feature_crosses\[0\].*exactly two columns"),
    ("evaluation.thresholds", [], r"evaluation\.thresholds.*never blesses a model"),
    (
        "evaluation.thresholds",
        [{"metric": "auc"}],
        r"evaluation\.thresholds\[0\]': give auc a lower_bound",
    ),
    ("evaluation.thresholds", [{"metric": "r2", "lower_bound": 1}], r"'r2' is not one of"),
    (
        "training.train_steps",
        "many",
        r"key 'training\.train_steps': expected a positive whole number, got 'many'",
    ),
    ("training.epochs", 3, r"key 'training': unknown key\(s\) \['epochs'\]"),
    (
        "files.train",
        "/nonexistent/train.csv",
        r"key 'files\.train': file /nonexistent/train\.csv does not exist",
    ),
    ("fairness.thresholds", [1.5], r"fairness\.thresholds.*\(0, 1\)"),
    ("drift.categorical_max_linf", 2, r"key 'drift\.categorical_max_linf': .*\(0, 1\]"),
    ("drift.numeric_max_js", "high", r"key 'drift\.numeric_max_js': expected a number"),
    ("drift.psi", 0.1, r"key 'drift': unknown key\(s\) \['psi'\]"),
    (
        "evaluation.thresholds",
        [{"metric": "auc", "lower_bound": 0.8, "slice": {"occupation": "Sales"}}],
        r"thresholds\[0\]\.slice': column 'occupation' is not in slicing\.columns",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "auc", "lower_bound": 0.8, "slice": {"sex": "Male", "race": "White"}}],
        r"thresholds\[0\]\.slice': one column: value pair",
    ),
    ("evaluation.min_slice_size", 0, r"evaluation\.min_slice_size.*positive whole number"),
    ("evaluation.bootstrap", {"replicates": 20}, r"bootstrap\.replicates': 20 replicates cannot"),
    ("evaluation.bootstrap", {"confidence": 95}, r"bootstrap\.confidence': lies in \(0, 1\)"),
    ("evaluation.bootstrap", {"samples": 9}, r"'evaluation\.bootstrap': unknown key\(s\)"),
    ("fairness.gate", {"max_gap": {"fnr": 0.1}, "threshold": 1.5}, r"gate\.threshold': a decision"),
    (
        "fairness.gate",
        {"max_gap": {"auc": 0.1}},
        r"'fairness\.gate\.max_gap': unknown key\(s\) \['auc'\]",
    ),
    ("fairness.gate", {"max_gap": {"fnr": 3}}, r"gate\.max_gap\.fnr': a gap between rates lies"),
    ("fairness.gate", {"min_group_size": 10}, r"'fairness\.gate\.max_gap': is required"),
    ("fairness.sensitive_columns", ["capital_gain"], r"'capital_gain' is numeric: the gate needs"),
    (
        "ablation.groups",
        {"money": ["salary"]},
        r"'ablation\.groups\.money': \['salary'\] are not features",
    ),
    ("ablation.groups", {"money": []}, r"'ablation\.groups\.money': a group removes at least one"),
    ("ablation.train_steps", 0, r"'ablation\.train_steps': expected a positive whole number"),
    ("ablation.features", ["age"], r"'ablation': give either 'groups'"),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), BAD_SPECS, ids=[b[0] + ":" + b[2][:20] for b in BAD_SPECS]
)
def test_bad_spec_names_the_key(tmp_path, key, value, message):
    path = _write(tmp_path, _set(_census_yaml(), key, value))
    with pytest.raises(SpecError, match=message) as error:
        load_spec(path)
    assert str(path) in str(error.value)


def test_csv_that_repeats_a_column_is_refused(tmp_path):
    write_csv(tmp_path / "train.csv", ["a", "a", "y"], [["1", "2", "0"]])
    spec = {
        "name": "dup", "files": {"train": "train.csv"}, "label": {"column": "y", "positive": 1},
        "columns": {"a": "numeric", "y": "label"},
        "evaluation": {"thresholds": [{"metric": "auc", "lower_bound": 0.5}]},
    }  # fmt: skip
    with pytest.raises(SpecError, match=r"repeats the column\(s\) \['a'\]"):
        load_spec(_write(tmp_path, spec))


def test_not_yaml_is_reported(tmp_path):
    path = tmp_path / "dataset.yaml"
    path.write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_diabetes_spec_is_a_regression_with_a_numeric_label():
    spec = load_spec(DATA / "diabetes")
    assert spec.is_regression and not load_spec(DATA / "census").is_regression
    assert spec.label.column == "progression" and spec.label.positive is None
    rmse, r2 = spec.thresholds
    assert (rmse.metric, rmse.upper_bound, rmse.lower_bound) == ("rmse", 65, None)
    assert rmse.lower_is_better and not r2.lower_is_better
    assert spec.fairness_gate is None and spec.sensitive_columns == ()
    assert DatasetSpec.from_config(json.loads(json.dumps(spec.to_config()))) == spec


def _diabetes_yaml() -> dict:
    spec = yaml.safe_load((DATA / "diabetes" / "dataset.yaml").read_text())
    spec["files"] = {"train": str(DATA / "diabetes" / "diabetes.csv")}
    return spec


BAD_REGRESSION_SPECS = [
    ("label.positive", 100, r"key 'label\.positive': a regression label is a number, with no"),
    ("label.classes", [1, 2], r"key 'label\.classes': a regression label is a number"),
    ("task", "multiclass", r"key 'task': 'multiclass' is not supported"),
    (
        "evaluation.thresholds",
        [{"metric": "auc", "lower_bound": 0.8}],
        r"thresholds\[0\]\.metric': 'auc' is not one of \['adjusted_r2', 'mae', 'r2', 'rmse', "
        r"'rmsle'\] \(task: regression\)",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "rmse", "max_regression": 2}],
        r"'evaluation\.thresholds\[0\]': give rmse an upper_bound",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "r2", "lower_bound": 0.5, "upper_bound": 0.4}],
        r"'evaluation\.thresholds\[0\]': lower_bound 0\.5 > upper_bound",
    ),
    (
        "fairness",
        {"sensitive_columns": ["sex"]},
        r"key 'fairness': the fairness rates \(FPR, FNR, \.\.\.\) need a classification task",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    BAD_REGRESSION_SPECS,
    ids=[b[0] + ":" + b[2][:20] for b in BAD_REGRESSION_SPECS],
)
def test_bad_regression_spec_names_the_key(tmp_path, key, value, message):
    path = _write(tmp_path, _set(_diabetes_yaml(), key, value))
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_the_evaluator_reads_the_label_and_the_buckets_whatever_the_slices():
    spec = load_spec(DATA / "census")
    expected = {"income", "age_bucket", "hours_per_week_bucket"}
    assert evaluated_features(spec) == expected
    # The Trainer exports the signature from a spec without slicing settings.
    assert evaluated_features(spec.for_trainer()) == expected


def test_penguins_spec_is_multiclass_with_its_classes_in_output_order():
    spec = load_spec(DATA / "penguins")
    assert spec.is_multiclass and not spec.is_regression
    assert spec.label.positive is None
    assert spec.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    accuracy, macro_f1, chinstrap = spec.thresholds
    assert (accuracy.metric, accuracy.label_class) == ("accuracy", None)
    assert macro_f1.metric == "macro_f1"
    assert (chinstrap.metric, chinstrap.label_class, chinstrap.lower_bound) == (
        "recall",
        "Chinstrap",
        0.7,
    )
    assert spec.fairness_gate.max_gap == {"fnr": 0.3, "fpr": 0.2}
    assert DatasetSpec.from_config(json.loads(json.dumps(spec.to_config()))) == spec
    assert not load_spec(DATA / "census").is_multiclass


def _penguins_yaml() -> dict:
    spec = yaml.safe_load((DATA / "penguins" / "dataset.yaml").read_text())
    spec["files"] = {"train": str(DATA / "penguins" / "penguins.csv")}
    return spec


BAD_MULTICLASS_SPECS = [
    ("label.positive", "Gentoo", r"key 'label\.positive': a multi-class label has no positive"),
    ("label.classes", _DELETE, r"key 'label\.classes': is required for a multi-class label"),
    ("label.classes", ["Adelie", "Gentoo"], r"'label\.classes': a multi-class label needs at le"),
    ("label.classes", ["Adelie", "Adelie", "Gentoo"], r"'label\.classes': lists \['Adelie'\] mo"),
    (
        "evaluation.thresholds",
        [{"metric": "binary_accuracy", "lower_bound": 0.8}],
        r"thresholds\[0\]\.metric': 'binary_accuracy' is not one of \['accuracy', 'auc', 'f1', "
        r".*\(task: multiclass_classification\)",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "recall", "lower_bound": 0.8}],
        r"thresholds\[0\]\.class': a multi-class recall is one class's: name the class, one of "
        r"\['Adelie', 'Chinstrap', 'Gentoo'\] \(or bound macro_recall\)",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "recall", "class": "Emperor", "lower_bound": 0.8}],
        r"thresholds\[0\]\.class': 'Emperor' is not one of label\.classes",
    ),
    (
        "evaluation.thresholds",
        [{"metric": "macro_f1", "class": "Gentoo", "lower_bound": 0.8}],
        r"thresholds\[0\]\.class': only bounds on multi-class \['auc', 'f1', 'precision', "
        r"'recall'\] name a class",
    ),
    ("fairness.thresholds", [0.3], r"'fairness\.thresholds': a multi-class model predicts its top"),
    (
        "fairness.gate",
        {"max_gap": {"fnr": 0.3}, "threshold": 0.4},
        r"'fairness\.gate\.threshold': a multi-class model predicts its top class",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    BAD_MULTICLASS_SPECS,
    ids=[b[0] + ":" + b[2][:24] for b in BAD_MULTICLASS_SPECS],
)
def test_bad_multiclass_spec_names_the_key(tmp_path, key, value, message):
    path = _write(tmp_path, _set(_penguins_yaml(), key, value))
    with pytest.raises(SpecError, match=message) as error:
        load_spec(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_binary_bound_names_no_class(tmp_path):
    thresholds = [{"metric": "recall", "class": ">50K", "lower_bound": 0.5}]
    path = _write(tmp_path, _set(_census_yaml(), "evaluation.thresholds", thresholds))
    with pytest.raises(
        SpecError, match=r"thresholds\[0\]\.class': only bounds on a multi-class task name a"
    ):
        load_spec(path)
