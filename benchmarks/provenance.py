"""The header every benchmark prints first: when, at which commit, on which machine, how.

A figure in `benchmarks/results/` is only comparable with one taken on the same machine at a
known commit, so each table starts with these lines, e.g.

    # 2026-12-03 17:10 UTC, commit 240f784, 2 cores, Intel(R) Xeon(R) Processor (AVX-512),
    #   load average 1.20; Python 3.10.13, TFX 1.16.0, TensorFlow 2.16.2
    # python -m benchmarks.taxi_comparison --repeats 3

Uncommitted changes to tracked files are flagged (`+ uncommitted changes`): such a figure
belongs to no commit.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from pipeline.project import ROOT


def _git(*args: str) -> str:
    """A git command's output in the repository, or '' when git or the repository is absent."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def commit() -> str:
    """The short hash of HEAD, flagged when tracked files differ from it."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head} + uncommitted changes" if dirty else head


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name, and whether it has AVX-512 (TensorFlow's kernels use it)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    name = " ".join(fields.get("model name", "").split()) or platform.machine()
    avx512 = "avx512f" in fields.get("flags", "").split()
    return f"{name} (AVX-512)" if avx512 else name


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def header(argv: list[str] | None = None) -> str:
    """Date, commit, machine and the command that printed the table, as comment lines."""
    argv = sys.argv if argv is None else argv
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    module = Path(argv[0]).stem
    command = " ".join(["python -m", f"benchmarks.{module}", *argv[1:]])
    return (
        f"# {now}, commit {commit()}, {os.cpu_count()} cores, {cpu_model()},\n"
        f"#   load average {os.getloadavg()[0]:.2f}; Python {platform.python_version()}, "
        f"TFX {_version('tfx')}, TensorFlow {_version('tensorflow')}\n"
        f"# {command}"
    )


def print_header() -> None:
    """Prints `header()` for this process's command line (call it first in `main`)."""
    print(header(), flush=True)
