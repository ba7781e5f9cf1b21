"""Runs the pipeline on this machine with `LocalDagRunner` and SQLite ML Metadata.

This module only builds paths and calls `create_pipeline`. While a run lasts, everything
written by TensorFlow, Beam, Keras and TFX goes to the run's log file; the console shows
a header and one line per component (`pipeline.runners.console`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from pathlib import Path

from pipeline.project import MODULE_FILE
from pipeline.runners import fingerprint as run_fingerprint
from pipeline.runners.console import RunConsole, component_progress, run_console
from pipeline.runners.input_checks import check_input_files
from pipeline.runners.run_lock import run_lock
from pipeline.spec import DatasetSpec

DEFAULT_OUTPUT_DIR = Path("outputs")
# Data files from this size on run Beam with one worker process per core. Below it, the
# worker processes cost more than they save: each starts its own TensorFlow and TFX, and
# every bundle is pickled to it and back (`benchmarks/scale_benchmark.py` compares both
# modes at 1x to 100x census; benchmarks/results/scale.txt).
MULTI_PROCESSING_BYTES = 256 * 1024**2


def data_bytes(spec: DatasetSpec) -> int:
    """Total size of the data set's files."""
    return sum(
        path.stat().st_size
        for pattern in spec.files.values()
        for path in spec.directory.glob(pattern)
        if path.is_file()
    )


def default_beam_args(spec: DatasetSpec, given: list[str] | None = None) -> list[str]:
    """`given`, plus a Beam running mode chosen for the data size when `given` has none:
    in-memory (one process) for small data, multi-processing for large data."""
    given = list(given or [])
    if any(arg.startswith("--direct_running_mode") for arg in given):
        return given
    if data_bytes(spec) < MULTI_PROCESSING_BYTES:
        return given
    workers = max(2, os.cpu_count() or 2)
    return [*given, "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]


@dataclasses.dataclass(frozen=True)
class Unchanged:
    """`run`'s result when nothing changed: the run whose outcome stands, and its summary."""

    run_id: str
    summary: str
    components: str = ""
    serving: str | None = None


@dataclasses.dataclass(frozen=True)
class RunPaths:
    """Where one data set's pipeline keeps its state."""

    root: Path

    @property
    def pipeline_root(self) -> Path:
        return self.root / "pipeline_root"

    @property
    def metadata_path(self) -> Path:
        return self.root / "metadata.sqlite"

    @property
    def serving_dir(self) -> Path:
        return self.root / "serving_model"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def user_code_dir(self) -> Path:
        return self.root / "user_code"


def isolated_module_file(source: Path, directory: Path) -> str:
    """A copy of `source` alone in `directory`, rewritten only when its content changed.

    TFX packages every .py file beside the module file into the user-code wheel and
    fingerprints them all: from the repository root, editing eval_config.py or setup.py
    would re-run Transform and the Trainer. Alone in its folder, only the module file
    itself invalidates them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    content = source.read_bytes()
    if not target.exists() or target.read_bytes() != content:
        target.write_bytes(content)
    for stray in directory.glob("*.py"):
        if stray != target:
            stray.unlink()
    return str(target)


def pipeline_name(spec: DatasetSpec) -> str:
    return f"{spec.name}_pipeline"


def paths_for(spec: DatasetSpec, output_dir: Path = DEFAULT_OUTPUT_DIR) -> RunPaths:
    return RunPaths(output_dir.resolve() / spec.name)


def run(
    spec: DatasetSpec,
    output_dir: Path = DEFAULT_OUTPUT_DIR,
    beam_pipeline_args: list[str] | None = None,
    enable_cache: bool = True,
    report: bool = True,
    module_file: str | None = None,
    skip_unchanged: bool = False,
    tracking_uri: str | None = None,
) -> Path | Unchanged:
    """Runs the whole pipeline for `spec`; returns the path of its full log.

    `module_file` replaces the repository's `module_file.py` (a fork's own, or an edited
    copy); TFX fingerprints it, so an edit re-runs what depends on it.

    With `report`, the run's HTML report is written to `<output>/<set>/reports/`, also
    when a component failed. A run with an evaluation gets its model card there too, and a
    pushed model gets it in its version folder (`pipeline.reports.model_card`).

    Beam runs in memory for small data and with one worker process per core for large
    data (`default_beam_args`), unless `beam_pipeline_args` name a running mode.

    With `skip_unchanged` (the CLI's default), a run whose inputs are those of the last
    settled run starts nothing and returns `Unchanged` (that run's id and summary): every component
    would be cached (see `pipeline.runners.fingerprint`). Without it, TFX decides, and the
    run is recorded in ML Metadata even when every component is cached.

    Each run that started is logged to MLflow (`pipeline.tracking`): to `tracking_uri`,
    else `$MLFLOW_TRACKING_URI`, else `<output>/<set>/mlflow.db`; a run that started
    nothing is not.

    Raises:
        InputDataError: A data file breaks the spec (nothing ran).
        RunInProgressError: Another run uses the same output root (nothing ran).
        RuntimeError: A component failed; the first line of the message is its error.
    """
    paths = paths_for(spec, output_dir)
    module = Path(module_file or MODULE_FILE)
    beam_pipeline_args = default_beam_args(spec, beam_pipeline_args)
    options = {"beam": beam_pipeline_args, "cache": enable_cache}
    current = run_fingerprint.fingerprint(spec, module, options)
    with run_lock(paths.root):
        if skip_unchanged and enable_cache:
            # The inputs are those of a run that finished, so they passed the checks.
            last = run_fingerprint.unchanged_since(paths.root, current)
            if last:
                return Unchanged(last.run_id, last.summary, last.components, last.serving)
        # Bad cells stop the run here, with file and line, before any component starts.
        check_input_files(spec)
        run_fingerprint.forget_last_run(paths.root)
        log_file = paths.log_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}.log"
        # TensorFlow is first imported inside: its start-up lines go to the log too.
        with run_console(log_file) as console:
            try:
                report_file = _run_locked(
                    spec,
                    paths,
                    beam_pipeline_args,
                    enable_cache,
                    report,
                    str(module),
                    console,
                    log_file,
                )
                _record(spec, paths, current, report_file, log_file)
            finally:
                # Failed runs too (their MLflow run says where they stopped); never raises.
                # The line it prints is the runner's: on the console, not in the log.
                from pipeline.tracking import log_latest_run

                with contextlib.redirect_stdout(console.stream):
                    log_latest_run(spec, paths, pipeline_name(spec), tracking_uri)
        return log_file


def _record(
    spec: DatasetSpec, paths: RunPaths, current: str, report: Path | None, log_file: Path
) -> None:
    """Notes the finished run's fingerprint, whether the next run has work to do, and
    its summary (printed after the run, and again when the next run has nothing to do)."""
    from pipeline.reports.artifacts import find_run
    from pipeline.reports.summary import component_lines, format_summary, next_steps, summarize_run

    run = find_run(paths.metadata_path, pipeline_name(spec))
    summary = summarize_run(paths.metadata_path, pipeline_name(spec), spec=spec)
    steps = next_steps(
        summary,
        report=report,
        log=log_file,
        metadata_path=paths.metadata_path,
        spec_path=spec.spec_path,
    )
    record = run_fingerprint.LastRun(
        current,
        run.run_id,
        run_fingerprint.is_settled(run),
        format_summary(summary, components=False, next_lines=steps),
        components="\n".join(component_lines(summary.components)),
        serving=summary.pushed_to,
    )
    run_fingerprint.write_last_run(paths.root, record)


def _run_locked(
    spec: DatasetSpec,
    paths: RunPaths,
    beam_pipeline_args: list[str] | None,
    enable_cache: bool,
    report: bool,
    module_file: str | None,
    console: RunConsole,
    log_file: Path,
) -> Path | None:
    """Runs the pipeline; returns the path of its HTML report (None without one)."""
    # Not `tfx.v1`: see the imports of pipeline.pipeline.
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.metadata import sqlite_metadata_connection_config

    from pipeline.pipeline import create_pipeline

    # The repository's module file is installed: import it, rather than have TFX build a
    # wheel of it and pip-install that in each component, on every run. Another
    # module file (a fork's, an edited copy) is packaged alone, as TFX does.
    if Path(module_file or MODULE_FILE).resolve() == MODULE_FILE == _installed_module_file():
        code: dict[str, str] = {"user_module": "module_file"}
    else:
        code = {"module_file": isolated_module_file(Path(module_file), paths.user_code_dir)}
    pipeline = create_pipeline(
        **code,
        pipeline_name=pipeline_name(spec),
        pipeline_root=str(paths.pipeline_root),
        spec=spec,
        serving_model_dir=str(paths.serving_dir),
        metadata_connection_config=sqlite_metadata_connection_config(str(paths.metadata_path)),
        beam_pipeline_args=beam_pipeline_args,
        enable_cache=enable_cache,
    )
    from pipeline.reports.summary import display_path

    console.line(
        f"Pipeline '{pipeline.pipeline_info.pipeline_name}' on {display_path(spec.spec_path)}"
    )
    mode = next(
        (
            a.split("=", 1)[1]
            for a in beam_pipeline_args or []
            if a.startswith("--direct_running_mode=")
        ),
        "in_memory",
    )
    console.line(
        f"  Beam DirectRunner {mode} ({data_bytes(spec) / 1024**2:.0f} MB of data; "
        f"multi_processing by default from {MULTI_PROCESSING_BYTES // 1024**2} MB)"
    )
    console.line(
        f"  artifacts and ML Metadata under {display_path(paths.root)}; "
        f"full log in {display_path(log_file)}"
    )
    report_file = None
    try:
        with component_progress(console, (c.id for c in pipeline.components)):
            LocalDagRunner().run(pipeline)
    except BaseException:
        console.line(f"  full log: {display_path(log_file)}")
        raise
    finally:
        # The card first: a pushed model should not wait for the report to get its card.
        # Failed runs get a report too: it shows the anomalies that stopped them.
        card = _write_model_card(spec, paths, console)
        if report:
            report_file = _write_report(spec, paths, console, card)
    return report_file


def _installed_module_file() -> Path | None:
    """Where `import module_file` finds it (the repository's file in an editable install)."""
    import importlib.util

    found = importlib.util.find_spec("module_file")
    return Path(found.origin).resolve() if found and found.origin else None


def _write_model_card(spec: DatasetSpec, paths: RunPaths, console: RunConsole) -> dict | None:
    """The latest run's model card, beside its report and in the version it pushed (None
    without an evaluation); a card error never hides the run's outcome."""
    from pipeline.reports.artifacts import find_run
    from pipeline.reports.model_card import build_model_card, write_model_card

    try:
        run = find_run(paths.metadata_path, pipeline_name(spec))
        if run.evaluation is None:
            return None
        card = build_model_card(run, spec)
        written = write_model_card(run, spec, paths.reports_dir, card=card)
    except Exception as e:
        console.line(f"  (no model card: {type(e).__name__}: {e})")
        return None
    logging.getLogger(__name__).info("Model card: %s", " and ".join(written))
    return card


def _write_report(
    spec: DatasetSpec, paths: RunPaths, console: RunConsole, card: dict | None = None
) -> Path | None:
    """The HTML report of the latest run; a report error never hides the run's outcome."""
    from pipeline.reports.artifacts import find_run
    from pipeline.reports.html import write_report

    try:
        path = write_report(
            find_run(paths.metadata_path, pipeline_name(spec)), spec, paths.reports_dir, card
        )
    except Exception as e:
        console.line(f"  (no HTML report: {type(e).__name__}: {e})")
        return None
    return path
