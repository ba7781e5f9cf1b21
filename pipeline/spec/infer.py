"""What `python -m pipeline init` infers from one CSV file: a draft of its spec.

The file is read as it comes (gzip when named `.gz`, a UTF-8 byte-order mark, Latin-1 when
it is not UTF-8, the delimiter found by `csv.Sniffer`, quoted names) in one pass that keeps
each column's cell counts. From them each column gets a role, the label a task, the spec a
split, slices, bounds that beat the majority baseline and training steps scaled to the rows
(`infer` returns them as a `Draft`); `pipeline.spec.init` writes the draft as YAML. The
format's defaults and detectors are `pipeline.spec.csv_format`'s, which every reader shares.

Every spec key goes through `spec_key`, which fails on a name `pipeline.spec.schema` lacks.
No TFX here: the spec package stays importable without it.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import gzip
import io
import math
import re
from collections import Counter
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from pipeline.metrics.catalogue import (
    ACCURACY,
    AUC,
    CLASSIFICATION,
    MULTICLASS,
    REGRESSION,
    RMSE,
    TOP1_ACCURACY,
)
from pipeline.spec.csv_format import (
    COMMON_DELIMITERS,
    DEFAULT_DELIMITER,
    DEFAULT_ENCODING,
    GZIP_SUFFIX,
    UTF8_BOM,
    is_gzip,
    starts_with_bom,
    text_encoding,
)
from pipeline.spec.dataset import ROLES, SPLIT_NAMES
from pipeline.spec.schema import (
    MIN_CLASSES,
    NAME_PATTERN,
    SPLIT_WITHOUT_TEST_FILE,
    ThresholdSpec,
)

NUMERIC, CATEGORICAL, IGNORED, LABEL = ROLES
# Cell values that mean "missing" in common exports (R, pandas, Excel, SQL dumps, UCI);
# an empty cell is missing without being declared.
MISSING_TOKENS = ("N/A", "n/a", "NA", "#N/A", "?", "null", "NULL", "None", "NaN", "nan")
DELIMITERS = "".join(COMMON_DELIMITERS)
SNIFF_CHARS = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
FALLBACK_ENCODING = "latin-1"
# A label with more distinct values than this is a number to regress (numeric) or refused.
MAX_CLASSES = 20
# A column of unique values in at least this many rows is a key (fewer rows say little).
MIN_KEY_ROWS = 10
# A model that learned something ranks better than a constant score (AUC 0.5) by this much.
MIN_AUC = 0.6
# A feature of at most MAX_LEAK_VALUES values whose every value holds one class in at least
# LEAK_ACCURACY of its rows, leaving at most LEAK_ERROR_SHARE of the majority class's error,
# gives the label away: a comment asks whether it is known before the outcome.
MAX_LEAK_VALUES = 20
LEAK_ACCURACY = 0.95
LEAK_ERROR_SHARE = 0.2
# Integer labels with at most this many values are classes (a rating), more a quantity.
MAX_INTEGER_CLASSES = 10
# A text column with more distinct values than this share of its rows (and more than
# MANY_VALUES) is free text or a key: a vocabulary of it would learn nothing.
FREE_TEXT_SHARE = 0.5
MANY_VALUES = 20
# A slice column has at most this many values (each slice needs test examples).
MAX_SLICE_VALUES = 12
MAX_CATEGORICAL_SLICES = 2
SENSITIVE = re.compile(r"(^|[^a-z])(sex|gender|race|ethnic\w*|age)([^a-z]|$)", re.IGNORECASE)
ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|key|index)([^a-z]|$)|^unnamed", re.IGNORECASE)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?|^\d{1,2}/\d{1,2}/\d{2,4}$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
INTEGER = re.compile(r"^[+-]?\d+$")
# Training: about this many passes over the training rows, within these bounds.
EPOCHS = 10
MIN_STEPS, MAX_STEPS = 200, 5000
SMALL_DATA_ROWS = 2000  # fewer rows: a 6:2:2 split (enough test rows), a small model
SMALL_DATA_SPLIT = (6, 2, 2)
GENERIC_STEMS = {"train", "training", "data", "dataset", "all", "full"}


class InitError(ValueError):
    """`init` cannot write a spec; the message is the one line a user reads."""


# --- Reading the file as it comes.


@dataclasses.dataclass(frozen=True)
class CsvTable:
    """A CSV file as `init` needs it: how it was written, and each column's cell counts.

    The file is read in one pass and no row is kept: memory grows with each column's
    distinct values, not with the rows (a code or category column costs a few entries).

    Attributes:
        cells: By column, each cell's text (spaces trimmed) and how many rows hold it.
        pairs: By column of at most MAX_LEAK_VALUES values, each (cell, label cell) pair
            and its count; {} for other columns, or without a label.
    """

    path: Path
    header: list[str]
    rows: int
    delimiter: str
    encoding: str
    gzipped: bool
    bom: bool
    cells: dict[str, Counter[str]]
    pairs: dict[str, Counter[tuple[str, str]]]


def _delimiter(sample: str) -> str:
    """The delimiter `csv.Sniffer` finds in the first lines; ',' when it finds none."""
    if "\n" in sample[:-1]:
        sample = sample[: sample.rfind("\n")]  # whole lines only
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = DEFAULT_DELIMITER
    # The sniffer can pick a character inside the values; the header splits on the right one.
    header = sample.split("\n", 1)[0]
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in DELIMITERS}
    return (
        found
        if counts[found] > 1
        else max(counts, key=lambda d: (counts[d], d == DEFAULT_DELIMITER))
    )


def _binary(path: Path, gzipped: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def missing_file(path: Path) -> str:
    """The message for a `path` that is not a file."""
    if path.is_dir():
        return f"{path}: a folder, not a file: give the CSV file itself"
    return f"{path}: no such file"


def read_table(path: Path, label: str | None = None) -> CsvTable:
    """`path` read in one pass, however it was exported: gzip, a byte-order mark, UTF-8
    or else Latin-1, the delimiter the first lines use.

    Raises:
        InitError: No such file, no header, no column `label`, or a row with the wrong
            number of cells.
    """
    if not path.is_file():
        raise InitError(missing_file(path))
    with path.open("rb") as f:
        gzipped = f.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    # The pipeline (as Beam) takes a file for gzip by its name: the name must say it.
    if gzipped != is_gzip(path):
        raise InitError(
            f"{path}: the file is gzip-compressed but its name does not end in {GZIP_SUFFIX}: "
            "rename it"
            if gzipped
            else f"{path}: the name ends in {GZIP_SUFFIX} but the file is not gzip-compressed: "
            "rename it"
        )
    try:
        with _binary(path, gzipped) as f:
            head = f.read(SNIFF_CHARS)
        bom = starts_with_bom(head)
        delimiter = _delimiter(head.decode("utf-8-sig", errors="replace"))
        try:
            return _read(path, label, gzipped, bom, delimiter, DEFAULT_ENCODING)
        except UnicodeDecodeError:
            # Latin-1 decodes any byte: the usual encoding of a file that is not UTF-8
            # (Excel on Windows, old exports); a wrong guess shows as odd letters only.
            return _read(path, label, gzipped, bom, delimiter, FALLBACK_ENCODING)
    except (OSError, EOFError) as e:
        raise InitError(f"{path}: cannot be read ({e})") from None


def _read(
    path: Path, label: str | None, gzipped: bool, bom: bool, delimiter: str, encoding: str
) -> CsvTable:
    codec = text_encoding(encoding, UTF8_BOM if bom else b"")
    with io.TextIOWrapper(_binary(path, gzipped), encoding=codec, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader, [])
            if not any(h.strip() for h in header):
                raise InitError(f"{path}: empty file, no header row")
            _check_header(header, path)
            if label is not None and label not in header:
                raise InitError(f"{path}: no column {label!r} in the header{_close(label, header)}")
            at = header.index(label) if label is not None else None
            cells: list[Counter[str]] = [Counter() for _ in header]
            pairs: list[Counter[tuple[str, str]] | None] = [
                Counter() if at is not None else None for _ in header
            ]
            rows = 0
            for row in reader:
                if not row:
                    continue  # a blank line: the pipeline skips it too
                if len(row) != len(header):
                    raise InitError(
                        f"{path} line {reader.line_num}: {len(row)} cells where the header has "
                        f"{len(header)} (a missing or extra {shown_delimiter(delimiter)}, or an unquoted "
                        "one in a value)"
                    )
                rows += 1
                values = [cell.strip() for cell in row]
                y = values[at] if at is not None else ""
                for i, value in enumerate(values):
                    cells[i][value] += 1
                    counted = pairs[i]
                    if counted is not None:
                        counted[(value, y)] += 1
                        if len(cells[i]) > MAX_LEAK_VALUES:
                            pairs[i] = None  # too many values to give the class away alone
        except csv.Error as e:
            raise InitError(f"{path} line {reader.line_num}: {e}") from None
    return CsvTable(
        path,
        header,
        rows,
        delimiter,
        encoding,
        gzipped,
        bom,
        dict(zip(header, cells, strict=True)),
        {name: p for name, p in zip(header, pairs, strict=True) if p is not None},
    )


def _check_header(header: list[str], path: Path) -> None:
    """Every column has a name, and one of its own (the spec describes columns by name)."""
    for number, name in enumerate(header, start=1):
        if not name.strip():
            raise InitError(
                f"{path}: column {number} of the header has no name: give it one (a pandas "
                "index written by to_csv: write the file with index=False)"
            )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InitError(f"{path}: the header repeats the column(s) {repeated}: rename them")


def shown_delimiter(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "'|'"}.get(delimiter, delimiter)


# --- What each column holds.


@dataclasses.dataclass(frozen=True)
class Profile:
    """One column's values, missing ones left out."""

    name: str
    counts: Counter[str]
    missing: int

    @property
    def present(self) -> int:
        return sum(self.counts.values())

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @property
    def numeric(self) -> bool:
        return bool(self.counts) and all(NUMBER.match(v) for v in self.counts)

    @property
    def integer(self) -> bool:
        return bool(self.counts) and all(INTEGER.match(v) for v in self.counts)

    def numbers(self) -> list[float]:
        return [float(v) for v, n in self.counts.items() for _ in range(n)]

    def most_common(self) -> str:
        return self.counts.most_common(1)[0][0]


def missing_tokens(table: CsvTable) -> dict[str, list[str]]:
    """Each missing-value token the file holds, with the columns it is in."""
    found: dict[str, list[str]] = {}
    for name, cells in table.cells.items():
        for token in MISSING_TOKENS:
            if token in cells:
                found.setdefault(token, []).append(name)
    return found


def profile(table: CsvTable, tokens: set[str]) -> dict[str, Profile]:
    """Each column's profile; an empty cell or one of `tokens` is missing."""
    profiles = {}
    for name, cells in table.cells.items():
        counts = Counter({v: n for v, n in cells.items() if v and v not in tokens})
        profiles[name] = Profile(name, counts, table.rows - sum(counts.values()))
    return profiles


# --- Spec keys, as the schema names them.


def spec_key(model: type[BaseModel], field: str) -> str:
    """The spec key of `model`'s field `field` (its alias when it has one).

    Raises:
        KeyError: The schema has no such field: `init` and the schema disagree.
    """
    info = model.model_fields[field]
    return info.alias or field


def has_key(model: type[BaseModel], field: str) -> bool:
    """Whether the schema has the key (one added by a later version, such as a delimiter)."""
    return field in model.model_fields


# --- Roles, label, task.


@dataclasses.dataclass(frozen=True)
class Role:
    """A column's role and why: `reason` goes into the spec (ignored columns), `note` into
    a comment, `leak` (a warning that it may give the label away) into a comment above."""

    role: str
    reason: str = ""
    note: str = ""
    leak: str = ""


def _values(p: Profile, shown: int = 4) -> str:
    """The most common values, for a comment: `3 values: a, b, c`."""
    values = [v if len(v) <= 20 else f"{v[:17]}..." for v, _ in p.counts.most_common(shown)]
    listed = ", ".join(values) + (", ..." if p.distinct > shown else "")
    return listed if p.distinct == 2 else f"{p.distinct} values: {listed}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def column_role(p: Profile, rows: int) -> Role:
    """The role of a feature column (not the label), from its values."""
    missing = f"; {p.missing} missing" if p.missing else ""
    if p.distinct == 0:
        return Role(IGNORED, "empty: no row has a value")
    if p.distinct == 1:
        return Role(IGNORED, f"constant: every row with a value holds {p.most_common()!r}")
    unique = p.distinct == rows and rows >= MIN_KEY_ROWS
    if unique and (not p.numeric or (p.integer and _key_like(p, rows))):
        return Role(IGNORED, f"an identifier: each of the {rows:,} rows has its own value")
    if not p.numeric and all(DATE.match(v) for v in p.counts):
        return Role(
            IGNORED,
            "a date or time: no role reads one (derive a number from it, such as a duration)",
        )
    if not p.numeric and p.distinct > max(MANY_VALUES, FREE_TEXT_SHARE * p.present):
        return Role(
            IGNORED,
            f"free text or a key: {p.distinct:,} values in {p.present:,} rows, too many "
            "for a vocabulary to learn from",
        )
    if p.numeric and p.integer and p.distinct == 2:
        return Role(CATEGORICAL, note=f"two codes, {_values(p)}{missing}")
    if p.numeric:
        numbers = p.numbers()
        return Role(NUMERIC, note=f"{_number(min(numbers))} to {_number(max(numbers))}{missing}")
    return Role(CATEGORICAL, note=f"{_values(p)}{missing}")


def _key_like(p: Profile, rows: int) -> bool:
    """Whether unique whole numbers are a key: named like one, or a row number."""
    numbers = p.numbers()
    return bool(ID_NAME.search(p.name)) or max(numbers) - min(numbers) + 1 == rows


@dataclasses.dataclass(frozen=True)
class LabelDraft:
    """The label's task and values."""

    task: str
    column: str
    classes: tuple[str | int, ...] = ()
    positive: str | int | None = None
    note: str = ""


def _class_value(value: str, integer: bool) -> str | int:
    return int(value) if integer else value


def infer_label(p: Profile, rows: int, path: Path) -> LabelDraft:
    """The task a label column implies: two values, a few, or many numbers.

    Raises:
        InitError: The label has missing values, one value, or too many classes.
    """
    if p.missing:
        raise InitError(
            f"{path}: the label column {p.name!r} has no value in {p.missing:,} of {rows:,} "
            "rows; the pipeline trains only on labelled rows: remove those rows first"
        )
    if p.distinct < 2:
        raise InitError(
            f"{path}: the label column {p.name!r} holds a single value "
            f"({p.most_common()!r}): there is nothing to predict"
        )
    integer = p.integer
    by_value = sorted(p.counts, key=(lambda v: int(v)) if integer else str)
    if p.distinct < MIN_CLASSES:
        # The minority class is positive: the rarer outcome is the one usually looked for.
        positive = min(by_value, key=lambda v: (p.counts[v], -by_value.index(v)))
        share = p.counts[positive] / rows
        return LabelDraft(
            CLASSIFICATION,
            p.name,
            tuple(_class_value(v, integer) for v in by_value),
            _class_value(positive, integer),
            f"the minority class: {p.counts[positive]:,} of {rows:,} rows ({share:.0%})",
        )
    few = p.distinct <= (MAX_INTEGER_CLASSES if integer else MAX_CLASSES)
    if few and (integer or not p.numeric):
        return LabelDraft(
            MULTICLASS,
            p.name,
            tuple(_class_value(v, integer) for v in by_value),
            note="every value, in the order of the model's probabilities",
        )
    if p.numeric:
        return LabelDraft(REGRESSION, p.name)
    raise InitError(
        f"{path}: the label column {p.name!r} holds {p.distinct:,} different texts: too many "
        f"classes to learn (at most {MAX_CLASSES}); choose another column with --label"
    )


# --- The spec's numbers: split, buckets, bounds, training.


def split_for(rows: int) -> dict[str, int]:
    """Hash buckets: a small file keeps a fifth of its rows for testing (as the bundled
    small sets do), so that its slices have test examples."""
    if rows < SMALL_DATA_ROWS:
        return dict(zip(SPLIT_NAMES, SMALL_DATA_SPLIT, strict=True))
    return dict(SPLIT_WITHOUT_TEST_FILE)


def _round(value: float) -> float:
    """Two significant digits: a boundary people read (37, 120000, 0.25)."""
    if value == 0:
        return 0.0
    return float(f"{value:.2g}")


def quantile_buckets(p: Profile) -> tuple[float, ...]:
    """Boundaries at the quartiles, rounded, each inside the values' range."""
    numbers = sorted(p.numbers())
    low, high = numbers[0], numbers[-1]
    bounds = []
    for q in (0.25, 0.5, 0.75):
        value = numbers[min(len(numbers) - 1, int(q * len(numbers)))]
        value = float(round(value)) if p.integer and abs(value) >= 10 else _round(value)
        if low < value <= high and value not in bounds:
            bounds.append(value)
    return tuple(sorted(bounds))


def split_rows(rows: int, split: dict[str, int]) -> dict[str, int]:
    """About how many rows each split gets."""
    total = sum(split.values())
    return {name: rows * buckets // total for name, buckets in split.items()}


def training_for(rows: int, split: dict[str, int]) -> dict[str, Any]:
    """Training settings scaled to the row count: about EPOCHS passes, a model its size."""
    sizes = split_rows(rows, split)
    train_rows, eval_rows = sizes["train"], sizes["eval"]
    small = rows < SMALL_DATA_ROWS
    batch = 32 if small else 128 if rows < 20 * SMALL_DATA_ROWS else 256
    steps = math.ceil(EPOCHS * train_rows / batch / 100) * 100
    steps = min(MAX_STEPS, max(MIN_STEPS, steps))
    return {
        "train_steps": steps,
        "steps_per_evaluation": max(50, steps // 10),
        "eval_steps": max(1, min(50, math.ceil(eval_rows / batch))),
        "batch_size": batch,
        "learning_rate": 0.01 if small else 0.002,
        "hidden_units": [16] if small else [64, 32],
        "embedding_dim": 2 if small else 8,
    }


def _round_up(value: float, places: int = 2) -> float:
    return math.ceil(value * 10**places - 1e-9) / 10**places


def thresholds_for(label: LabelDraft, p: Profile) -> list[tuple[dict[str, Any], str]]:
    """Bounds a model must meet to beat the majority baseline (the mean, for a number)."""
    metric = spec_key(ThresholdSpec, "metric")
    lower, upper = spec_key(ThresholdSpec, "lower_bound"), spec_key(ThresholdSpec, "upper_bound")
    if label.task == REGRESSION:
        numbers = p.numbers()
        mean = sum(numbers) / len(numbers)
        std = math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))
        bound = float(f"{std:.3g}")
        return [
            (
                {metric: RMSE.name, upper: bound},
                f"predicting the mean ({mean:.4g}) always scores about the label's "
                f"standard deviation, {std:.4g}",
            )
        ]
    majority, count = p.counts.most_common(1)[0]
    share = count / p.present
    accuracy = ACCURACY.name if label.task == CLASSIFICATION else TOP1_ACCURACY.name
    bounds = []
    if label.task == CLASSIFICATION:
        bounds.append(
            (
                {metric: AUC.name, lower: MIN_AUC},
                "a constant score (always the majority class) has 0.5",
            )
        )
    bounds.append(
        (
            {metric: accuracy, lower: max(_round_up(share), 0.01)},
            f"always predicting {majority!r} is right in {share:.1%} of the rows",
        )
    )
    return bounds


# --- The draft spec.


@dataclasses.dataclass
class Draft:
    """What `init` inferred, before it is written."""

    table: CsvTable
    name: str
    label: LabelDraft
    roles: dict[str, Role]
    buckets: dict[str, tuple[float, ...]]
    tokens: dict[str, list[str]]
    split: dict[str, int]
    slices: list[str]
    crosses: list[list[str]]
    sensitive: list[str]
    thresholds: list[tuple[dict[str, Any], str]]
    training: dict[str, Any]


def dataset_name(path: Path) -> str:
    """A name from the file (or, for `train.csv` and the like, its folder)."""
    stem = path.name.split(".")[0]
    base = path.resolve().parent.name if stem.lower() in GENERIC_STEMS else stem
    name = re.sub(r"[^A-Za-z0-9_]+", "_", base).strip("_").lower()
    return name if re.match(NAME_PATTERN, name) else "dataset"


def _slices(roles: dict[str, Role], profiles: dict[str, Profile]) -> tuple[list[str], list[str]]:
    """Categorical slice columns (sensitive names first, then fewest values) and at most
    one numeric column to bucketize (a sensitive name first, such as age)."""
    categorical = [
        n
        for n, r in roles.items()
        if r.role == CATEGORICAL and 2 <= profiles[n].distinct <= MAX_SLICE_VALUES
    ]
    categorical.sort(key=lambda n: (not SENSITIVE.search(n), profiles[n].distinct))
    numeric = [n for n, r in roles.items() if r.role == NUMERIC and profiles[n].distinct >= 4]
    numeric.sort(key=lambda n: not SENSITIVE.search(n))
    return categorical[:MAX_CATEGORICAL_SLICES], numeric[:1]


def _flag_leaks(table: CsvTable, roles: dict[str, Role], label: str) -> dict[str, Role]:
    """`roles`, with a `leak` warning on each feature of few values that gives the class
    by itself (a column recorded after the outcome, such as a later status, leaks it).

    The warning is a comment only: whether the column is known at prediction time is
    something the data cannot say.
    """
    majority = table.cells[label].most_common(1)[0][1] / table.rows
    flagged = dict(roles)
    for name, role in roles.items():
        if role.role not in (NUMERIC, CATEGORICAL) or name not in table.pairs:
            continue
        best: dict[str, int] = {}
        for (value, _), count in table.pairs[name].items():
            best[value] = max(best.get(value, 0), count)
        alone = sum(best.values()) / table.rows
        if alone >= LEAK_ACCURACY and (1 - alone) <= LEAK_ERROR_SHARE * (1 - majority):
            warning = (
                f"CHECK {name}: it gives the class alone in {alone:.0%} of the rows (the "
                f"majority class: {majority:.0%}); if it is recorded after the outcome, it "
                "leaks the label: make it ignored"
            )
            flagged[name] = dataclasses.replace(role, leak=warning)
    return flagged


def infer(path: Path, label: str) -> Draft:
    """Infers a spec for CSV file `path` whose label column is `label`.

    Raises:
        InitError: The file cannot be read, or the label is not a column or cannot be one.
    """
    table = read_table(path, label)
    tokens = missing_tokens(table)
    profiles = profile(table, set(tokens))
    rows = table.rows
    label_draft = infer_label(profiles[label], rows, path)
    roles = {
        name: Role(LABEL) if name == label else column_role(p, rows) for name, p in profiles.items()
    }
    if label_draft.task != REGRESSION:
        roles = _flag_leaks(table, roles, label)
    if not any(r.role in (NUMERIC, CATEGORICAL) for r in roles.values()):
        raise InitError(
            f"{path}: no column besides {label!r} can be a feature (each is ignored: "
            + "; ".join(f"{n}: {r.reason}" for n, r in roles.items() if r.role == IGNORED)
            + ")"
        )
    split = split_for(rows)
    categorical, numeric = _slices(roles, profiles)
    buckets = {n: quantile_buckets(profiles[n]) for n in numeric}
    buckets = {n: b for n, b in buckets.items() if b}
    slices = categorical + list(buckets)
    crosses = [categorical[:2]] if len(categorical) >= 2 else []
    sensitive = []
    if label_draft.task != REGRESSION:
        sensitive = [n for n in slices if SENSITIVE.search(n)]
    return Draft(
        table=table,
        name=dataset_name(path),
        label=label_draft,
        roles=roles,
        buckets=buckets,
        tokens=tokens,
        split=split,
        slices=slices,
        crosses=crosses,
        sensitive=sensitive,
        thresholds=thresholds_for(label_draft, profiles[label]),
        training=training_for(rows, split),
    )


def _close(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    lowered = [n for n in names if n.lower() == name.lower() and n not in close]
    close = lowered + close
    if close:
        return f"; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"; the columns are {names}"
