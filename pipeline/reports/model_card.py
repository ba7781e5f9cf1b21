"""A run's model card: Model Card Toolkit's JSON, written by our code.

Model Card Toolkit (MCT) cannot be installed beside TFX 1.16 (its 2.0 needs
tensorflow-model-analysis < 0.42, its 1.x TFX 1.5), so this module writes MCT's format
itself: a dict valid against MCT's schema v0.0.2, vendored unmodified with its licence in
`model_card_schema/`. `validate_model_card` checks a card against it, and no card is
written that fails.

    card = build_model_card(run, spec)              # a dict in MCT's schema
    paths = write_model_card(run, spec, reports_dir)

`write_model_card` is the one call for every runner: it writes
`<reports_dir>/model_card-<run>.json` (`model_card_path`) for every evaluated run, and, for
a run that pushed its model to a folder, `<version>/assets.extra/model_card.json`
(`served_card_path`) beside the model: TF Serving ignores `assets.extra/`. The local
runner calls it after each run, beside the HTML report, not the Pusher: the card needs
the evaluation, the baselines and the spec's `model_card:` text, none of which the Pusher
reads, and a card edit must re-run no component (it would push the same model again).
The version folder is already live then, so the card is written to a hidden file and
renamed into place: a reader sees the whole card or none.

Where each part of the card comes from, in MCT's fields:
- model_details: name, overview, owners, licenses, references and citations from the
  spec's `model_card:` (the name defaults to the data set's, the overview to the spec's
  `description`); documentation: the spec's text, then the blessing decision in the run
  summary's words and each threshold's result; version: the pushed version's number and
  date (a model not pushed: 'not pushed' and the run's date), its diff the headline
  metrics against the previously blessed model (the Evaluator's baseline); path: where
  the model serves (or the Trainer's artifact).
- model_parameters: the architecture from the spec's training settings; data: the train,
  eval and test splits with their sizes (TFDV's statistics), the spec's data set name,
  link and description, the sensitive columns, and for the test split a graphic of its
  examples per slice (`graphics`); the serving signature's input and output formats.
- quantitative_analysis.performance_metrics, each on its `slice` ('Overall',
  'sex=Female', 'race=Black, sex=Female'), the model's own output only:
  - every headline metric, with its bootstrap interval (type: TFMA's name, e.g. `auc`);
  - each Fairness Indicators rate of each group of each sensitive column and of Overall,
    at each decision threshold, with its interval (type `<rate>@<threshold>`, e.g.
    `fall_out@0.5`), and the gated rates' gap to the overall rate
    (`<rate>@<threshold> gap to Overall`, group minus overall; no interval);
  - the simple baselines on the compared metrics (`auc (linear baseline)`), and the
    model's margin over the best one (`auc above the best baseline`).
  Values are strings, as the schema has them: Python's shortest round-trip text of
  TFMA's float, so `float(value)` is TFMA's number exactly. A value TFMA could not
  compute (NaN) is left out. The report's figures are not repeated in the card: drawing
  them again would cost each run seconds, and the HTML report beside it has them.
- considerations: the spec's users, use cases, limitations, trade-offs and ethical
  considerations, then what the run measured: limitations for slices under 30 test
  examples and slices where a simple baseline does at least as well; the overall
  FPR/FNR at each decision threshold as a trade-off; the fairness gate's bounds, verdict
  and largest gaps as an ethical consideration.
What the schema has no field for (TFMA's plots, the ablation, data anomalies, lineage)
stays in the HTML report.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import posixpath
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.metrics import catalogue
from pipeline.model.outputs import SERVING_SIGNATURE, prediction_key
from pipeline.reports.artifacts import RunArtifacts
from pipeline.reports.figures import SMALL_SLICE
from pipeline.spec import SPLIT_NAMES as SPLIT_ORDER
from pipeline.spec import DatasetSpec

SCHEMA_VERSION = "0.0.2"
SCHEMA_PATH = Path(__file__).with_name("model_card_schema") / "model_card.schema.json"
CARD_FILE = "model_card.json"
# Where a served model's extra files go: TF Serving loads a version without reading it.
ASSETS_EXTRA = "assets.extra"
# The summary's words for the blessing (pipeline.reports.summary.format_summary).
BLESSED = "BLESSED (every threshold passed)"
NOT_BLESSED = "NOT blessed, so not pushed"


def model_card_path(reports_dir: str | Path, run_id: str) -> str:
    """Where the card of `run_id` goes beside the run's HTML report (':' is refused by
    some filesystems)."""
    return posixpath.join(str(reports_dir), f"model_card-{run_id.replace(':', '-')}.json")


def served_card_path(pushed_to: str) -> str:
    """Where the card of a model pushed to the version folder `pushed_to` goes."""
    return posixpath.join(pushed_to, ASSETS_EXTRA, CARD_FILE)


class InvalidCard(ValueError):
    """A model card that Model Card Toolkit's schema refuses."""


def card_schema() -> dict[str, Any]:
    """Model Card Toolkit's JSON schema v0.0.2 (vendored; see its NOTICE)."""
    return json.loads(SCHEMA_PATH.read_text())


@functools.cache
def _validator() -> Any:
    # fastjsonschema, not jsonschema: importing jsonschema costs every run seconds (its
    # format checkers build a URI grammar at import); the tests check cards with jsonschema too.
    import fastjsonschema

    return fastjsonschema.compile(card_schema())


def validate_model_card(card: dict[str, Any]) -> None:
    """Raises `InvalidCard` (naming the field) when `card` breaks MCT's schema, its
    formats (date, uri) included."""
    import fastjsonschema

    try:
        _validator()(card)
    except fastjsonschema.JsonSchemaException as e:
        raise InvalidCard(
            f"the model card breaks Model Card Toolkit's schema: {e.message}"
        ) from None


# --- Formatting -----------------------------------------------------------------------------


def _number(value: float) -> str:
    """A metric as the schema's string: the shortest text that reads back as the same float."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _metric(kind: str, value: float, where: str, low: Any = None, high: Any = None) -> dict:
    entry: dict[str, Any] = {"type": kind, "value": _number(value), "slice": where}
    if _finite(low) and _finite(high):
        entry["confidence_interval"] = {"lower_bound": _number(low), "upper_bound": _number(high)}
    return entry


def _short(value: float) -> str:
    return "–" if not _finite(value) else f"{value:.4f}"


def _png(figure: Any) -> str:
    from pipeline.reports.html import png

    return png(figure)


# --- Parts of the card ----------------------------------------------------------------------


def _run_date(run_id: str) -> str | None:
    match = re.match(r"\d{4}-\d{2}-\d{2}", run_id)
    return match.group(0) if match else None


def _version(run: RunArtifacts, comparison: pd.DataFrame) -> dict[str, str]:
    """The pushed version's number and date (from its name: the push's Unix time)."""
    name = posixpath.basename(run.pushed_to.rstrip("/")) if run.pushed_to else ""
    version: dict[str, str] = {"name": name or "not pushed"}
    if name.isdigit():
        pushed = datetime.datetime.fromtimestamp(int(name), tz=datetime.timezone.utc)
        version["date"] = pushed.date().isoformat()
    elif _run_date(run.run_id):
        version["date"] = _run_date(run.run_id)
    version["diff"] = _diff(run, comparison)
    return version


def _diff(run: RunArtifacts, comparison: pd.DataFrame) -> str:
    """The summary's metrics against the previously blessed model, on the whole test set."""
    overall = comparison[comparison["slice"] == "Overall"]
    if run.baseline_model is None or overall.empty:
        return "No previously blessed model to compare with: the first of this pipeline."
    titles = {m.title for m in catalogue.either_task(catalogue.SUMMARY_COLUMNS)}
    titles.discard(catalogue.EXAMPLE_COUNT.title)
    changes = "; ".join(
        f"{row.metric} {_short(row.candidate)} against {_short(row.baseline)} ({row.change:+.4f})"
        for row in overall.itertuples()
        if row.metric in titles and _finite(row.candidate)
    )
    return (
        f"Against the previously blessed model ({run.baseline_model.uri}), on the same "
        f"test examples: {changes}."
    )


def _decision(
    run: RunArtifacts,
    spec: DatasetSpec,
    frame: pd.DataFrame,
    failures: list[str],
    validation: dict[str, Any] | None,
) -> list[str]:
    """The blessing, why, and each threshold's result, as lines of text."""
    from pipeline.reports.evaluation_tables import threshold_results

    if run.blessed:
        where = f" and pushed to {run.pushed_to}" if run.pushed_to else ""
        lines = [f"Blessing: {BLESSED}{where}."]
    elif run.blessed is False:
        why = "; ".join(failures) or "see the Evaluator's validation result"
        lines = [f"Blessing: {NOT_BLESSED}. Failed: {why}."]
    else:
        lines = ["Blessing: none (the Evaluator wrote no blessing)."]
    if validation is None:
        return lines
    results = threshold_results(frame, spec, validation)
    for metric, row in results.iterrows():
        parts = [f"{metric} on {row['slice']} = {_short(row['value'])}"]
        for bound in ("lower bound", "upper bound"):
            if _finite(row[bound]):
                parts.append(f"{bound} {row[bound]:g}: {row['bound']}")
        if _finite(row["allowed change"]):
            change = row["change vs baseline"]
            shown = f"{change:+.4f}" if _finite(change) else "–"
            parts.append(
                f"change against the baseline {shown} (allowed {row['allowed change']:+g}): "
                f"{row['change']}"
            )
        lines.append("Threshold " + "; ".join(parts) + ".")
    return lines


def _model_details(
    run: RunArtifacts,
    spec: DatasetSpec,
    frame: pd.DataFrame,
    failures: list[str],
    validation: dict[str, Any] | None,
) -> dict[str, Any]:
    from pipeline.reports.evaluation_tables import model_comparison

    card = spec.model_card
    task = {
        catalogue.CLASSIFICATION: "binary classifier",
        catalogue.MULTICLASS: f"{len(spec.label.classes or ())}-class classifier",
        catalogue.REGRESSION: "regression model",
    }[spec.task]
    documentation = [card.documentation] if card.documentation else []
    documentation.append(
        f"Run {run.run_id} of pipeline {run.pipeline_name} (ML Metadata); every number in "
        "this card is the Evaluator's, on the test split."
    )
    documentation += _decision(run, spec, frame, failures, validation)
    details: dict[str, Any] = {
        "name": card.name or f"{spec.name} {task}",
        "overview": card.overview or spec.description,
        "documentation": "\n".join(documentation),
        "owners": [{"name": o.name, **({"contact": o.contact} if o.contact else {})}
                   for o in card.owners],
        "version": _version(run, model_comparison(frame)),
        "licenses": [
            {"identifier": x.identifier} if x.identifier else {"custom_text": x.custom_text}
            for x in card.licenses
        ],
        "references": [{"reference": r} for r in card.references],
        "citations": [{"citation": c.citation, **({"style": c.style} if c.style else {})}
                      for c in card.citations],
    }  # fmt: skip
    path = run.pushed_to or (run.model.uri if run.model else "")
    if path:
        details["path"] = path
    return {k: v for k, v in details.items() if v not in ("", [])}


def _architecture(spec: DatasetSpec) -> str:
    t = spec.training
    crosses = ", ".join(" x ".join(c) for c in spec.feature_crosses) or "none"
    head = (
        "a linear output in the label's units, mean squared error"
        if spec.is_regression
        else "a sigmoid output (the probability of the positive class), cross-entropy"
    )
    return (
        "Wide-and-deep Keras model (tf_keras). Wide: one weight per category, bucket and "
        f"hashed cross id (crosses: {crosses}; {t.cross_hash_buckets} buckets each). Deep: "
        f"z-scored numerics and {t.embedding_dim}-dimensional embeddings of the categorical "
        f"columns through dense ReLU layers of {', '.join(map(str, t.hidden_units))} units. "
        f"Head: {head}. Adam (learning rate {t.learning_rate:g}), batches of {t.batch_size}, "
        f"up to {t.train_steps} steps with early stopping on the eval split (patience "
        f"{t.early_stopping_patience} evaluations, every {t.steps_per_evaluation} steps), "
        "the best weights kept. Preprocessing (tf.Transform) is inside the exported model: "
        "it reads raw values."
    )


def _split_sizes(run: RunArtifacts, frame: pd.DataFrame) -> dict[str, int]:
    """Examples per split, from TFDV's statistics (the test split: the Evaluator's input)."""
    from pipeline.reports.data_tables import available_splits, load_statistics

    sizes: dict[str, int] = {}
    for artifact in (run.statistics, run.test_statistics):
        if artifact is None:
            continue
        for split in available_splits(artifact.uri):
            sizes[split] = int(load_statistics(artifact.uri, split).num_examples)
    counts = _model_rows(frame)
    overall = counts[(counts["slice"] == "Overall") & (counts["metric"] == "example_count")]
    if not overall.empty:  # what the Evaluator scored, whatever the statistics say
        sizes["test"] = int(overall["value"].iloc[0])
    return sizes


def _data(
    run: RunArtifacts, spec: DatasetSpec, frame: pd.DataFrame, graphics: bool
) -> list[dict[str, Any]]:
    card = spec.model_card.dataset
    name = card.name or spec.name
    buckets = spec.split
    total = sum(buckets.values())
    train_file = spec.files["train"]
    uses = {
        "train": "the model and its simple baselines learn from it",
        "eval": "early stopping (and the ablation) score on it",
        "test": "never trained on: the Evaluator's input, on which every metric here is measured",
    }
    sensitive = [f"{c} (fairness.sensitive_columns)" for c in spec.sensitive_columns]
    sensitive += list(card.sensitive_data)
    entries = []
    sizes = _split_sizes(run, frame)
    for split in sorted(sizes, key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9, s)):
        size = sizes[split]
        if split == "test" and spec.has_test_file:
            source = spec.files["test"]
        else:
            source = f"{100 * buckets.get(split, 0) / total:.0f}% of {train_file} (hash split)"
        description = f"{split} split: {size:,} examples, {source}; {uses.get(split, '')}."
        about = card.description or spec.description
        entry: dict[str, Any] = {
            "name": f"{name}: {split}",
            "description": f"{description} {about}".strip(),
        }
        if card.link:
            entry["link"] = card.link
        if sensitive:
            entry["sensitive"] = {"sensitive_data": sensitive}
        if split == "test" and graphics:
            entry["graphics"] = _test_graphics(frame)
        entries.append(entry)
    return entries


def _test_graphics(frame: pd.DataFrame) -> dict[str, Any]:
    from pipeline.reports.evaluation_tables import slice_table
    from pipeline.reports.figures import slice_bars_figure

    table = slice_table(frame, kinds=("feature",))
    if table.empty:
        return {}
    figure = slice_bars_figure(table[["n"]], "n")
    return {
        "description": "Test examples per slice.",
        "collection": [{"name": "test examples per slice", "image": _png(figure)}],
    }


def _formats(run: RunArtifacts, spec: DatasetSpec) -> dict[str, Any]:
    from tensorflow_metadata.proto.v0 import schema_pb2

    from pipeline.reports.data_tables import load_schema

    types: dict[str, str] = {}
    if run.schema is not None:
        types = {
            f.name: schema_pb2.FeatureType.Name(f.type).lower()
            for f in load_schema(run.schema.uri).feature
        }
    output = prediction_key(spec.task)
    meaning = (
        f"the predicted {spec.label.column}"
        if spec.is_regression
        else f"the probability that {spec.label.column} is {spec.label.positive!r}"
    )
    return {
        "input_format": (
            f"Signature '{SERVING_SIGNATURE}': a batch of serialized tf.Example protos "
            "(tensor 'examples') holding the raw columns below, no label; a missing value "
            "is a missing feature."
        ),
        "input_format_map": [
            {"key": c, **({"value": types[c]} if c in types else {})}
            for c in spec.raw_feature_columns
        ],
        "output_format": f"'{output}': {meaning}, one per example.",
        "output_format_map": [{"key": output, "value": "float"}],
    }


def _model_rows(frame: pd.DataFrame) -> pd.DataFrame:
    from pipeline.reports.evaluation_tables import candidate_rows

    return candidate_rows(frame)


def _headline(frame: pd.DataFrame, spec: DatasetSpec) -> list[dict[str, Any]]:
    names = [m.tfma_name for m in catalogue.HEADLINE[spec.task]]
    rows = _model_rows(frame)
    rows = rows[rows["metric"].isin(names) & rows["threshold"].isna()]
    order = {name: i for i, name in enumerate(names)}
    rows = rows.assign(_order=rows["metric"].map(order))
    slices = list(dict.fromkeys(rows["slice"]))
    rows = rows.sort_values(["_order"], kind="stable")
    return [
        _metric(r.metric, r.value, r.slice, r.lower, r.upper)
        for where in slices
        for r in rows[rows["slice"] == where].itertuples()
        if _finite(r.value)
    ]


def _group_slices(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """'Overall', then each group of each sensitive column, as slices are named."""
    singles = list(dict.fromkeys(frame.loc[frame["kind"] == "feature", "slice"]))
    groups = []
    for column in spec.sensitive_columns:
        prefix = f"{column} " if column in spec.bucketized_features else f"{column}="
        groups += [s for s in singles if s.startswith(prefix)]
    return ["Overall", *groups]


def _rates(frame: pd.DataFrame, spec: DatasetSpec) -> list[dict[str, Any]]:
    """Each rate per group and threshold, with its interval; the gated rates' gaps."""
    if spec.is_regression:
        return []
    rows = _model_rows(frame)
    rows = rows[rows["threshold"].notna()]
    rates = {m.tfma_name for m in catalogue.RATES}
    gapped = {m.tfma_name for m in catalogue.GATE_RATES.values()}
    rows = rows[rows["metric"].isin(rates)]
    overall = {
        (r.metric, round(r.threshold, 9)): r.value
        for r in rows[rows["slice"] == "Overall"].itertuples()
    }
    order = [m.tfma_name for m in catalogue.RATES]
    entries = []
    for where in _group_slices(frame, spec):
        on = rows[rows["slice"] == where]
        for r in sorted(on.itertuples(), key=lambda r: (r.threshold, order.index(r.metric))):
            kind = f"{r.metric}@{r.threshold:g}"
            if _finite(r.value):
                entries.append(_metric(kind, r.value, where, r.lower, r.upper))
            base = overall.get((r.metric, round(r.threshold, 9)))
            if where != "Overall" and r.metric in gapped and _finite(r.value) and _finite(base):
                entries.append(_metric(f"{kind} gap to Overall", r.value - base, where))
    return entries


def _baselines(frame: pd.DataFrame, spec: DatasetSpec) -> list[dict[str, Any]]:
    from pipeline.reports.evaluation_tables import baseline_table

    entries = []
    for metric in (m.tfma_name for m in catalogue.COMPARED[spec.task]):
        table = baseline_table(frame, metric)
        for where, row in table.iterrows():
            for column in table.columns:
                if column in ("n", "model") or not _finite(row[column]):
                    continue
                kind = (
                    f"{metric} above the best baseline"
                    if column == "above best"
                    else f"{metric} ({column} baseline)"
                )
                entries.append(_metric(kind, row[column], str(where)))
    return entries


def _limitations(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """What the run measured that limits the model: small slices, slices a baseline wins."""
    from pipeline.reports.evaluation_tables import baseline_table, key_metric, slice_table

    found = []
    counts = slice_table(frame)["n"] if not frame.empty else pd.Series(dtype=float)
    small = [f"{name} ({n:.0f})" for name, n in counts.items() if n < SMALL_SLICE]
    if small:
        found.append(
            f"Slices with fewer than {SMALL_SLICE} test examples, whose metrics mean little: "
            + ", ".join(small)
            + "."
        )
    metric, title = key_metric(spec)
    table = baseline_table(frame, metric)
    if not table.empty:
        losing = [
            f"{name} ({margin:+.4f})" for name, margin in table["above best"].items() if margin <= 0
        ]
        if losing:
            found.append(
                f"A simple baseline's {title} is at least the model's on: "
                + ", ".join(losing)
                + " (the model's margin over the best baseline)."
            )
    return found


def _tradeoffs(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """The overall FPR and FNR at each decision threshold the rates are reported at."""
    if spec.is_regression:
        return []
    rows = _model_rows(frame)
    rows = rows[(rows["slice"] == "Overall") & rows["threshold"].notna()]
    parts = []
    for threshold in sorted(set(rows["threshold"])):
        at = rows[rows["threshold"] == threshold].set_index("metric")["value"]
        fpr, fnr = at.get(catalogue.FPR.tfma_name), at.get(catalogue.FNR.tfma_name)
        if _finite(fpr) and _finite(fnr):
            parts.append(f"at {threshold:g}, FPR {fpr:.4f} and FNR {fnr:.4f}")
    if len(parts) < 2:
        return []
    return [
        "The decision threshold trades false positives for false negatives (Overall): "
        + "; ".join(parts)
        + "."
    ]


def _gate(frame: pd.DataFrame, spec: DatasetSpec) -> list[dict[str, str]]:
    """The fairness gate's bounds and verdict, or that the rates are reported ungated."""
    from pipeline.reports.evaluation_tables import fairness_gaps

    if spec.is_regression or not spec.sensitive_columns:
        return []
    columns = ", ".join(spec.sensitive_columns)
    gate = spec.fairness_gate
    if gate is None:
        return [
            {
                "name": f"Error rates may differ between the groups of {columns}.",
                "mitigation_strategy": (
                    "Reported, not gated (the spec has no fairness.gate): each group's rates "
                    "and their gap to Overall are in the quantitative analysis."
                ),
            }
        ]
    bounds = ", ".join(f"{catalogue.GATE_RATES[r].title} {b:g}" for r, b in gate.max_gap.items())
    gaps = fairness_gaps(frame, spec)
    gated = gaps[gaps["ok"].notna()] if not gaps.empty else gaps
    failed = gated[gated["ok"] == False]  # noqa: E712 (a column of True/False/None)
    verdict = "FAILED" if not failed.empty else ("passed" if not gated.empty else "not applied")
    largest = gated.reindex(gated["gap"].abs().sort_values(ascending=False).index).head(3)
    shown = "; ".join(
        f"{r.rate} {r.column}={r.group} {r.gap:+.4f} (bound {r.bound:g})"
        for r in largest.itertuples()
    )
    ungated = gaps[gaps["ok"].isna()] if not gaps.empty else gaps
    small = sorted({f"{r.column}={r.group}" for r in ungated.itertuples()})
    return [
        {
            "name": (
                f"Unequal error rates between the groups of {columns}: the fairness gate "
                f"allows a gap to the overall rate of at most {bounds} at decision "
                f"threshold {gate.threshold:g}, for groups of {gate.min_group_size} or more "
                "test examples."
            ),
            "mitigation_strategy": (
                f"Fairness gate {verdict}"
                + (f"; the largest gaps: {shown}" if shown else "")
                + (f". Too small to gate, reported only: {', '.join(small)}" if small else "")
                + ". The Evaluator blesses no model beyond a bound."
            ),
        }
    ]


def _considerations(frame: pd.DataFrame, spec: DatasetSpec) -> dict[str, Any]:
    card = spec.model_card
    texts = {
        "users": list(card.users),
        "use_cases": list(card.use_cases),
        "limitations": [*card.limitations, *_limitations(frame, spec)],
        "tradeoffs": [*card.tradeoffs, *_tradeoffs(frame, spec)],
    }
    out: dict[str, Any] = {
        key: [{"description": text} for text in values] for key, values in texts.items() if values
    }
    risks = [
        {"name": r.name, **({"mitigation_strategy": r.mitigation_strategy}
                            if r.mitigation_strategy else {})}
        for r in card.ethical_considerations
    ] + _gate(frame, spec)  # fmt: skip
    if risks:
        out["ethical_considerations"] = risks
    return out


# --- The card -------------------------------------------------------------------------------


def build_model_card(
    run: RunArtifacts,
    spec: DatasetSpec,
    frame: pd.DataFrame | None = None,
    graphics: bool = True,
) -> dict[str, Any]:
    """The model card of `run`'s candidate model, in MCT's schema v0.0.2.

    Args:
        run: The run (`find_run`, or built from a component's input artifacts).
        spec: The data set spec; its `model_card:` gives the text no run can measure.
        frame: The run's `metrics_frame`, when the caller has it already.
        graphics: Embed the figures (base64 PNGs).

    Raises:
        ValueError: The run has no evaluation (it stopped before the Evaluator).
    """
    from pipeline.reports import evaluation_tables as tables
    from pipeline.reports.summary import failed_thresholds

    if run.evaluation is None:
        raise ValueError(f"run {run.run_id} has no evaluation, so no model card")
    if frame is None:
        frame = tables.metrics_frame(run.evaluation.uri, spec)
    failures = failed_thresholds(run.evaluation.uri, spec) if run.blessed is False else []
    return card_from_evaluation(run, spec, frame, failures, graphics=graphics)


def card_from_evaluation(
    run: RunArtifacts,
    spec: DatasetSpec,
    frame: pd.DataFrame,
    failures: list[str],
    validation: dict[str, Any] | None = None,
    graphics: bool = True,
) -> dict[str, Any]:
    """The card from an evaluation's `metrics_frame`, its failed thresholds (the run
    summary's lines) and TFMA's `validation` (read from the run's evaluation when None);
    the run gives its id, blessing, push and the other artifacts it has."""
    from pipeline.reports.evaluation_tables import validation as load_validation

    if validation is None and run.evaluation is not None:
        validation = load_validation(run.evaluation.uri, spec)
    quantitative: dict[str, Any] = {
        "performance_metrics": [
            *_headline(frame, spec),
            *_rates(frame, spec),
            *_baselines(frame, spec),
        ]
    }
    parameters = {
        "model_architecture": _architecture(spec),
        "data": _data(run, spec, frame, graphics),
        **_formats(run, spec),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "model_details": _model_details(run, spec, frame, failures, validation),
        "model_parameters": parameters,
        "quantitative_analysis": quantitative,
        "considerations": _considerations(frame, spec),
    }


def _write_atomically(path: str, text: str) -> None:
    """Writes `path` through a hidden file renamed into place: whole or not at all."""
    from tfx.dsl.io import fileio

    folder, name = posixpath.split(path)
    fileio.makedirs(folder)
    hidden = posixpath.join(folder, f".{name}.incoming-{os.getpid()}")
    with fileio.open(hidden, "w") as f:
        f.write(text)
    fileio.rename(hidden, path, overwrite=True)


def card_json(card: dict[str, Any]) -> str:
    """The text of `model_card.json`, once `card` passes MCT's schema.

    Raises:
        InvalidCard: The card breaks MCT's schema.
    """
    validate_model_card(card)
    return json.dumps(card, indent=2, ensure_ascii=False) + "\n"


def write_model_card(
    run: RunArtifacts,
    spec: DatasetSpec,
    reports_dir: str | Path | None,
    card: dict[str, Any] | None = None,
    serving: bool = True,
) -> list[str]:
    """Writes `run`'s model card; returns the paths written (none without an evaluation).

    To `model_card_path(reports_dir, run.run_id)` (unless `reports_dir` is None) and, when
    `serving` and the run pushed its model to a folder, to `served_card_path(pushed_to)`
    (a model already serving there gets this run's card). `card`: one built already.
    Files go through tfx.dsl.io.fileio, so gs:// works, each renamed into place.

    Raises:
        InvalidCard: The card breaks MCT's schema (nothing is written).
    """
    from tfx.dsl.io import fileio

    if run.evaluation is None:
        return []
    text = card_json(card or build_model_card(run, spec))
    paths = []
    if reports_dir is not None:
        paths.append(model_card_path(reports_dir, run.run_id))
    # A Vertex AI endpoint is a resource name, not a folder: nothing to write beside it.
    if serving and run.pushed_to and fileio.isdir(run.pushed_to):
        paths.append(served_card_path(run.pushed_to))
    for path in paths:
        _write_atomically(path, text)
    return paths
