"""An Evaluator output as pandas DataFrames: metrics per slice, fairness rates, curves.

Everything here reads TFMA's own output files (`tfma.load_metrics`, `tfma.load_plots`,
`tfma.load_validation_result`), so the tables, the notebook and the HTML report show the
numbers TFMA wrote, never a recomputation.

    frame = metrics_frame(run.evaluation.uri, spec)       # long: one row per number
    slice_table(frame)                                    # wide: slices x headline metrics
    fairness_table(frame, spec)                           # rates per group and threshold
    class_table(frame)                                    # a multi-class model's classes
    class_confusion(run.evaluation.uri, spec)             # its confusion matrix per slice
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipeline.metrics import catalogue
from pipeline.model.outputs import BASELINES, MODEL_OUTPUTS
from pipeline.spec import DatasetSpec, bucket_label, bucketized_column, slice_feature

# TFMA metric name -> readable column title, for the per-slice table: the headline
# metrics of either task (a frame has one set or the other).
HEADLINE = {m.tfma_name: m.title for m in catalogue.either_task(catalogue.HEADLINE)}
# Metrics undefined on a slice whose examples hold one class (TFMA name -> title), and on
# one without a positive: the frame holds NaN for them there, so that no table, report or
# notebook shows TFMA's number (an AUC of 0) as a measurement.
NEEDS_BOTH_CLASSES = {m.tfma_name: m.title for m in catalogue.NEEDS_BOTH_CLASSES}
NEEDS_POSITIVES = tuple(m.tfma_name for m in catalogue.NEEDS_POSITIVES)


def key_metric(spec: DatasetSpec | None) -> tuple[str, str]:
    """(TFMA name, title) of the metric a report leads with: AUC, or RMSE for regression."""
    task = spec.task if spec is not None else catalogue.CLASSIFICATION
    key = catalogue.COMPARED[task][0]
    return key.tfma_name, key.title


# The rates the fairness gate can bound, by TFMA metric name -> title.
FAIRNESS_RATES = {m.tfma_name: m.title for m in catalogue.GATE_RATES.values()}
# The two rates the fairness figure shows, with their bootstrap intervals.
_FIGURE_RATES = (catalogue.FPR, catalogue.FNR)
COLUMNS = [
    "slice", "kind", "model", "output", "metric", "class", "threshold", "value", "lower",
    "upper", "is_diff",
]  # fmt: skip
# The multi-class confusion matrix's column of examples whose top probability is not above
# the plot's threshold (TFMA's NO_PREDICTED_CLASS_ID); at its threshold 0, none is.
NO_PREDICTION = "(none)"
# How the fairness gate's group of examples with no value in the sensitive column shows.
MISSING_GROUP = "(missing)"


def slice_label(slice_key: tuple, spec: DatasetSpec | None = None) -> str:
    """'Overall', or 'sex=Female, age in [25, 35)' with bucket indices made readable."""
    if not slice_key:
        return "Overall"
    parts = []
    for feature, value in slice_key:
        value = value.decode() if isinstance(value, bytes) else value
        column = bucketized_column(spec, feature) if spec else None
        if column is not None:
            parts.append(f"{column} {bucket_label(spec.bucketized_features[column], int(value))}")
        else:
            parts.append(f"{feature}={value}")
    return ", ".join(parts)


def _slice_key(proto: Any) -> tuple:
    from tensorflow_model_analysis.slicer import slicer_lib

    return slicer_lib.deserialize_slice_key(proto)


def _kind(slice_key: tuple) -> str:
    return "overall" if not slice_key else ("feature" if len(slice_key) == 1 else "cross")


def _thresholds(evaluation_uri: str) -> dict[str, list[float]]:
    """Decision thresholds of each thresholded metric, from the eval config TFMA saved."""
    import json

    from tensorflow_model_analysis.writers.eval_config_writer import load_eval_run

    config = load_eval_run(evaluation_uri)[0]
    thresholds = {}
    for metrics_spec in config.metrics_specs:
        for metric in metrics_spec.metrics:
            options = json.loads(metric.config or "{}")
            if "thresholds" in options:
                name = options.get("name") or _snake(metric.class_name)
                thresholds[name] = [float(t) for t in options["thresholds"]]
    return thresholds


def _snake(class_name: str) -> str:
    out = []
    for i, char in enumerate(class_name):
        if char.isupper() and i and not class_name[i - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def metrics_frame(evaluation_uri: str, spec: DatasetSpec | None = None) -> pd.DataFrame:
    """Every metric TFMA wrote, one row per number.

    Columns: slice (readable name), kind (overall / feature / cross), model (candidate,
    baseline, or '' when there was no baseline), output (the model's `probabilities`, a
    baseline's name, or '' for an evaluation without outputs), metric, class (for a
    multi-class model's metric of one class, the class's name from `spec.label.classes`,
    else None), threshold (decision threshold of a thresholded metric, else NaN), value,
    lower and upper (confidence interval bounds when TFMA computed them, else NaN),
    is_diff (candidate minus baseline). Slices come overall first, then single features,
    then crosses.
    """
    import tensorflow_model_analysis as tfma

    from pipeline.metrics.intervals import parse_interval_name

    thresholds = _thresholds(evaluation_uri)
    rows = []
    intervals: dict[tuple, dict[str, float]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        if metrics.HasField("cross_slice_key"):
            continue  # no cross-slice comparisons are configured; never mix them in
        key = _slice_key(metrics.slice_key)
        name, kind = slice_label(key, spec), _kind(key)
        for item in metrics.metric_keys_and_values:
            if not item.key.HasField("example_weighted"):
                # A Keras compile() metric re-read from the model (evaluations made
                # before include_default_metrics was off): its names clash with TFMA's.
                continue
            metric = item.key.name
            value = item.value
            label_class = _class_name(item.key, spec)
            interval = parse_interval_name(metric)
            if interval is not None and item.key.is_diff:
                continue  # TFMA's candidate-minus-baseline of a bound: meaningless
            if interval is not None:  # a bootstrap bound: attached to its metric below
                bound, of, threshold = interval
                where = (name, item.key.model_name, item.key.output_name, of, label_class,
                         _round(threshold))  # fmt: skip
                intervals.setdefault(where, {})[bound] = value.double_value.value
                continue
            base = {
                "slice": name,
                "kind": kind,
                "model": item.key.model_name,
                "output": item.key.output_name,
                "metric": metric,
                "class": label_class,
                "is_diff": item.key.is_diff,
            }
            which = value.WhichOneof("type")
            if which == "double_value":
                rows.append({**base, "threshold": math.nan, "value": value.double_value.value})
            elif which == "bounded_value":
                bounded = value.bounded_value
                rows.append({**base, "threshold": math.nan, "value": bounded.value.value,
                             "lower": bounded.lower_bound.value,
                             "upper": bounded.upper_bound.value})  # fmt: skip
            elif which == "array_value":
                values = list(value.array_value.float64_values or value.array_value.float32_values)
                cuts = thresholds.get(metric, [math.nan] * len(values))
                rows += [
                    {**base, "threshold": cut, "value": v}
                    for cut, v in zip(cuts, values, strict=False)
                ]
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    _attach_intervals(frame, intervals)
    single = single_class_slices(frame, spec)
    no_positives = [name for name, label in single.items() if label == 0.0]
    undefined = (
        frame["slice"].isin(list(single)) & frame["metric"].isin(list(NEEDS_BOTH_CLASSES))
    ) | (frame["slice"].isin(no_positives) & frame["metric"].isin(NEEDS_POSITIVES))
    frame.loc[undefined, ["value", "lower", "upper"]] = math.nan
    order = {"overall": 0, "feature": 1, "cross": 2}
    frame["_order"] = frame["kind"].map(order)
    frame = frame.sort_values(["_order", "slice"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)


def single_class_slices(frame: pd.DataFrame, spec: DatasetSpec | None = None) -> dict[str, float]:
    """Slices whose examples all have one label (binary classification): slice -> that
    label, 0.0 or 1.0 (read from the mean label, the same for every model and output).

    None for another task: a mean class id or target of 0 or 1 does not mean one class.
    """
    if spec is not None and (spec.is_regression or spec.is_multiclass):
        return {}
    rows = frame[
        (frame["metric"] == "mean_label")
        & ~frame["is_diff"].astype(bool)
        & frame["threshold"].isna()
        & frame["class"].isna()
    ]
    return {
        name: float(value)
        for name, value in zip(rows["slice"], rows["value"], strict=True)
        if value in (0.0, 1.0)
    }


def only_class(label: float, spec: DatasetSpec | None) -> str:
    """The one class a single-class slice holds, for a sentence: "only '<=50K'"."""
    if spec is None or spec.label.positive is None:
        return "only positives" if label == 1.0 else "only negatives"
    positive = spec.label.positive
    if label == 1.0:
        return f"only {str(positive)!r}"
    others = [c for c in spec.label.classes if c != positive]
    return f"only {str(others[0])!r}" if len(others) == 1 else f"no {str(positive)!r}"


def class_name(class_id: int, spec: DatasetSpec | None) -> str:
    """A class id's name in `spec.label.classes` (its number without a multi-class spec)."""
    if spec is not None and spec.is_multiclass and 0 <= class_id < len(spec.label.classes):
        return spec.class_names[class_id]
    return str(class_id)


def _class_name(key: Any, spec: DatasetSpec | None) -> str | None:
    """The class of a TFMA metric key's sub key (None for a metric of the whole slice)."""
    if not key.HasField("sub_key") or not key.sub_key.HasField("class_id"):
        return None
    return class_name(key.sub_key.class_id.value, spec)


def _round(threshold: float | None) -> float | None:
    return None if threshold is None or math.isnan(threshold) else round(float(threshold), 9)


def _attach_intervals(frame: pd.DataFrame, intervals: dict[tuple, dict[str, float]]) -> None:
    """Fills lower/upper of each metric from the bootstrap's `ci_lower/...` metrics."""
    if not intervals or frame.empty:
        return
    for i, row in frame.iterrows():
        if not math.isnan(row["lower"]) or row["is_diff"]:
            continue
        where = (row["slice"], row["model"], row["output"], row["metric"], row["class"])
        bounds = intervals.get((*where, _round(row["threshold"])))
        if bounds:
            frame.at[i, "lower"] = bounds.get("lower", math.nan)
            frame.at[i, "upper"] = bounds.get("upper", math.nan)


def _model_output(frame: pd.DataFrame) -> pd.Series:
    """Rows of the model's own output (not a baseline's); '' in evaluations without."""
    return frame["output"].isin(["", *MODEL_OUTPUTS])


def _candidate(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the evaluated model (named 'candidate' when a baseline was compared)."""
    models = set(frame["model"])
    model = "candidate" if "candidate" in models else ""
    return frame[(frame["model"] == model) & ~frame["is_diff"] & _model_output(frame)]


def candidate_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the evaluated model's own output: no baseline model, no simple
    baseline, no candidate-minus-baseline difference."""
    return _candidate(frame)


def _whole_slice(frame: pd.DataFrame) -> pd.Series:
    """Rows of a metric of the whole slice: at no decision threshold, of no single class."""
    return frame["threshold"].isna() & frame["class"].isna()


def slice_table(
    frame: pd.DataFrame, kinds: tuple[str, ...] = ("overall", "feature", "cross")
) -> pd.DataFrame:
    """Headline metrics of the evaluated model: one row per slice, one column per metric.

    When TFMA computed confidence intervals, each metric gets '<title> low' and
    '<title> high' columns beside it.
    """
    rows = _candidate(frame)
    rows = rows[rows["metric"].isin(HEADLINE) & _whole_slice(rows) & rows["kind"].isin(kinds)]
    # dropna=False: a metric undefined on every slice (one class) keeps its column of NaN.
    table = rows.pivot_table(
        index="slice", columns="metric", values="value", sort=False, aggfunc="first", dropna=False
    )
    table = table.reindex(columns=[m for m in HEADLINE if m in table.columns])
    if rows["lower"].notna().any():
        for metric in list(table.columns):
            bounds = rows[rows["metric"] == metric].set_index("slice")
            if bounds["lower"].notna().any():  # not the example count
                table[f"{metric} low"] = bounds["lower"]
                table[f"{metric} high"] = bounds["upper"]
    titles = {**HEADLINE, **{f"{m} low": f"{t} low" for m, t in HEADLINE.items()}}
    titles |= {f"{m} high": f"{t} high" for m, t in HEADLINE.items()}
    table = table.rename(columns=titles)
    table.columns.name = None
    return table


def fairness_table(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The Fairness Indicators rates per group of each sensitive column and threshold; for
    a multi-class model, per group and class (each class's rates against the others, its
    top class being the prediction).

    Columns: column, group, threshold (class for a multi-class model), n, then each rate
    (FPR, FNR, TPR, TNR, FDR, FOR) and its gap to the overall rate at the same threshold or
    of the same class ('<rate> gap' = group - overall), and, when the bootstrap ran,
    'FPR low/high' and 'FNR low/high' (all rates' intervals are in `metrics_frame`).
    """
    by = "class" if spec.is_multiclass else "threshold"
    rows = _candidate(frame)
    rates = rows[rows["metric"].isin(FAIRNESS_RATES) & rows[by].notna()]
    counts = rows[rows["metric"] == catalogue.EXAMPLE_COUNT.tfma_name].set_index("slice")["value"]
    wide = rates.pivot_table(index=["slice", by], columns="metric", values="value", aggfunc="first")
    wide = wide.rename(columns=FAIRNESS_RATES)
    if spec.is_multiclass:  # the spec's order of the classes, not the alphabet's
        order = {name: i for i, name in enumerate(spec.class_names)}
        wide = wide.sort_index(key=lambda ix: ix.map(order) if ix.name == by else ix)
    # Bootstrap intervals of the two rates the figure shows (the frame has all of them).
    figured = [m.tfma_name for m in _FIGURE_RATES]
    bounded = rates[rates["metric"].isin(figured) & rates["lower"].notna()]
    bounds = bounded.pivot_table(
        index=["slice", by], columns="metric", values=["lower", "upper"], aggfunc="first"
    )
    overall = wide.loc["Overall"] if "Overall" in wide.index.get_level_values(0) else None
    singles = set(rows.loc[rows["kind"] == "feature", "slice"])
    out = []
    for column in spec.sensitive_columns:
        # 'sex=Female', or 'age [25, 35)' for a bucketized column.
        prefix = f"{column} " if column in spec.bucketized_features else f"{column}="
        for (name, at), values in wide.iterrows():
            if name not in singles or not name.startswith(prefix):
                continue
            row = {"column": column, "group": name[len(prefix) :], by: at,
                   "n": counts.get(name, math.nan)}  # fmt: skip
            for rate in FAIRNESS_RATES.values():
                row[rate] = values.get(rate, math.nan)
                if overall is not None and at in overall.index:
                    row[f"{rate} gap"] = row[rate] - overall.loc[at].get(rate, math.nan)
            for metric, rate in ((m.tfma_name, m.title) for m in _FIGURE_RATES):
                if (name, at) in bounds.index and ("lower", metric) in bounds.columns:
                    row[f"{rate} low"] = bounds.at[(name, at), ("lower", metric)]
                    row[f"{rate} high"] = bounds.at[(name, at), ("upper", metric)]
            out.append(row)
    return pd.DataFrame(out)


def class_table(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    slice_name: str = "Overall",
    confusion: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A multi-class model's metrics of each class on one slice (empty for another model).

    Rows: the classes, in the spec's order. Columns: n (the class's test examples in the
    slice: the row sums of its `class_confusion` matrix, when given), then precision,
    recall, F1 and one-vs-rest AUC (`catalogue.CLASS_COLUMNS`), each with '<title> low'
    and '<title> high' when the bootstrap ran.
    """
    rows = _candidate(frame)
    rows = rows[(rows["slice"] == slice_name) & rows["class"].notna() & rows["threshold"].isna()]
    if rows.empty:
        return pd.DataFrame()
    table = pd.DataFrame(index=pd.Index(spec.class_names, name="class"))
    if confusion is not None:
        table["n"] = confusion.sum(axis=1).reindex(table.index)
    for metric in catalogue.CLASS_COLUMNS:
        values = rows[rows["metric"] == metric.tfma_name].set_index("class")
        table[metric.title] = values["value"].reindex(table.index)
        if values["lower"].notna().any():
            table[f"{metric.title} low"] = values["lower"].reindex(table.index)
            table[f"{metric.title} high"] = values["upper"].reindex(table.index)
    return table


def baseline_table(
    frame: pd.DataFrame,
    metric: str = catalogue.AUC.tfma_name,
    kinds: tuple[str, ...] = ("overall", "feature"),
) -> pd.DataFrame:
    """The model against the simple baselines on `metric`, per slice (empty without them).

    Columns: n, model, each baseline (linear, majority, chance; linear, mean for a
    regression model), and 'above best': how much better the model is than the best
    baseline (model minus the best, or the best minus the model for an error metric such
    as RMSE); negative means a baseline does better on that slice.
    """
    models = set(frame["model"])
    model = "candidate" if "candidate" in models else ""
    rows = frame[(frame["model"] == model) & ~frame["is_diff"] & _whole_slice(frame)]
    rows = rows[rows["kind"].isin(kinds)]
    scores = rows[rows["metric"] == metric]
    if not set(BASELINES) & set(scores["output"]):
        return pd.DataFrame()
    table = scores.pivot_table(
        index="slice", columns="output", values="value", sort=False, aggfunc="first", dropna=False
    )
    own = next((o for o in MODEL_OUTPUTS if o in table.columns), "")
    table = table.rename(columns={own: "model"})
    baselines = [b for b in BASELINES if b in table.columns]
    table = table[["model", *baselines]]
    if catalogue.lower_is_better(metric):
        table["above best"] = table[baselines].min(axis=1) - table["model"]
    else:
        table["above best"] = table["model"] - table[baselines].max(axis=1)
    counts = rows[(rows["metric"] == catalogue.EXAMPLE_COUNT.tfma_name) & _model_output(rows)]
    table.insert(0, "n", counts.set_index("slice")["value"].reindex(table.index))
    table.columns.name = None
    return table


def gain_table(frame: pd.DataFrame, slice_name: str = "Overall") -> pd.DataFrame:
    """Cumulative gain and lift at each decile of one slice (with intervals if computed).

    Rows: deciles (10%, 20%, ...); columns: gain, lift, and their low/high bounds.
    """
    from pipeline.metrics.catalogue import DECILES, gain_name, lift_name

    rows = _candidate(frame)
    rows = rows[rows["slice"] == slice_name].set_index("metric")
    out = []
    for k in DECILES:
        entry = {"top": f"{k * 10}%"}
        for title, name in (("gain", gain_name(k)), ("lift", lift_name(k))):
            if name in rows.index:
                entry[title] = rows.at[name, "value"]
                entry[f"{title} low"] = rows.at[name, "lower"]
                entry[f"{title} high"] = rows.at[name, "upper"]
        out.append(entry)
    table = pd.DataFrame(out).set_index("top")
    return table.dropna(axis=1, how="all")


def fairness_gaps(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The fairness gate per sensitive column, group and bounded rate (empty without one);
    for a multi-class model, per class too.

    Columns: column, group, class (a multi-class model's only), n (test examples), rate,
    gap (group minus overall, at the gate's threshold), bound, and ok (|gap| within the
    bound; None for groups smaller than the gate's min_group_size, which are reported,
    not gated).
    """
    from pipeline.metrics.fairness_gap import gap_name, size_name

    gate = spec.fairness_gate
    columns = ["column", "group", "class", "n", "rate", "gap", "bound", "ok"]
    if not spec.is_multiclass:
        columns.remove("class")
    if gate is None:
        return pd.DataFrame(columns=columns)
    rows = _candidate(frame)
    overall = rows[rows["kind"] == "overall"]
    # Binary: one gate per column and rate (no class); multi-class: one per class too.
    classes = spec.class_names if spec.is_multiclass else [None]
    out = []
    for column in spec.sensitive_columns:
        prefix = f"{column} " if column in spec.bucketized_features else f"{column}="
        for label_class in classes:
            of = overall[overall["class"].isna() if label_class is None
                         else overall["class"] == label_class]  # fmt: skip
            values = of.set_index("metric")["value"]
            for rate, bound in gate.max_gap.items():
                stem = gap_name(rate, column) + "="
                for metric, gap in values.items():
                    if not metric.startswith(stem):
                        continue
                    group = metric[len(stem) :]
                    if not group:  # no value: TFMA makes no slice of it, the gate a group
                        label = f"{prefix}{MISSING_GROUP}"
                    else:
                        label = slice_label(((slice_feature(spec, column), group),), spec)
                    n = values.get(size_name(rate, column, group), math.nan)
                    gated = n >= gate.min_group_size
                    out.append({
                        "column": column,
                        "group": label[len(prefix):] if label.startswith(prefix) else group,
                        "class": label_class,
                        "n": n,
                        "rate": catalogue.GATE_RATES[rate].title,
                        "gap": gap,
                        "bound": bound,
                        "ok": (abs(gap) <= bound) if gated and not math.isnan(gap) else None,
                    })  # fmt: skip
    return pd.DataFrame(out).reindex(columns=columns) if out else pd.DataFrame(columns=columns)


def model_comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """Candidate vs. baseline per slice on the headline metrics (empty without a baseline).

    Columns: slice, metric, candidate, baseline, change (candidate - baseline).
    """
    rows = frame[frame["metric"].isin(HEADLINE) & _whole_slice(frame) & ~frame["is_diff"]]
    rows = rows[_model_output(rows)]
    if "baseline" not in set(rows["model"]):
        return pd.DataFrame(columns=["slice", "metric", "candidate", "baseline", "change"])
    wide = rows.pivot_table(
        index=["slice", "metric"], columns="model", values="value", sort=False, aggfunc="first"
    )
    wide = wide.reset_index()
    wide["change"] = wide["candidate"] - wide["baseline"]
    wide["metric"] = wide["metric"].map(HEADLINE)
    wide.columns.name = None
    return wide[["slice", "metric", "candidate", "baseline", "change"]]


def plot_data(
    evaluation_uri: str, spec: DatasetSpec | None = None
) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    """TFMA's plot data per (slice, model): 'confusion' (one row per threshold: tp, fp, tn,
    fn, precision, recall, fpr) and 'calibration' (one row per prediction bucket)."""
    import tensorflow_model_analysis as tfma

    plots = {}
    for item in tfma.load_plots(evaluation_uri):
        name = slice_label(_slice_key(item.slice_key), spec)
        for entry in item.plot_keys_and_values:
            value = entry.value
            matrices = value.confusion_matrix_at_thresholds.matrices
            confusion = pd.DataFrame(
                [
                    {
                        "threshold": m.threshold,
                        "tp": m.true_positives,
                        "fp": m.false_positives,
                        "tn": m.true_negatives,
                        "fn": m.false_negatives,
                        "precision": m.precision,
                        "recall": m.recall,
                    }
                    for m in matrices
                ]
            )
            if not confusion.empty:
                negatives = confusion["fp"] + confusion["tn"]
                confusion["fpr"] = confusion["fp"] / negatives.where(negatives > 0)
            calibration = pd.DataFrame(
                [
                    {
                        "low": b.lower_threshold_inclusive,
                        "high": b.upper_threshold_exclusive,
                        "n": b.num_weighted_examples.value,
                        "label_sum": b.total_weighted_label.value,
                        "prediction_sum": b.total_weighted_refined_prediction.value,
                    }
                    for b in value.calibration_histogram_buckets.buckets
                    if b.num_weighted_examples.value > 0
                ]
            )
            plots[(name, entry.key.model_name)] = {
                "confusion": confusion,
                "calibration": calibration,
            }
    return plots


def class_confusion(
    evaluation_uri: str, spec: DatasetSpec | None = None
) -> dict[tuple[str, str], pd.DataFrame]:
    """A multi-class model's confusion matrix per (slice, model), from TFMA's
    `MultiClassConfusionMatrixPlot`: weighted counts, one row per actual class and one
    column per predicted (top) class, named by the spec's classes; empty for other models.

    TFMA writes one matrix per plot threshold; the pipeline configures one, 0, so every
    example's top class counts (a `NO_PREDICTION` column appears only at another one).
    """
    import tensorflow_model_analysis as tfma

    matrices = {}
    for item in tfma.load_plots(evaluation_uri):
        name = slice_label(_slice_key(item.slice_key), spec)
        for entry in item.plot_keys_and_values:
            at_thresholds = entry.value.multi_class_confusion_matrix_at_thresholds.matrices
            if not at_thresholds:
                continue
            counts: dict[tuple[str, str], float] = {}
            for cell in at_thresholds[0].entries:
                predicted = cell.predicted_class_id
                column = NO_PREDICTION if predicted < 0 else class_name(predicted, spec)
                key = (class_name(cell.actual_class_id, spec), column)
                counts[key] = counts.get(key, 0.0) + cell.num_weighted_examples
            names = spec.class_names if spec is not None and spec.is_multiclass else []
            seen = sorted({a for a, _ in counts} | {p for _, p in counts} - {NO_PREDICTION})
            labels = names or seen
            columns = labels + ([NO_PREDICTION] if any(p == NO_PREDICTION for _, p in counts)
                                else [])  # fmt: skip
            table = pd.DataFrame(0.0, index=pd.Index(labels, name="actual"), columns=columns)
            for (actual, predicted), count in counts.items():
                table.at[actual, predicted] = count
            table.columns.name = "predicted"
            matrices[(name, entry.key.model_name)] = table
    return matrices


def confusion_at(confusion: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """TP/FP/TN/FN at the plot threshold nearest `threshold`."""
    row = confusion.iloc[(confusion["threshold"] - threshold).abs().argsort().iloc[0]]
    return {k: float(row[k]) for k in ("threshold", "tp", "fp", "tn", "fn")}


def _bounded_name(t: Any, spec: DatasetSpec) -> str:
    """The name the Evaluator writes a spec threshold's metric under."""
    return catalogue.bounded_name(catalogue.BOUNDED[spec.task][t.metric], spec.task)


def threshold_results(
    frame: pd.DataFrame, spec: DatasetSpec, validation: dict[str, Any]
) -> pd.DataFrame:
    """Each threshold of the spec, on its slice: the candidate's value and its verdicts.

    Index: metric ('auc (AUC)': the spec's name and how TFMA knows it; 'recall of Gentoo
    (...)' for one class of a multi-class model). Columns: slice, value, lower bound, upper
    bound, bound ('pass', 'fail', or 'missing' when TFMA did not report the slice: then it
    blesses nothing), change vs baseline, allowed change (signed: -0.01 allows a 0.01
    drop), change ('pass', 'fail' or 'no baseline'). `validation` is
    `validation(evaluation_uri, spec)`.
    """
    failed = {(f["slice"], f["metric"], f["class"], f["is_diff"]) for f in validation["failures"]}
    unsliced = frame[frame["threshold"].isna()]
    rows = []
    for t in spec.thresholds:
        name = _bounded_name(t, spec)
        of = None if t.label_class is None else str(t.label_class)
        on = unsliced[(unsliced["slice"] == t.where) & (unsliced["metric"] == name)]
        on = on[on["class"].isna() if of is None else on["class"] == of]
        value = on[~on["is_diff"] & on["model"].isin(["candidate", ""])]["value"]
        diff = on[on["is_diff"] & on["model"].isin(["candidate", ""])]["value"]
        found = len(value) > 0
        rows.append(
            {
                "metric": f"{t.metric}{f' of {of}' if of else ''} ({_tfma_label(t, spec)})",
                "slice": t.where,
                "value": float(value.iloc[0]) if found else math.nan,
                "lower bound": math.nan if t.lower_bound is None else t.lower_bound,
                "upper bound": math.nan if t.upper_bound is None else t.upper_bound,
                "bound": (
                    "fail"
                    if (t.where, name, of, False) in failed
                    else ("pass" if found else "missing")
                ),
                "change vs baseline": float(diff.iloc[0]) if len(diff) else math.nan,
                "allowed change": _allowed_change(t),
                "change": (
                    "fail"
                    if (t.where, name, of, True) in failed
                    else ("pass" if len(diff) else "no baseline")
                ),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def _tfma_label(t: Any, spec: DatasetSpec) -> str:
    """How TFMA knows a bounded metric: a binary model's by its class, another's by the
    name it is written under (a multi-class model's class's under the class's sub key)."""
    if spec.task == catalogue.CLASSIFICATION:
        return catalogue.THRESHOLD_METRICS[t.metric].tfma_class
    return _bounded_name(t, spec)


def _allowed_change(t: Any) -> float:
    """The change against the baseline a threshold allows (signed: -0.01 = a 0.01 drop)."""
    if t.max_regression is None:
        return math.nan
    return t.max_regression if t.lower_is_better else -t.max_regression


def validation(evaluation_uri: str, spec: DatasetSpec | None = None) -> dict[str, Any]:
    """TFMA's verdict: {'ok': bool, 'failures': [...], 'missing_thresholds': bool}; each
    failure names its slice, metric, class (a multi-class model's, else None) and value."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    failures = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            failures.append(
                {
                    "slice": slice_label(_slice_key(per_slice.slice_key)),
                    "metric": failure.metric_key.name,
                    "class": _class_name(failure.metric_key, spec),
                    "is_diff": failure.metric_key.is_diff,
                    "value": failure.metric_value.double_value.value,
                }
            )
    return {
        "ok": result.validation_ok,
        "failures": failures,
        "missing_thresholds": bool(result.missing_thresholds),
    }


def ablation_table(report_uri: str) -> pd.DataFrame:
    """The Ablation component's report: one row per removed feature group.

    Columns: group, columns (removed), then for each metric (AUC and accuracy, or RMSE
    and R2 for regression) the reference model's value, the value without the group, the
    change and its paired bootstrap interval ('AUC change low/high'). Rows are ordered by
    the first metric's change, the costliest first. `attrs["metric"]` is its title.
    """
    import json
    import posixpath

    import tensorflow as tf

    from components.ablation import RESULT_FILE

    # tf.io.gfile: a cloud run's report is on gs://.
    with tf.io.gfile.GFile(posixpath.join(report_uri, RESULT_FILE)) as f:
        report = json.loads(f.read())
    rows = []
    key = catalogue.COMPARED[catalogue.CLASSIFICATION][0].tfma_name
    metrics = list(report["groups"][0]["metrics"]) if report["groups"] else [key]
    for group in report["groups"]:
        row = {"group": group["name"], "columns": ", ".join(group["columns"])}
        for metric in metrics:
            title = HEADLINE.get(metric, metric)
            values = group["metrics"][metric]
            row[f"{title} with"] = values["a"]
            row[f"{title} without"] = values["b"]
            row[f"{title} change"] = values["change"]
            row[f"{title} change low"] = values["low"]
            row[f"{title} change high"] = values["high"]
        rows.append(row)
    table = pd.DataFrame(rows)
    first = HEADLINE.get(metrics[0], metrics[0])
    if not table.empty:
        ascending = not catalogue.lower_is_better(metrics[0])
        table = table.sort_values(f"{first} change", ascending=ascending).set_index("group")
    table.attrs["metric"] = first
    table.attrs["lower_is_better"] = catalogue.lower_is_better(metrics[0])
    table.attrs["train_steps"] = report["train_steps"]
    table.attrs["eval_examples"] = report["eval_examples"]
    return table
