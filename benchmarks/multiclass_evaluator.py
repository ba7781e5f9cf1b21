"""A multi-class Evaluator two ways: the pipeline's metrics from one collection of each
slice's class probabilities, against TFMA's own multi-class metrics.

Takes the latest run of a multi-class spec under an output directory (run the pipeline on
it first) and times `tfma.run_model_analysis` (the Evaluator's entry point) on its model
and test split, one model, every slice of the spec:

    collection      the pipeline's eval config (`eval_config.create_eval_config`):
                    accuracy, macro averages, per class precision/recall/F1/AUC and the
                    Fairness Indicators rates, the confusion matrix plot, bootstrap
                    intervals, the fairness gate per class, the baselines' metrics
    collection-no-intervals   the same without the bootstrap intervals
    tfma            TFMA's own metrics for as much of it as TFMA has: ExampleCount,
                    SparseCategoricalAccuracy, MultiClassConfusionMatrixPlot; binarized by
                    class (top-1 decisions: `top_k: 1`) Precision, Recall, F1Score, AUC and
                    the six rates, with a macro average; the baselines' accuracy and macro
                    F1. No intervals and no gate (TFMA has neither: its intervals re-run
                    every metric 20 times, and its cross-slice thresholds cannot gate).

Each variant's wall time and CPU time (this process's, every thread: Beam runs in it) are
printed; on a shared machine the CPU time is the steadier of the two.

Usage (a census copy with `education` as a 16-class label makes a 16,281-row test split):

    python -m benchmarks.multiclass_evaluator --data data/penguins --output-dir outputs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.evaluator_profile import print_profile, timed
from pipeline.model.outputs import baselines, prediction_key
from pipeline.project import DEFAULT_DATA
from pipeline.runners.local import DEFAULT_OUTPUT_DIR, paths_for, pipeline_name
from pipeline.spec import DatasetSpec, load_spec

VARIANTS = ("tfma", "collection", "collection-no-intervals")
# TFMA's classes of the per-class metrics the pipeline reports.
TFMA_CLASS_METRICS = (
    "Precision", "Recall", "F1Score", "AUC", "Specificity", "NegativePredictiveValue",
    "FallOut", "MissRate", "FalseDiscoveryRate", "FalseOmissionRate",
)  # fmt: skip


def tfma_config(spec: DatasetSpec):  # -> tfma.EvalConfig
    """TFMA's own multi-class metrics, on the pipeline's model specs and slices."""
    import tensorflow_model_analysis as tfma

    import eval_config

    config = eval_config.create_eval_config(spec)
    classes = list(range(len(spec.label.classes)))
    output = [prediction_key(spec.task)]
    top_1 = json.dumps({"top_k": 1})
    per_class = [
        tfma.MetricConfig(class_name=name, config="" if name == "AUC" else top_1)
        for name in TFMA_CLASS_METRICS
    ]
    untop_k = [tfma.MetricConfig(class_name=name) for name in TFMA_CLASS_METRICS]
    by_class = {"binarize": tfma.BinarizationOptions(class_ids={"values": classes})}
    macro = {
        "aggregate": tfma.AggregationOptions(
            macro_average=True, class_weights={c: 1.0 for c in classes}
        )
    }
    del config.metrics_specs[:]
    config.metrics_specs.extend(
        [
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="SparseCategoricalAccuracy"),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ],
                output_names=output,
            ),
            tfma.MetricsSpec(metrics=per_class, output_names=output, **by_class),
            # TFMA's macro average fails with top_k (a KeyError on a private key).
            tfma.MetricsSpec(metrics=untop_k[:4], output_names=output, **by_class, **macro),
            tfma.MetricsSpec(
                metrics=[tfma.MetricConfig(class_name="SparseCategoricalAccuracy")],
                output_names=list(baselines(spec.task)),
            ),
            tfma.MetricsSpec(
                metrics=[tfma.MetricConfig(class_name="F1Score")],
                output_names=list(baselines(spec.task)),
                **by_class,
                **macro,
            ),
        ]
    )
    return config


def config_for(spec: DatasetSpec, variant: str):  # -> tfma.EvalConfig
    """The eval config of one variant (see the module docstring), on one model."""
    import eval_config

    if variant == "tfma":
        config = tfma_config(spec)
    else:
        config = eval_config.create_eval_config(spec)
        if variant == "collection-no-intervals":
            for metrics_spec in config.metrics_specs:
                kept = [m for m in metrics_spec.metrics if m.class_name != "MultiClassIntervals"]
                del metrics_spec.metrics[:]
                metrics_spec.metrics.extend(kept)
    # One model: no baseline to compare with, as on a pipeline's first run.
    for metrics_spec in config.metrics_specs:
        del metrics_spec.model_names[:]
        for metric in metrics_spec.metrics:
            for bound in metric.per_slice_thresholds:
                bound.threshold.ClearField("change_threshold")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--cprofile", type=int, metavar="N", default=0,
                        help="also profile each variant and print its N costliest functions")  # fmt: skip
    args = parser.parse_args()

    import tensorflow_model_analysis as tfma

    from pipeline.reports.artifacts import find_run

    spec = load_spec(args.data)
    if not spec.is_multiclass:
        sys.exit(f"{spec.spec_path}: task is {spec.task}, not multiclass_classification")
    paths = paths_for(spec, args.output_dir)
    run = find_run(paths.metadata_path, pipeline_name(spec))
    if run.model is None:
        sys.exit(f"no trained model in the latest run under {paths.root}")
    model_dir = os.path.join(run.model.uri, "Format-Serving")
    examples = run.test_examples or run.examples
    data_location = os.path.join(examples.uri, "Split-test", "*")
    print(f"model {model_dir}\ntest examples {data_location}\n", flush=True)

    seconds: dict[str, list[tuple[float, float]]] = {v: [] for v in args.variants}
    for repeat in range(args.repeats):
        for variant in args.variants:
            config = config_for(spec, variant)
            model = tfma.default_eval_shared_model(
                eval_saved_model_path=model_dir, eval_config=config
            )
            with tempfile.TemporaryDirectory(prefix="multiclass-evaluator-") as out:

                def analyse(config=config, model=model, out=out) -> None:
                    tfma.run_model_analysis(
                        eval_shared_model=model,
                        eval_config=config,
                        data_location=data_location,
                        file_format="tfrecords",
                        output_path=out,
                    )

                cpu = time.process_time()
                took = timed(analyse)
                cpu = time.process_time() - cpu
                if args.cprofile and repeat == 0:
                    print_profile(analyse, variant, args.cprofile)
            seconds[variant].append((took, cpu))
            print(f"repeat {repeat + 1}/{args.repeats} {variant:<24} {took:6.1f} s wall "
                  f"{cpu:6.1f} s CPU", flush=True)  # fmt: skip

    print(f"\nMulti-class Evaluator: {spec.name}, {len(spec.label.classes)} classes, "
          f"{os.cpu_count()} cores (medians)")  # fmt: skip
    print(f"{'variant':<26}{'wall':>8}{'CPU':>8}")
    for variant, values in seconds.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{variant:<26}{wall:>7.1f}s{cpu:>7.1f}s")


if __name__ == "__main__":
    main()
