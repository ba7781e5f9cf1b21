"""Where the Evaluator's time goes: TFMA on a finished run's model and test split, with
one part of the eval config left out at a time.

Takes the latest run under an output directory (run `make run` or the pipeline benchmark
first), builds the eval config from the data set spec as the pipeline does, and times
`tfma.run_model_analysis` (the Evaluator's own entry point) in this process:

    full              the pipeline's eval config, one model
    no-intervals      without the bootstrap intervals
    no-rates          without the Fairness Indicators rates at each decision threshold
    no-plots          without the confusion-matrix and calibration plots
    no-baselines      without the baselines' metrics (linear, majority, chance)
    overall-only      one slice (Overall) instead of every slice and cross
    two-models        the full config with the model also as its own baseline (what the
                      Evaluator does once a blessed model exists; TFMA's own preparation of
                      the config, so the baseline gets only what the comparison needs)

Usage:

    python -m benchmarks.evaluator_profile [--data data/census] [--output-dir outputs]

`--memory` also prints each variant's peak PSS (this process and Beam's workers);
`--beam-arg` passes Beam options, e.g. multi-processing as the CLI picks it for large data:

    python -m benchmarks.evaluator_profile --data <10x data> --output-dir <its run> --memory \
        --beam-arg=--direct_running_mode=multi_processing --beam-arg=--direct_num_workers=2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from benchmarks.process_memory import MemorySampler
from benchmarks.provenance import print_header
from pipeline.model.outputs import prediction_key
from pipeline.project import DEFAULT_DATA
from pipeline.runners.local import DEFAULT_OUTPUT_DIR, paths_for, pipeline_name
from pipeline.spec import DatasetSpec, load_spec

VARIANTS = (
    "full",
    "no-intervals",
    "no-rates",
    "no-plots",
    "no-baselines",
    "overall-only",
    "two-models",
)


def eval_config_for(spec: DatasetSpec, variant: str):  # -> tfma.EvalConfig
    """The pipeline's eval config with one part left out (see the module docstring)."""
    import tensorflow_model_analysis as tfma

    import eval_config

    config = eval_config.create_eval_config(spec)
    output = [prediction_key(spec.task)]
    baseline_metrics = config.metrics_specs[-1]  # the simple baselines' (linear, ...)
    dropped = {
        "no-intervals": {"BootstrapIntervals"},
        "no-rates": set(eval_config.THRESHOLDED_METRICS),
        "no-plots": {"ConfusionMatrixPlot", "CalibrationPlot"},
    }.get(variant, set())

    for model_metrics in config.metrics_specs:
        if list(model_metrics.output_names) != output:
            continue
        kept = [
            m
            for m in model_metrics.metrics
            if m.class_name not in dropped and eval_config.metric_config_name(m) not in dropped
        ]
        del model_metrics.metrics[:]
        model_metrics.metrics.extend(kept)
    if variant == "no-baselines":
        config.metrics_specs.remove(baseline_metrics)
    if variant == "overall-only":
        del config.slicing_specs[:]
        config.slicing_specs.append(tfma.SlicingSpec())
    if variant != "two-models":
        # One model: no baseline to compare with, as on a pipeline's first run.
        for metrics_spec in config.metrics_specs:
            for metric in metrics_spec.metrics:
                for bound in metric.per_slice_thresholds:
                    bound.threshold.ClearField("change_threshold")
    if variant == "two-models":
        # As TFX's Evaluator does when it is given a baseline model.
        config = tfma.utils.update_eval_config_with_defaults(
            config, has_baseline=True, rubber_stamp=True
        )
    return config


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def print_profile(run: Callable[[], object], variant: str, top: int) -> None:
    """Runs `run` under cProfile; prints its costliest functions and, per combiner class,
    the time of its `add_input` calls (TFMA calls each one per example and slice)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\ncProfile of {variant}: {total:.1f} s of CPU in this process; own time:")
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)
    for (path, line, name), (_, calls, own, cumulative, _) in rows[:top]:
        where = f"{Path(path).name}:{line}"
        print(f"  {own:7.1f} s own {cumulative:7.1f} s cum {calls:>9} calls  {name} ({where})")
    print("add_input of each combiner (cumulative):")
    adds = [
        (cumulative, calls, Path(path).name, line)
        for (path, line, name), (_, calls, _, cumulative, _) in stats.stats.items()
        if name in ("add_input", "add_inputs") and "apache_beam" not in path
    ]
    for cumulative, calls, path, line in sorted(adds, reverse=True)[:top]:
        print(f"  {cumulative:7.1f} s {calls:>9} calls  {path}:{line}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument(
        "--run-id", help="the run whose model and test split to use (default: latest)"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--cprofile",
        type=int,
        metavar="N",
        default=0,
        help="also run each variant under cProfile and print its N costliest functions "
        "(by own time) and the TFMA combiners' add_input costs",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="a Beam option for TFMA's pipeline, e.g. "
        "--beam-arg=--direct_running_mode=multi_processing (default: Beam's DirectRunner defaults)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also sample the PSS of this process and its Beam workers (psutil) and print "
        "each variant's peak, per process",
    )
    args = parser.parse_args()
    print_header()

    import tensorflow_model_analysis as tfma
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.reports.artifacts import find_run

    spec = load_spec(args.data)
    paths = paths_for(spec, args.output_dir)
    run = find_run(paths.metadata_path, pipeline_name(spec), args.run_id)
    if run.model is None:
        sys.exit(f"no trained model in run {run.run_id} under {paths.root}: pick one with --run-id")
    model_dir = os.path.join(run.model.uri, "Format-Serving")
    examples = run.test_examples or run.examples
    data_location = os.path.join(examples.uri, "Split-test", "*")
    print(f"model {model_dir}\ntest examples {data_location}\n", flush=True)

    seconds: dict[str, list[float]] = {v: [] for v in args.variants}
    for repeat in range(args.repeats):
        for variant in args.variants:
            config = eval_config_for(spec, variant)
            models = [
                tfma.default_eval_shared_model(
                    eval_saved_model_path=model_dir, model_name=m.name, eval_config=config
                )
                for m in config.model_specs
            ]
            with tempfile.TemporaryDirectory(prefix="evaluator-profile-") as out:

                def analyse(config=config, models=models, out=out) -> None:
                    tfma.run_model_analysis(
                        eval_shared_model=models if len(models) > 1 else models[0],
                        eval_config=config,
                        data_location=data_location,
                        file_format="tfrecords",
                        output_path=out,
                        pipeline_options=PipelineOptions(args.beam_arg) if args.beam_arg else None,
                    )

                with MemorySampler() if args.memory else contextlib.nullcontext() as memory:
                    took = timed(analyse)
                if args.cprofile and repeat == 0:
                    print_profile(analyse, variant, args.cprofile)
            seconds[variant].append(took)
            print(f"repeat {repeat + 1}/{args.repeats} {variant:<14} {took:6.1f} s", flush=True)
            if memory is not None:
                print(f"  {memory.summary()}", flush=True)

    full = statistics.median(seconds["full"]) if seconds.get("full") else None
    print(f"\nEvaluator profile: {spec.name}, {os.cpu_count()} cores (medians)")
    print(f"{'variant':<16}{'seconds':>9}{'vs full':>9}")
    for variant, values in seconds.items():
        value = statistics.median(values)
        ratio = f"{value / full:>9.2f}" if full else f"{'-':>9}"
        print(f"{variant:<16}{value:>9.1f}{ratio}")


if __name__ == "__main__":
    main()
