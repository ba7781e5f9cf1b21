"""What a pipeline run did, read back from ML Metadata.

Per component: ran, cached or failed, and for how long. Then the Evaluator's verdict
(blessed, or which thresholds failed), where the model serves, the headline metrics with
their bootstrap intervals, overall and per slice, and where to look next.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import sys
from pathlib import Path

import pandas as pd

from pipeline.metrics import catalogue
from pipeline.model.outputs import PREDICTION_KEY
from pipeline.project import DEFAULT_DATA, ROOT
from pipeline.reports.artifacts import find_run, latest_output_uri
from pipeline.reports.evaluation_tables import (
    NEEDS_BOTH_CLASSES,
    class_name,
    metrics_frame,
    only_class,
    single_class_slices,
    slice_label,
    slice_table,
)
from pipeline.spec import DatasetSpec

__all__ = ["RunSummary", "format_summary", "latest_output_uri", "next_steps", "summarize_run"]

# Headline metrics (`slice_table` titles), in the order shown; a run has the
# classification ones or the regression ones.
COUNT = catalogue.EXAMPLE_COUNT.title
# dict.fromkeys: two tasks title their accuracy alike; a run has one task's.
HEADLINE = tuple(
    dict.fromkeys(
        m.title for m in catalogue.either_task(catalogue.SUMMARY_COLUMNS) if m.title != COUNT
    )
)
# The two shown per slice, with their intervals (the others are in the report).
SLICE_HEADLINE = tuple(tuple(m.title for m in pair) for pair in catalogue.COMPARED.values())
# Where `make run` (from the repository root) writes: the notebook command names only
# what differs.
DEFAULT_OUTPUTS = ROOT / "outputs"


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
    # The model at `pushed_to` was serving before this run: the Pusher was cached, or
    # found the model byte-for-byte equal to the latest version and wrote none.
    already_serving: bool = False
    # Per slice: each headline metric by title, 'n', and '<title> low' / '<title> high'.
    metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    confidence: float | None = None
    # The Trainer's TensorBoard logs.
    model_run: str | None = None

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
    columns = [
        c
        for c in table.columns
        if c == COUNT or c.removesuffix(" low").removesuffix(" high") in HEADLINE
    ]
    return {
        name: {c: float(row[c]) for c in columns if not math.isnan(row[c])}
        for name, row in table.iterrows()
    }


def _class_of(key, spec: DatasetSpec | None) -> str | None:
    """The class a failed metric is of (a multi-class model's sub key), or None."""
    if not key.HasField("sub_key") or not key.sub_key.HasField("class_id"):
        return None
    return class_name(key.sub_key.class_id.value, spec)


def describe_gap_failure(
    failure, gaps: dict[str, float], min_group_size: int = 0, label_class: str | None = None
) -> str:
    """One line for a broken fairness-gate bound: the groups, their gaps, the bound.

    Args:
        failure: TFMA's failure on `fairness_gap/<rate>/<column>`.
        gaps: Overall-slice metrics `fairness_gap/<rate>/<column>=<group>` (signed gap)
            and `fairness_group_size/<rate>/<column>=<group>` (examples), of the failed
            metric's class for a multi-class model.
        min_group_size: The gate's; smaller groups are not named.
        label_class: A multi-class model's class whose rate broke the bound.
    """
    _, rate, column = failure.metric_key.name.split("/", 2)
    title = catalogue.GATE_RATES[rate].title
    if label_class is not None:
        title = f"{title} of class {label_class}"
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


def describe_failure(failure, where: str, label_class: str | None = None) -> str:
    """One line for a failed TFMA threshold: metric (and a multi-class model's class),
    value, bound, slice."""
    name = failure.metric_key.name
    if label_class is not None:
        name = f"{name} of class {label_class}"
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
            label_class = _class_of(failure.metric_key, spec)
            if failure.metric_key.name.startswith("fairness_gap/"):
                gaps = _overall_gaps(evaluation_uri, spec) if gaps is None else gaps
                size = spec.fairness_gate.min_group_size if spec and spec.fairness_gate else 0
                of_class = gaps.get(label_class, {})
                lines.append(describe_gap_failure(failure, of_class, size, label_class))
                continue
            if failure.metric_key.name in NEEDS_BOTH_CLASSES and label_class is None:
                if single is None:
                    single = single_class_slices(metrics_frame(evaluation_uri, spec), spec)
                if where in single:
                    holds = only_class(single[where], spec)
                    lines.append(describe_single_class(failure, where, holds))
                    continue
            lines.append(describe_failure(failure, where, label_class))
    if result.missing_thresholds:
        lines.append("the eval config has no threshold, so TFMA cannot bless any model")
    for missing in result.missing_slices:
        named = [f"{k}={v}" for k, v in missing.feature_values.items()] + list(missing.feature_keys)
        lines.append(
            f"slice {', '.join(named) or 'Overall'} has a threshold but no examples in the "
            "test data"
        )
    return lines


def _overall_gaps(
    evaluation_uri: str, spec: DatasetSpec | None = None
) -> dict[str | None, dict[str, float]]:
    """The fairness gate's per-group gaps on the Overall slice of the evaluated model, by
    class (a multi-class model's; None for another model's)."""
    frame = metrics_frame(evaluation_uri, spec)
    rows = frame[
        (frame["kind"] == "overall")
        & ~frame["is_diff"].astype(bool)
        & frame["metric"].str.startswith(("fairness_gap/", "fairness_group_size/"))
        & frame["model"].isin(["", "candidate"])
        & frame["output"].isin(["", PREDICTION_KEY])
    ]
    gaps: dict[str | None, dict[str, float]] = {}
    for label_class, metric, value in zip(
        rows["class"], rows["metric"], rows["value"], strict=True
    ):
        gaps.setdefault(None if pd.isna(label_class) else label_class, {})[metric] = value
    return gaps


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
    pusher = run.execution("Pusher")
    summary = RunSummary(
        run_id=run.run_id,
        components=components,
        blessed=run.blessed,
        pushed_to=run.pushed_to,
        already_serving=run.pushed_to is not None
        and (run.already_serving or (pusher is not None and pusher.state == "cached")),
        model_run=run.model_run.uri if run.model_run else None,
        confidence=spec.bootstrap.confidence if spec else None,
    )
    if run.evaluation is not None:
        summary.metrics = load_slice_metrics(run.evaluation.uri, spec)
        if summary.blessed is False:
            summary.failed_thresholds = failed_thresholds(run.evaluation.uri, spec)
    return summary


def format_summary(
    summary: RunSummary, components: bool = True, next_lines: list[tuple[str, str]] | None = None
) -> str:
    """The end-of-run report printed by the CLI.

    Args:
        summary: The run.
        components: With the table of components (the console showed them already when
            the run just happened).
        next_lines: (what, where) pairs of `next_steps`, shown last.
    """
    states = ", ".join(
        f"{sum(c.state == state for c in summary.components)} {state}"
        for state in dict.fromkeys(c.state for c in summary.components)
    )
    lines = [
        f"Run {summary.run_id}: {len(summary.components)} components ({states}), "
        f"{summary.seconds:.1f} s in components"
    ]
    if components:
        lines += component_lines(summary.components)
    if summary.blessed is None:
        lines.append("Model: not evaluated in this run")
    elif summary.blessed:
        lines.append("Model: BLESSED (every threshold passed)")
    else:
        lines.append("Model: NOT blessed, so not pushed. Failed thresholds:")
        lines += [f"  - {f}" for f in summary.failed_thresholds] or ["  (see the Evaluator output)"]
    lines.append(_serving_line(summary))
    lines += _metric_lines(summary)
    if next_lines:
        width = max(len(what) for what, _ in next_lines)
        lines.append("Next:")
        lines += [f"  {what:<{width}}  {where}" for what, where in next_lines]
    return "\n".join(lines)


def component_lines(components: list[ComponentRun]) -> list[str]:
    """One aligned line per component: name, state, seconds."""
    width = max((len(c.node_id) for c in components), default=0)
    return [f"  {c.node_id:<{width}}  {c.state:<7} {c.seconds:6.1f} s" for c in components]


def _serving_line(summary: RunSummary) -> str:
    if not summary.pushed_to:
        return "Pushed: nothing"
    where = display_path(summary.pushed_to)
    if not summary.already_serving:
        return f"Pushed to: {where}"
    cached = next((c.state == "cached" for c in summary.components if c.node_id == "Pusher"), False)
    why = (
        "pushed by an earlier run"
        if cached
        else "byte-for-byte the latest version: not pushed again"
    )
    return f"Already serving: {where} ({why})"


def _metric_lines(summary: RunSummary) -> list[str]:
    """The overall headline metrics with intervals, then two of them per slice."""
    overall = summary.metrics.get("Overall")
    if not overall:
        return []
    titles = [t for t in HEADLINE if t in overall]
    level = f"{summary.confidence:.0%} " if summary.confidence else ""
    count = f"{overall[COUNT]:.0f} examples, " if COUNT in overall else ""
    lines = [f"Metrics on the test split ({count}{level}bootstrap intervals):"]
    width = max((len(t) for t in titles), default=0)
    lines += [f"  {t:<{width}}  {_with_interval(overall, t)}".rstrip() for t in titles]
    pair = next((p for p in SLICE_HEADLINE if p[0] in titles), ())
    slices = {name: row for name, row in summary.metrics.items() if name != "Overall"}
    if not pair or not slices:
        return lines
    pair = tuple(t for t in pair if t in titles)
    name_width = max(len(name) for name in [*slices, "slice"])
    lines.append("Per slice:")
    header = "  ".join(f"{t:>8}  {'':<16}" for t in pair)
    lines.append(f"  {'slice':<{name_width}}  {'n':>6}  {header}".rstrip())
    for name, row in slices.items():
        n = f"{row[COUNT]:>6.0f}" if COUNT in row else f"{'-':>6}"
        cells = "  ".join(_with_interval(row, t) for t in pair)
        lines.append(f"  {name:<{name_width}}  {n}  {cells}".rstrip())
    return lines


def _with_interval(row: dict[str, float], title: str) -> str:
    """'0.9118  [0.9065, 0.9170]' at a fixed width; '-' for what is missing."""
    value, low, high = (_number(row.get(k)) for k in (title, f"{title} low", f"{title} high"))
    interval = f"[{low}, {high}]" if (low, high) != ("-", "-") else ""
    return f"{value:>8}  {interval:<16}"


def _number(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"


def display_path(path: str | Path) -> str:
    """`path` relative to the working directory when it is below it (shorter to read)."""
    if "://" in str(path):
        return str(path)
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def next_steps(
    summary: RunSummary,
    *,
    report: Path | None,
    log: Path | None,
    metadata_path: Path,
    spec_path: Path,
) -> list[tuple[str, str]]:
    """(what, where) lines for after a run: its report and log, the TensorBoard and
    notebook commands, and the serving model."""
    bin_dir = Path(sys.executable).parent
    lines = []
    if report:
        lines.append(("report", display_path(report)))
    if log:
        lines.append(("log", display_path(log)))
    if summary.model_run:
        command = [
            display_path(bin_dir / "tensorboard"),
            "--logdir",
            display_path(summary.model_run),
        ]
        lines.append(("TensorBoard", shlex.join(command)))
    # The model notebook served by nbclassic, where TFMA's views render (`make notebook`);
    # it opens on the latest run, which this one is until the next. The store sits in
    # <output dir>/<set>/.
    # The venv's python is a symlink out of the checkout: its folder is shown, not its target.
    notebook = [str(Path(display_path(bin_dir)) / "python"), "-m", "pipeline", "notebook"]
    spec_dir = spec_path.parent if spec_path.name == "dataset.yaml" else spec_path
    if not _same(spec_dir, DEFAULT_DATA):
        notebook += ["--data", display_path(spec_dir)]
    output_dir = Path(metadata_path).parent.parent
    if not _same(output_dir, DEFAULT_OUTPUTS):
        notebook += ["--output-dir", display_path(output_dir)]
    lines.append(("notebook", shlex.join(notebook)))
    if summary.pushed_to:
        lines.append(("serving", display_path(summary.pushed_to)))
    return lines


def _same(path: str | Path, default: Path) -> bool:
    return Path(path).resolve() == default.resolve()
