"""Matplotlib figures of an evaluation, shared by the HTML report and the model notebook.

Each function takes a table of `evaluation_tables` and returns a bare `Figure` (no pyplot):
no backend, no global state, so a figure renders the same in a script, a test and a
notebook (where `display(figure)` shows it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.metrics import catalogue

# Slices with fewer test examples than this are greyed out: their rates are noise.
SMALL_SLICE = 30


def _figure(width: float = 6.0, height: float = 4.0, columns: int = 1) -> tuple[Any, Any]:
    """A new bare `Figure` and its axes (a list of them when `columns` > 1)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    axes = figure.subplots(1, columns)
    return figure, (list(axes) if columns > 1 else axes)


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
    """FPR and FNR per group of `column`, one panel per decision threshold (per class for a
    multi-class model: each class's rates against the others).

    Args:
        rows: The `fairness_table` rows of that column.
        column: The sensitive column's name (for the title).
    """
    by = "class" if "class" in rows else "threshold"
    panels = list(dict.fromkeys(rows[by])) if by == "class" else sorted(rows[by].unique())
    fig, axes = _figure(4.2 * len(panels), 3.4, columns=len(panels))
    axes = axes if len(panels) > 1 else [axes]
    for ax, panel in zip(axes, panels, strict=True):
        at = rows[rows[by] == panel].set_index("group")
        x = range(len(at))
        shown = ((-0.2, catalogue.FPR.title, "#2680c2"), (0.2, catalogue.FNR.title, "#f0b429"))
        for offset, rate, color in shown:
            xs = [i + offset for i in x]
            ax.bar(xs, at[rate], width=0.4, label=rate, color=color)
            if f"{rate} low" in at:  # the bootstrap interval
                errors = _error_bars(at[rate], at[f"{rate} low"], at[f"{rate} high"])
                ax.errorbar(xs, at[rate], yerr=errors, fmt="none", color="k", linewidth=0.8)
        ax.set_xticks(list(x), list(at.index), rotation=30, ha="right", fontsize=8)
        ax.set_title(f"class {panel}" if by == "class" else f"threshold {panel:g}")
        ax.set_ylim(0, 1)
    axes[0].legend()
    fig.suptitle(f"False positive / false negative rate by {column}", y=1.03)
    return fig


def class_confusion_figure(matrix: pd.DataFrame, slice_name: str = "Overall") -> Any:
    """A multi-class confusion matrix (a `class_confusion` table) as a heat map: actual
    classes down, predicted across, each cell's count written in it."""
    size = 1.0 + 0.75 * max(len(matrix.index), len(matrix.columns))
    fig, ax = _figure(size + 1.2, size)
    image = ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues")
    peak = float(matrix.to_numpy().max()) or 1.0
    for i in range(len(matrix.index)):
        for j in range(len(matrix.columns)):
            count = float(matrix.iat[i, j])
            color = "white" if count > peak / 2 else "black"
            ax.text(j, i, f"{count:.0f}", ha="center", va="center", color=color, fontsize=11)
    ax.set_xticks(range(len(matrix.columns)), list(matrix.columns), rotation=30, ha="right")
    ax.set_yticks(range(len(matrix.index)), list(matrix.index))
    ax.set(
        xlabel="predicted (top class)", ylabel="actual", title=f"Confusion matrix ({slice_name})"
    )
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


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


def rate_figure(chosen: pd.DataFrame, title: str) -> Any:
    """One rate per group, from a `fairness_view.selection`: the candidate's bars (grey for
    groups under SMALL_SLICE examples) beside the baseline's (hatched), intervals as error
    bars, each model's Overall rate as a line (the candidate's interval as a band)."""
    rate = chosen.attrs["rate"]
    overall = chosen.attrs["overall"]
    with_baseline = "baseline" in chosen
    fig, ax = _figure(max(4.5, 0.9 * len(chosen) + 2.5), 3.6)
    x = list(range(len(chosen)))
    width = 0.4 if with_baseline else 0.6
    shown = [(rate, "candidate", -width / 2 if with_baseline else 0.0)]
    if with_baseline:
        shown.append(("baseline", "baseline", width / 2))
    for column, label, offset in shown:
        xs = [i + offset for i in x]
        if label == "candidate":
            colors = ["#9aa5b1" if n < SMALL_SLICE else "#2680c2" for n in chosen["n"]]
            ax.bar(xs, chosen[column], width=width, color=colors, label=label)
        else:
            ax.bar(xs, chosen[column], width=width, color="white", edgecolor="#2680c2",
                   hatch="//", label=label)  # fmt: skip
        if chosen[f"{column} low"].notna().any():  # the bootstrap's interval
            errors = _error_bars(chosen[column], chosen[f"{column} low"], chosen[f"{column} high"])
            ax.errorbar(xs, chosen[column], yerr=errors, fmt="none", color="k", linewidth=0.8,
                        capsize=3)  # fmt: skip
    _, value, low, high = overall.get("candidate", (None, float("nan"), None, None))
    ax.axhline(value, color="#d64545", linestyle="--", label=f"Overall {value:.3f}")
    if low is not None and high is not None:
        ax.axhspan(low, high, color="#d64545", alpha=0.12, linewidth=0)
    if "baseline" in overall:
        ax.axhline(
            overall["baseline"][1], color="#7b8794", linestyle=":", label="Overall (baseline)"
        )
    ax.set_xticks(
        x,
        list(chosen.index),
        rotation=30 if len(x) > 3 else 0,
        ha="right" if len(x) > 3 else "center",
        fontsize=8,
    )
    # Rates are in [0, 1]; the axis stops a little above the highest value or bound.
    highest = pd.concat([chosen[c] for c in chosen.columns if c.startswith((rate, "baseline"))])
    top = max([highest.max(skipna=True), value, high or 0.0, 0.05]) * 1.2
    ax.set_ylim(0, min(1.0, top) if top == top else 1.0)
    ax.set_ylabel(rate)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
