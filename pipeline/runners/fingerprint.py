"""Knowing, without importing TFX, that a run would change nothing.

A fully cached TFX run still costs its process most of a minute: importing TFX,
TensorFlow and Beam, building the module-file wheel, and asking ML Metadata about every
component. When nothing it reads has changed since the last run, and that run left nothing
for the next one to do, `python -m pipeline run` says so and stops in about a second.

What "nothing it reads" covers (the fingerprint): the spec file and its schema file; each
data file's path, size and modification time (what TFX's ExampleGen fingerprints too); the
module file, `eval_config.py` and every `.py` file of `pipeline/` and `components/`; the
run's options (training-step override, Beam arguments); and the versions of TFX, TFMA,
TFDV, TFT and TensorFlow.

When a run "left nothing to do" (it is settled): it finished without a failed component.
The Evaluator's baseline is the latest blessed model other than the candidate
(`components.baseline_model`), so blessing the candidate does not change the next run's
baseline: with the same inputs, the next run finds every component cached, the Evaluator
and the Pusher included. (The drift check re-runs on every run against the statistics it
approved last time; with unchanged data that comparison is of the statistics with
themselves, and it passes.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.project import EVAL_CONFIG_FILE, ROOT
from pipeline.spec import DatasetSpec

RECORD_FILE = "last_run.json"
CODE_DIRS = ("pipeline", "components")
PACKAGES = (
    "tfx",
    "tensorflow",
    "tensorflow-model-analysis",
    "tensorflow-data-validation",
    "tensorflow-transform",
)


@dataclasses.dataclass(frozen=True)
class LastRun:
    """What `last_run.json` records about the latest finished run."""

    fingerprint: str
    run_id: str
    settled: bool
    # The run's summary without its component table, the table, and where its model serves.
    summary: str = ""
    components: str = ""
    serving: str | None = None


def _files(spec: DatasetSpec) -> list[Path]:
    files = []
    for pattern in [*spec.files.values(), *([spec.score] if spec.score else [])]:
        files += sorted(p for p in spec.directory.glob(pattern) if p.is_file())
    return files


def fingerprint(spec: DatasetSpec, module_file: Path, options: dict[str, Any]) -> str:
    """A digest of everything a run reads (see the module docstring)."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("spec", spec.spec_path.read_bytes())
    add("training", json.dumps(dataclasses.asdict(spec.training), sort_keys=True).encode())
    if spec.schema_file:
        add("schema", spec.schema_file.read_bytes())
    for path in _files(spec):
        stat = path.stat()
        add("data", f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    add("module_file", module_file.read_bytes())
    add("eval_config", EVAL_CONFIG_FILE.read_bytes())
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            add(str(path.relative_to(ROOT)), path.read_bytes())
    add("options", json.dumps(options, sort_keys=True, default=str).encode())
    for package in PACKAGES:
        try:
            add(package, metadata.version(package).encode())
        except metadata.PackageNotFoundError:
            add(package, b"absent")
    return digest.hexdigest()


def read_last_run(root: Path) -> LastRun | None:
    """The record of the latest finished run under `root`, None if absent or unreadable."""
    try:
        data = json.loads((root / RECORD_FILE).read_text())
        serving = data.get("serving")
        return LastRun(
            str(data["fingerprint"]),
            str(data["run_id"]),
            bool(data["settled"]),
            str(data.get("summary", "")),
            str(data.get("components", "")),
            str(serving) if serving else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_last_run(root: Path, record: LastRun) -> None:
    """Records a finished run (written atomically: a crash leaves the old record)."""
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{RECORD_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(dataclasses.asdict(record), indent=2))
    temporary.replace(root / RECORD_FILE)


def forget_last_run(root: Path) -> None:
    """Drops the record (a run started: until it finishes, nothing is known)."""
    (root / RECORD_FILE).unlink(missing_ok=True)


def is_settled(run: Any) -> bool:
    """Whether the next run with the same inputs would have every component cached.

    Args:
        run: A `pipeline.reports.artifacts.RunArtifacts`.
    """
    return all(e.state in ("ran", "cached") for e in run.executions)


def unchanged_since(root: Path, current: str) -> LastRun | None:
    """The last run's record if it is settled and had fingerprint `current`, else None."""
    last = read_last_run(root)
    if last and last.settled and last.fingerprint == current:
        return last
    return None
