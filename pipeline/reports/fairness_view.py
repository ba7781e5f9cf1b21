"""A Fairness Indicators view for the notebook: each rate per group and decision threshold,
with its bootstrap interval and its gap to Overall, the candidate beside the baseline.

TFMA 0.47 has no Fairness Indicators widget, and the `fairness-indicators` package cannot
be installed beside TFX 1.16; the Evaluator computes the same rates (FPR, FNR, TPR, TNR,
FDR, FOR) at the spec's `fairness.thresholds`. This module lays them out as that widget
did, from `metrics_frame` tables:

    view = fairness_view(frame, spec, baseline_frame)   # display(view) in a notebook
    rates = fairness_rates(frame, spec, baseline_frame) # the long table behind it

Where a front end runs ipywidgets (the classic notebook, `make notebook`), the view is a
column, rate and threshold picker redrawing a bar chart (intervals as error bars, Overall
as a line) and a table; anywhere else (nbclient, an HTML export) the same output shows
the default selection as static HTML.

Every row is keyed by (column, group, model, rate, threshold): a further key, such as the
class of a multi-class model, is one more column of `fairness_rates` and one more control.
"""

from __future__ import annotations

import html
import io
import math
from typing import Any

import pandas as pd

from pipeline.metrics import catalogue
from pipeline.reports.evaluation_tables import candidate_rows
from pipeline.spec import DatasetSpec

# The Fairness Indicators rates, in the order the controls offer them.
RATES = tuple(catalogue.GATE_RATES.values())
CANDIDATE, BASELINE = "candidate", "baseline"
# The CSS class of the widget's box (the browser test finds the view by it).
CSS_CLASS = "fairness-view"
KEYS = ["column", "group", "model", "rate", "threshold"]
COLUMNS = [
    *KEYS, "n", "value", "lower", "upper", "gap",
    "overall n", "overall", "overall lower", "overall upper",
]  # fmt: skip


def _group_prefix(spec: DatasetSpec, column: str) -> str:
    """How a single-column slice of `column` is labelled before its group: 'sex=' or, for
    a bucketized column, 'age ' (as in 'age [25, 35)')."""
    return f"{column} " if column in spec.bucketized_features else f"{column}="


def rate_rows(frame: pd.DataFrame, spec: DatasetSpec, model: str = CANDIDATE) -> pd.DataFrame:
    """The rates of one evaluated model per group of each sensitive column (`COLUMNS`).

    Args:
        frame: A `metrics_frame`: its evaluated model's rows are used (the candidate when
            a baseline was compared), never a simple baseline's or a diff.
        spec: The data set spec (its sensitive columns).
        model: What the rows' `model` column says.

    Returns:
        One row per column, group, rate and threshold: the rate, its bootstrap bounds (NaN
        where the Evaluator computed none), the Overall rate at the same threshold with its
        bounds, and the gap (group minus Overall). Empty when the frame has no rates (a
        regression model) or the spec no sensitive column.
    """
    rows = candidate_rows(frame)
    titles = {m.tfma_name: m.title for m in RATES}
    rates = rows[rows["metric"].isin(titles) & rows["threshold"].notna()]
    if rates.empty or not spec.sensitive_columns:
        return pd.DataFrame(columns=COLUMNS)
    rates = rates.assign(rate=rates["metric"].map(titles))
    counts = rows[rows["metric"] == catalogue.EXAMPLE_COUNT.tfma_name]
    counts = counts.drop_duplicates("slice").set_index("slice")["value"]
    overall = rates[rates["kind"] == "overall"][["rate", "threshold", "value", "lower", "upper"]]
    overall = overall.rename(
        columns={"value": "overall", "lower": "overall lower", "upper": "overall upper"}
    )
    singles = rates[rates["kind"] == "feature"]
    parts = []
    for column in spec.sensitive_columns:
        prefix = _group_prefix(spec, column)
        part = singles[singles["slice"].str.startswith(prefix)]
        parts.append(
            part.assign(
                column=column,
                group=part["slice"].str.slice(len(prefix)),
                model=model,
                n=part["slice"].map(counts),
                **{"overall n": counts.get("Overall", math.nan)},
            )
        )
    table = pd.concat(parts) if parts else pd.DataFrame(columns=COLUMNS)
    table = table.merge(overall, on=["rate", "threshold"], how="left")
    table["gap"] = table["value"] - table["overall"]
    order = {m.title: i for i, m in enumerate(RATES)}
    table = table.sort_values(
        ["threshold", "rate"], key=lambda s: s.map(order) if s.name == "rate" else s, kind="stable"
    )
    return table.reindex(columns=COLUMNS).reset_index(drop=True)


def fairness_rates(
    frame: pd.DataFrame, spec: DatasetSpec, baseline_frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """`rate_rows` of the candidate and, given its own evaluation, of the baseline model.

    The Evaluator scores the baseline model on the headline metrics only, so its rates
    come from the evaluation in which it was the candidate (`baseline_frame`;
    `artifacts.baseline_evaluation` finds it).
    """
    parts = [rate_rows(frame, spec, CANDIDATE)]
    if baseline_frame is not None:
        parts.append(rate_rows(baseline_frame, spec, BASELINE))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def selection(rates: pd.DataFrame, column: str, rate: str, threshold: float) -> pd.DataFrame:
    """One rate of one column at one threshold, a row per group: the candidate's value
    with its interval and gap, then the baseline's and the change (candidate - baseline)
    when `rates` has a baseline.

    Columns: n, <rate>, <rate> low, <rate> high, gap, and with a baseline 'baseline',
    'baseline low', 'baseline high', 'baseline gap', 'change'. `attrs` holds each model's
    Overall size, rate and bounds: attrs['overall']['candidate'] = (n, value, low, high).
    """
    at = rates[
        (rates["column"] == column)
        & (rates["rate"] == rate)
        & ((rates["threshold"] - threshold).abs() < 1e-9)
    ]
    groups = list(dict.fromkeys(at["group"]))
    out = pd.DataFrame(index=pd.Index(groups, name="group"))
    overall = {}
    for model, prefix in ((CANDIDATE, rate), (BASELINE, BASELINE)):
        rows = at[at["model"] == model].set_index("group")
        if rows.empty:
            continue
        if model == CANDIDATE:
            out["n"] = rows["n"]
        out[prefix] = rows["value"]
        out[f"{prefix} low"] = rows["lower"]
        out[f"{prefix} high"] = rows["upper"]
        out[f"{prefix} gap" if model == BASELINE else "gap"] = rows["gap"]
        first = rows.iloc[0]
        overall[model] = tuple(first[["overall n", "overall", "overall lower", "overall upper"]])
    if BASELINE in out:
        out["change"] = out[rate] - out[BASELINE]
    out.attrs.update(overall=overall, column=column, rate=rate, threshold=threshold)
    return out


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return buffer.getvalue()


def caption(chosen: pd.DataFrame) -> str:
    """'FPR by sex at threshold 0.5: candidate vs. baseline' for a `selection`."""
    a = chosen.attrs
    models = " vs. ".join(a["overall"]) if len(a["overall"]) > 1 else CANDIDATE
    return f"{a['rate']} by {a['column']} at threshold {a['threshold']:g}: {models}"


def table_html(chosen: pd.DataFrame) -> str:
    """A `selection` as the notebook's table (Overall first), in the HTML report's style."""
    from pipeline.reports.figures import SMALL_SLICE
    from pipeline.reports.html import render_fragment, table

    rate = chosen.attrs["rate"]
    overall: dict[str, float] = {}
    for model, (n, value, low, high) in chosen.attrs["overall"].items():
        name = rate if model == CANDIDATE else BASELINE
        overall.update({name: value, f"{name} low": low, f"{name} high": high})
        overall.setdefault("n", n)
    if BASELINE in overall:
        overall["change"] = overall[rate] - overall[BASELINE]
    shown = pd.concat([pd.DataFrame([overall], index=["Overall"]), chosen])
    shown = shown.reindex(columns=list(chosen.columns))
    shown.index.name = "group"
    small = [g for g, n in chosen["n"].items() if n < SMALL_SLICE] if "n" in chosen else []
    return render_fragment(
        "fairness_view.html.j2",
        caption=caption(chosen),
        rates=table(shown, "fairness-rates", small_rows=small),
        with_baseline=BASELINE in chosen,
        small_slice=SMALL_SLICE,
    )


class FairnessView:
    """The view `fairness_view` returns: ipywidgets 7 controls over a chart and a table.

    Displayed, it offers a front end two representations: the live widget (the classic
    notebook renders it) and static HTML of the default selection (for nbclient, nbconvert
    and any front end without ipywidgets).
    """

    def __init__(self, rates: pd.DataFrame, spec: DatasetSpec) -> None:
        import ipywidgets as widgets

        self.rates = rates
        columns = [c for c in spec.sensitive_columns if c in set(rates["column"])]
        titles = [m.title for m in RATES if m.title in set(rates["rate"])]
        thresholds = sorted(set(rates["threshold"]))
        default = min(thresholds, key=lambda t: abs(t - catalogue.BOUND_THRESHOLD))
        layout = {"width": "max-content"}
        self.column = widgets.Dropdown(options=columns, description="column", layout=layout)
        self.rate = widgets.Dropdown(options=titles, description="rate", layout=layout)
        self.threshold = widgets.Dropdown(
            options=[(f"{t:g}", t) for t in thresholds], value=default,
            description="threshold", layout=layout,
        )  # fmt: skip
        self.chart = widgets.Image(format="png")
        self.table = widgets.HTML()
        for control in (self.column, self.rate, self.threshold):
            control.observe(self._redraw, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.column, self.rate, self.threshold]), self.chart, self.table]
        )
        self.widget.add_class(CSS_CLASS)
        self._redraw()

    def chosen(self) -> pd.DataFrame:
        """The `selection` the controls show."""
        return selection(self.rates, self.column.value, self.rate.value, self.threshold.value)

    def _redraw(self, change: Any = None) -> None:
        from pipeline.reports.figures import rate_figure

        chosen = self.chosen()
        self.chart.value = _png(rate_figure(chosen, caption(chosen)))
        self.table.value = table_html(chosen)

    def static_html(self) -> str:
        """The current selection as HTML: the chart as an inline PNG, then the table."""
        import base64

        data = base64.b64encode(bytes(self.chart.value)).decode()
        alt = html.escape(caption(self.chosen()))
        return (
            f'<div class="{CSS_CLASS}"><img alt="{alt}" src="data:image/png;base64,{data}">'
            f"{self.table.value}<p><i>Pick another column, rate or threshold in the classic "
            f"notebook (<code>make notebook</code>).</i></p></div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The widget's own view first: a front end with ipywidgets' renderer draws it and
        # ignores the rest; one without shows the HTML.
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
            "text/html": self.static_html(),
            "text/plain": caption(self.chosen()),
        }


class NoRates:
    """What `fairness_view` shows when the evaluation has no fairness rates."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.reason, "text/html": f"<p>{html.escape(self.reason)}</p>"}


def fairness_view(
    frame: pd.DataFrame, spec: DatasetSpec, baseline_frame: pd.DataFrame | None = None
) -> FairnessView | NoRates:
    """The Fairness Indicators view of an evaluation (see the module docstring).

    Args:
        frame: The run's `metrics_frame`.
        spec: The data set spec (sensitive columns, bucket labels).
        baseline_frame: The `metrics_frame` of the evaluation in which the baseline model
            was the candidate, or None (no baseline: the candidate alone).
    """
    if not spec.sensitive_columns:
        return NoRates("No fairness view: the data set spec names no sensitive column.")
    if spec.is_multiclass:
        # Its rates are per class, not per decision threshold: the fairness tables below
        # hold them.
        return NoRates(
            "No fairness view for a multi-class model: its rates per class and group are "
            "in the fairness table below."
        )
    rates = fairness_rates(frame, spec, baseline_frame)
    if rates.empty or not (rates["model"] == CANDIDATE).any():
        return NoRates(
            "No fairness view: the evaluation holds no rates per group "
            f"({', '.join(m.title for m in RATES)} at the spec's fairness.thresholds)."
        )
    return FairnessView(rates, spec)
