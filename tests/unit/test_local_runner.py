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
