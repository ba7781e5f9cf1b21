"""`python -m pipeline init`: writes the spec `pipeline.spec.infer` drafts from a CSV file.

`write_spec` writes `dataset.yaml` beside the file: the schema's modeline first, then each
section with its comment (the section's description in the schema) and a comment on each
inferred value saying where it comes from. It loads the file back with `load_spec` (the
loader every run uses) before it reports success, and never overwrites a spec.

Every key is named through the schema (`spec_key`), so the written file follows it; the
format keys `files.delimiter` and `files.encoding` are written only when the schema has them,
and a file that needs them is refused in one line otherwise.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.metrics.catalogue import CLASSIFICATION, FNR, FPR, MULTICLASS, REGRESSION
from pipeline.spec.csv_format import DEFAULT_DELIMITER, DEFAULT_ENCODING
from pipeline.spec.dataset import SpecError
from pipeline.spec.infer import (
    EPOCHS,
    IGNORED,
    CsvTable,
    Draft,
    InitError,
    has_key,
    infer,
    missing_file,
    shown_delimiter,
    spec_key,
    split_rows,
)
from pipeline.spec.loader import load_spec
from pipeline.spec.reference import modeline
from pipeline.spec.schema import (
    ColumnSpec,
    EvaluationSpec,
    FairnessSpec,
    FilesSpec,
    GateSpec,
    LabelSpec,
    SlicingSpec,
    SpecFile,
    TrainingSpec,
)

SPEC_NAME = "dataset.yaml"
LINE_WIDTH = 96


def _doc(model: type[BaseModel], field: str) -> str:
    """The first sentence of a field's description in the schema, for a comment."""
    text = (model.model_fields[field].description or "").replace("`", "")
    return text.split(". ")[0].rstrip(".") + "."


_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")


def scalar(value: Any) -> str:
    """A YAML scalar: plain when safe, else double-quoted (JSON's escapes are YAML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """A YAML value on one line: `[a, b]`, `{k: v}` or a scalar."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


class _Lines:
    """YAML lines, each with an optional comment after it, aligned."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "", comment: str = "") -> None:
        if comment:
            text = f"{text.ljust(28)}  # {comment}" if text.strip() else f"# {comment}"
        self.lines.append(text)

    def comment(self, text: str, indent: int = 0) -> None:
        prefix = f"{' ' * indent}# "
        self.lines += textwrap.wrap(
            text,
            LINE_WIDTH,
            initial_indent=prefix,
            subsequent_indent=prefix,
            break_on_hyphens=False,
        )

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def _count(n: int) -> str:
    return f"{n:,}"


def render(draft: Draft, command: str) -> str:
    """The spec's text: the schema modeline, then every section with its comments."""
    table, label = draft.table, draft.label
    rows = table.rows
    out = _Lines()
    out.add(modeline(table.path.parent))
    out.comment(
        f"Written by `{command}` from the {_count(rows)} rows of {table.path.name}. Each value "
        "below was inferred from the data: check what the data cannot say (a column that "
        "leaks the label, the bounds a useful model must meet). Every key is described in "
        "docs/spec-reference.md. Then run:"
    )
    out.lines.append(
        f"#     python -m pipeline run --data {shlex.quote(_shown_dir(table.path.parent))}"
    )
    out.add(
        f"{spec_key(SpecFile, 'name')}: {scalar(draft.name)}", "names the pipeline and outputs/"
    )
    task_name = label.task.replace("_", " ")
    description = f"{table.path.name}: predict {label.column} ({task_name})."
    out.add(f"{spec_key(SpecFile, 'description')}: {scalar(description)}")
    why = {
        CLASSIFICATION: "two values",
        MULTICLASS: f"{len(label.classes)} values",
        REGRESSION: "many different numbers",
    }[label.task]
    out.add(f"{spec_key(SpecFile, 'task')}: {label.task}", f"{label.column!r} holds {why}")

    out.add()
    out.comment(_doc(SpecFile, "files"))
    out.add(f"{spec_key(SpecFile, 'files')}:")
    out.add(
        f"  {spec_key(FilesSpec, 'train')}: {scalar(table.path.name)}",
        f"{_count(rows)} rows, hash-split as `split` says",
    )
    for field, value, comment in _format_keys(table):
        out.add(f"  {spec_key(FilesSpec, field)}: {scalar(value)}", comment)
    split = ", ".join(f"{k}: {v}" for k, v in draft.split.items())
    shares = " / ".join(
        f"{v * 100 // sum(draft.split.values())}% {k}" for k, v in draft.split.items()
    )
    out.add(f"{spec_key(SpecFile, 'split')}: {{{split}}}", shares)
    if draft.tokens:
        where = "; ".join(
            f"{token!r} in {', '.join(columns[:3])}{', ...' * (len(columns) > 3)}"
            for token, columns in draft.tokens.items()
        )
        out.add(
            f"{spec_key(SpecFile, 'missing_values')}: {flow(list(draft.tokens))}", f"found: {where}"
        )
        out.comment("(remove a token that is a real value in its column)")

    out.add()
    out.comment(_doc(SpecFile, "label"))
    out.add(f"{spec_key(SpecFile, 'label')}:")
    out.add(f"  {spec_key(LabelSpec, 'column')}: {scalar(label.column)}")
    if label.positive is not None:
        out.add(f"  {spec_key(LabelSpec, 'positive')}: {scalar(label.positive)}", label.note)
        out.add(f"  {spec_key(LabelSpec, 'classes')}: {flow(label.classes)}")
    elif label.classes:
        out.add(f"  {spec_key(LabelSpec, 'classes')}: {flow(label.classes)}", label.note)

    out.add()
    out.comment(_doc(SpecFile, "columns"))
    out.add(f"{spec_key(SpecFile, 'columns')}:")
    for name, role in draft.roles.items():
        if role.leak:
            out.comment(role.leak, 2)
        key = f"  {scalar(name)}:"
        if role.role == IGNORED:
            value = {spec_key(ColumnSpec, "role"): IGNORED}
            value[spec_key(ColumnSpec, "reason")] = role.reason
            out.add(f"{key} {flow(value)}")
        elif name in draft.buckets:
            value = {spec_key(ColumnSpec, "role"): role.role}
            value[spec_key(ColumnSpec, "buckets")] = list(draft.buckets[name])
            out.add(f"{key} {flow(value)}", f"{role.note}; buckets at the quartiles")
        else:
            out.add(f"{key} {role.role}", role.note)

    if draft.slices:
        out.add()
        out.comment(_doc(SpecFile, "slicing"))
        out.add(f"{spec_key(SpecFile, 'slicing')}:")
        out.add(f"  {spec_key(SlicingSpec, 'columns')}: {flow(draft.slices)}")
        if draft.crosses:
            out.add(f"  {spec_key(SlicingSpec, 'crosses')}:")
            for cross in draft.crosses:
                out.add(f"    - {flow(cross)}")

    if draft.sensitive:
        out.add()
        out.comment(_doc(SpecFile, "fairness"))
        out.add(f"{spec_key(SpecFile, 'fairness')}:")
        out.add(
            f"  {spec_key(FairnessSpec, 'sensitive_columns')}: {flow(draft.sensitive)}",
            "by their names: check them",
        )
        out.comment("A gate blocks a model whose error rates differ too much by group, e.g.:", 2)
        gate = {
            spec_key(GateSpec, "max_gap"): {FPR.name: 0.1, FNR.name: 0.2},
            spec_key(GateSpec, "min_group_size"): 100,
        }
        out.comment(f"{spec_key(FairnessSpec, 'gate')}: {flow(gate)}", 2)

    out.add()
    out.comment(_doc(SpecFile, "evaluation"))
    out.add(f"{spec_key(SpecFile, 'evaluation')}:")
    out.add(f"  {spec_key(EvaluationSpec, 'thresholds')}:")
    out.comment("Each bound beats a model that learned nothing; raise them to what you need.", 4)
    for bound, comment in draft.thresholds:
        out.add(f"    - {flow(bound)}", comment)

    out.add()
    out.comment(_doc(SpecFile, "training"))
    out.add(f"{spec_key(SpecFile, 'training')}:")
    training = draft.training
    train_rows = split_rows(rows, draft.split)["train"]
    comments = {
        "train_steps": f"about {EPOCHS} passes over ~{_count(train_rows)} training rows",
        "eval_steps": "batches: about the whole eval split",
    }
    for field, value in training.items():
        out.add(f"  {spec_key(TrainingSpec, field)}: {flow(value)}", comments.get(field, ""))
    return out.text()


def _format_keys(table: CsvTable) -> list[tuple[str, str, str]]:
    """`files.delimiter` and `files.encoding` (key, value, why) when the file needs them.

    Raises:
        InitError: The file needs one and the schema has no such key (a version of the
            pipeline that reads comma-separated UTF-8 only).
    """
    keys = []
    if table.delimiter != DEFAULT_DELIMITER:
        why = f"cells are separated by a {shown_delimiter(table.delimiter)}"
        keys.append(("delimiter", table.delimiter, why))
    if table.encoding != DEFAULT_ENCODING:
        keys.append(
            ("encoding", table.encoding, f"the file is not UTF-8 (read as {table.encoding})")
        )
    for field, _, why in keys:
        if not has_key(FilesSpec, field):
            raise InitError(
                f"{table.path}: {why}: this version of the pipeline reads comma-separated "
                "UTF-8 only; convert the file first"
            )
    return keys


def _shown_dir(directory: Path) -> str:
    try:
        relative = directory.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(directory)
    return str(relative) if str(relative) != "." else "."


def write_spec(path: Path, label: str, command: str) -> tuple[Path, list[str]]:
    """Infers a spec for `path`, writes it beside the file, and loads it back.

    Returns:
        The written `dataset.yaml`, and the features that may leak the label.

    Raises:
        InitError: A spec is there already, the file or label cannot be used, or the
            written spec does not load (it is removed then).
    """
    if not path.is_file():
        raise InitError(missing_file(path))
    target = path.parent / SPEC_NAME
    if target.exists():
        raise InitError(
            f"{target} exists already: init never overwrites a spec (edit it, or move it away "
            "and run init again)"
        )
    draft = infer(path, label)
    if (draft.table.gzipped or draft.table.bom) and not has_key(FilesSpec, "encoding"):
        what = "is gzip-compressed" if draft.table.gzipped else "starts with a byte-order mark"
        raise InitError(
            f"{path}: the file {what}: this version of the pipeline reads plain UTF-8 "
            "CSV only; convert the file first"
        )
    text = render(draft, command)
    try:
        with target.open("x", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise InitError(f"{target}: cannot be written ({e.strerror})") from None
    try:
        load_spec(target)
    except SpecError as e:
        target.unlink()
        raise InitError(f"the written spec does not load, so it was removed: {e}") from None
    return target, [name for name, role in draft.roles.items() if role.leak]
