"""The local runner's own logic, without running a pipeline."""

from __future__ import annotations

from pathlib import Path


def test_the_module_file_is_packaged_alone(tmp_path):
    """TFX fingerprints every .py file beside the module file: the runner isolates it."""
    from pipeline.local_runner import isolated_module_file

    source = tmp_path / "repo" / "module_file.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    (source.parent / "eval_config.py").write_text("y = 2\n")
    target = Path(isolated_module_file(source, tmp_path / "user_code"))
    assert sorted(p.name for p in target.parent.iterdir()) == ["module_file.py"]
    assert target.read_text() == "x = 1\n"
    mtime = target.stat().st_mtime_ns
    isolated_module_file(source, tmp_path / "user_code")
    assert target.stat().st_mtime_ns == mtime  # unchanged content is not rewritten
    source.write_text("x = 3\n")
    assert Path(isolated_module_file(source, tmp_path / "user_code")).read_text() == "x = 3\n"


def test_beam_runs_in_memory_for_small_data_and_multi_processing_for_large(monkeypatch):
    from pipeline import local_runner
    from pipeline.dataset_spec import load_spec
    from tests.conftest import DATA

    census = load_spec(DATA / "census")
    assert 5 * 1024**2 < local_runner.data_bytes(census) < 6 * 1024**2
    assert local_runner.default_beam_args(census) == []  # 5 MB: in memory
    given = ["--direct_num_workers=3"]
    assert local_runner.default_beam_args(census, given) == given
    monkeypatch.setattr(local_runner, "MULTI_PROCESSING_BYTES", 1024**2)
    chosen = local_runner.default_beam_args(census, given)
    assert chosen[:1] == given and "--direct_running_mode=multi_processing" in chosen
    # A running mode the user names is kept as it is.
    named = ["--direct_running_mode=in_memory"]
    assert local_runner.default_beam_args(census, named) == named


def test_the_evaluator_alone_runs_multi_processing_from_its_own_smaller_size(monkeypatch, tmp_path):
    from pipeline import local_runner
    from pipeline.dataset_spec import load_spec
    from pipeline.pipeline import create_pipeline
    from tests.conftest import DATA

    census = load_spec(DATA / "census")  # 5 MB
    assert local_runner.evaluator_beam_args(census) == []
    monkeypatch.setattr(local_runner, "EVALUATOR_MULTI_PROCESSING_BYTES", 1024**2)
    chosen = local_runner.evaluator_beam_args(census)
    assert "--direct_running_mode=multi_processing" in chosen
    assert local_runner.default_beam_args(census) == []  # the rest stays in memory
    # Not when the user names a mode, nor when the whole pipeline is multi-processing.
    assert local_runner.evaluator_beam_args(census, ["--direct_running_mode=in_memory"]) == []
    monkeypatch.setattr(local_runner, "MULTI_PROCESSING_BYTES", 2 * 1024**2)
    assert local_runner.evaluator_beam_args(census) == []

    # The Evaluator's options come after the pipeline's (Beam keeps an option's last value).
    dag = create_pipeline(
        "census_pipeline", str(tmp_path / "root"), census, str(tmp_path / "serving"),
        beam_pipeline_args=["--direct_num_workers=1"], evaluator_beam_args=chosen,
    )  # fmt: skip
    args = {c.id: list(c.executor_spec.beam_pipeline_args) for c in dag.components
            if hasattr(c.executor_spec, "beam_pipeline_args")}  # fmt: skip
    assert args["Evaluator"] == ["--direct_num_workers=1", *chosen]
    assert args["Transform"] == args["StatisticsGen"] == ["--direct_num_workers=1"]
