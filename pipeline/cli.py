"""Command line: `python -m pipeline run|summary|export-schema`.

python -m pipeline run                       # the census pipeline, bundled data
python -m pipeline run --data data/compas --train-steps 200
python -m pipeline summary                   # the latest run, from ML Metadata
python -m pipeline export-schema             # inferred schema -> data/<set>/schema.pbtxt
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before TensorFlow is imported anywhere: Keras 2 for TFX 1.16, and no C++ info chatter.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from pipeline.dataset_spec import DatasetSpec, SpecError, load_spec
from pipeline.local_runner import DEFAULT_OUTPUT_DIR, paths_for, pipeline_name

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "census"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                       help="data set folder or spec file (default: %(default)s)")  # fmt: skip
        p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                       help="where artifacts, ML Metadata and pushed models go (default: %(default)s)")  # fmt: skip

    run = sub.add_parser("run", help="run the whole pipeline with LocalDagRunner")
    common(run)
    run.add_argument("--train-steps", type=int, help="override training.train_steps of the spec")
    run.add_argument("--no-cache", action="store_true", help="re-run every component")
    run.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                     help="extra Beam option, e.g. --beam-arg=--direct_num_workers=2")  # fmt: skip

    summary = sub.add_parser("summary", help="summarise a run from ML Metadata")
    common(summary)
    summary.add_argument("--run-id", help="a run id (default: the latest run)")

    export = sub.add_parser(
        "export-schema", help="copy the latest inferred schema next to the data"
    )
    common(export)
    return parser


def _summary(spec: DatasetSpec, output_dir: Path, run_id: str | None = None) -> int:
    from pipeline.run_summary import format_summary, summarize_run

    paths = paths_for(spec, output_dir)
    summary = summarize_run(paths.metadata_path, pipeline_name(spec), run_id, spec)
    print(format_summary(summary))
    return 0


def _export_schema(spec: DatasetSpec, output_dir: Path) -> int:
    import shutil

    from pipeline.run_summary import latest_output_uri

    paths = paths_for(spec, output_dir)
    uri = latest_output_uri(paths.metadata_path, pipeline_name(spec), "SchemaGen", "schema")
    target = spec.directory / "schema.pbtxt"
    shutil.copy(Path(uri) / "schema.pbtxt", target)
    print(f"Wrote {target}. Review it, then add `schema_file: schema.pbtxt` to {spec.spec_path}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"train_steps": args.train_steps} if getattr(args, "train_steps", None) else None
    try:
        spec = load_spec(args.data, overrides)
    except SpecError as e:
        print(f"error: invalid data set spec: {e}", file=sys.stderr)
        return 2
    if args.command == "summary":
        return _summary(spec, args.output_dir, args.run_id)
    if args.command == "export-schema":
        return _export_schema(spec, args.output_dir)

    from pipeline import local_runner

    try:
        log_file = local_runner.run(
            spec, args.output_dir, beam_pipeline_args=args.beam_arg, enable_cache=not args.no_cache
        )
    except Exception as e:  # a component failed: show its own message, not a traceback
        print(f"\nerror: the pipeline stopped: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"\nFull log: {log_file}\n")
    return _summary(spec, args.output_dir)  # the latest run, read from ML Metadata


if __name__ == "__main__":
    sys.exit(main())
