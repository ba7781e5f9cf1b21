"""Latency and throughput of a pushed model's `serving_default` on raw serialized examples.

Loads a pushed model with `tf.saved_model.load` (the newest version under
`outputs/<set>/serving_model/`, or `--model`: a version folder or a serving folder), builds
serialized tf.Examples from rows of the data set's test file (the model's features only:
no label, no ignored column, empty cells left out, as a client would send them), warms
up, then measures two ways of calling the same model, taking turns:

    signature  model.signatures["serving_default"](examples=batch): the SavedModel's
               signature function, called with its keyword
    concrete   a tf.function that calls the signature, traced once for a string batch
               of any size; its concrete function is called with the batch directly

Figures, each timed from a Python list of serialized examples to a numpy array of scores
(so the conversion to a tensor counts, as it would in a server):

    latency     one example per call: p50 and p99 over `--latency-calls` calls
    throughput  examples per second in batches of 1, 100 and 1,000: the median of
                `--passes` passes, each of `--pass-examples` examples (at least 20 calls)

Targets: p50 under 2 ms for one example; over 50,000 examples/s in batches of 1,000.
Usage:

    python -m benchmarks.serving_benchmark [--model DIR] [--data data/census]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


from benchmarks.provenance import print_header
from pipeline.model.outputs import PREDICTION_KEY, SERVING_SIGNATURE
from pipeline.project import DEFAULT_DATA, ROOT
from pipeline.runners.local import DEFAULT_OUTPUT_DIR, paths_for
from pipeline.spec import DatasetSpec, load_spec

BATCH_SIZES = (1, 100, 1000)
MIN_CALLS_PER_PASS = 20
LATENCY_BLOCKS = 10  # the ways of calling alternate in this many blocks
TARGET_P50_MS = 2.0
TARGET_THROUGHPUT = 50_000  # examples per second in batches of 1,000
# Scores a Python list of serialized tf.Examples; returns a numpy array.
Scorer = Callable[[list[bytes]], Any]


@dataclasses.dataclass(frozen=True)
class Figures:
    """What one way of calling the model achieved."""

    p50_ms: float
    p99_ms: float
    throughput: dict[int, float]  # batch size -> examples per second (median of passes)


def newest_version(serving_dir: Path) -> Path | None:
    """The highest numbered complete version under a TF Serving folder, or None."""
    if not serving_dir.is_dir():
        return None
    versions = [
        p for p in serving_dir.iterdir()
        if p.name.isdigit() and (p / "saved_model.pb").is_file()
    ]  # fmt: skip
    return max(versions, key=lambda p: int(p.name)) if versions else None


def find_model(model: Path | None, spec: DatasetSpec) -> Path:
    """The model to load: `model` itself if it is a SavedModel, else its newest version.

    Exits with how to make one when there is none.
    """
    serving_dir = model or paths_for(spec, ROOT / DEFAULT_OUTPUT_DIR).serving_dir
    if (serving_dir / "saved_model.pb").is_file():
        return serving_dir
    version = newest_version(serving_dir)
    if version is None:
        sys.exit(
            f"error: no pushed model under {serving_dir}. Make one with `make run` (or "
            f"`.venv/bin/python -m pipeline run --data {spec.directory} --train-steps 200`), "
            f"or pass --model DIR"
        )
    return version


def column_kinds(path: Path, columns: list[str], missing: set[str]) -> dict[str, str]:
    """'int', 'float' or 'bytes' per column, inferred from every cell as ExampleGen does.

    The model parses the types that CsvExampleGen inferred from the training file: a
    column is int if every non-missing cell is an integer, float if every one is a
    number, else bytes.
    """
    kinds = dict.fromkeys(columns, "int")
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            for column in columns:
                cell = row[column].strip()
                if cell in missing or kinds[column] == "bytes":
                    continue
                try:
                    int(cell)
                except ValueError:
                    try:
                        float(cell)
                        kinds[column] = "float"
                    except ValueError:
                        kinds[column] = "bytes"
    return kinds


def serialized_examples(spec: DatasetSpec, count: int) -> tuple[Path, list[bytes]]:
    """Up to `count` rows of the spec's test file (or its only file) as tf.Examples.

    Returns:
        The file the rows came from, and the serialized examples.
    """
    from pipeline.serving.raw_examples import serialize_rows

    source = spec.file_path("test" if spec.has_test_file else "train")
    kinds = column_kinds(spec.file_path("train"), spec.raw_feature_columns, {""})
    with source.open(newline="") as f:
        rows = list(itertools.islice(csv.DictReader(f), count))
    return source, serialize_rows(spec, rows, kinds)


def scorers(model: Any) -> dict[str, Scorer]:
    """The two ways of calling `serving_default`, each returning the scores as numpy."""
    import tensorflow as tf

    signature = model.signatures[SERVING_SIGNATURE]

    def via_signature(batch: list[bytes]) -> Any:
        return signature(examples=tf.constant(batch))[PREDICTION_KEY].numpy()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def wrapped(examples: tf.Tensor) -> tf.Tensor:
        return signature(examples=examples)[PREDICTION_KEY]

    concrete = wrapped.get_concrete_function()

    def via_concrete(batch: list[bytes]) -> Any:
        return concrete(tf.constant(batch)).numpy()

    return {"signature": via_signature, "concrete": via_concrete}


def batches(examples: list[bytes], size: int, count: int) -> list[list[bytes]]:
    """`count` batches of `size` examples, taken cyclically from `examples`."""
    out = []
    position = 0
    for _ in range(count):
        batch = [examples[(position + i) % len(examples)] for i in range(size)]
        position = (position + size) % len(examples)
        out.append(batch)
    return out


def latency_ms(score: Scorer, calls: list[list[bytes]]) -> list[float]:
    """Milliseconds of each call of `score` on each batch of `calls`."""
    out = []
    for batch in calls:
        start = time.perf_counter()
        score(batch)
        out.append((time.perf_counter() - start) * 1000)
    return out


def examples_per_second(score: Scorer, calls: list[list[bytes]]) -> float:
    """Examples scored per second over all `calls`."""
    start = time.perf_counter()
    for batch in calls:
        score(batch)
    return sum(len(batch) for batch in calls) / (time.perf_counter() - start)


def measure(
    ways: dict[str, Scorer], examples: list[bytes], args: argparse.Namespace
) -> dict[str, Figures]:
    """Warm-up, single-example latency, then throughput per batch size, for each way.

    The ways take turns (blocks of latency calls, throughput passes), so that a drift of
    the machine's speed does not favour the one measured first.
    """
    for score in ways.values():
        for size in BATCH_SIZES:
            for batch in batches(examples, size, args.warmup):
                score(batch)

    latencies: dict[str, list[float]] = {name: [] for name in ways}
    block = batches(examples, 1, max(1, args.latency_calls // LATENCY_BLOCKS))
    for _ in range(LATENCY_BLOCKS):
        for name, score in ways.items():
            latencies[name] += latency_ms(score, block)

    rates: dict[str, dict[int, list[float]]] = {name: {} for name in ways}
    for size in BATCH_SIZES:
        work = batches(examples, size, max(MIN_CALLS_PER_PASS, args.pass_examples // size))
        for _ in range(args.passes):
            for name, score in ways.items():
                rates[name].setdefault(size, []).append(examples_per_second(score, work))

    figures = {}
    for name in ways:
        ordered = sorted(latencies[name])
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        throughput = {size: statistics.median(r) for size, r in rates[name].items()}
        figures[name] = Figures(statistics.median(ordered), p99, throughput)
    return figures


def print_report(model_dir: Path, source: Path, count: int, results: dict[str, Figures]) -> None:
    """The figures of each way of calling, the faster one, and the targets."""
    import tensorflow as tf

    names = list(results)
    print(
        f"\nServing benchmark: {model_dir}\n"
        f"{os.cpu_count()} cores, TensorFlow {tf.__version__}; {count:,} examples from {source}"
    )
    print(f"{'':<36}" + "".join(f"{n:>12}" for n in names) + f"{'faster':>12}")

    def row(title: str, values: dict[str, float], lower_is_better: bool, digits: int) -> str:
        """Prints one figure of each way and the better one's name; returns that name."""
        best = (min if lower_is_better else max)(values, key=values.__getitem__)
        cells = "".join(f"{values[n]:>12,.{digits}f}" for n in names)
        print(f"{title:<36}{cells}{best:>12}")
        return best

    best_p50 = row(
        "latency p50, 1 example (ms)", {n: r.p50_ms for n, r in results.items()}, True, 3
    )
    row("latency p99, 1 example (ms)", {n: r.p99_ms for n, r in results.items()}, True, 3)
    best_batch = ""
    for size in BATCH_SIZES:
        rates = {n: r.throughput[size] for n, r in results.items()}
        best_batch = row(f"throughput, batches of {size:,} (ex/s)", rates, False, 0)

    p50 = results[best_p50].p50_ms
    rate = results[best_batch].throughput[BATCH_SIZES[-1]]
    print("\nTargets (the faster way of calling for each):")
    print(
        f"  p50 latency for one example < {TARGET_P50_MS:g} ms: "
        f"{'met' if p50 < TARGET_P50_MS else 'NOT met'} ({p50:.3f} ms, {best_p50})"
    )
    print(
        f"  throughput in batches of {BATCH_SIZES[-1]:,} > {TARGET_THROUGHPUT:,} ex/s: "
        f"{'met' if rate > TARGET_THROUGHPUT else 'NOT met'} ({rate:,.0f} ex/s, {best_batch})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path,
                        help="a pushed model version, or a serving folder holding versions "
                        "(default: the newest under outputs/<set>/serving_model/)")  # fmt: skip
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the data set the model was trained on (default: %(default)s)")  # fmt: skip
    parser.add_argument("--rows", type=int, default=2000,
                        help="distinct test rows, used cyclically (default: %(default)s)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=50,
                        help="warm-up calls per batch size (default: %(default)s)")  # fmt: skip
    parser.add_argument("--latency-calls", type=int, default=2000,
                        help="single-example calls for p50/p99 (default: %(default)s)")  # fmt: skip
    parser.add_argument("--passes", type=int, default=5,
                        help="throughput passes per batch size (default: %(default)s)")  # fmt: skip
    parser.add_argument("--pass-examples", type=int, default=2000,
                        help="examples per throughput pass (default: %(default)s)")  # fmt: skip
    args = parser.parse_args()
    print_header()
    spec = load_spec(args.data)
    model_dir = find_model(args.model, spec)

    import tensorflow as tf

    source, examples = serialized_examples(spec, args.rows)
    model = tf.saved_model.load(str(model_dir))
    ways = scorers(model)
    for name, score in ways.items():  # the model must accept the examples as built
        try:
            scores = score(examples[:10])
        except tf.errors.InvalidArgumentError as e:
            sys.exit(f"error: {model_dir} rejects the examples built from {source}: {e}")
        if scores.shape != (min(10, len(examples)), 1):
            sys.exit(f"error: {name} returned scores of shape {scores.shape}")
    print_report(model_dir, source, len(examples), measure(ways, examples, args))


if __name__ == "__main__":
    main()
