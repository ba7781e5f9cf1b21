"""What a run is called in MLflow: metric keys, the experiment, the registered model.

MLflow allows letters, digits and `_ - . space : /` in a metric or param key, and no key
that a file path would normalise to another. A metric key here is

    <metric>[/<slice>][/ci_lower | /ci_upper]

- `<metric>`: TFMA's name, as in the spec's thresholds and the HTML report; a rate at a
  decision threshold gets `_at_<threshold>`, a multi-class model's metric of one class
  `_of_<class>`, and a decile's `@10%` becomes `_at_10pct`: `auc`, `binary_accuracy`,
  `fall_out_at_0.5`, `lift_at_10pct`, `recall_of_Chinstrap`.
- `<slice>`: absent on the overall slice; `column:value` on a slice (`sex:Female`); a
  bucketized column's range in words (`age:under 25`, `age:25 to 35`, `age:65 and over`,
  for the buckets `< 25`, `[25, 35)`, `>= 65`); a cross joins its parts with `/`
  (`race:Black/sex:Female`).
- `/ci_lower`, `/ci_upper`: the bounds of the metric's bootstrap interval.

So `auc`, `auc/ci_lower`, `auc/sex:Female`, `auc/sex:Female/ci_upper`,
`miss_rate_at_0.5/race:Black`. MLflow's UI groups charts by the part before the first
`/`: one section per metric, with each slice's chart in it.
"""

from __future__ import annotations

import math
import re

from pipeline.spec import DatasetSpec

BOUNDS = ("ci_lower", "ci_upper")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_\-. :/]")
# The readable bucket labels of `pipeline.spec.bucket_label`, as `evaluation_tables`
# names slices: 'age [25, 35)', 'age < 25', 'age >= 65'.
_RANGE = re.compile(r"^(?P<column>\S+) \[(?P<low>[^,\]]+), (?P<high>[^)]+)\)$")
_BELOW = re.compile(r"^(?P<column>\S+) < (?P<high>\S+)$")
_FROM = re.compile(r"^(?P<column>\S+) >= (?P<low>\S+)$")
# Where a cross label ('race=Black, sex=Female') starts its next part: ', ' before a column
# name and '=' or a bucket; a value holding ', ' stays whole.
_PART = re.compile(r", (?=[A-Za-z_][A-Za-z0-9_]*(?:=| \[| < | >= ))")


def experiment_name(spec: DatasetSpec) -> str:
    """The MLflow experiment of a data set's runs: its pipeline's name, as in ML Metadata."""
    return f"{spec.name}_pipeline"


def registered_model_name(spec: DatasetSpec) -> str:
    """The registered model whose versions are the data set's pushed models."""
    return f"{spec.name}_model"


def clean(text: str) -> str:
    """`text` with each character MLflow refuses in a key replaced by `_`, and no empty,
    `.` or `..` path segment (MLflow refuses keys a path would normalise)."""
    parts = [_NOT_ALLOWED.sub("_", part).strip() for part in text.split("/")]
    return "/".join("_" if part in ("", ".", "..") else part for part in parts)


def metric_name(metric: str, threshold: float | None = None, label_class: str | None = None) -> str:
    """TFMA's metric name as an MLflow key part: `lift@10%` -> `lift_at_10pct`,
    (`fall_out`, 0.5) -> `fall_out_at_0.5`, (`recall`, class `Gentoo`) ->
    `recall_of_Gentoo`."""
    name = metric.replace("%", "pct").replace("@", "_at_")
    if threshold is not None and not math.isnan(threshold):
        name = f"{name}_at_{threshold:g}"
    if label_class is not None:
        name = f"{name}_of_{label_class.replace('/', '_')}"
    return clean(name)


def _slice_part(part: str) -> str:
    if match := _RANGE.match(part):
        return f"{match['column']}:{match['low']} to {match['high']}"
    if match := _BELOW.match(part):
        return f"{match['column']}:under {match['high']}"
    if match := _FROM.match(part):
        return f"{match['column']}:{match['low']} and over"
    column, _, value = part.partition("=")
    return f"{column}:{value.replace('/', '_')}"


def slice_name(label: str) -> str:
    """A slice label of `evaluation_tables.slice_label` as an MLflow key part ('' overall):
    'race=Black, sex=Female' -> 'race:Black/sex:Female', 'age [25, 35)' -> 'age:25 to 35'."""
    if label == "Overall":
        return ""
    return clean("/".join(_slice_part(part) for part in _PART.split(label)))


def metric_key(
    metric: str,
    slice_label: str = "Overall",
    threshold: float | None = None,
    bound: str = "",
    label_class: str | None = None,
) -> str:
    """The MLflow key of one number (see the module docstring).

    Args:
        metric: TFMA's metric name.
        slice_label: The slice as `evaluation_tables` names it.
        threshold: The decision threshold of a thresholded rate, else None or NaN.
        bound: '' for the value, 'ci_lower' or 'ci_upper' for an interval bound.
        label_class: A multi-class model's class the metric is of, else None.
    """
    if bound and bound not in BOUNDS:
        raise ValueError(f"bound must be one of {BOUNDS}, got {bound!r}")
    parts = [metric_name(metric, threshold, label_class), slice_name(slice_label), bound]
    return "/".join(part for part in parts if part)
