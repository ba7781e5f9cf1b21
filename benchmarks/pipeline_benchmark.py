"""Times the pipeline on the full bundled census data: cold, steady state, nothing changed.

Each repetition copies the data set into a fresh directory and runs `python -m pipeline
run` as separate processes (process start and imports count, as they do for a user):

    cold      nothing cached, no baseline model
    steady    new training data (the same rows in another order, so every component
              re-runs on data of the same size), and run 1's blessed model as the
              baseline: the Evaluator scores two models
    cached    nothing changed since (the baseline is never the candidate itself, so
              nothing is left to evaluate): the CLI sees it and starts nothing
    tfx-cache the same with --always-run: TFX starts and finds every component cached

Seconds per component come from ML Metadata; peak memory is the largest sum of the
resident set sizes of the CLI process and its children (Beam workers), sampled every
0.2 s. Usage:

    python benchmarks/pipeline_benchmark.py [--repeats 3] [--train-steps N] [--data DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipeline.project import DEFAULT_DATA, ROOT
from pipeline.reports.summary import summarize_run
from pipeline.runners.local import paths_for, pipeline_name
from pipeline.spec import DatasetSpec, load_spec
from pipeline.spec.reference import with_modeline

PHASES = ("cold", "steady", "cached", "tfx-cache")
GIB = 1024**3


class PeakMemory:
    """Samples the resident memory of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self._interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self._process, *self._process.children(recursive=True)]
                total = 0
                for process in tree:
                    with contextlib.suppress(psutil.Error):  # a worker that just exited
                        total += process.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(self._interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_once(data: Path, output_dir: Path, options: list[str]) -> tuple[float, int, str]:
    """Runs the CLI once; returns (wall seconds, peak bytes, stdout)."""
    command = [sys.executable, "-m", "pipeline", "run", "--data", str(data)]
    command += ["--output-dir", str(output_dir), *options]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = PeakMemory(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    peak = memory.stop()
    if process.returncode != 0:
        sys.exit(f"pipeline run failed:\n{stderr[-3000:]}")
    return seconds, peak, stdout


def copy_data(spec: DatasetSpec, target: Path) -> Path:
    """The spec and its files in `target` (a copy the steady phase may rewrite)."""
    target.mkdir(parents=True)
    (target / spec.spec_path.name).write_text(with_modeline(spec.spec_path.read_text(), target))
    for pattern in spec.files.values():
        for path in spec.directory.glob(pattern):
            shutil.copy(path, target / path.name)
    return target


def new_training_data(spec: DatasetSpec, data: Path) -> None:
    """Rewrites the training file with its rows rotated by half: a new file of the same
    size, so ExampleGen and everything after it run again."""
    path = data / Path(spec.files["train"]).name
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    half = len(rows) // 2
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows[half:] + rows[:half])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=1, help="fresh repetitions (median shown)")
    parser.add_argument("--train-steps", type=int, help="override the spec's train_steps")
    args = parser.parse_args()
    source = load_spec(args.data)
    steps = ["--train-steps", str(args.train_steps)] if args.train_steps else []

    wall: dict[str, list[float]] = {p: [] for p in PHASES}
    inside: dict[str, list[float]] = {p: [] for p in PHASES}
    memory: dict[str, list[int]] = {p: [] for p in PHASES}
    per_component: dict[str, dict[str, list[float]]] = {p: {} for p in PHASES}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="pipeline-benchmark-") as tmp:
            data = copy_data(source, Path(tmp) / "data")
            spec = load_spec(data)
            output_dir = Path(tmp) / "outputs"
            paths = paths_for(spec, output_dir)
            for phase in PHASES:
                if phase == "steady":
                    new_training_data(spec, data)
                options = steps + (["--always-run"] if phase == "tfx-cache" else [])
                seconds, peak, stdout = run_once(data, output_dir, options)
                started = "Nothing changed since run" not in stdout
                wall[phase].append(seconds)
                memory[phase].append(peak)
                summary = summarize_run(paths.metadata_path, pipeline_name(spec), spec=spec)
                inside[phase].append(summary.seconds if started else 0.0)
                for c in summary.components if started else []:
                    per_component[phase].setdefault(c.node_id, []).append(c.seconds)
                print(
                    f"repeat {repeat + 1}/{args.repeats} {phase:<9} wall {seconds:6.1f} s, "
                    f"in components {inside[phase][-1]:6.1f} s, peak {peak / GIB:4.2f} GiB, "
                    + (f"blessed={summary.blessed}" if started else "nothing started"),
                    flush=True,
                )

    median = statistics.median
    print(
        f"\nPipeline benchmark: {source.name}, {os.cpu_count()} cores, "
        f"repeats={args.repeats} (medians; '-' = not started)"
    )
    print(f"{'component':<28}" + "".join(f"{p:>10}" for p in PHASES))
    for node in per_component["cold"]:
        cells = "".join(
            f"{median(per_component[p][node]):>10.1f}"
            if per_component[p].get(node)
            else f"{'-':>10}"
            for p in PHASES
        )
        print(f"{node:<28}{cells}")
    print(f"{'sum in components':<28}" + "".join(f"{median(inside[p]):>10.1f}" for p in PHASES))
    print(f"{'process wall time':<28}" + "".join(f"{median(wall[p]):>10.1f}" for p in PHASES))
    print(
        f"{'peak memory (GiB)':<28}" + "".join(f"{median(memory[p]) / GIB:>10.2f}" for p in PHASES)
    )


if __name__ == "__main__":
    main()
