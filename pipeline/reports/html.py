"""A static, self-contained HTML report of one pipeline run.

One file, no JavaScript, no fetched assets: plots are inline PNGs, styles inline CSS, so it
opens anywhere (a browser, a CI artifact, an e-mail). Every number comes from the run's
artifacts in ML Metadata: TFMA's metrics and plots, TFMA's validation result, the data
statistics and anomalies, and the lineage of the model.

    python -m pipeline report                  # the latest run -> outputs/<set>/reports/
    python -m pipeline report --run-id <id>    # any past run

This module prepares plain data; jinja2 templates (`templates/`, installed with the package)
lay it out, with autoescaping on: no value (a slice, a column, a URI, an anomaly's text)
is ever read as markup. Each section of the page is a `Section`: an id (its anchor in the
table of contents), a title, and the data its template `templates/sections/<id>.html.j2`
lays out: `Table`s of formatted cells, plots as base64 PNGs, and the facts its prose needs.

To add a section: write a function that returns a `Section` (with `Table`s made by `table`
and plots by `png`), write `templates/sections/<id>.html.j2` (it reads `data`; the macros
in `templates/macros.html.j2` draw tables and plots), and add the section where
`report_sections` lists them, in reading order. The table of contents follows by itself,
and setup.py's package data already takes any `templates/sections/*.j2`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import io
import json
import math
import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from pipeline.metrics import catalogue
from pipeline.reports.artifacts import Artifact, RunArtifacts
from pipeline.reports.figures import (
    SMALL_SLICE,
    ablation_figure,
    class_confusion_figure,
    curve_figures,
    fairness_figure,
    gain_figure,
    slice_bars_figure,
)
from pipeline.spec import DatasetSpec

# What a missing value (None, NaN, pandas' NA) shows as, in every table.
MISSING = "–"
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
# Cell texts that state a verdict, and the class that colours them.
_VERDICT_CLASSES = {
    "pass": "pass",
    "passed": "pass",
    "fail": "fail",
    "FAILED": "fail",
    "missing": "fail",
}


@dataclasses.dataclass(frozen=True)
class Cell:
    """One table cell: its text, the interval beside it ('[low, high]' or ''), a class."""

    text: str
    interval: str = ""
    css: str = ""


@dataclasses.dataclass(frozen=True)
class Row:
    cells: list[Cell]
    small: bool = False  # greyed out: too few examples for its numbers to mean much


@dataclasses.dataclass(frozen=True)
class Table:
    id: str
    header: list[str]
    rows: list[Row]


@dataclasses.dataclass(frozen=True)
class Section:
    """A part of the report, laid out by `templates/sections/<id>.html.j2`."""

    id: str
    title: str
    data: dict[str, Any]

    @property
    def template(self) -> str:
        return f"sections/{self.id}.html.j2"


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array: not a missing scalar
        return False


def format_value(value: Any, column: str = "") -> str:
    """A cell's text: counts whole, other numbers to 4 decimals, missing values as '–'."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(value)
    return f"{value:.0f}" if column in _COUNT_COLUMNS else f"{value:.4f}"


def _bounds(columns: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Columns that have an interval: name -> its '<name> low', '<name> high' columns."""
    names = set(columns)
    return {
        c: (f"{c} low", f"{c} high") for c in names if f"{c} low" in names and f"{c} high" in names
    }


def table(
    frame: pd.DataFrame,
    table_id: str,
    *,
    index: bool = True,
    small_rows: Iterable[Any] = (),
    verdict_columns: Iterable[str] = (),
) -> Table:
    """A DataFrame as a `Table` of formatted cells.

    Each column with '<column> low' and '<column> high' columns beside it shows as one
    column of 'value [low, high]' cells. Rows whose label is in `small_rows` are greyed out;
    cells of `verdict_columns` are coloured by their verdict (pass, fail, ...).
    """
    small, verdicts = set(small_rows), set(verdict_columns)
    bounds = _bounds(str(c) for c in frame.columns)
    hidden = {name for pair in bounds.values() for name in pair}
    shown = [str(c) for c in frame.columns if str(c) not in hidden]
    header = ([str(frame.index.name or "")] if index else []) + shown
    frame = frame.set_axis([str(c) for c in frame.columns], axis="columns")
    rows = []
    for label, values in zip(frame.index, frame.to_dict("records"), strict=True):
        cells = [Cell(format_value(label))] if index else []
        for column in shown:
            text = format_value(values[column], column)
            interval = ""
            if column in bounds:
                low, high = (values[b] for b in bounds[column])
                if not (_is_missing(low) and _is_missing(high)):
                    interval = f"[{format_value(low, column)}, {format_value(high, column)}]"
            css = _VERDICT_CLASSES.get(text, "") if column in verdicts else ""
            cells.append(Cell(text, interval, css))
        rows.append(Row(cells, small=label in small))
    return Table(table_id, header, rows)


def png(figure: Any) -> str:
    """A matplotlib figure as base64 PNG data, for an inline <img>."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _small(frame: pd.DataFrame) -> list[Any]:
    """Row labels of `frame` with fewer than SMALL_SLICE examples (its 'n' column)."""
    return [label for label, n in frame["n"].items() if n < SMALL_SLICE]


# --- Sections, in reading order -----------------------------------------------------------


def decision_section(
    run: RunArtifacts, spec: DatasetSpec, frame: pd.DataFrame | None, failures: list[str]
) -> Section:
    """The blessing, why, where the model went, and each threshold against its value."""
    if run.blessed is None:
        failed = [e.node_id for e in run.executions if e.state == "failed"]
        why = f"the run stopped at {', '.join(failed)}" if failed else "no Evaluator ran"
        verdict = "unknown"
    else:
        why, verdict = "", "blessed" if run.blessed else "rejected"
    thresholds = None
    if frame is not None and run.evaluation is not None:
        from pipeline.reports.evaluation_tables import validation

        thresholds = _threshold_table(frame, spec, validation(run.evaluation.uri, spec))
    return Section(
        "decision",
        "Decision",
        {
            "verdict": verdict,
            "why": why,
            "pushed_to": run.pushed_to,
            "failures": failures,
            "thresholds": thresholds,
        },
    )


def _threshold_table(frame: pd.DataFrame, spec: DatasetSpec, validation: dict[str, Any]) -> Table:
    """Each configured threshold, on its slice: the candidate's value and whether it passed
    (a `threshold_results` frame), bounds no threshold sets left out."""
    from pipeline.reports.evaluation_tables import threshold_results

    frame = threshold_results(frame, spec, validation)
    unused = [c for c in ("lower bound", "upper bound") if frame[c].isna().all()]
    return table(frame.drop(columns=unused), "thresholds", verdict_columns=("bound", "change"))


def model_card_section(card: dict[str, Any]) -> Section:
    """The model card (`pipeline.reports.model_card`), laid out: what the JSON says."""
    details = card.get("model_details", {})
    parameters = card.get("model_parameters", {})
    considerations = card.get("considerations", {})
    metrics = card.get("quantitative_analysis", {}).get("performance_metrics", [])

    def texts(key: str) -> list[str]:
        return [item["description"] for item in considerations.get(key, [])]

    def number(entry: dict[str, Any], key: str) -> float | None:
        value = entry.get(key)
        return None if value is None else float(value)

    rows = []
    for m in metrics:
        interval = m.get("confidence_interval", {})
        value = number(m, "value")
        whole = m["type"] == catalogue.EXAMPLE_COUNT.tfma_name and value is not None
        rows.append(
            {
                "slice": m.get("slice", ""),
                "type": m["type"],
                "value": int(value) if whole else value,
                "value low": number(interval, "lower_bound"),
                "value high": number(interval, "upper_bound"),
            }
        )
    frame = pd.DataFrame(rows, columns=["slice", "type", "value", "value low", "value high"])
    # Object values: a count stays whole beside rates (a float column would show 1000.0000).
    frame["value"] = pd.Series([r["value"] for r in rows], dtype=object)
    overall = frame[frame["slice"] == "Overall"].drop(columns="slice").set_index("type")
    risks = pd.DataFrame(
        [
            {"risk": r["name"], "mitigation": r.get("mitigation_strategy", "")}
            for r in considerations.get("ethical_considerations", [])
        ],
        columns=["risk", "mitigation"],
    ).set_index("risk")
    data = parameters.get("data", [])
    splits = pd.DataFrame(
        [{"data": d.get("name", ""), "description": d.get("description", "")} for d in data],
        columns=["data", "description"],
    ).set_index("data")
    version = details.get("version", {})
    return Section(
        "model_card",
        "Model card",
        {
            "schema_version": card.get("schema_version", ""),
            "name": details.get("name", ""),
            "overview": details.get("overview", ""),
            "documentation": details.get("documentation", "").splitlines(),
            "version": version.get("name", ""),
            "date": version.get("date", ""),
            "diff": version.get("diff", ""),
            "path": details.get("path", ""),
            "owners": [
                f"{o['name']} ({o['contact']})" if o.get("contact") else o["name"]
                for o in details.get("owners", [])
            ],
            "licenses": [
                x.get("identifier") or x.get("custom_text", "") for x in details.get("licenses", [])
            ],
            "references": [r["reference"] for r in details.get("references", [])],
            "citations": [c["citation"] for c in details.get("citations", [])],
            "users": texts("users"),
            "use_cases": texts("use_cases"),
            "limitations": texts("limitations"),
            "tradeoffs": texts("tradeoffs"),
            "risks": table(risks, "model-card-risks") if not risks.empty else None,
            "architecture": parameters.get("model_architecture", ""),
            "data": table(splits, "model-card-data") if not splits.empty else None,
            "sensitive": data[0].get("sensitive", {}).get("sensitive_data", []) if data else [],
            "graphics": [
                g for d in data for g in d.get("graphics", {}).get("collection", []) if "image" in g
            ],
            "input_format": parameters.get("input_format", ""),
            "inputs": [
                (f["key"], f.get("value", "?")) for f in parameters.get("input_format_map", [])
            ],
            "output_format": parameters.get("output_format", ""),
            "overall": table(overall, "model-card-overall") if not overall.empty else None,
            "metrics": table(frame.set_index("slice"), "model-card-metrics") if rows else None,
            "metric_count": len(rows),
            "slice_count": frame["slice"].nunique(),
        },
    )


def slices_section(features: pd.DataFrame, key_title: str) -> Section:
    """Headline metrics per slice (a `slice_table` of the overall and single-feature slices)."""
    return Section(
        "slices",
        "Metrics per slice",
        {
            "examples": int(features.loc["Overall", "n"]) if "Overall" in features.index else None,
            "small_slice": SMALL_SLICE,
            # None when the key metric is undefined on every slice (one class in each).
            "plot": (
                png(slice_bars_figure(features, key_title))
                if key_title in features and features[key_title].notna().any()
                else None
            ),
            "key_metric": key_title,
            "table": table(features, "slice-metrics", small_rows=_small(features)),
        },
    )


def crosses_section(crosses: pd.DataFrame) -> Section | None:
    """Headline metrics per feature cross (None when the spec slices by no cross)."""
    if crosses.empty:
        return None
    return Section(
        "crosses",
        "Metrics per feature cross",
        {
            "small_slice": SMALL_SLICE,
            "table": table(crosses, "cross-metrics", small_rows=_small(crosses)),
        },
    )


def ranking_section(gains: pd.DataFrame) -> Section:
    """Cumulative gain and lift by decile (a `gain_table`)."""
    found = "gain" in gains
    return Section(
        "ranking",
        "Ranking: cumulative gain and lift",
        {
            "plot": png(gain_figure(gains)) if found else None,
            "table": table(gains, "gain-lift") if found else None,
        },
    )


def fairness_section(gaps: pd.DataFrame, fairness: pd.DataFrame, spec: DatasetSpec) -> Section:
    """The fairness gate (a `fairness_gaps`) and the rates per group (a `fairness_table`)."""
    gate = spec.fairness_gate
    gate_table = None
    if gate is not None and not gaps.empty:
        shown = gaps.copy()
        shown["verdict"] = [
            "not gated (small)" if ok is None else ("passed" if ok else "FAILED")
            for ok in gaps["ok"]
        ]
        shown = shown.drop(columns=["ok"]).set_index("column")
        gate_table = table(shown, "fairness-gate", verdict_columns=("verdict",))
    columns = []
    for column in spec.sensitive_columns if not fairness.empty else []:
        rows = fairness[fairness["column"] == column]
        if rows.empty:
            continue
        groups = rows.set_index("group").drop(columns=["column"])
        columns.append(
            {
                "name": column,
                "plot": png(fairness_figure(rows, column)),
                "table": table(groups, f"fairness-{column}", small_rows=_small(groups)),
            }
        )
    return Section(
        "fairness",
        "Fairness indicators",
        {
            "gate": gate,
            "gate_table": gate_table,
            "columns": columns,
            "small_slice": SMALL_SLICE,
            "multiclass": spec.is_multiclass,
        },
    )


def classes_section(
    frame: pd.DataFrame, spec: DatasetSpec, matrices: dict[tuple[str, str], pd.DataFrame]
) -> Section:
    """A multi-class model's classes: the confusion matrix and each class's metrics on the
    whole test split, and each class's recall per slice (`class_table`,
    `class_confusion`)."""
    from pipeline.reports.evaluation_tables import class_table

    model = "candidate" if ("Overall", "candidate") in matrices else ""
    overall = matrices.get(("Overall", model))
    classes = class_table(frame, spec, "Overall", overall)
    recall = catalogue.RECALL.title
    per_slice = []
    for name in dict.fromkeys(frame["slice"]):
        row = class_table(frame, spec, name, matrices.get((name, model)))
        if row.empty:
            continue
        shown = {"slice": name, "n": row["n"].sum() if "n" in row else math.nan}
        for label_class, values in row.iterrows():
            shown[label_class] = values[recall]
            if f"{recall} low" in row:
                shown[f"{label_class} low"] = values[f"{recall} low"]
                shown[f"{label_class} high"] = values[f"{recall} high"]
        per_slice.append(shown)
    recalls = pd.DataFrame(per_slice).set_index("slice") if per_slice else pd.DataFrame()
    if overall is not None and (overall == overall.round()).all().all():
        overall = overall.astype(int)  # unweighted examples: counts, shown whole
    return Section(
        "classes",
        "Classes and confusion matrix",
        {
            "plot": None if overall is None else png(class_confusion_figure(overall)),
            "matrix": None if overall is None else table(overall, "class-confusion"),
            "classes": None if classes.empty else table(classes, "class-metrics"),
            "recall": None
            if recalls.empty
            else table(recalls, "class-recall", small_rows=_small(recalls)),
            "small_slice": SMALL_SLICE,
        },
    )


def curves_section(plots: dict[tuple[str, str], dict[str, pd.DataFrame]]) -> Section:
    """ROC, precision-recall, calibration, confusion matrix (a `plot_data`)."""
    figures = curve_figures(plots)
    images, counts = [], None
    if figures:
        images = [png(figures[k]) for k in ("roc", "pr", "calibration", "confusion")]
        counts = table(pd.DataFrame([figures["counts"]]).set_index("threshold"), "confusion-matrix")
    return Section("curves", "Curves and confusion matrix", {"plots": images, "counts": counts})


def comparison_section(comparison: pd.DataFrame, metric: str) -> Section:
    """Candidate vs. baseline (a `model_comparison`): overall, and `metric` per slice."""
    overall = per_slice = None
    if not comparison.empty:
        on_overall = comparison[comparison["slice"] == "Overall"]
        overall = table(on_overall.set_index("metric").drop(columns="slice"), "comparison-overall")
        on_metric = comparison[comparison["metric"] == metric]
        per_slice = table(
            on_metric.set_index("slice").drop(columns="metric"), f"comparison-{metric.lower()}"
        )
    return Section(
        "comparison",
        "Candidate vs. baseline",
        {
            "metric": metric,
            "overall": overall,
            "per_slice": per_slice,
        },
    )


def baselines_section(frame: pd.DataFrame, spec: DatasetSpec) -> Section:
    """The model against the simple baselines (a `baseline_table` per key metric)."""
    from pipeline.reports.evaluation_tables import baseline_table

    tables = []
    for metric, title in ((m.tfma_name, m.title) for m in catalogue.COMPARED[spec.task]):
        scores = baseline_table(frame, metric)
        if scores.empty:  # a model exported before the `evaluation` signature
            tables = []
            break
        losing = [s for s, margin in scores["above best"].items() if margin < 0]
        tables.append(
            {"title": title, "table": table(scores, f"baselines-{metric}", small_rows=losing)}
        )
    return Section(
        "baselines",
        "Against simple baselines",
        {
            "tables": tables,
            "task": spec.task,
        },
    )


def ablation_section(run: RunArtifacts) -> Section:
    """What each feature group is worth (the Ablation component's report)."""
    from pipeline.reports.evaluation_tables import ablation_table

    data: dict[str, Any] = {"ran": run.ablation is not None, "plot": None, "table": None}
    if run.ablation is not None:
        report = ablation_table(run.ablation.uri)
        if not report.empty:
            data |= {
                "plot": png(ablation_figure(report)),
                "table": table(report, "ablation"),
                "train_steps": report.attrs["train_steps"],
                "eval_examples": report.attrs["eval_examples"],
            }
    return Section("ablation", "Ablation", data)


def _splits(artifact: Artifact | None) -> list[str]:
    if artifact is None:
        return []
    try:
        return list(json.loads(str(artifact.properties.get("split_names", "[]"))))
    except json.JSONDecodeError:
        return []


def data_section(run: RunArtifacts) -> Section:
    """The anomalies of every split, and the training data's statistics."""
    from pipeline.reports import data_tables

    anomalies = []
    for title, artifact in (("training data", run.anomalies), ("test data", run.test_anomalies)):
        for split in _splits(artifact):
            frame = data_tables.anomalies_frame(artifact.uri, split)
            anomalies.append(
                {
                    "data": title,
                    "split": split,
                    "table": None
                    if frame.empty
                    else table(frame.set_index("feature"), f"anomalies-{split}"),
                }
            )
    statistics = None
    if run.statistics is not None and "train" in _splits(run.statistics):
        stats = data_tables.feature_statistics_frame(run.statistics.uri, "train")
        statistics = table(stats.set_index("feature"), "statistics-train")
    return Section("data", "Data validation", {"anomalies": anomalies, "statistics": statistics})


def lineage_section(run: RunArtifacts) -> Section:
    """Where every artifact of the run is (ML Metadata ids, URIs) and each component's state."""
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
    rows.append(
        {
            "artifact": "pushed model",
            "from": "Pusher",
            "MLMD id": None,
            "uri": run.pushed_to or "nothing pushed",
        }
    )
    states = pd.DataFrame(
        [{"component": e.node_id, "state": e.state, "seconds": e.seconds} for e in run.executions],
        columns=["component", "state", "seconds"],
    ).set_index("component")
    return Section(
        "lineage",
        "Lineage",
        {
            "artifacts": table(pd.DataFrame(rows).set_index("artifact"), "lineage"),
            "executions": table(states, "executions"),
        },
    )


def report_sections(
    run: RunArtifacts, spec: DatasetSpec, card: dict[str, Any] | None = None
) -> list[Section]:
    """Every section of the report of `run`, in reading order (those that apply to it).

    `card`: the run's model card when the caller built it already (else built here).
    """
    from pipeline.reports import evaluation_tables as tables
    from pipeline.reports.model_card import card_from_evaluation
    from pipeline.reports.summary import failed_thresholds

    evaluation = run.evaluation
    frame = tables.metrics_frame(evaluation.uri, spec) if evaluation is not None else None
    failures = (
        failed_thresholds(evaluation.uri, spec) if evaluation and run.blessed is False else []
    )
    sections: list[Section | None] = [decision_section(run, spec, frame, failures)]
    if frame is not None:
        _, key_title = tables.key_metric(spec)
        card = card or card_from_evaluation(run, spec, frame, failures)
        sections += [
            model_card_section(card),
            slices_section(tables.slice_table(frame, kinds=("overall", "feature")), key_title),
            crosses_section(tables.slice_table(frame, kinds=("cross",))),
        ]
        fairness = None
        if not spec.is_regression:  # error rates need classes
            fairness = fairness_section(
                tables.fairness_gaps(frame, spec), tables.fairness_table(frame, spec), spec
            )
        if spec.is_multiclass:
            matrices = tables.class_confusion(evaluation.uri, spec)
            sections += [classes_section(frame, spec, matrices), fairness]
        elif not spec.is_regression:  # rankings and curves need a positive class
            sections += [
                ranking_section(tables.gain_table(frame)),
                fairness,
                curves_section(tables.plot_data(evaluation.uri, spec)),
            ]
        sections += [
            comparison_section(tables.model_comparison(frame), key_title),
            baselines_section(frame, spec),
        ]
    sections += [ablation_section(run), data_section(run), lineage_section(run)]
    return [s for s in sections if s is not None]


# --- The page --------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.reports", "templates"),
        # Every value is escaped unless a template marks it safe (none does).
        autoescape=True,
        # A template that reads a name its data lacks fails loudly, not with a blank.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_fragment(template: str, **data: Any) -> str:
    """A template of `templates/` on its own, e.g. a table for a notebook's output."""
    return _environment().get_template(template).render(**data)


def render_page(title: str, spec: DatasetSpec, sections: list[Section]) -> str:
    """The page: a header about the data set, a table of contents, then `sections`."""
    label = {
        "column": spec.label.column,
        "regression": spec.is_regression,
        "classes": spec.class_names if spec.is_multiclass else None,
        "positive": None if spec.is_regression else str(spec.label.positive),
    }
    bootstrap = spec.bootstrap
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title,
        dataset={"name": spec.name, "description": spec.description},
        label=label,
        intervals={"confidence": bootstrap.confidence, "replicates": bootstrap.replicates},
        sections=sections,
    )


def render_report(run: RunArtifacts, spec: DatasetSpec, card: dict[str, Any] | None = None) -> str:
    """The HTML report of `run` (see the module docstring); `card`: its model card, if built."""
    title = f"{run.pipeline_name}: run {run.run_id}"
    return render_page(title, spec, report_sections(run, spec, card))


def report_path(reports_dir: Path, run_id: str) -> Path:
    """Where the report of `run_id` goes (run ids hold ':' which some filesystems refuse)."""
    return reports_dir / f"run-{run_id.replace(':', '-')}.html"


def write_report(
    run: RunArtifacts, spec: DatasetSpec, reports_dir: Path, card: dict[str, Any] | None = None
) -> Path:
    """Writes the report of `run` and a copy as `latest.html`; returns the report's path.

    `card`: the run's model card, when the caller built it already.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    page = render_report(run, spec, card)
    path = report_path(reports_dir, run.run_id)
    path.write_text(page, encoding="utf-8")
    (reports_dir / "latest.html").write_text(page, encoding="utf-8")
    return path
