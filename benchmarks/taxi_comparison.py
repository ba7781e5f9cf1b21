"""Times our pipeline against the official TFX taxi example, alternating, on its own data.

The official example is `tfx/examples/chicago_taxi_pipeline/taxi_pipeline_native_keras.py`
from the installed tfx wheel; the data is the 15,002-row CSV it ships
(`data/big_tipper_label/data.csv`), found through `tfx.__file__` at run time and copied
into a temporary folder:

    ours      `python -m pipeline run` on `benchmarks/taxi/dataset.yaml` (label
              `big_tipper`, the leaky `tips` ignored), with the Beam mode the CLI
              picks (in-memory for these 2 MB)
    example   `benchmarks/taxi/run_official_example.py`: the example's own pipeline and
              module file on the same CSV, with LocalDagRunner, its own Beam arguments
              (multi-processing) and eval steps, and AUC added to its eval config

Both train for the same number of steps (`--train-steps`; ours may stop earlier, by early
stopping on its eval split) in batches of 40, and run as separate processes, so start-up
and imports count, each repetition in fresh output folders (nothing cached);
the order alternates between repetitions. Wall time is the process's; seconds per
component and the Overall accuracy and AUC come from each run's ML Metadata and Evaluator
output. The two Evaluators score different rows: ours the 10% test split of the CSV, the
example its eval split (a third). Usage:

    python -m benchmarks.taxi_comparison [--repeats 3] [--train-steps 1000] [--example-in-memory]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.provenance import print_header
from benchmarks.scratch import scratch_dir
from pipeline.project import ROOT
from pipeline.reports.summary import RunSummary, summarize_run
from pipeline.runners.local import paths_for, pipeline_name
from pipeline.spec import DatasetSpec, load_spec
from pipeline.spec.reference import with_modeline

HERE = Path(__file__).resolve().parent
SPEC_FILE = HERE / "taxi" / "dataset.yaml"
DRIVER = HERE / "taxi" / "run_official_example.py"
EXAMPLE_PIPELINE_NAME = "chicago_taxi_native_keras"  # the example's `_pipeline_name`
EXAMPLE_CSV = Path("data") / "big_tipper_label" / "data.csv"
EXAMPLE_MODULE = "taxi_utils_native_keras.py"
PIPELINES = ("ours", "example")
# The example's node ids, shown on the row of the matching node of ours.
SAME_NODE = {
    "CsvExampleGen": "ExampleGen",
    "latest_blessed_model_resolver": "LatestBlessedModelResolver",
}
TARGET_RATIO = 0.5  # ours may take at most half the example's wall time


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The inputs both pipelines read, prepared once.

    Attributes:
        ours_data: Our spec (as `dataset.yaml`) and the CSV (as `data.csv`).
        example_data: The CSV alone: the example's ExampleGen reads every file there.
        example_module: A copy of the example's module file, alone in its folder, as the
            example expects it (`~/taxi/taxi_utils_native_keras.py`).
        rows: Data rows of the CSV.
    """

    ours_data: Path
    example_data: Path
    example_module: Path
    rows: int


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One pipeline run: its process wall time and what ML Metadata recorded."""

    pipeline: str
    wall: float
    summary: RunSummary

    @property
    def overall(self) -> dict[str, float]:
        """Overall-slice metrics of the Evaluator ('AUC', 'accuracy', maybe 'n')."""
        return self.summary.metrics.get("Overall", {})


def example_directory() -> Path:
    """The official example's folder inside the installed tfx package."""
    import tfx

    return Path(tfx.__file__).resolve().parent / "examples" / "chicago_taxi_pipeline"


def prepare_workspace(root: Path) -> Workspace:
    """Copies the example's CSV and module file from the tfx package, and our spec."""
    source = example_directory()
    csv_file = source / EXAMPLE_CSV
    if not csv_file.is_file():
        sys.exit(f"error: the tfx package has no {csv_file}; is tfx 1.16 installed?")
    ours_data = root / "ours_data"
    ours_data.mkdir(parents=True)
    (ours_data / "dataset.yaml").write_text(with_modeline(SPEC_FILE.read_text(), ours_data))
    shutil.copy(csv_file, ours_data / "data.csv")
    example_data = root / "taxi" / EXAMPLE_CSV.parent
    example_data.mkdir(parents=True)
    shutil.copy(csv_file, example_data / "data.csv")
    example_module = root / "taxi" / EXAMPLE_MODULE
    shutil.copy(source / EXAMPLE_MODULE, example_module)
    with csv_file.open() as f:
        rows = sum(1 for line in f if line.strip()) - 1
    return Workspace(ours_data, example_data, example_module, rows)


def timed_run(command: list[str], log_file: Path) -> float:
    """Runs `command` from the repository root, output to `log_file`; returns seconds.

    Exits with the end of the log if the command fails.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        sys.exit(f"error: {' '.join(command[:4])} ... failed ({log_file}):\n{tail}")
    return seconds


def run_ours(
    workspace: Workspace, spec: DatasetSpec, output_dir: Path, train_steps: int, log_file: Path
) -> Measurement:
    """Our pipeline through its CLI, on a fresh output folder."""
    command = [
        sys.executable, "-m", "pipeline", "run",
        "--data", str(workspace.ours_data),
        "--output-dir", str(output_dir),
        "--train-steps", str(train_steps),
    ]  # fmt: skip
    seconds = timed_run(command, log_file)
    metadata = paths_for(spec, output_dir).metadata_path
    return Measurement("ours", seconds, summarize_run(metadata, pipeline_name(spec), spec=spec))


def run_example(
    workspace: Workspace, output_dir: Path, train_steps: int, in_memory: bool, log_file: Path
) -> Measurement:
    """The official example through `run_official_example.py`, on a fresh output folder."""
    metadata = output_dir / "metadata.db"
    command = [
        sys.executable, str(DRIVER),
        "--data-root", str(workspace.example_data),
        "--module-file", str(workspace.example_module),
        "--pipeline-root", str(output_dir / "pipeline_root"),
        "--metadata-path", str(metadata),
        "--serving-model-dir", str(output_dir / "serving_model"),
        "--train-steps", str(train_steps),
    ]  # fmt: skip
    if in_memory:
        command.append("--in-memory")
    seconds = timed_run(command, log_file)
    return Measurement("example", seconds, summarize_run(metadata, EXAMPLE_PIPELINE_NAME))


def _median(values: list[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def _cell(value: float | None, digits: int = 1, width: int = 10) -> str:
    """A number right-aligned in `width`, or '-' when there is none."""
    if value is None or value != value:  # None or NaN
        return f"{'-':>{width}}"
    return f"{value:>{width}.{digits}f}"


def print_report(
    runs: list[dict[str, Measurement]], workspace: Workspace, args: argparse.Namespace
) -> None:
    """Wall times per repeat, medians and ratio, metrics, and seconds per component."""
    example_beam = "in-memory" if args.example_in_memory else "multi-processing (its own)"
    print(
        f"\nTaxi comparison: {workspace.rows:,} rows, {args.train_steps} train steps, "
        f"{os.cpu_count()} cores, repeats={len(runs)}; Beam: ours in-memory, "
        f"example {example_beam}"
    )
    print(f"{'repeat':<8}{'first':<9}{'ours s':>10}{'example s':>11}{'ours/example':>14}")
    for i, run in enumerate(runs):
        first = PIPELINES[i % 2]
        ratio = run["ours"].wall / run["example"].wall
        print(
            f"{i + 1:<8}{first:<9}{run['ours'].wall:>10.1f}{run['example'].wall:>11.1f}"
            f"{ratio:>14.2f}"
        )
    wall = {p: _median([r[p].wall for r in runs]) for p in PIPELINES}
    inside = {p: _median([r[p].summary.seconds for r in runs]) for p in PIPELINES}
    print(
        f"{'median':<17}{wall['ours']:>10.1f}{wall['example']:>11.1f}"
        f"{wall['ours'] / wall['example']:>14.2f}"
    )
    print(
        f"{'in components':<17}{inside['ours']:>10.1f}{inside['example']:>11.1f}"
        f"{inside['ours'] / inside['example']:>14.2f}"
    )

    print("\nOverall slice of each Evaluator (median over repeats):")
    print(f"{'pipeline':<10}{'evaluated on':<28}{'n':>7}{'accuracy':>10}{'AUC':>9}  blessed")
    where = {"ours": "test split (10% of the CSV)", "example": "eval split (1/3 of the CSV)"}
    for p in PIPELINES:
        metrics = [r[p].overall for r in runs]
        n = _median([m["n"] for m in metrics if "n" in m])
        accuracy = _median([m["accuracy"] for m in metrics if "accuracy" in m])
        auc = _median([m["AUC"] for m in metrics if "AUC" in m])
        blessed = "/".join("yes" if r[p].summary.blessed else "no" for r in runs)
        print(
            f"{p:<10}{where[p]:<28}{_cell(n, 0, 7)}{_cell(accuracy, 4)}{_cell(auc, 4, 9)}"
            f"  {blessed}"
        )

    print("\nSeconds per component (median; the example's nodes on the row of ours):")
    per_node: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for p in PIPELINES:
            for c in run[p].summary.components:
                node = SAME_NODE.get(c.node_id, c.node_id)
                per_node.setdefault(node, {q: [] for q in PIPELINES})[p].append(c.seconds)
    print(f"{'component':<30}{'ours':>10}{'example':>10}")
    for node, seconds in per_node.items():
        print(f"{node:<30}{_cell(_median(seconds['ours']))}{_cell(_median(seconds['example']))}")
    overhead = {p: wall[p] - inside[p] for p in PIPELINES}
    print(f"{'outside components':<30}{_cell(overhead['ours'])}{_cell(overhead['example'])}")

    ratio = wall["ours"] / wall["example"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\nTarget: ours/example wall time <= {TARGET_RATIO}: {verdict} ({ratio:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each pipeline, alternating (default: %(default)s)")  # fmt: skip
    parser.add_argument("--train-steps", type=int, default=1000,
                        help="training steps of both pipelines (default: %(default)s, the "
                        "example's own)")  # fmt: skip
    parser.add_argument("--example-in-memory", action="store_true",
                        help="run the example's Beam work in-memory like ours, instead of "
                        "its own multi-processing arguments")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (outputs and logs) for inspection")  # fmt: skip
    args = parser.parse_args()
    print_header()

    with scratch_dir("bench-taxi-", args.keep) as root:
        workspace = prepare_workspace(root)
        spec = load_spec(workspace.ours_data)
        runs: list[dict[str, Measurement]] = []
        for repeat in range(args.repeats):
            order = PIPELINES if repeat % 2 == 0 else PIPELINES[::-1]
            run: dict[str, Measurement] = {}
            for p in order:
                load_before = os.getloadavg()[0]
                output_dir = root / "runs" / f"{p}-{repeat + 1}"
                log_file = root / "logs" / f"{p}-{repeat + 1}.log"
                if p == "ours":
                    run[p] = run_ours(workspace, spec, output_dir, args.train_steps, log_file)
                else:
                    run[p] = run_example(
                        workspace, output_dir, args.train_steps, args.example_in_memory, log_file
                    )
                m = run[p]
                print(
                    f"repeat {repeat + 1}/{args.repeats} {p:<8} wall {m.wall:6.1f} s, "
                    f"in components {m.summary.seconds:6.1f} s, "
                    f"accuracy {m.overall.get('accuracy', float('nan')):.4f}, "
                    f"AUC {m.overall.get('AUC', float('nan')):.4f} "
                    f"(load average before: {load_before:.2f})",
                    flush=True,
                )
            runs.append(run)
        print_report(runs, workspace, args)


if __name__ == "__main__":
    main()
