"""Times the pipeline on the full bundled census data: cold, baseline present, cached.

Each repetition uses a fresh output directory and runs `python -m pipeline run` three
times as separate processes (so process start and imports count, as they do for a user):

    cold      nothing cached, no baseline model
    baseline  nothing changed; the Resolver finds run 1's blessed model, so the
              Evaluator (now scoring two models) and the Pusher run again
    cached    nothing changed at all

Seconds per component come from ML Metadata. Usage:

    python benchmarks/pipeline_benchmark.py [--repeats 3] [--train-steps N] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.dataset_spec import load_spec  # noqa: E402
from pipeline.local_runner import paths_for, pipeline_name  # noqa: E402
from pipeline.run_summary import summarize_run  # noqa: E402

PHASES = ("cold", "baseline", "cached")


def run_once(data: Path, output_dir: Path, train_steps: int | None) -> float:
    """Runs the CLI once; returns its wall-clock seconds."""
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--data",
        str(data),
        "--output-dir",
        str(output_dir),
    ]
    if train_steps:
        command += ["--train-steps", str(train_steps)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"pipeline run failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "census")
    parser.add_argument("--repeats", type=int, default=1, help="fresh repetitions (median shown)")
    parser.add_argument("--train-steps", type=int, help="override the spec's train_steps")
    args = parser.parse_args()
    spec = load_spec(args.data)

    wall: dict[str, list[float]] = {p: [] for p in PHASES}
    inside: dict[str, list[float]] = {p: [] for p in PHASES}
    per_component: dict[str, dict[str, list[float]]] = {p: {} for p in PHASES}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="pipeline-benchmark-") as tmp:
            output_dir = Path(tmp)
            paths = paths_for(spec, output_dir)
            for phase in PHASES:
                seconds = run_once(args.data, output_dir, args.train_steps)
                summary = summarize_run(paths.metadata_path, pipeline_name(spec), spec=spec)
                wall[phase].append(seconds)
                inside[phase].append(summary.seconds)
                for c in summary.components:
                    per_component[phase].setdefault(c.node_id, []).append(c.seconds)
                print(
                    f"repeat {repeat + 1}/{args.repeats} {phase:<8} wall {seconds:6.1f} s, "
                    f"in components {summary.seconds:6.1f} s, blessed={summary.blessed}",
                    flush=True,
                )

    median = statistics.median
    print(
        f"\nPipeline benchmark: {spec.name}, {os.cpu_count()} cores, repeats={args.repeats} (medians)"
    )
    print(f"{'component':<28}" + "".join(f"{p:>10}" for p in PHASES))
    for node in per_component["cold"]:
        cells = "".join(f"{median(per_component[p].get(node, [0.0])):>10.1f}" for p in PHASES)
        print(f"{node:<28}{cells}")
    print(f"{'sum in components':<28}" + "".join(f"{median(inside[p]):>10.1f}" for p in PHASES))
    print(f"{'process wall time':<28}" + "".join(f"{median(wall[p]):>10.1f}" for p in PHASES))


if __name__ == "__main__":
    main()
