"""A static, self-contained HTML report of one pipeline run.

One file, no JavaScript, no fetched assets: plots are inline PNGs, styles inline CSS, so it
opens anywhere (a browser, a CI artifact, an e-mail). Every number comes from the run's
artifacts in ML Metadata: TFMA's metrics and plots, TFMA's validation result, the data
statistics and anomalies, and the lineage of the model.

    python -m pipeline report                  # the latest run -> outputs/<set>/reports/
    python -m pipeline report --run-id <id>    # any past run
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.metrics import catalogue
from pipeline.reports.artifacts import Artifact, RunArtifacts
from pipeline.spec import DatasetSpec

# The name the Evaluator writes each spec threshold metric under.
_SPEC_METRIC_NAMES = {
    name: catalogue.bounded_name(metric)
    for bounded in catalogue.BOUNDED.values()
    for name, metric in bounded.items()
}
_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 1150px; color: #1f2933; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem;
     border-bottom: 2px solid #e4e7eb; padding-bottom: .3rem; } h3 { margin-top: 1.4rem; }
.meta { color: #616e7c; } .verdict { padding: .8rem 1rem; border-radius: 6px;
     font-size: 1.15rem; font-weight: 600; margin: 1rem 0; }
.blessed { background: #e3f9e5; border: 1px solid #57ae5b; }
.rejected { background: #ffe3e3; border: 1px solid #d64545; }
.unknown { background: #fff3c4; border: 1px solid #c99a2e; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid #d9e2ec; padding: .25rem .55rem; text-align: right; }
th { background: #f0f4f8; } td:first-child, th:first-child { text-align: left; }
td.pass { color: #207227; font-weight: 600; } td.fail { color: #b42318; font-weight: 600; }
td.small { color: #9aa5b1; } .note { color: #616e7c; font-size: .88rem; }
img { max-width: 100%; border: 1px solid #e4e7eb; margin: .4rem 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
code { background: #f0f4f8; padding: 0 .25rem; border-radius: 3px; }
"""
# Slices with fewer test examples than this are greyed out: their rates are noise.
SMALL_SLICE = 30


def _png(figure: Any) -> str:
    """A matplotlib figure as an inline <img>."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _figure(width: float = 6.0, height: float = 4.0, columns: int = 1) -> tuple[Any, Any]:
    """A new figure and its axes (a list of them when `columns` > 1).

    A bare `Figure`, not pyplot: no backend, no global state, so the report renders the
    same in a script, a test and a notebook (where `display(figure)` shows it).
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    axes = figure.subplots(1, columns)
    return figure, (list(axes) if columns > 1 else axes)


# Columns that hold counts: shown whole. Every other number is shown to 4 decimals.
_COUNT_COLUMNS = {
    "n",
    "MLMD id",
    "count",
    "missing",
    "unique",
    "top_frequency",
    "tp",
    "fp",
    "tn",
    "fn",
}


def _number(value: Any, column: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if column in _COUNT_COLUMNS else f"{value:.4f}"
    return html.escape(str(value))


def _table(
    frame: pd.DataFrame, table_id: str, index: bool = True, small_rows: Iterable[str] = ()
) -> str:
    """A DataFrame as an HTML table; rows named in `small_rows` are greyed out."""
    small = set(small_rows)
    header = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    lines = [f'<table id="{table_id}"><thead><tr>']
    lines += [f"<th>{html.escape(h)}</th>" for h in header]
    lines.append("</tr></thead><tbody>")
    for label, row in frame.iterrows():
        css = ' class="small"' if label in small else ""
        cells = [f"<td{css}>{html.escape(str(label))}</td>"] if index else []
        cells += [
            f"<td{css}>{_number(v, str(c))}</td>"
            for c, v in zip(frame.columns, row.tolist(), strict=True)
        ]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def _verdict(run: RunArtifacts, spec: DatasetSpec, failures: list[str]) -> str:
    if run.blessed is None:
        failed = [e.node_id for e in run.executions if e.state == "failed"]
        why = f"the run stopped at {', '.join(failed)}" if failed else "no Evaluator ran"
        return (
            f'<div class="verdict unknown">No blessing: {html.escape(why)}. Nothing pushed.</div>'
        )
    if run.blessed:
        pushed = html.escape(run.pushed_to or "nowhere (the Pusher did not run)")
        return f'<div class="verdict blessed">BLESSED: every threshold passed. Pushed to <code>{pushed}</code>.</div>'
    items = "".join(f"<li>{html.escape(f)}</li>" for f in failures)
    return (
        '<div class="verdict rejected">NOT blessed, so not pushed.</div>'
        f"<p>Failed thresholds:</p><ul>{items}</ul>"
    )


def _threshold_table(frame: pd.DataFrame, spec: DatasetSpec, validation: dict[str, Any]) -> str:
    """Each configured threshold, on its slice: the candidate's value and whether it passed.

    A sliced bound whose slice TFMA did not report (absent, or an example-count failure)
    shows as 'missing': TFMA blesses nothing then.
    """
    failed = {(f["slice"], f["metric"], f["is_diff"]) for f in validation["failures"]}
    unsliced = frame[frame["threshold"].isna()]
    rows = []
    for t in spec.thresholds:
        name = _SPEC_METRIC_NAMES[t.metric]
        on = unsliced[(unsliced["slice"] == t.where) & (unsliced["metric"] == name)]
        value = on[~on["is_diff"] & on["model"].isin(["candidate", ""])]["value"]
        diff = on[on["is_diff"] & on["model"].isin(["candidate", ""])]["value"]
        found = len(value) > 0
        rows.append(
            {
                "metric": f"{t.metric} ({_tfma_label(t.metric, name)})",
                "slice": t.where,
                "value": float(value.iloc[0]) if found else math.nan,
                "lower bound": math.nan if t.lower_bound is None else t.lower_bound,
                "upper bound": math.nan if t.upper_bound is None else t.upper_bound,
                "bound": (
                    "fail" if (t.where, name, False) in failed else ("pass" if found else "missing")
                ),
                "change vs baseline": float(diff.iloc[0]) if len(diff) else math.nan,
                "allowed change": _allowed_change(t),
                "change": (
                    "fail"
                    if (t.where, name, True) in failed
                    else ("pass" if len(diff) else "no baseline")
                ),
            }
        )
    table = pd.DataFrame(rows).set_index("metric")
    unused = [c for c in ("lower bound", "upper bound") if table[c].isna().all()]
    table = _table(table.drop(columns=unused), "thresholds")
    for state in ("pass", "fail", "missing"):
        css = "pass" if state == "pass" else "fail"
        table = table.replace(f"<td>{state}</td>", f'<td class="{css}">{state}</td>')
    return table


def _tfma_label(metric: str, name: str) -> str:
    """How TFMA knows a bounded metric: its class, or for a regression model its name."""
    classifier = catalogue.THRESHOLD_METRICS.get(metric)
    return classifier.tfma_class if classifier else name


def _allowed_change(t: Any) -> float:
    """The change against the baseline a threshold allows (signed: -0.01 = a 0.01 drop)."""
    if t.max_regression is None:
        return math.nan
    return t.max_regression if t.lower_is_better else -t.max_regression


def _error_bars(value: Any, low: Any, high: Any) -> list[Any]:
    """Matplotlib's (below, above) error lengths from interval bounds.

    A percentile interval need not contain the point value (and a metric pinned at 1 can
    sit a rounding error outside it): lengths are clipped at 0, never negative.
    """
    import numpy as np

    below = np.clip(np.asarray(value, dtype=float) - np.asarray(low, dtype=float), 0, None)
    above = np.clip(np.asarray(high, dtype=float) - np.asarray(value, dtype=float), 0, None)
    return [np.nan_to_num(below), np.nan_to_num(above)]


def slice_bars_figure(table: pd.DataFrame, metric: str = catalogue.AUC.title) -> Any:
    """Horizontal bars of `metric` per slice of a `slice_table`, the overall value marked."""
    title = metric
    fig, ax = _figure(7.5, 0.28 * len(table) + 1.2)
    values = table[metric][::-1]
    colors = ["#9aa5b1" if n < SMALL_SLICE else "#2680c2" for n in table["n"][::-1]]
    ax.barh(list(values.index), values.values, color=colors)
    if "Overall" in table.index:
        ax.axvline(table.loc["Overall", metric], color="#d64545", linestyle="--", label="Overall")
        ax.legend(loc="lower right")
    ax.set_xlabel(title)
    ax.set_title(f"{title} per slice (grey: fewer than {SMALL_SLICE} test examples)")
    return fig


def fairness_figure(rows: pd.DataFrame, column: str) -> Any:
    """FPR and FNR per group of `column`, one panel per decision threshold.

    Args:
        rows: The `fairness_table` rows of that column.
        column: The sensitive column's name (for the title).
    """
    thresholds = sorted(rows["threshold"].unique())
    fig, axes = _figure(4.2 * len(thresholds), 3.4, columns=len(thresholds))
    axes = axes if len(thresholds) > 1 else [axes]
    for ax, threshold in zip(axes, thresholds, strict=True):
        at = rows[rows["threshold"] == threshold].set_index("group")
        x = range(len(at))
        shown = ((-0.2, catalogue.FPR.title, "#2680c2"), (0.2, catalogue.FNR.title, "#f0b429"))
        for offset, rate, color in shown:
            xs = [i + offset for i in x]
            ax.bar(xs, at[rate], width=0.4, label=rate, color=color)
            if f"{rate} low" in at:  # the bootstrap interval
                errors = _error_bars(at[rate], at[f"{rate} low"], at[f"{rate} high"])
                ax.errorbar(xs, at[rate], yerr=errors, fmt="none", color="k", linewidth=0.8)
        ax.set_xticks(list(x), list(at.index), rotation=30, ha="right", fontsize=8)
        ax.set_title(f"threshold {threshold:g}")
        ax.set_ylim(0, 1)
    axes[0].legend()
    fig.suptitle(f"False positive / false negative rate by {column}", y=1.03)
    return fig


def _fairness_section(fairness: pd.DataFrame, spec: DatasetSpec) -> str:
    if fairness.empty:
        return "<p>No sensitive columns in the data set spec.</p>"
    parts = []
    for column in spec.sensitive_columns:
        rows = fairness[fairness["column"] == column]
        if rows.empty:
            continue
        parts.append(f"<h3>{html.escape(column)}</h3>")
        parts.append(_png(fairness_figure(rows, column)))
        shown = rows.set_index("group")
        small = [g for g, n in shown["n"].items() if n < SMALL_SLICE]
        parts.append(_table(shown.drop(columns=["column"]), f"fairness-{column}", small_rows=small))
    parts.append(
        '<p class="note">Rates at each decision threshold of the spec; "gap" = group rate minus '
        f"the overall rate. Grey rows: fewer than {SMALL_SLICE} test examples.</p>"
    )
    return "".join(parts)


def gain_figure(gains: pd.DataFrame) -> Any:
    """Cumulative gain by decile (with its interval band) and lift, from a `gain_table`."""
    fig, (gain_ax, lift_ax) = _figure(9.0, 3.6, columns=2)
    share = [0.0] + [int(top.rstrip("%")) / 100 for top in gains.index]
    gain_ax.plot(share, [0.0, *gains["gain"]], "o-", label="model")
    if "gain low" in gains:
        gain_ax.fill_between(share, [0.0, *gains["gain low"]], [0.0, *gains["gain high"]],
                             alpha=0.25, label="95% interval")  # fmt: skip
    gain_ax.plot([0, 1], [0, 1], ":", color="grey", label="random")
    gain_ax.set(xlabel="share of examples, highest scores first",
                ylabel="share of positives found", title="Cumulative gain (Overall)")  # fmt: skip
    gain_ax.legend()
    lift_ax.bar(list(gains.index), gains["lift"], color="#2680c2")
    if "lift low" in gains:
        errors = _error_bars(gains["lift"], gains["lift low"], gains["lift high"])
        lift_ax.errorbar(list(gains.index), gains["lift"], yerr=errors, fmt="none", color="k")
    lift_ax.axhline(1.0, color="grey", linestyle=":")
    lift_ax.set(xlabel="top share of examples", ylabel="lift", title="Cumulative lift (Overall)")
    lift_ax.tick_params(axis="x", labelsize=8)
    return fig


def _ranking_section(gains: pd.DataFrame) -> str:
    if "gain" not in gains:
        return "<p>No gain metrics in this evaluation.</p>"
    return (
        _png(gain_figure(gains))
        + _table(gains, "gain-lift")
        + '<p class="note">Cumulative gain: share of all positives among the top-scored '
        "share of examples; lift: that share divided by the share of examples (1 = random)."
        "</p>"
    )


def _gate_section(gaps: pd.DataFrame, spec: DatasetSpec) -> str:
    gate = spec.fairness_gate
    if gate is None:
        return (
            '<p class="note">No fairness gate in the spec (<code>fairness.gate</code>): '
            "the rates are reported, not gated.</p>"
        )
    if gaps.empty:
        return "<p>The evaluation holds no fairness-gate metrics.</p>"
    shown = gaps.copy()
    shown["verdict"] = [
        "not gated (small)" if ok is None else ("passed" if ok else "FAILED") for ok in gaps["ok"]
    ]
    shown = shown.drop(columns=["ok"]).set_index("column")
    return (
        f"<h3>Fairness gate</h3><p>At decision threshold {gate.threshold:g}, a group of "
        f"{gate.min_group_size} or more test examples may differ from the overall rate by at "
        "most the bound; a model that breaks one is not blessed.</p>"
        + _table(shown, "fairness-gate")
    )


def ablation_figure(table: pd.DataFrame) -> Any:
    """The first metric's change per removed feature group, with its interval (an
    `ablation_table`): red where the interval excludes 0 on the worse side."""
    metric = table.attrs.get("metric", catalogue.AUC.title)
    fig, ax = _figure(7.5, 0.35 * len(table) + 1.4)
    changes = table[f"{metric} change"][::-1]
    low, high = table[f"{metric} change low"][::-1], table[f"{metric} change high"][::-1]
    errors = _error_bars(changes, low, high)
    worse = low > 0 if table.attrs.get("lower_is_better") else high < 0
    colors = ["#d64545" if w else "#9aa5b1" for w in worse]
    ax.barh(list(changes.index), changes.values, xerr=errors, color=colors, capsize=3)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel(f"change in {metric} without the group (red: the interval excludes 0)")
    ax.set_title("Ablation: what each feature group is worth")
    return fig


def _baselines_section(frame: pd.DataFrame, spec: DatasetSpec) -> str:
    from pipeline.reports.evaluation_tables import baseline_table

    parts = []
    for metric, title in ((m.tfma_name, m.title) for m in catalogue.COMPARED[spec.task]):
        table = baseline_table(frame, metric)
        if table.empty:
            return (
                "<p>No baselines in this evaluation (a model exported before the "
                "<code>evaluation</code> signature).</p>"
            )
        losing = [s for s, margin in table["above best"].items() if margin < 0]
        parts.append(f"<h3>{title}</h3>" + _table(table, f"baselines-{metric}", small_rows=losing))
    models = (
        "<b>linear</b>, a linear regression on the same inputs and training steps; "
        "<b>mean</b>, the training mean of the label for everyone. 'above best' = how much "
        "better the model is (a lower RMSE, a higher R2) than the best baseline"
        if spec.is_regression
        else "<b>linear</b>, a logistic regression on the same inputs and training steps; "
        "<b>majority</b>, the training majority class for everyone; <b>chance</b>, a "
        "score unrelated to the label. 'above best' = model minus the best baseline"
    )
    return "".join(parts) + (
        '<p class="note">The model against simple models on the same test examples: '
        f"{models}; grey rows: a baseline does better on that slice.</p>"
    )


def _ablation_section(run: RunArtifacts) -> str:
    from pipeline.reports.evaluation_tables import ablation_table

    if run.ablation is None:
        return (
            '<p class="note">No ablation in this run (add an <code>ablation</code> section '
            "to the data set spec).</p>"
        )
    table = ablation_table(run.ablation.uri)
    if table.empty:
        return "<p>The ablation report is empty.</p>"
    return (
        _png(ablation_figure(table))
        + _table(table, "ablation")
        + f'<p class="note">Each row: a model trained for {table.attrs["train_steps"]} steps '
        "without the group's inputs (values, buckets and crosses), against one trained the "
        f"same way with every feature, both scored on the eval split "
        f"({table.attrs['eval_examples']} examples); change = without - with, with a paired "
        "95% bootstrap interval.</p>"
    )


def curve_figures(plots: dict[tuple[str, str], dict[str, pd.DataFrame]]) -> dict[str, Any]:
    """ROC, precision-recall, calibration and confusion matrix of the overall slice.

    Candidate and baseline share each plot when both were evaluated. Returns figures keyed
    'roc', 'pr', 'calibration', 'confusion' (empty when TFMA wrote no plot data), plus the
    confusion counts under 'counts'.
    """
    from pipeline.reports.evaluation_tables import confusion_at

    models = [m for (s, m) in plots if s == "Overall"]
    if not models:
        return {}
    label = {"candidate": "candidate", "baseline": "baseline", "": "model"}
    roc, roc_ax = _figure(4.5, 4.2)
    pr, pr_ax = _figure(4.5, 4.2)
    cal, cal_ax = _figure(4.5, 4.2)
    for model in sorted(models, key=lambda m: m != "candidate"):
        data = plots[("Overall", model)]
        confusion, calibration = data["confusion"], data["calibration"]
        style = "-" if model in ("candidate", "") else "--"
        roc_ax.plot(confusion["fpr"], confusion["recall"], style, label=label[model])
        pr_ax.plot(confusion["recall"], confusion["precision"], style, label=label[model])
        if not calibration.empty:
            # Ten equal-width prediction bins from TFMA's fine histogram.
            bins = (calibration["low"].clip(0, 0.999999) * 10).astype(int)
            grouped = calibration.groupby(bins)[["n", "label_sum", "prediction_sum"]].sum()
            cal_ax.plot(grouped["prediction_sum"] / grouped["n"],
                        grouped["label_sum"] / grouped["n"], style + "o", label=label[model])  # fmt: skip
    roc_ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (Overall)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (Overall)")
    cal_ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    cal_ax.set(xlabel="mean prediction", ylabel="observed positive rate",
               title="Calibration (Overall, 10 bins)")  # fmt: skip
    for ax in (roc_ax, pr_ax, cal_ax):
        ax.legend()
    main = "candidate" if "candidate" in models else models[0]
    counts = confusion_at(plots[("Overall", main)]["confusion"], 0.5)
    matrix, matrix_ax = _figure(3.8, 3.4)
    cells = [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]]
    matrix_ax.imshow(cells, cmap="Blues")
    for i in range(2):
        for j in range(2):
            matrix_ax.text(j, i, f"{cells[i][j]:.0f}", ha="center", va="center", fontsize=13)
    matrix_ax.set_xticks([0, 1], ["predicted 0", "predicted 1"])
    matrix_ax.set_yticks([0, 1], ["actual 0", "actual 1"])
    matrix_ax.set_title(f"Confusion matrix at {counts['threshold']:.2f} (Overall)")
    return {"roc": roc, "pr": pr, "calibration": cal, "confusion": matrix, "counts": counts}


def _curves(plots: dict[tuple[str, str], dict[str, pd.DataFrame]]) -> str:
    figures = curve_figures(plots)
    if not figures:
        return "<p>No plot data in the evaluation.</p>"
    images = "".join(_png(figures[k]) for k in ("roc", "pr", "calibration", "confusion"))
    counts = pd.DataFrame([figures["counts"]]).set_index("threshold")
    return f'<div class="grid">{images}</div>' + _table(counts, "confusion-matrix")


def _comparison(comparison: pd.DataFrame, metric: str = catalogue.AUC.title) -> str:
    if comparison.empty:
        return "<p>No baseline: this is the first blessed model of the pipeline.</p>"
    overall = comparison[comparison["slice"] == "Overall"].set_index("metric").drop(columns="slice")
    per_slice = comparison[comparison["metric"] == metric].set_index("slice").drop(columns="metric")
    return (
        "<h3>Overall</h3>" + _table(overall, "comparison-overall")
        + f"<h3>{metric} per slice</h3>" + _table(per_slice, f"comparison-{metric.lower()}")
    )  # fmt: skip


def _splits(artifact: Artifact | None) -> list[str]:
    if artifact is None:
        return []
    try:
        return list(json.loads(str(artifact.properties.get("split_names", "[]"))))
    except json.JSONDecodeError:
        return []


def _data_section(run: RunArtifacts) -> str:
    from pipeline.reports import data_tables

    parts = []
    for title, anomalies in (("training data", run.anomalies), ("test data", run.test_anomalies)):
        for split in _splits(anomalies):
            frame = data_tables.anomalies_frame(anomalies.uri, split)
            heading = f"<h3>Anomalies: {title}, split {html.escape(split)}</h3>"
            if frame.empty:
                parts.append(heading + "<p>None: the data matches the schema.</p>")
            else:
                parts.append(heading + _table(frame.set_index("feature"), f"anomalies-{split}"))
    statistics = run.statistics
    if statistics is not None and "train" in _splits(statistics):
        stats = data_tables.feature_statistics_frame(statistics.uri, "train")
        parts.append("<h3>Training data statistics (split train)</h3>")
        parts.append(_table(stats.set_index("feature"), "statistics-train"))
    return "".join(parts) or "<p>No data validation artifacts in this run.</p>"


def _lineage(run: RunArtifacts) -> str:
    entries = [
        ("training examples", "ExampleGen", run.examples),
        ("test examples (Evaluator input)", "Evaluator input", run.test_examples),
        ("statistics", "StatisticsGen", run.statistics),
        ("schema (validated)", "DataGate", run.schema),
        ("anomalies", "ExampleValidator", run.anomalies),
        ("transform graph", "Transform", run.output("Transform", "transform_graph")),
        ("model (candidate)", "Trainer", run.model),
        ("baseline model", "Evaluator input", run.baseline_model),
        ("evaluation", "Evaluator", run.evaluation),
        ("blessing", "Evaluator", run.blessing),
    ]
    rows = [
        {
            "artifact": name,
            "from": producer,
            "MLMD id": a.id if a else None,
            "uri": a.uri if a else "none in this run",
        }
        for name, producer, a in entries
    ]
    rows.append({"artifact": "pushed model", "from": "Pusher", "MLMD id": None,
                 "uri": run.pushed_to or "nothing pushed"})  # fmt: skip
    states = pd.DataFrame(
        [{"component": e.node_id, "state": e.state, "seconds": e.seconds} for e in run.executions]
    ).set_index("component")
    return _table(pd.DataFrame(rows).set_index("artifact"), "lineage") + _table(
        states, "executions"
    )


def _intervals_note(spec: DatasetSpec) -> str:
    b = spec.bootstrap
    if not b.replicates:
        return "No confidence intervals (evaluation.bootstrap.replicates is 0)."
    return (
        f"'low' and 'high': {b.confidence:.0%} bootstrap percentile interval "
        f"({b.replicates} Poisson replicates); '–' where a slice is too small to have one."
    )


def render_report(run: RunArtifacts, spec: DatasetSpec) -> str:
    """The HTML report of `run` (see the module docstring)."""
    from pipeline.reports import evaluation_tables as tables
    from pipeline.reports.summary import failed_thresholds

    title = f"{html.escape(run.pipeline_name)}: run {html.escape(run.run_id)}"
    label = f"Label <code>{html.escape(spec.label.column)}</code>, " + (
        "a number (regression)"
        if spec.is_regression
        else f"positive class <code>{html.escape(str(spec.label.positive))}</code>"
    )
    body = [
        f"<h1>{title}</h1>",
        f'<p class="meta">Data set <b>{html.escape(spec.name)}</b> ({html.escape(spec.description)}).'
        f" {label}.</p>",
    ]
    _, key_title = tables.key_metric(spec)
    evaluation = run.evaluation
    failures = (
        failed_thresholds(evaluation.uri, spec) if evaluation and run.blessed is False else []
    )
    body.append("<h2>Decision</h2>" + _verdict(run, spec, failures))
    if evaluation is not None:
        frame = tables.metrics_frame(evaluation.uri, spec)
        body.append(_threshold_table(frame, spec, tables.validation(evaluation.uri)))
        features = tables.slice_table(frame, kinds=("overall", "feature"))
        crosses = tables.slice_table(frame, kinds=("cross",))
        small = [s for s, n in features["n"].items() if n < SMALL_SLICE]
        body += [
            "<h2>Metrics per slice</h2>",
            f'<p class="note">Test split, {int(features.loc["Overall", "n"])} examples. '
            f"Grey rows: fewer than {SMALL_SLICE} examples.</p>",
            _png(slice_bars_figure(features, key_title)),
            _table(features, "slice-metrics", small_rows=small),
        ]
        if not crosses.empty:
            small = [s for s, n in crosses["n"].items() if n < SMALL_SLICE]
            body += ["<h2>Metrics per feature cross</h2>",
                     _table(crosses, "cross-metrics", small_rows=small)]  # fmt: skip
        if not spec.is_regression:  # rankings, error rates and curves need classes
            body += [
                "<h2>Ranking: cumulative gain and lift</h2>",
                _ranking_section(tables.gain_table(frame)),
                "<h2>Fairness indicators</h2>",
                _gate_section(tables.fairness_gaps(frame, spec), spec),
                _fairness_section(tables.fairness_table(frame, spec), spec),
                "<h2>Curves and confusion matrix</h2>",
                _curves(tables.plot_data(evaluation.uri, spec)),
            ]
        body += [
            "<h2>Candidate vs. baseline</h2>",
            _comparison(tables.model_comparison(frame), key_title),
            "<h2>Against simple baselines</h2>",
            _baselines_section(frame, spec),
        ]
    body += ["<h2>Ablation</h2>", _ablation_section(run)]
    body += ["<h2>Data validation</h2>", _data_section(run), "<h2>Lineage</h2>", _lineage(run)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def report_path(reports_dir: Path, run_id: str) -> Path:
    """Where the report of `run_id` goes (run ids hold ':' which some filesystems refuse)."""
    return reports_dir / f"run-{run_id.replace(':', '-')}.html"


def write_report(run: RunArtifacts, spec: DatasetSpec, reports_dir: Path) -> Path:
    """Writes the report of `run` and a copy as `latest.html`; returns the report's path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    page = render_report(run, spec)
    path = report_path(reports_dir, run.run_id)
    path.write_text(page, encoding="utf-8")
    (reports_dir / "latest.html").write_text(page, encoding="utf-8")
    return path
