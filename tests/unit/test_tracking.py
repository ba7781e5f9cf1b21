"""MLflow run history without a pipeline run: key names, where runs go, the CLI on no store.

Logging real runs, the listing of logged runs, the registry and MLflow's UI are tested on
the census workspace's runs: tests/e2e/test_run_history.py.
"""

from __future__ import annotations

import pytest
from mlflow.utils.validation import _validate_metric_name, _validate_param_name

from pipeline import cli
from pipeline.tracking import keys, store
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("metric", "slice_label", "threshold", "bound", "expected"),
    [
        ("auc", "Overall", None, "", "auc"),
        ("auc", "Overall", None, "ci_lower", "auc/ci_lower"),
        ("auc", "sex=Female", None, "", "auc/sex:Female"),
        ("auc", "sex=Female", None, "ci_upper", "auc/sex:Female/ci_upper"),
        ("miss_rate", "race=Black", 0.5, "", "miss_rate_at_0.5/race:Black"),
        ("fall_out", "Overall", 0.3, "ci_lower", "fall_out_at_0.3/ci_lower"),
        ("lift@10%", "Overall", float("nan"), "", "lift_at_10pct"),
        ("auc", "age [25, 35)", None, "", "auc/age:25 to 35"),
        ("auc", "age < 25", None, "", "auc/age:under 25"),
        ("auc", "age >= 65", None, "", "auc/age:65 and over"),
        ("auc", "bmi [-1.5, 0)", None, "", "auc/bmi:-1.5 to 0"),
        ("auc", "race=Black, sex=Female", None, "", "auc/race:Black/sex:Female"),
        ("auc", "sex=Male, age [25, 35)", None, "", "auc/sex:Male/age:25 to 35"),
        # A value holding ', ', '/', '.', or characters MLflow refuses.
        ("auc", "status=Married, spouse (civ)", None, "", "auc/status:Married_ spouse _civ_"),
        ("auc", "path=a/b", None, "", "auc/path:a_b"),
        ("auc", "x=..", None, "", "auc/x:.."),
        ("fairness_gap/fnr/sex", "Overall", None, "", "fairness_gap/fnr/sex"),
    ],
)
def test_metric_keys_follow_the_documented_naming(metric, slice_label, threshold, bound, expected):
    key = keys.metric_key(metric, slice_label, threshold, bound)
    assert key == expected
    _validate_metric_name(key)  # MLflow's own check: raises on a key it would refuse


@pytest.mark.parametrize(
    ("metric", "slice_label", "bound", "expected"),
    [
        ("recall", "Overall", "", "recall_of_Chinstrap"),
        ("recall", "island=Dream", "ci_lower", "recall_of_Chinstrap/island:Dream/ci_lower"),
        ("fairness_gap/fnr/sex", "Overall", "", "fairness_gap/fnr/sex_of_Chinstrap"),
    ],
)
def test_a_multiclass_models_metric_of_one_class_names_the_class(
    metric, slice_label, bound, expected
):
    key = keys.metric_key(metric, slice_label, None, bound, label_class="Chinstrap")
    assert key == expected
    _validate_metric_name(key)


def test_a_key_segment_that_a_path_would_normalise_is_replaced():
    assert keys.clean("a/./b//c/..") == "a/_/b/_/c/_"
    _validate_metric_name(keys.clean("auc/./x"))
    with pytest.raises(ValueError, match="bound must be one of"):
        keys.metric_key("auc", bound="lower")


def test_names_of_the_experiment_and_the_registered_model():
    from pipeline.spec import load_spec

    spec = load_spec(DATA / "census")
    assert keys.experiment_name(spec) == "census_pipeline"
    assert keys.registered_model_name(spec) == "census_model"
    _validate_param_name("training.hidden_units")


def test_the_tracking_uri_is_the_given_one_then_the_environment_then_the_default(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "outputs" / "census"
    default = f"sqlite:///{root.resolve()}/mlflow.db"
    assert store.resolve_tracking_uri(root) == default
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example.com")
    assert store.resolve_tracking_uri(root) == "http://mlflow.example.com"
    assert store.resolve_tracking_uri(root, "sqlite:////x/y.db") == "sqlite:////x/y.db"
    # A database keeps artifacts under the output root; a server decides for itself.
    assert store.artifact_location(default, root) == (root.resolve() / "mlflow-artifacts").as_uri()
    assert store.artifact_location("http://mlflow.example.com", root) is None
    assert store.sqlite_file(default) == root.resolve() / "mlflow.db"


def _cli(tmp_path, *args: str) -> int:
    return cli.main([*args, "--data", str(DATA / "census"), "--output-dir", str(tmp_path)])


def test_runs_with_no_store_says_so_and_creates_none(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert _cli(tmp_path, "runs") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"No run of census is logged in sqlite:///{tmp_path.resolve()}")
    assert not (tmp_path / "census" / "mlflow.db").exists()


def test_ui_with_no_store_is_one_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert _cli(tmp_path, "ui") == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: no MLflow store at {tmp_path.resolve()}/census/mlflow.db: "
        "`python -m pipeline run` creates it"
    )
    assert not (tmp_path / "census").exists()


def test_ui_on_a_tracking_server_points_at_it(tmp_path, capsys):
    uri = "https://mlflow.example.com"
    assert _cli(tmp_path, "ui", "--tracking-uri", uri) == 0
    assert capsys.readouterr().out.strip() == (
        f"Runs are logged to the tracking server {uri}: open it in a browser."
    )
