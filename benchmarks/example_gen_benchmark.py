"""TFX's CsvExampleGen executor against this project's Arrow executor, alternating, on one
file of a data set: seconds of each `Executor().Do`, their ratio, and whether both wrote
the same examples in the same splits.

Both run in this process with Beam in memory, on the spec's train file and split (census:
32,561 rows cut 4:1), with the imports done before the first timing. Usage:

    python -m benchmarks.example_gen_benchmark [--data data/census] [--repeats 3]

`--beam-arg` passes Beam options (e.g. the two worker processes the CLI picks for 100x
data) and `--memory` prints each `Do`'s peak PSS (this process and Beam's workers):

    python -m benchmarks.example_gen_benchmark --data <100x data> --repeats 1 --memory \
        --beam-arg=--direct_running_mode=multi_processing --beam-arg=--direct_num_workers=2
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from benchmarks.process_memory import MemorySampler
from benchmarks.provenance import print_header
from pipeline.project import DEFAULT_DATA
from pipeline.spec import DatasetSpec, load_spec


def run_executor(
    executor_class: type, spec: DatasetSpec, out: Path, beam_args: list[str], memory: bool
) -> tuple[float, dict]:
    """Seconds of one `Do` on the spec's train file; a digest of each split's records,
    deterministically serialized, and how often each occurs (order aside)."""
    import tensorflow as tf
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    split_config = example_gen_pb2.SplitConfig(
        splits=[
            example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
            for name, buckets in spec.split.items()
        ]
    )
    properties = {
        "input_base": str(spec.directory),
        "input_config": json_format.MessageToJson(
            example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="train", pattern=spec.files["train"])]
            )
        ),
        "output_config": json_format.MessageToJson(
            example_gen_pb2.Output(split_config=split_config)
        ),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }
    context = executor_class.Context(beam_pipeline_args=beam_args, tmp_dir=str(out / "tmp"))
    with MemorySampler() if memory else contextlib.nullcontext() as sampler:
        start = time.perf_counter()
        executor_class(context).Do({}, {"examples": [examples]}, properties)
        seconds = time.perf_counter() - start
    if sampler is not None:
        print(f"  {sampler.summary()}", flush=True)
    records = {}
    for split in spec.split:
        files = sorted(str(p) for p in (out / f"Split-{split}").iterdir())
        records[split] = Counter(  # 16-byte digests: millions of rows fit in memory
            hashlib.blake2b(
                tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True),
                digest_size=16,
            ).digest()
            for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
        )
    return seconds, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="a Beam option for both executors (default: --direct_running_mode=in_memory)",
    )
    parser.add_argument(
        "--memory", action="store_true", help="also print each Do's peak PSS, per process"
    )
    args = parser.parse_args()
    print_header()
    beam_args = args.beam_arg or ["--direct_running_mode=in_memory"]
    spec = load_spec(args.data)

    from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxExecutor

    from components.arrow_csv_example_gen import Executor as ArrowExecutor

    seconds: dict[str, list[float]] = {"tfx": [], "arrow": []}
    same = True
    with tempfile.TemporaryDirectory(prefix="example-gen-benchmark-") as root:
        for repeat in range(args.repeats):
            outputs = {}
            for name, executor in (("tfx", TfxExecutor), ("arrow", ArrowExecutor)):
                out = Path(root) / f"{name}{repeat}"
                took, outputs[name] = run_executor(executor, spec, out, beam_args, args.memory)
                seconds[name].append(took)
                print(f"repeat {repeat + 1}/{args.repeats} {name:<6}{took:6.2f} s", flush=True)
                shutil.rmtree(out)
            same = same and outputs["tfx"] == outputs["arrow"]
    rows = sum(sum(c.values()) for c in outputs["arrow"].values())
    tfx, arrow = statistics.median(seconds["tfx"]), statistics.median(seconds["arrow"])
    print(f"\nExampleGen executors: {spec.name} {spec.files['train']}, {rows:,} rows, "
          f"{os.cpu_count()} cores, Beam {' '.join(beam_args)} (medians of {args.repeats})")  # fmt: skip
    print(f"TFX's CsvExampleGen  {tfx:6.2f} s  {rows / tfx:9,.0f} rows/s")
    print(f"Arrow executor       {arrow:6.2f} s  {rows / arrow:9,.0f} rows/s")
    print(f"ratio (arrow / tfx)  {arrow / tfx:6.2f}")
    print(f"same examples in the same splits: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
