"""The local runner's own logic, without running a pipeline."""

from __future__ import annotations

from pathlib import Path


def test_the_module_file_is_packaged_alone(tmp_path):
    """TFX fingerprints every .py file beside the module file: the runner isolates it."""
    from pipeline.runners.local import isolated_module_file

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
    from pipeline.runners import local as local_runner
    from pipeline.spec import load_spec
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
