"""What a pipeline run did, read back from ML Metadata.

Per component: ran, cached or failed, and for how long. Then the Evaluator's verdict
(blessed, or which thresholds failed), where the Pusher put the model, and the headline
metrics overall and per slice.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from pipeline.metrics import catalogue
from pipeline.model.outputs import PREDICTION_KEY
from pipeline.reports.artifacts import find_run, latest_output_uri
from pipeline.reports.evaluation_tables import (
    NEEDS_BOTH_CLASSES,
    metrics_frame,
    only_class,
    single_class_slices,
    slice_label,
    slice_table,
)
from pipeline.spec import DatasetSpec

__all__ = ["RunSummary", "format_summary", "latest_output_uri", "summarize_run"]

# The summary's columns per slice: TFMA metric name -> column title, either task's (a
# run has one set or the other).
HEADLINE = {m.tfma_name: m.title for m in catalogue.either_task(catalogue.SUMMARY_COLUMNS)}


@dataclasses.dataclass(frozen=True)
class ComponentRun:
    """One component's execution in a run."""

    node_id: str
    state: str
    seconds: float
    execution_id: int


@dataclasses.dataclass
class RunSummary:
    """The outcome of one pipeline run."""

    run_id: str
    components: list[ComponentRun]
    blessed: bool | None = None
    failed_thresholds: list[str] = dataclasses.field(default_factory=list)
    pushed_to: str | None = None
    metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def state_of(self, node_id: str) -> str | None:
        return next((c.state for c in self.components if c.node_id == node_id), None)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.components)


def load_slice_metrics(
    evaluation_uri: str, spec: DatasetSpec | None = None
) -> dict[str, dict[str, float]]:
    """Headline metrics per slice of one Evaluator output, keyed by readable slice name."""
    table = slice_table(metrics_frame(evaluation_uri, spec))
    return {
        name: {t: float(row[t]) for t in HEADLINE.values() if t in row and not math.isnan(row[t])}
        for name, row in table.iterrows()
    }


def describe_gap_failure(failure, gaps: dict[str, float], min_group_size: int = 0) -> str:
    """One line for a broken fairness-gate bound: the groups, their gaps, the bound.

    Args:
        failure: TFMA's failure on `fairness_gap/<rate>/<column>`.
        gaps: Overall-slice metrics `fairness_gap/<rate>/<column>=<group>` (signed gap)
            and `fairness_group_size/<rate>/<column>=<group>` (examples).
        min_group_size: The gate's; smaller groups are not named.
    """
    _, rate, column = failure.metric_key.name.split("/", 2)
    title = catalogue.GATE_RATES[rate].title
    value = failure.metric_value.double_value.value
    bound = failure.metric_threshold.value_threshold.upper_bound.value
    if math.isnan(value):
        return (
            f"fairness gate: no group of {column} has enough test examples to measure its "
            f"{title} (fairness.gate.min_group_size)"
        )
    prefix = f"{failure.metric_key.name}="
    sizes = f"fairness_group_size/{rate}/{column}="
    # Every gated group beyond the bound, the largest gap first.
    beyond = sorted(
        ((name[len(prefix) :], gap) for name, gap in gaps.items()
         if name.startswith(prefix) and abs(gap) > bound
         and gaps.get(sizes + name[len(prefix) :], 0) >= min_group_size),
        key=lambda item: -abs(item[1]),
    )  # fmt: skip
    groups = ", ".join(f"{column}={group} by {gap:+.4f}" for group, gap in beyond)
    return (
        f"fairness gate: the {title} differs from the overall {title} for "
        f"{groups or f'a group by {value:.4f}'}; fairness.gate.max_gap.{rate} allows {bound:g}"
    )


def describe_single_class(failure, where: str, holds: str) -> str:
    """One line for a bound on a metric that needs both classes, in a slice that has one.

    Args:
        failure: TFMA's failure on the metric (its value, 0, measures nothing).
        where: The slice's readable name.
        holds: Which class the slice holds, e.g. "only '<=50K'" (`only_class`).
    """
    name = failure.metric_key.name
    title = NEEDS_BOTH_CLASSES[name]
    subject = "the test split" if where == "Overall" else f"slice {where} of the test split"
    if failure.metric_key.is_diff:
        verdict = "no change against the baseline model can be measured"
    else:
        bounds = failure.metric_threshold.value_threshold
        bound = "lower" if bounds.HasField("lower_bound") else "upper"
        value = getattr(bounds, f"{bound}_bound").value
        verdict = f"its {bound} bound {value:g} cannot be met"
    return (
        f"{name}: {subject} holds a single class ({holds}): {title} is undefined, so "
        f"{verdict} (test examples of both classes are needed)"
    )


def describe_failure(failure, where: str) -> str:
    """One line for a failed TFMA threshold: metric, value, bound, slice."""
    name = failure.metric_key.name
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if failure.metric_key.is_diff:
        allowed = threshold.change_threshold.absolute.value
        return (
            f"{name} changed by {value:+.4f} against the baseline model; at most "
            f"{allowed:+.4f} is allowed ({where})"
        )
    bounds = threshold.value_threshold
    if name == catalogue.EXAMPLE_COUNT.tfma_name and bounds.HasField("lower_bound"):
        return (
            f"slice {where} has {value:.0f} test examples, fewer than evaluation.min_slice_size "
            f"= {bounds.lower_bound.value:g}: too few to judge its bounds"
        )
    if bounds.HasField("lower_bound") and value < bounds.lower_bound.value:
        return (
            f"{name} = {value:.4f} is below the lower bound {bounds.lower_bound.value:g} ({where})"
        )
    if bounds.HasField("upper_bound") and value > bounds.upper_bound.value:
        return (
            f"{name} = {value:.4f} is above the upper bound {bounds.upper_bound.value:g} ({where})"
        )
    return f"{name} = {value:.4f} failed: {failure.message or threshold} ({where})"


def failed_thresholds(evaluation_uri: str, spec: DatasetSpec | None = None) -> list[str]:
    """Readable lines for each threshold the candidate model failed."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.slicer import slicer_lib

    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    gaps = None
    single = None
    for per_slice in result.metric_validations_per_slice:
        where = slice_label(slicer_lib.deserialize_slice_key(per_slice.slice_key), spec)
        for failure in per_slice.failures:
            if failure.metric_key.name.startswith("fairness_gap/"):
                gaps = _overall_gaps(evaluation_uri) if gaps is None else gaps
                size = spec.fairness_gate.min_group_size if spec and spec.fairness_gate else 0
                lines.append(describe_gap_failure(failure, gaps, size))
                continue
            if failure.metric_key.name in NEEDS_BOTH_CLASSES:
                if single is None:
                    single = single_class_slices(metrics_frame(evaluation_uri, spec))
                if where in single:
                    holds = only_class(single[where], spec)
                    lines.append(describe_single_class(failure, where, holds))
                    continue
            lines.append(describe_failure(failure, where))
    if result.missing_thresholds:
        lines.append("the eval config has no threshold, so TFMA cannot bless any model")
    for missing in result.missing_slices:
        named = [f"{k}={v}" for k, v in missing.feature_values.items()] + list(missing.feature_keys)
        lines.append(
            f"slice {', '.join(named) or 'Overall'} has a threshold but no examples in the "
            "test data"
        )
    return lines


def _overall_gaps(evaluation_uri: str) -> dict[str, float]:
    """The fairness gate's per-group gaps on the Overall slice of the evaluated model."""
    frame = metrics_frame(evaluation_uri)
    rows = frame[
        (frame["kind"] == "overall")
        & ~frame["is_diff"].astype(bool)
        & frame["metric"].str.startswith(("fairness_gap/", "fairness_group_size/"))
        & frame["model"].isin(["", "candidate"])
        & frame["output"].isin(["", PREDICTION_KEY])
    ]
    return dict(zip(rows["metric"], rows["value"], strict=True))


def summarize_run(
    metadata_path: Path,
    pipeline_name: str,
    run_id: str | None = None,
    spec: DatasetSpec | None = None,
) -> RunSummary:
    """Summarises run `run_id` (default: the latest) of `pipeline_name` from ML Metadata."""
    run = find_run(metadata_path, pipeline_name, run_id)
    components = [
        ComponentRun(node_id=e.node_id, state=e.state, seconds=e.seconds, execution_id=e.id)
        for e in run.executions
    ]
    summary = RunSummary(
        run_id=run.run_id, components=components, blessed=run.blessed, pushed_to=run.pushed_to
    )
    if run.evaluation is not None:
        summary.metrics = load_slice_metrics(run.evaluation.uri, spec)
        if summary.blessed is False:
            summary.failed_thresholds = failed_thresholds(run.evaluation.uri, spec)
    return summary


def format_summary(summary: RunSummary) -> str:
    """The end-of-run report printed by the CLI."""
    lines = [f"Run {summary.run_id}: {len(summary.components)} components"]
    for c in summary.components:
        lines.append(f"  {c.node_id:<28} {c.state:<7} {c.seconds:7.1f} s")
    lines.append(f"  {'total (in components)':<36} {summary.seconds:7.1f} s")
    if summary.blessed is None:
        lines.append("Model: not evaluated in this run")
    elif summary.blessed:
        lines.append("Model: BLESSED (every threshold passed)")
    else:
        lines.append("Model: NOT blessed, so not pushed. Failed thresholds:")
        lines += [f"  - {f}" for f in summary.failed_thresholds] or ["  (see the Evaluator output)"]
    lines.append(f"Pushed to: {summary.pushed_to}" if summary.pushed_to else "Pushed: nothing")
    if summary.metrics:
        present = {t for row in summary.metrics.values() for t in row}
        titles = [t for t in HEADLINE.values() if t in present]
        width = max(len(name) for name in summary.metrics)
        lines.append("Metrics on the test split:")
        lines.append(f"  {'slice':<{width}}  " + "  ".join(f"{t:>11}" for t in titles))
        for name, row in summary.metrics.items():
            cells = "  ".join(_cell(t, row.get(t)) for t in titles)
            lines.append(f"  {name:<{width}}  {cells}")
    return "\n".join(lines)


def _cell(title: str, value: float | None) -> str:
    """A metric in the summary table: counts whole, rates to 4 places, '-' if absent."""
    if value is None or math.isnan(value):
        return f"{'-':>11}"
    return f"{value:>11.0f}" if title == catalogue.EXAMPLE_COUNT.title else f"{value:>11.4f}"
