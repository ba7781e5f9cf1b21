"""Times the pipeline on census rows replicated k times, in-memory vs. multi-processing Beam.

For each factor k (`--factors`, default 1 10 100: up to 4.9 million rows) the census train
and test files are written k times over (one header) into a temporary data folder, beside
a copy of `data/census/dataset.yaml`. Rows repeat exactly, so all copies of a row fall in
the same hash split: fine for timing, meaningless for the model's quality. For each mode
(`--modes`) `python -m pipeline run` then runs once, cold, in a fresh output folder:

    in_memory         --beam-arg=--direct_running_mode=in_memory (one process)
    multi_processing  --beam-arg=--direct_running_mode=multi_processing
                      --beam-arg=--direct_num_workers=N (`--workers`, 0 = one per CPU)
    default           no mode named: the CLI's own choice by the data's size
                      (multi-processing from 256 MB of data files, e.g. at 100x)

Recorded per run: process wall time; seconds per component from ML Metadata; rows per
second (train + test rows over the wall time); peak memory: the largest sum of PSS over
the process tree (psutil, sampled every 0.2 s; a page shared by n processes counts 1/n in
each: what the run holds), the largest sum of RSS (shared pages count in each process, so
with Beam's worker processes it overstates), and the largest single process (`ru_maxrss`
of the run, from `os.wait4`). A small
`--train-steps` keeps the data-processing components dominant. Usage:

    python -m benchmarks.scale_benchmark [--factors 1 10 100] [--modes in_memory multi_processing]
        [--train-steps 200] [--workers 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.process_memory import tree_memory
from benchmarks.provenance import print_header
from benchmarks.scratch import scratch_dir
from pipeline.project import DEFAULT_DATA, ROOT
from pipeline.reports.summary import RunSummary, summarize_run
from pipeline.runners.local import paths_for, pipeline_name
from pipeline.spec import DatasetSpec, load_spec
from pipeline.spec.reference import with_modeline

MODES = ("in_memory", "multi_processing", "default")
SAMPLE_SECONDS = 0.2
MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Usage:
    """How long a process ran and how much memory it and its children held.

    Attributes:
        seconds: Wall-clock seconds.
        returncode: The process's exit code.
        tree_rss: Largest sampled sum of RSS over the process and its descendants, in
            bytes; None without psutil. Pages shared between processes (libraries,
            copy-on-write memory of Beam's workers) count once in each.
        tree_pss: Largest sampled sum of PSS over the same processes (each shared page
            split between its sharers): what the run really holds; None without psutil.
        max_rss: Largest RSS of any single process of the tree (the kernel's
            `ru_maxrss` for the child and its waited-for descendants), in bytes.
        pss_by_component: Largest sampled PSS sum while each component ran (the run's
            console names the running component: `  … Name`); empty without psutil.
    """

    seconds: float
    returncode: int
    tree_rss: int | None
    max_rss: int
    tree_pss: int | None = None
    pss_by_component: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ScaleRun:
    """One pipeline run at one replication factor and Beam mode."""

    factor: int
    mode: str
    rows: int
    usage: Usage
    summary: RunSummary
    load_before: float  # 1-minute load average when the run started: other work running?

    @property
    def label(self) -> str:
        return f"{self.factor}x {self.mode}"

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.usage.seconds


def replicate(source: Path, target: Path, factor: int) -> int:
    """Writes `source`'s header once and its data rows `factor` times; returns the rows."""
    with source.open() as f:
        header = f.readline()
        body = f.read()
    if body and not body.endswith("\n"):
        body += "\n"
    with target.open("w") as out:
        out.write(header)
        for _ in range(factor):
            out.write(body)
    return sum(1 for line in body.splitlines() if line.strip()) * factor


def write_data(spec: DatasetSpec, directory: Path, factor: int) -> int:
    """A data folder of `spec` with every file replicated `factor` times; returns the rows."""
    directory.mkdir(parents=True)
    (directory / "dataset.yaml").write_text(with_modeline(spec.spec_path.read_text(), directory))
    rows = 0
    for name in spec.files.values():
        rows += replicate(spec.directory / name, directory / name, factor)
    return rows


def _tree_memory(pid: int) -> tuple[int, int]:
    """Sums of RSS and of PSS of `pid` and its descendants (0 once they are gone)."""
    sizes = tree_memory(pid).values()
    return sum(rss for rss, _ in sizes), sum(pss for _, pss in sizes)


_RUNNING = re.compile(r"^  … (\S+)$", re.MULTILINE)  # the CLI's progress line


class _RunningComponent:
    """Follows a run's console log to tell which component runs now."""

    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file
        self.offset = 0
        self.name = "(start-up)"

    def now(self) -> str:
        """The component of the last progress line written so far."""
        with self.log_file.open("rb") as log:
            log.seek(self.offset)
            new = log.read()
        # Only whole lines: a line being written is read again next time.
        whole = new[: new.rfind(b"\n") + 1]
        self.offset += len(whole)
        if found := _RUNNING.findall(whole.decode(errors="replace")):
            self.name = found[-1]
        return self.name


def run_measured(command: list[str], log_file: Path) -> Usage:
    """Runs `command` from the repository root, output to `log_file`, sampling memory."""
    try:
        import psutil  # noqa: F401

        sample = True
    except ImportError:
        sample = False
    log_file.parent.mkdir(parents=True, exist_ok=True)
    peak = peak_pss = 0
    by_component: dict[str, int] = {}
    running = _RunningComponent(log_file)
    with log_file.open("w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        while True:
            # wait4 reaps the child and returns its own rusage (ru_maxrss per run).
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if sample:
                rss, pss = _tree_memory(process.pid)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                component = running.now()
                by_component[component] = max(by_component.get(component, 0), pss)
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped above, not by Popen
    return Usage(
        seconds,
        process.returncode,
        peak if sample else None,
        rusage.ru_maxrss * 1024,
        peak_pss if sample else None,
        by_component,
    )


def run_pipeline(
    data: Path, output_dir: Path, mode: str, train_steps: int, workers: int, log_file: Path
) -> Usage:
    """One cold `python -m pipeline run` in `mode`; exits with the log's end on failure."""
    command = [
        sys.executable, "-m", "pipeline", "run",
        "--data", str(data),
        "--output-dir", str(output_dir),
        "--train-steps", str(train_steps),
    ]  # fmt: skip
    if mode != "default":  # default: no mode named, the CLI chooses by the data's size
        command.append(f"--beam-arg=--direct_running_mode={mode}")
    if mode == "multi_processing":
        command.append(f"--beam-arg=--direct_num_workers={workers}")
    usage = run_measured(command, log_file)
    if usage.returncode != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        sys.exit(f"error: pipeline run ({mode}) failed ({log_file}):\n{tail}")
    return usage


def _mib(value: int | None) -> str:
    """Bytes as whole MiB, or '-' when not measured."""
    return f"{value / MIB:,.0f}" if value is not None else "-"


def print_table(runs: list[ScaleRun], train_steps: int) -> None:
    """One column per run: seconds per component, wall time, rows/s and peak memory."""
    width = max(16, *(len(r.label) + 2 for r in runs))
    print(
        f"\nScale benchmark: census replicated, {train_steps} train steps, "
        f"{os.cpu_count()} cores (seconds unless stated)"
    )
    print(f"{'':<30}" + "".join(f"{r.label:>{width}}" for r in runs))

    def row(title: str, cells: list[str]) -> None:
        """One line of the table: a title and one cell per run."""
        print(f"{title:<30}" + "".join(f"{c:>{width}}" for c in cells))

    row("rows (train + test files)", [f"{r.rows:,}" for r in runs])
    nodes: list[str] = []
    for r in runs:
        nodes += [c.node_id for c in r.summary.components if c.node_id not in nodes]
    for node in nodes:
        seconds = [next((c.seconds for c in r.summary.components if c.node_id == node), None)
                   for r in runs]  # fmt: skip
        row(node, [f"{s:.1f}" if s is not None else "-" for s in seconds])
    row("sum in components", [f"{r.summary.seconds:.1f}" for r in runs])
    row("outside components", [f"{r.usage.seconds - r.summary.seconds:.1f}" for r in runs])
    row("process wall time", [f"{r.usage.seconds:.1f}" for r in runs])
    row("rows/s (wall)", [f"{r.rows_per_second:,.0f}" for r in runs])
    row("peak PSS, tree sum (MiB)", [_mib(r.usage.tree_pss) for r in runs])
    row("peak RSS, tree sum (MiB)", [_mib(r.usage.tree_rss) for r in runs])
    row("peak RSS, one process (MiB)", [_mib(r.usage.max_rss) for r in runs])
    row("blessed", ["yes" if r.summary.blessed else "no" for r in runs])
    row("load average before the run", [f"{r.load_before:.2f}" for r in runs])
    for r in runs:  # replicated rows train a different model: say what it failed
        for failure in r.summary.failed_thresholds:
            print(f"{r.label}: not blessed: {failure}")
    print("\nPeak PSS, tree sum, while each component ran (MiB)")
    names: list[str] = []
    for r in runs:
        names += [n for n in r.usage.pss_by_component if n not in names]
    for name in names:
        row(name, [_mib(r.usage.pss_by_component.get(name)) for r in runs])


def print_growth(runs: list[ScaleRun]) -> None:
    """Time ratios between consecutive factors of each mode (10x->100x when both ran)."""
    pairs = []
    for mode in MODES:
        of_mode = sorted((r for r in runs if r.mode == mode), key=lambda r: r.factor)
        pairs += list(itertools.pairwise(of_mode))
    if not pairs:
        return
    labels = [f"{a.factor}x->{b.factor}x {a.mode}" for a, b in pairs]
    width = max(16, *(len(label) + 2 for label in labels))
    print("\nGrowth (time at the larger factor / time at the smaller; rows grow by the factor)")
    print(f"{'':<30}" + "".join(f"{label:>{width}}" for label in labels))
    nodes: list[str] = []
    for a, _ in pairs:
        nodes += [c.node_id for c in a.summary.components if c.node_id not in nodes]

    def ratio(small: float | None, large: float | None) -> str:
        """'x<large/small>', or '-' when either is missing or under half a second."""
        if small is None or large is None or small < 0.5:  # sub-second: noise
            return "-"
        return f"x{large / small:.1f}"

    for node in nodes:
        cells = []
        for a, b in pairs:
            small = next((c.seconds for c in a.summary.components if c.node_id == node), None)
            large = next((c.seconds for c in b.summary.components if c.node_id == node), None)
            cells.append(ratio(small, large))
        print(f"{node:<30}" + "".join(f"{c:>{width}}" for c in cells))
    cells = [ratio(a.summary.seconds, b.summary.seconds) for a, b in pairs]
    print(f"{'sum in components':<30}" + "".join(f"{c:>{width}}" for c in cells))
    cells = [ratio(a.usage.seconds, b.usage.seconds) for a, b in pairs]
    print(f"{'process wall time':<30}" + "".join(f"{c:>{width}}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="data set to replicate (default: %(default)s)")  # fmt: skip
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100],
                        help="replication factors (default: %(default)s)")  # fmt: skip
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES[:2]),
                        help="DirectRunner modes (default: %(default)s)")  # fmt: skip
    parser.add_argument("--train-steps", type=int, default=200,
                        help="training steps, small so that data processing dominates "
                        "(default: %(default)s)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=0,
                        help="multi-processing workers, 0 = one per CPU (default: %(default)s)")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the replicated data, outputs and logs")  # fmt: skip
    args = parser.parse_args()
    print_header()
    spec = load_spec(args.data)

    runs: list[ScaleRun] = []
    with scratch_dir("bench-scale-", args.keep) as root:
        for factor in args.factors:
            data = root / f"data-{factor}x"
            start = time.perf_counter()
            rows = write_data(spec, data, factor)
            print(f"{factor}x: wrote {rows:,} rows in {time.perf_counter() - start:.1f} s")
            for mode in args.modes:
                output_dir = root / f"out-{factor}x-{mode}"
                log_file = root / "logs" / f"{factor}x-{mode}.log"
                load_before = os.getloadavg()[0]
                usage = run_pipeline(
                    data, output_dir, mode, args.train_steps, args.workers, log_file
                )
                data_spec = load_spec(data)
                metadata = paths_for(data_spec, output_dir).metadata_path
                summary = summarize_run(metadata, pipeline_name(data_spec), spec=data_spec)
                run = ScaleRun(factor, mode, rows, usage, summary, load_before)
                runs.append(run)
                print(
                    f"{run.label:<22} wall {usage.seconds:7.1f} s, in components "
                    f"{summary.seconds:7.1f} s, {run.rows_per_second:,.0f} rows/s, "
                    f"peak tree PSS {_mib(usage.tree_pss)} MiB, RSS {_mib(usage.tree_rss)} MiB",
                    flush=True,
                )
                if not args.keep:
                    shutil.rmtree(output_dir, ignore_errors=True)
            if not args.keep:
                shutil.rmtree(data, ignore_errors=True)
        print_table(runs, args.train_steps)
        print_growth(runs)


if __name__ == "__main__":
    main()
