"""`load_spec`: reads `dataset.yaml`, validates it, checks it against the CSV files.

The file is validated against its schema (`pipeline.spec.schema.SpecFile`) first; then the
checks that need the file system: every file exists and has a header naming each described
column once, and no other. Every error is one line naming the file and the dotted key, and
saying what to do: `<spec file>: key '<dotted.key>': <message>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.spec import csv_format
from pipeline.spec.dataset import (
    Ablation,
    Bootstrap,
    Column,
    DatasetSpec,
    Drift,
    FairnessGate,
    Label,
    ModelCard,
    SpecError,
    Threshold,
    Training,
)
from pipeline.spec.schema import FairnessSpec, FilesSpec, SpecFile, first_error

# libyaml's safe loader when PyYAML has it: the pure-Python parser is most of the time a
# load takes, and every CLI command loads a spec.
_FastYamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fail(path: Path, key: str, message: str) -> SpecError:
    return SpecError(f"{path}: key '{key}': {message}")


def _read_header(
    pattern: Path, spec_path: Path, key: str, files: FilesSpec
) -> tuple[Path, list[str]]:
    """The first file `pattern` (a file name or glob pattern) matches, and its header."""
    matches = sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())
    if not matches:
        raise _fail(spec_path, key, f"file {pattern} does not exist")
    path = matches[0]
    try:
        header = csv_format.read_header(path, files.encoding, files.delimiter)
    except UnicodeDecodeError:
        raise _fail(spec_path, key, csv_format.undecodable_message(path, files.encoding)) from None
    except (OSError, EOFError) as error:  # a .gz file that is not gzip, or is cut short
        raise _fail(spec_path, key, f"file {path} cannot be read: {error}") from None
    if not header:
        raise _fail(spec_path, key, f"file {path} is empty: it needs a header row")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise _fail(spec_path, key, f"file {path} repeats the column(s) {duplicates} in its header")
    return path, header


def _header_hint(path: Path, files: FilesSpec) -> str:
    """Why described columns may be missing from a header: it is split by another
    delimiter than the spec's."""
    other = csv_format.other_delimiter(csv_format.first_line(path, files.encoding), files.delimiter)
    if not other:
        return ""
    return (
        f": its header looks separated by {csv_format.delimiter_name(other)}, not "
        f"{csv_format.delimiter_name(files.delimiter)}; set `delimiter: "
        f"{csv_format.delimiter_name(other)}` under `files:` in the spec"
    )


def _check_files(spec: SpecFile, path: Path) -> None:
    """Each file exists, and its header has exactly the described columns."""
    names = list(spec.columns)
    for split, file_name in spec.files.patterns().items():
        found, header = _read_header(path.parent / file_name, path, f"files.{split}", spec.files)
        missing = [n for n in names if n not in header]
        if missing:
            raise _fail(
                path,
                "columns",
                f"column(s) {missing} are described but not in the header of {file_name}"
                + _header_hint(found, spec.files),
            )
        extra = [h for h in header if h not in names]
        if extra:
            raise _fail(
                path,
                "columns",
                f"column(s) {extra} of {file_name} are not described: give each a role "
                f"(use 'ignored' to leave one out)",
            )
    if spec.schema_file and not (path.parent / spec.schema_file).is_file():
        raise _fail(path, "schema_file", f"{path.parent / spec.schema_file} does not exist")
    if spec.score:
        _, header = _read_header(path.parent / spec.score, path, "score", spec.files)
        missing = [n for n in spec.features if n not in header]
        if missing:
            raise _fail(
                path,
                "score",
                f"column(s) {missing}, features of the model, are not in the "
                f"header of {spec.score}",
            )


def _build(spec: SpecFile, path: Path) -> DatasetSpec:
    """The code's view of a validated spec file."""
    fairness = spec.fairness or FairnessSpec()
    gate = fairness.gate
    evaluation = spec.evaluation
    return DatasetSpec(
        name=spec.name,
        directory=path.parent,
        spec_path=path,
        description=spec.description.strip(),
        task=spec.task,
        files=spec.files.patterns(),
        split=spec.split_buckets(),
        missing_values=spec.missing_values,
        label=Label(**spec.label.model_dump()),
        columns=tuple(
            Column(name, c.role, c.buckets, c.reason) for name, c in spec.columns.items()
        ),
        feature_crosses=spec.feature_crosses,
        slice_columns=spec.slicing.columns,
        slice_crosses=spec.slicing.crosses,
        sensitive_columns=fairness.sensitive_columns,
        fairness_thresholds=fairness.thresholds,
        thresholds=tuple(Threshold(**t.model_dump()) for t in evaluation.thresholds),
        training=Training(**spec.training.model_dump()),
        schema_file=path.parent / spec.schema_file if spec.schema_file else None,
        score=spec.score,
        drift=Drift(**spec.drift.model_dump()) if spec.drift else None,
        min_slice_size=evaluation.min_slice_size,
        bootstrap=Bootstrap(**evaluation.bootstrap.model_dump()),
        fairness_gate=(
            FairnessGate(gate.max_gap.rates(), gate.threshold, gate.min_group_size)
            if gate
            else None
        ),
        ablation=(
            Ablation(
                spec.ablation.groups_for(spec.features),
                spec.ablation.train_steps,
                spec.ablation.replicates,
            )
            if spec.ablation
            else None
        ),
        model_card=ModelCard.from_dict(spec.model_card.model_dump(exclude_none=True)),
        delimiter=spec.files.delimiter,
        encoding=spec.files.encoding,
    )


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None) -> DatasetSpec:
    """Loads and validates a data set spec.

    Args:
        path: The spec file, or a directory holding `dataset.yaml`.
        overrides: Values merged over the `training` section (for example from the CLI).

    Returns:
        The validated spec.

    Raises:
        SpecError: The file, a key or a CSV column is wrong; the message says which.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "dataset.yaml"
    if not path.is_file():
        raise SpecError(f"{path}: no such data set spec file")
    path = path.resolve()
    text = path.read_text()
    try:
        data = yaml.load(text, Loader=_FastYamlLoader)
    except yaml.YAMLError:
        # Parsed again by the pure-Python parser: its message shows the line, with a caret.
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise SpecError(f"{path}: not valid YAML: {e}") from None
    if overrides and isinstance(data, dict) and isinstance(data.get("training") or {}, dict):
        data = {**data, "training": {**(data.get("training") or {}), **overrides}}
    try:
        spec = SpecFile.model_validate(data)
    except ValidationError as e:
        key, message = first_error(e)
        raise _fail(path, key, message) from None
    _check_files(spec, path)
    return _build(spec, path)
