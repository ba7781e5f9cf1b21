"""The schema of `dataset.yaml`: one pydantic model per section, as a user writes the file.

Each field carries its type, default, description and an example; each rule that a type
cannot say is one validator. The models are the single source of the loader's checks, of
the JSON Schema editors read (`dataset.schema.json`) and of `docs/spec-reference.md` (both
written by `python -m pipeline.spec.reference`). `pipeline.spec.loader` validates a file
with `SpecFile` and builds the code's frozen dataclasses (`pipeline.spec.dataset`) from it.

Every check raises `Invalid`, whose text is the whole message a user reads; `first_error`
turns pydantic's `ValidationError` into the loader's one line (`key '<dotted.key>': ...`).
A key set to null counts as absent: its default applies, or it is reported missing.

Adding a key: one field on its section's model below (a type from the helpers here, a
default, a description and an example), plus one validator if a rule is not a type; then
`make spec-docs`. If the pipeline reads the value, give the dataclass in `dataset.py` an
attribute of the same name (sections whose shape matches are copied by name in `loader.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from pipeline.metrics.catalogue import (  # the metric names a spec may use
    GATE_RATES,
    LOWER_IS_BETTER,
    MULTICLASS_THRESHOLD_METRICS,
    PER_CLASS_METRICS,
    REGRESSION_THRESHOLD_METRICS,
    THRESHOLD_METRICS,
)
from pipeline.spec.csv_format import DEFAULT_DELIMITER, DEFAULT_ENCODING, is_known_encoding
from pipeline.spec.dataset import (
    ROLES,
    TASKS,
    Ablation,
    Bootstrap,
    FairnessGate,
    Training,
)

# A data set name: it names the pipeline, its output folder and its runs.
NAME_PATTERN = r"^_*[A-Za-z0-9][A-Za-z0-9_]*$"
# An absolute URI (a scheme, then no spaces): what Model Card Toolkit's `format: uri` asks.
URI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$"
# Hash buckets of the train file when the spec gives no `split` (or part of one).
SPLIT_WITH_TEST_FILE = {"train": 4, "eval": 1}
SPLIT_WITHOUT_TEST_FILE = {"train": 8, "eval": 1, "test": 1}
DEFAULT_DECISION_THRESHOLDS = (0.5,)
# A multi-class label has at least this many classes (two are a binary label).
MIN_CLASSES = 3
THRESHOLDS_NEEDED = (
    "needs at least one threshold with a lower_bound or upper_bound: without one the "
    "Evaluator never blesses a model, so nothing would ever be pushed"
)


class Invalid(ValueError):
    """A broken rule: the text says what is wrong and what to do.

    Attributes:
        key: The dotted key below the model that raised it ('' = the model's own key).
    """

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


# --- Value types: a Python type, its JSON Schema constraints, and a check with our words.
# The check runs before pydantic's own, so a bad value gets our message, not pydantic's.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def number(
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    message: str = "",
) -> Any:
    """A number (not a boolean, not NaN) within the bounds given; out of them, `message`
    formatted with the value."""

    def check(value: Any) -> float:
        if not _is_number(value):
            raise Invalid(f"expected a number, got {value!r}")
        value = float(value)
        inside = (
            (gt is None or value > gt)
            and (ge is None or value >= ge)
            and (lt is None or value < lt)
            and (le is None or value <= le)
        )
        if not inside:
            raise Invalid(message.format(value=value))
        return value

    return Annotated[float, Field(gt=gt, ge=ge, lt=lt, le=le), BeforeValidator(check)]


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid(f"expected a positive whole number, got {value!r}")
    return value


def _whole_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected a whole number, got {value!r}")
    return value


def text(what: str) -> Any:
    """A string; a number is taken as its text (`reason: 1994` is '1994')."""

    def check(value: Any) -> str:
        if isinstance(value, str):
            return value
        if _is_number(value):
            return str(value)
        raise Invalid(f"expected {what}, got {value!r}")

    return Annotated[str, BeforeValidator(check)]


def string(what: str) -> Any:
    """A string, nothing else (a file name, a column name)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected {what}, got {value!r}")
        return value

    return Annotated[str, BeforeValidator(check)]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"expected a list of {what}, got {value!r}")
    return tuple(value)


def names(what: str) -> Any:
    """A list of strings, as a tuple."""
    return Annotated[tuple[str, ...], BeforeValidator(lambda value: _strings(value, what))]


def _mapping(value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"expected a mapping, got {type(value).__name__} {value!r}")
    return value


def one_of(values: tuple[str, ...], message: str) -> Any:
    """One of `values`; otherwise `message`, formatted with the value and the choices."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in values:
            raise Invalid(message.format(value=value, allowed=list(values)))
        return value

    return Annotated[Literal[values], BeforeValidator(check)]


def _name(value: Any) -> str:
    if not isinstance(value, str) or not re.match(NAME_PATTERN, value):
        raise Invalid(f"expected a short identifier such as 'census', got {value!r}")
    return value


def _class_value(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        hint = " (YAML reads yes/no/true/false as a boolean: quote it)" * isinstance(value, bool)
        raise Invalid(f"expected a label value, text or a whole number, got {value!r}{hint}")
    return value


def _boundaries(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid("expected a non-empty list of boundaries")
    for item in value:
        if not _is_number(item):
            raise Invalid(f"expected a number, got {item!r}")
    boundaries = tuple(float(b) for b in value)
    if list(boundaries) != sorted(set(boundaries)):
        raise Invalid(f"boundaries must increase strictly: {boundaries}")
    return boundaries


def _decision_thresholds(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise Invalid(f"expected a list of numbers, got {value!r}")
    for item in value:
        if not _is_number(item):
            raise Invalid(f"expected a number, got {item!r}")
    thresholds = tuple(float(t) for t in value) or DEFAULT_DECISION_THRESHOLDS
    if not all(0 < t < 1 for t in thresholds):
        raise Invalid(f"decision thresholds lie in (0, 1): {thresholds}")
    return thresholds


def _layer_sizes(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"expected a list of layer sizes, got {value!r}")
    return tuple(_positive_int(v) for v in value)


def _replicates(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"expected a whole number >= 0 (0 = no intervals), got {value!r}")
    if 0 < value < 100:
        raise Invalid(f"{value} replicates cannot place a 95% percentile interval: use >= 100")
    return value


def _one_pair(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise Invalid(f"expected a mapping, got {type(value).__name__} {value!r}")
    if len(value) != 1:
        raise Invalid(f"one column: value pair, got {value!r}")
    ((column, item),) = value.items()
    return str(column), str(item)


def _feature_cross(value: Any) -> tuple[str, ...]:
    cross = _strings(value, "column names")
    if len(cross) != 2:
        raise Invalid(f"a cross joins exactly two columns, got {list(cross)}")
    return cross


def _slice_cross(value: Any) -> tuple[str, ...]:
    cross = _strings(value, "column names")
    if len(cross) < 2:
        raise Invalid("a slice cross needs at least two columns")
    return cross


def _delimiter(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise Invalid(
            f"expected one character such as ';' or a tab (write it \"\\t\", in double "
            f"quotes), got {value!r}"
        )
    return value


def _encoding(value: Any) -> str:
    if not isinstance(value, str) or not is_known_encoding(value):
        raise Invalid(
            f"unknown encoding {value!r}: use a Python codec name such as 'utf-8', "
            "'latin-1' or 'cp1252'"
        )
    return value


def _a_list(value: Any) -> Any:
    if not isinstance(value, list):
        raise Invalid(f"expected a list, got {type(value).__name__} {value!r}")
    return value


def _uri(value: Any) -> str:
    if not isinstance(value, str) or not re.match(URI_PATTERN, value):
        raise Invalid(
            f"expected an absolute URI such as 'https://example.org/paper', got {value!r}"
        )
    return value


def _thresholds(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise Invalid(THRESHOLDS_NEEDED)
    return value


PositiveInt = Annotated[int, Field(gt=0), BeforeValidator(_positive_int)]
Texts = names("texts")
Uri = Annotated[
    str, Field(pattern=URI_PATTERN, json_schema_extra={"format": "uri"}), BeforeValidator(_uri)
]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Name = Annotated[str, Field(pattern=NAME_PATTERN), BeforeValidator(_name)]
Text = text("text")
FileName = string("a file name or pattern")
ColumnName = string("a column name")
MetricName = string("a metric name")
ColumnNames = names("column names")
Tokens = names("missing-value tokens")
Delimiter = Annotated[str, Field(min_length=1, max_length=1), BeforeValidator(_delimiter)]
Encoding = Annotated[str, BeforeValidator(_encoding)]
FeatureCross = Annotated[
    tuple[str, ...], Field(min_length=2, max_length=2), BeforeValidator(_feature_cross)
]
SliceCross = Annotated[tuple[str, ...], Field(min_length=2), BeforeValidator(_slice_cross)]
ClassValue = Annotated[str | int, BeforeValidator(_class_value)]
Role = one_of(ROLES, "unknown role {value!r}; use one of {allowed}")
Task = one_of(TASKS, "{value!r} is not supported; use one of {allowed}")
Bound = number()
Gap = number(gt=0, le=1, message="a gap between rates lies in (0, 1], got {value}")
DistanceBound = number(gt=0, le=1, message="a distance bound lies in (0, 1], got {value}")
DecisionThreshold = number(gt=0, lt=1, message="a decision threshold lies in (0, 1), got {value}")
Confidence = number(gt=0, lt=1, message="lies in (0, 1), got {value}")
LearningRate = number(gt=0, message="must be > 0")
Drop = number(ge=0, message="must be >= 0 (a drop, as a positive number)")
Replicates = Annotated[int, Field(ge=0), BeforeValidator(_replicates)]
Boundaries = Annotated[tuple[float, ...], Field(min_length=1), BeforeValidator(_boundaries)]
DecisionThresholds = Annotated[
    tuple[Annotated[float, Field(gt=0, lt=1)], ...], BeforeValidator(_decision_thresholds)
]
LayerSizes = Annotated[
    tuple[Annotated[int, Field(gt=0)], ...], Field(min_length=1), BeforeValidator(_layer_sizes)
]
# `{column: value}` in the file, (column, value) in code.
Slice = Annotated[
    tuple[str, str],
    BeforeValidator(_one_pair),
    WithJsonSchema(
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        }
    ),
]


def _required_in_schema(*keys: str) -> Callable[[dict[str, Any]], None]:
    """Marks `keys` required in the JSON Schema. Their defaults only let the model report
    their absence in its own words: a default fails validation (`validate_default`)."""

    def edit(schema: dict[str, Any]) -> None:
        schema["required"] = [*schema.get("required", []), *keys]
        for key in keys:
            schema["properties"][key].pop("default", None)

    return edit


class Section(BaseModel):
    """A mapping of the spec: a mapping of known keys; a key set to null counts as absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _a_mapping_of_known_keys(cls, data: Any) -> Any:
        _mapping(data)
        allowed = sorted(field.alias or name for name, field in cls.model_fields.items())
        unknown = sorted((key for key in data if key not in allowed), key=str)
        if unknown:
            raise Invalid(f"unknown key(s) {unknown}; allowed keys are {allowed}")
        return {key: value for key, value in data.items() if value is not None}


class FilesSpec(Section):
    """The CSV files, relative to the spec's folder; each a file name or a glob pattern."""

    train: FileName = Field(
        description="The file the model learns from, hash-split into the splits of `split`. "
        "A glob pattern (`parts/train-*.csv`) reads several files with one header.",
        examples=["train.csv", "parts/train-*.csv"],
    )
    test: FileName | None = Field(
        None,
        description="An official test file: the Evaluator's input, never trained on. "
        "Without it the train file also gives a `test` split.",
        examples=["test.csv"],
    )
    delimiter: Delimiter = Field(
        DEFAULT_DELIMITER,
        description="The character between the cells of every file: `;` for the CSV files "
        'of spreadsheets in many European locales, `"\\t"` (in double quotes) for a tab. '
        'Headers and cells may be quoted (`"carat","cut"`).',
        examples=[";", "\t"],
    )
    encoding: Encoding = Field(
        DEFAULT_ENCODING,
        description="The text encoding of every file, a Python codec name: `cp1252` or "
        "`latin-1` for many files from Excel on Windows. A file that starts with a UTF-8 "
        'byte-order mark (Excel\'s "CSV UTF-8") is read as UTF-8 whatever this says. A file '
        "whose name ends in `.gz` is read as gzip-compressed.",
        examples=["latin-1", "cp1252"],
    )

    def patterns(self) -> dict[str, str]:
        """The file (pattern) of each split: `train` and, when given, `test`."""
        return self.model_dump(include={"train", "test"}, exclude_none=True)


class SplitSpec(Section):
    """Hash buckets of the train file per split: a row's bucket decides its split."""

    train: PositiveInt | None = Field(
        None,
        description="Buckets of the training split. Default 4 with a test file, else 8.",
        examples=[4],
    )
    eval: PositiveInt | None = Field(
        None,
        description="Buckets of the evaluation split (early stopping during training). Default 1.",
        examples=[1],
    )
    test: PositiveInt | None = Field(
        None,
        description="Buckets of the test split (the Evaluator's input); only without a test "
        "file. Default 1.",
        examples=[1],
    )


class LabelSpec(Section):
    """What the model predicts."""

    column: ColumnName = Field(
        description="The label column: the one column with role `label`.",
        examples=["income"],
    )
    positive: ClassValue | None = Field(
        None,
        description="Binary classification (required there, refused otherwise): the label "
        "value of the positive class, text or a whole number (a 0/1 column).",
        examples=[">50K", 1],
    )
    classes: tuple[ClassValue, ...] = Field(
        (),
        description="Every label value; the input checks refuse any other value in the label "
        "column. Binary classification: optional, and `positive` must be one of them. "
        f"Multi-class classification: required, at least {MIN_CLASSES}, in the order of the "
        "model's outputs (the probabilities `serving_default` returns).",
        examples=[["<=50K", ">50K"], [0, 1], ["Adelie", "Chinstrap", "Gentoo"]],
    )

    @model_validator(mode="after")
    def _positive_is_a_class(self) -> LabelSpec:
        if self.classes and self.positive is not None and self.positive not in self.classes:
            raise Invalid(
                f"{self.positive!r} is not one of label.classes {self.classes}", key="positive"
            )
        return self


class ColumnSpec(Section):
    """One CSV column and the role it plays."""

    role: Role = Field(
        description="`numeric` (a number, z-scored), `categorical` (a vocabulary), "
        "`ignored` (left out: say why in `reason`) or `label`.",
        examples=["numeric", "ignored"],
    )
    buckets: Boundaries = Field(
        (),
        description="Numeric columns only: strictly increasing bucket boundaries. The bucket "
        "becomes a feature too, and can be sliced, crossed and fairness-gated.",
        examples=[[25, 35, 45, 55, 65]],
    )
    reason: Text = Field(
        "",
        description="Why the column has its role (documentation only), e.g. why it is ignored.",
        examples=["census sampling weight, not a property of the person"],
    )

    @model_validator(mode="after")
    def _only_numbers_have_buckets(self) -> ColumnSpec:
        if self.buckets and self.role != "numeric":
            raise Invalid("only numeric columns can be bucketized", key="buckets")
        return self


def _role_shorthand(value: Any) -> Any:
    return {"role": value} if isinstance(value, str) else value


# `age: numeric` is short for `age: {role: numeric}`.
Column = Annotated[
    ColumnSpec, BeforeValidator(_role_shorthand, json_schema_input_type=Role | ColumnSpec)
]


class SlicingSpec(Section):
    """The slices the Evaluator reports metrics on (and thresholds may bound)."""

    columns: ColumnNames = Field(
        (),
        description="Columns to slice by, one slice per value (per bucket for a bucketized "
        "numeric column): categorical or bucketized columns.",
        examples=[["sex", "race", "age"]],
    )
    crosses: tuple[SliceCross, ...] = Field(
        (),
        description="Column combinations sliced together: one slice per combination of values.",
        examples=[[["sex", "race"]]],
    )


class MaxGapSpec(Section):
    """Largest |rate(group) - rate(overall)| allowed, by rate; give at least one."""

    fpr: Gap | None = Field(None, description="False positive rate.", examples=[0.1])
    fnr: Gap | None = Field(None, description="False negative rate.", examples=[0.2])
    tpr: Gap | None = Field(None, description="True positive rate (recall).", examples=[0.2])
    tnr: Gap | None = Field(None, description="True negative rate.", examples=[0.1])
    fdr: Gap | None = Field(None, description="False discovery rate.", examples=[0.1])
    for_: Gap | None = Field(None, alias="for", description="False omission rate.", examples=[0.1])

    @model_validator(mode="after")
    def _bounds_a_rate(self) -> MaxGapSpec:
        if not self.rates():
            raise Invalid(f"bound at least one rate of {list(GATE_RATES)}")
        return self

    def rates(self) -> dict[str, float]:
        """The bounds given, by rate name (a key of GATE_RATES)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class GateSpec(Section):
    """No blessing when a group's error rate is too far from the overall rate."""

    max_gap: MaxGapSpec = Field(
        description="Bounds on the gap between a group's rate and the overall rate, by rate, "
        "for every group of every sensitive column.",
        examples=[{"fpr": 0.1, "fnr": 0.2}],
    )
    threshold: DecisionThreshold = Field(
        FairnessGate.threshold,
        description="The decision threshold the rates are measured at (binary "
        "classification; a multi-class model's decision is its top class).",
        examples=[0.5],
    )
    min_group_size: PositiveInt = Field(
        FairnessGate.min_group_size,
        description="Groups with fewer test examples are reported, not gated.",
        examples=[500],
    )


class FairnessSpec(Section):
    """Fairness Indicators' rates by group (classification only; for a multi-class model,
    each class's rates against the others)."""

    sensitive_columns: ColumnNames = Field(
        (),
        description="Columns whose groups the fairness rates compare.",
        examples=[["sex", "race"]],
    )
    thresholds: DecisionThresholds = Field(
        DEFAULT_DECISION_THRESHOLDS,
        description="Decision thresholds the rates (FPR, FNR, ...) are reported at, in (0, 1) "
        "(binary classification; a multi-class model's decision is its top class).",
        examples=[[0.3, 0.5, 0.7]],
    )
    gate: GateSpec | None = Field(
        None,
        description="A fairness gate (needs categorical or bucketized sensitive columns).",
        examples=[{"threshold": 0.5, "max_gap": {"fpr": 0.1, "fnr": 0.2}}],
    )


class DriftSpec(Section):
    """Bounds on how far new training data may move from the last data that passed."""

    categorical_max_linf: DistanceBound | None = Field(
        None,
        description="Largest L-infinity distance between the value distributions of a "
        "categorical column (0 = identical, 1 = disjoint).",
        examples=[0.1],
    )
    numeric_max_js: DistanceBound | None = Field(
        None,
        description="Largest Jensen-Shannon divergence between the histograms of a numeric "
        "column (0 = identical, 1 = disjoint).",
        examples=[0.2],
    )


class ThresholdSpec(Section):
    """A bound the candidate model must meet to be blessed (and pushed)."""

    metric: MetricName = Field(
        description="Binary classification: "
        + ", ".join(THRESHOLD_METRICS)
        + ". Regression: "
        + ", ".join(REGRESSION_THRESHOLD_METRICS)
        + ". Multi-class classification: "
        + ", ".join(MULTICLASS_THRESHOLD_METRICS)
        + " (`accuracy` is top-1; `macro_*` average the classes' one-vs-rest metrics; "
        + ", ".join(sorted(PER_CLASS_METRICS))
        + " are one class's, named by `class`).",
        json_schema_extra={
            "enum": sorted(
                {*THRESHOLD_METRICS, *REGRESSION_THRESHOLD_METRICS, *MULTICLASS_THRESHOLD_METRICS}
            )
        },
        examples=["auc", "rmse", "macro_f1"],
    )
    label_class: ClassValue | None = Field(
        None,
        alias="class",
        description="Multi-class classification: the class (a value of `label.classes`) whose "
        f"{', '.join(sorted(PER_CLASS_METRICS))} the bound applies to (one-vs-rest: the class "
        "against all others, a prediction being the top class); required for those metrics, "
        "refused for the others.",
        examples=["Chinstrap"],
    )
    lower_bound: Bound | None = Field(
        None,
        description="The candidate must reach at least this value (an absolute bound, which a "
        "first model, with no baseline, must meet). Give it or `upper_bound`.",
        examples=[0.85],
    )
    upper_bound: Bound | None = Field(
        None,
        description="The candidate must stay at or below this value (for an error metric "
        f"such as {', '.join(sorted(LOWER_IS_BETTER))}).",
        examples=[65],
    )
    max_regression: Drop | None = Field(
        None,
        description="The candidate may be at most this much worse than the last blessed "
        "model (lower, or higher for an error metric); a first run has no baseline.",
        examples=[0.01],
    )
    slice: Slice | None = Field(
        None,
        description="`{column: value}`: the bound applies to that slice only (the column must "
        "be in slicing.columns); without it, to the whole test set.",
        examples=[{"sex": "Female"}],
    )

    @model_validator(mode="after")
    def _an_absolute_bound(self) -> ThresholdSpec:
        if self.lower_bound is None and self.upper_bound is None:
            better = "an upper_bound" if self.metric in LOWER_IS_BETTER else "a lower_bound"
            raise Invalid(
                f"give {self.metric} {better} (an absolute bound that a first model, with no "
                "baseline to compare with, must meet)"
            )
        return self

    @model_validator(mode="after")
    def _bounds_in_order(self) -> ThresholdSpec:
        low, high = self.lower_bound, self.upper_bound
        if low is not None and high is not None and low > high:
            raise Invalid(f"lower_bound {low:g} > upper_bound")
        return self


class BootstrapSpec(Section):
    """Bootstrap confidence intervals on every reported metric."""

    replicates: Replicates = Field(
        Bootstrap.replicates,
        description="Bootstrap replicates: 0 (no intervals) or at least 100.",
        examples=[1000, 0],
    )
    confidence: Confidence = Field(
        Bootstrap.confidence,
        description="Confidence level of the intervals.",
        examples=[0.95],
    )
    seed: WholeNumber = Field(
        Bootstrap.seed,
        description="Seed of the resampling (the same seed, the same intervals).",
        examples=[0],
    )


class EvaluationSpec(Section):
    """How the Evaluator judges the model: thresholds for the blessing, intervals."""

    model_config = ConfigDict(json_schema_extra=_required_in_schema("thresholds"))

    thresholds: Annotated[tuple[ThresholdSpec, ...], BeforeValidator(_thresholds)] = Field(
        (),
        validate_default=True,
        description="Bounds the model must meet to be blessed; at least one with a "
        "`lower_bound` or `upper_bound`.",
        examples=[[{"metric": "auc", "lower_bound": 0.85, "max_regression": 0.01}]],
    )
    min_slice_size: PositiveInt | None = Field(
        None,
        description="Each slice a threshold bounds must have at least this many test examples "
        "(and be in the test data), or the model is not blessed.",
        examples=[100],
    )
    bootstrap: BootstrapSpec = Field(
        BootstrapSpec(),
        description="Bootstrap confidence intervals on every reported metric.",
        examples=[{"replicates": 1000, "confidence": 0.95}],
    )


class AblationSpec(Section):
    """Short retrainings, each without one group of features; analysis only, it gates nothing."""

    groups: Annotated[dict[str, ColumnNames], BeforeValidator(_mapping)] | None = Field(
        None,
        description="Group name -> the features removed together. Default: each feature alone "
        "(or each of `features`).",
        examples=[{"capital": ["capital_gain", "capital_loss"]}],
    )
    features: ColumnNames | None = Field(
        None,
        description="Instead of `groups`: features removed one at a time.",
        examples=[["age", "education"]],
    )
    train_steps: PositiveInt = Field(
        Ablation.train_steps,
        description="Training steps of every short model, the full one included (so they "
        "compare like for like); the cost is (groups + 1) x train_steps.",
        examples=[200],
    )
    replicates: PositiveInt = Field(
        Ablation.replicates,
        description="Bootstrap replicates of the interval on each change.",
        examples=[1000],
    )

    @model_validator(mode="after")
    def _groups_or_features(self) -> AblationSpec:
        if self.groups is not None and self.features is not None:
            raise Invalid("give either 'groups' (name: [columns]) or 'features', not both")
        return self

    def groups_for(self, features: list[str]) -> dict[str, tuple[str, ...]]:
        """The groups to remove, given the spec's features (numeric or categorical columns)."""
        if self.groups is not None:
            return dict(self.groups)
        return {name: (name,) for name in self.features or features}


class OwnerSpec(Section):
    """Who owns the model."""

    name: Text = Field(
        description="A person or team.", examples=["Data science team, Example Corp."]
    )
    contact: Text = Field("", description="How to reach them.", examples=["ds-team@example.org"])


class LicenseSpec(Section):
    """The model's licence: `identifier` or `custom_text`, one of the two."""

    identifier: Text | None = Field(
        None,
        description="An SPDX licence identifier (https://spdx.org/licenses/), or `proprietary`.",
        examples=["Apache-2.0"],
    )
    custom_text: Text | None = Field(
        None,
        description="The terms, when no SPDX identifier names them.",
        examples=["For research use only; credit the data set's authors."],
    )

    @model_validator(mode="after")
    def _one_of_the_two(self) -> LicenseSpec:
        if (self.identifier is None) == (self.custom_text is None):
            raise Invalid("give either 'identifier' or 'custom_text', one of the two")
        return self


class CitationSpec(Section):
    """How to cite the model or the work it rests on."""

    citation: Text = Field(
        description="The citation itself.",
        examples=["Becker, B. and Kohavi, R. (1996). Adult. UCI Machine Learning Repository."],
    )
    style: Text = Field("", description="Its style, e.g. APA or BibTeX.", examples=["APA"])


class RiskSpec(Section):
    """An ethical consideration: a risk of using the model, and how it is mitigated."""

    name: Text = Field(
        description="The risk.",
        examples=["The label reflects historical pay gaps by sex and race."],
    )
    mitigation_strategy: Text = Field(
        "",
        description="What addresses it (or that nothing does).",
        examples=["Error rates per group are reported and gated (fairness.gate)."],
    )


class CardDataSpec(Section):
    """The data set as the model card describes it (the split sizes come from the run)."""

    name: Text = Field(
        "",
        description="Its name. Default: the spec's `name`.",
        examples=["UCI Adult (census income)"],
    )
    link: Uri | None = Field(
        None,
        description="Where the data set is published (an absolute URI).",
        examples=["https://archive.ics.uci.edu/dataset/2/adult"],
    )
    description: Text = Field(
        "",
        description="Where the data come from, when and how they were collected. Default: "
        "the spec's `description`.",
        examples=["48,842 people from the 1994 US Current Population Survey."],
    )
    sensitive_data: Texts = Field(
        (),
        description="Sensitive data it holds, beyond the columns of "
        "`fairness.sensitive_columns` (which the card names anyway).",
        examples=[["sex and race as recorded by the 1994 survey"]],
    )


class ModelCardSpec(Section):
    """What the model card says that no run can measure (Model Card Toolkit's fields)."""

    name: Text = Field(
        "",
        description="The model's name. Default: the data set's name and task.",
        examples=["Census income classifier"],
    )
    overview: Text = Field(
        "",
        description="One or two sentences on what the model does. Default: the spec's "
        "`description`.",
        examples=["Predicts whether a person's income exceeds $50K a year."],
    )
    documentation: Text = Field(
        "",
        description="A longer description of the model and its use; the card adds the "
        "blessing decision and its thresholds after it.",
        examples=["Trained and evaluated by the TFX pipeline of this repository."],
    )
    owners: Annotated[tuple[OwnerSpec, ...], BeforeValidator(_a_list)] = Field(
        (),
        description="Who owns the model.",
        examples=[[{"name": "Data science team", "contact": "ds-team@example.org"}]],
    )
    licenses: Annotated[tuple[LicenseSpec, ...], BeforeValidator(_a_list)] = Field(
        (),
        description="The model's licence(s).",
        examples=[[{"identifier": "Apache-2.0"}]],
    )
    references: Annotated[tuple[Uri, ...], BeforeValidator(_a_list)] = Field(
        (),
        description="Links to more about the model or its data (absolute URIs).",
        examples=[["https://doi.org/10.24432/C5XW20"]],
    )
    citations: Annotated[tuple[CitationSpec, ...], BeforeValidator(_a_list)] = Field(
        (),
        description="How to cite the model or the work it rests on.",
        examples=[[{"citation": "Kohavi, R. (1996). Scaling up the accuracy of naive-Bayes "
                    "classifiers. KDD-96.", "style": "text"}]],
    )  # fmt: skip
    dataset: CardDataSpec = Field(
        CardDataSpec(),
        description="The data set as the card describes it.",
        examples=[{"name": "UCI Adult", "link": "https://archive.ics.uci.edu/dataset/2/adult"}],
    )
    users: Texts = Field(
        (),
        description="Who the model is for.",
        examples=[["Data scientists evaluating the pipeline on public data"]],
    )
    use_cases: Texts = Field(
        (),
        description="What it is meant to be used for (and, said as a limitation, what not).",
        examples=[["Teaching slice and fairness analysis"]],
    )
    limitations: Texts = Field(
        (),
        description="Known limitations: data it should not be trusted on, what degrades it. "
        "The card adds the ones the run measured (small slices, slices a baseline beats).",
        examples=[["Incomes are 1994 dollars: the $50K line is not today's."]],
    )
    tradeoffs: Texts = Field(
        (),
        description="Known trade-offs. The card adds the error rates at each decision "
        "threshold of `fairness.thresholds`.",
        examples=[["A lower decision threshold finds more high earners and flags more others."]],
    )
    ethical_considerations: Annotated[tuple[RiskSpec, ...], BeforeValidator(_a_list)] = Field(
        (),
        description="Risks of using the model and their mitigation. The card adds the "
        "fairness gate's verdict.",
        examples=[[{"name": "Not for decisions about individuals",
                    "mitigation_strategy": "Stated as out of scope here."}]],
    )  # fmt: skip


class TrainingSpec(Section):
    """Model and optimisation settings (`--train-steps` overrides `train_steps`)."""

    train_steps: PositiveInt = Field(
        Training.train_steps, description="Training steps (batches).", examples=[1000]
    )
    steps_per_evaluation: PositiveInt = Field(
        Training.steps_per_evaluation,
        description="Training steps between two evaluations (early stopping checks).",
        examples=[100],
    )
    eval_steps: PositiveInt = Field(
        Training.eval_steps,
        description="Batches of the eval split in each evaluation.",
        examples=[50],
    )
    batch_size: PositiveInt = Field(
        Training.batch_size, description="Examples per batch.", examples=[256]
    )
    learning_rate: LearningRate = Field(
        Training.learning_rate, description="Adam's learning rate.", examples=[0.002]
    )
    hidden_units: LayerSizes = Field(
        Training.hidden_units,
        description="Sizes of the deep part's hidden layers, first to last.",
        examples=[[64, 32]],
    )
    embedding_dim: PositiveInt = Field(
        Training.embedding_dim,
        description="Size of each categorical column's embedding.",
        examples=[8],
    )
    early_stopping_patience: PositiveInt = Field(
        Training.early_stopping_patience,
        description="Evaluations without improvement (of the eval AUC; of the eval loss for a "
        "multi-class or regression model) before training stops, keeping the best weights.",
        examples=[3],
    )
    cross_hash_buckets: PositiveInt = Field(
        Training.cross_hash_buckets,
        description="Hash buckets of each feature cross.",
        examples=[1000],
    )


class SpecFile(Section):
    """A data set spec (`dataset.yaml`): the one description of a data set, from which the
    pipeline derives its features, model, slices and thresholds."""

    model_config = ConfigDict(json_schema_extra=_required_in_schema("evaluation"))

    name: Name = Field(
        description="Short identifier of the data set (letters, digits, underscores): it names "
        "the pipeline and its output folder.",
        examples=["census"],
    )
    description: Text = Field(
        "",
        description="One line on the data and what is predicted, for reports.",
        examples=["UCI Adult census income; predict income > $50K."],
    )
    task: Task = Field(
        TASKS[0],
        description="`binary_classification` (the label has a positive class), "
        "`multiclass_classification` (the label is one of three or more classes) or "
        "`regression` (the label is a number).",
        examples=["regression", "multiclass_classification"],
    )
    files: FilesSpec = Field(
        description="The CSV files, relative to the spec's folder.",
        examples=[{"train": "train.csv", "test": "test.csv"}],
    )
    split: SplitSpec = Field(
        SplitSpec(),
        description="Hash buckets of the train file per split: `{train: 4, eval: 1}` trains on "
        "80% of its rows. Default 4:1 with a test file, 8:1:1 without one.",
        examples=[{"train": 4, "eval": 1}],
    )
    missing_values: Tokens = Field(
        (),
        description="Cell values that mean missing, besides an empty cell, in every column "
        "(numeric ones included): a missing numeric is imputed, a missing category is its "
        "own category. Matched after trimming spaces.",
        examples=[["?"], ["N/A", "NA"]],
    )
    label: LabelSpec = Field(
        description="The label column and, for a classification, its positive class or its "
        "classes.",
        examples=[
            {"column": "income", "positive": ">50K", "classes": ["<=50K", ">50K"]},
            {"column": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"]},
        ],
    )
    columns: Annotated[dict[str, Column], BeforeValidator(_mapping)] = Field(
        description="Every column of the CSV header, and only those, with its role: a role "
        "alone (`workclass: categorical`) or a mapping.",
        examples=[
            {
                "age": {"role": "numeric", "buckets": [25, 35, 45]},
                "workclass": "categorical",
                "fnlwgt": {"role": "ignored", "reason": "a sampling weight"},
                "income": "label",
            }
        ],
    )
    feature_crosses: tuple[FeatureCross, ...] = Field(
        (),
        description="Pairs of categorical or bucketized columns crossed (hashed) into the "
        "wide part of the model.",
        examples=[[["education", "occupation"], ["age", "sex"]]],
    )
    slicing: SlicingSpec = Field(
        SlicingSpec(),
        description="The slices the Evaluator reports metrics on.",
        examples=[{"columns": ["sex", "race"], "crosses": [["sex", "race"]]}],
    )
    fairness: FairnessSpec | None = Field(
        None,
        description="Fairness rates by group, and an optional gate (classification: for a "
        "multi-class model each class's rates against the others; for a regression, slice by "
        "the sensitive columns and bound their errors).",
        examples=[{"sensitive_columns": ["sex", "race"], "thresholds": [0.5]}],
    )
    drift: DriftSpec | None = Field(
        None,
        description="Stop a run whose training data moved too far from the last data that "
        "passed this check (a first run passes).",
        examples=[{"categorical_max_linf": 0.1, "numeric_max_js": 0.2}],
    )
    ablation: AblationSpec | None = Field(
        None,
        description="Retrain short models without groups of features and report the change.",
        examples=[{"train_steps": 200, "groups": {"protected": ["sex", "race"]}}],
    )
    evaluation: EvaluationSpec = Field(
        {},
        validate_default=True,
        description="The blessing thresholds (required) and the metrics' intervals.",
        examples=[{"thresholds": [{"metric": "auc", "lower_bound": 0.85}]}],
    )
    training: TrainingSpec = Field(
        TrainingSpec(),
        description="Model and optimisation settings.",
        examples=[{"train_steps": 1000, "batch_size": 256}],
    )
    schema_file: FileName | None = Field(
        None,
        description="A curated TFDV schema (relative to the spec's folder) used instead of "
        "inferring one; `python -m pipeline export-schema` writes one to start from.",
        examples=["schema.pbtxt"],
    )
    score: FileName | None = Field(
        None,
        description="A CSV file each run scores (relative to the spec's folder; a glob pattern "
        "reads several): every feature column, the label optional, other columns (an id) "
        "kept. Only a blessed model scores it (BulkInferrer); the run's PredictionCsv "
        "artifact holds `predictions.csv`, with the columns `python -m pipeline predict` adds.",
        examples=["new_customers.csv"],
    )
    model_card: ModelCardSpec = Field(
        ModelCardSpec(),
        description="What the model card (`model_card.json`, in Model Card Toolkit's schema, "
        "and the report's Model card section) says that no run can measure: intended use, "
        "limitations, owners, licence, references. No component reads it: editing it "
        "changes only the card.",
        examples=[{"overview": "Predicts income > $50K.", "limitations": ["1994 data"]}],
    )

    @property
    def features(self) -> list[str]:
        """The columns the model reads, in file order."""
        return [n for n, c in self.columns.items() if c.role in ("numeric", "categorical")]

    def split_buckets(self) -> dict[str, int]:
        """The split's buckets, the defaults filled in."""
        default = SPLIT_WITH_TEST_FILE if self.files.test else SPLIT_WITHOUT_TEST_FILE
        return {**default, **self.split.model_dump(exclude_none=True)}

    def _is_category(self, name: str) -> bool:
        column = self.columns[name]
        return column.role == "categorical" or bool(column.buckets)

    def _described(self, names: tuple[str, ...], key: str) -> None:
        for name in names:
            if name not in self.columns:
                raise Invalid(f"column {name!r} is not described under 'columns'", key=key)

    @model_validator(mode="after")
    def _no_test_split_beside_a_test_file(self) -> SpecFile:
        if self.files.test and self.split.test is not None:
            raise Invalid(
                "a test file is given, so the train file is split train/eval only",
                key="split.test",
            )
        return self

    @model_validator(mode="after")
    def _one_label_column(self) -> SpecFile:
        labels = [n for n, c in self.columns.items() if c.role == "label"]
        if labels != [self.label.column]:
            raise Invalid(
                f"{self.label.column!r} must be the one column with role 'label' (found {labels})",
                key="label.column",
            )
        return self

    @model_validator(mode="after")
    def _label_fits_the_task(self) -> SpecFile:
        if self.task == "regression":
            for key in ("positive", "classes"):
                if key in self.label.model_fields_set:
                    raise Invalid(
                        "a regression label is a number, with no classes: remove the key, or "
                        "set task: binary_classification",
                        key=f"label.{key}",
                    )
        elif self.task == "multiclass_classification":
            self._multiclass_label()
        elif self.label.positive is None:
            raise Invalid("is required but missing", key="label.positive")
        return self

    def _multiclass_label(self) -> None:
        if self.label.positive is not None:
            raise Invalid(
                "a multi-class label has no positive class: remove the key (every class of "
                "label.classes is scored), or set task: binary_classification",
                key="label.positive",
            )
        classes = self.label.classes
        if "classes" not in self.label.model_fields_set:
            raise Invalid(
                "is required for a multi-class label: list every class, in the order of the "
                "model's outputs",
                key="label.classes",
            )
        texts = [str(c) for c in classes]
        repeated = sorted({t for t in texts if texts.count(t) > 1})
        if repeated:
            raise Invalid(f"lists {repeated} more than once", key="label.classes")
        if len(classes) < MIN_CLASSES:
            raise Invalid(
                f"a multi-class label needs at least {MIN_CLASSES} classes, got {list(classes)}; "
                "for two, set task: binary_classification and label.positive",
                key="label.classes",
            )

    @model_validator(mode="after")
    def _something_to_learn_from(self) -> SpecFile:
        if not self.features:
            raise Invalid(
                "no column has role 'numeric' or 'categorical': nothing to learn from",
                key="columns",
            )
        return self

    @model_validator(mode="after")
    def _crosses_join_categories(self) -> SpecFile:
        for i, cross in enumerate(self.feature_crosses):
            key = f"feature_crosses[{i}]"
            self._described(cross, key)
            for name in cross:
                if not self._is_category(name):
                    raise Invalid(
                        f"{name!r} must be categorical or a bucketized numeric to cross", key=key
                    )
        return self

    @model_validator(mode="after")
    def _slices_are_categories(self) -> SpecFile:
        self._described(self.slicing.columns, "slicing.columns")
        for i, cross in enumerate(self.slicing.crosses):
            self._described(cross, f"slicing.crosses[{i}]")
        for name in {*self.slicing.columns, *(c for x in self.slicing.crosses for c in x)}:
            if not self._is_category(name):
                raise Invalid(
                    f"{name!r} is {self.columns[name].role}: slice on categorical or "
                    "bucketized columns",
                    key="slicing",
                )
        return self

    @model_validator(mode="after")
    def _multiclass_decisions_are_the_top_class(self) -> SpecFile:
        if self.task != "multiclass_classification" or not self.fairness:
            return self
        refused = [("fairness.thresholds", self.fairness, "thresholds")]
        if self.fairness.gate:
            refused.append(("fairness.gate.threshold", self.fairness.gate, "threshold"))
        for key, section, field in refused:
            if field in section.model_fields_set:
                raise Invalid(
                    "a multi-class model predicts its top class, with no decision threshold: "
                    "remove the key (the rates are each class's against the others)",
                    key=key,
                )
        return self

    @model_validator(mode="after")
    def _fairness_needs_classification(self) -> SpecFile:
        if self.task == "regression" and self.fairness and self.fairness.model_fields_set:
            raise Invalid(
                "the fairness rates (FPR, FNR, ...) need a classification task: for a "
                "regression label, slice by the sensitive columns (slicing.columns) and bound "
                "their errors",
                key="fairness",
            )
        return self

    @model_validator(mode="after")
    def _gate_has_groups(self) -> SpecFile:
        if not self.fairness:
            return self
        sensitive = self.fairness.sensitive_columns
        self._described(sensitive, "fairness.sensitive_columns")
        if not self.fairness.gate:
            return self
        if not sensitive:
            raise Invalid(
                "bounds gaps between the groups of fairness.sensitive_columns: list some",
                key="fairness.gate",
            )
        for name in sensitive:
            if not self._is_category(name):
                raise Invalid(
                    f"{name!r} is {self.columns[name].role}: the gate needs categorical or "
                    "bucketized columns",
                    key="fairness.sensitive_columns",
                )
        return self

    @model_validator(mode="after")
    def _threshold_metrics_fit_the_task(self) -> SpecFile:
        allowed = {
            "regression": REGRESSION_THRESHOLD_METRICS,
            "multiclass_classification": MULTICLASS_THRESHOLD_METRICS,
        }.get(self.task, THRESHOLD_METRICS)
        for i, threshold in enumerate(self.evaluation.thresholds):
            if threshold.metric not in allowed:
                raise Invalid(
                    f"{threshold.metric!r} is not one of {sorted(allowed)} (task: {self.task})",
                    key=f"evaluation.thresholds[{i}].metric",
                )
            self._threshold_class(i, threshold)
        return self

    def _threshold_class(self, i: int, threshold: ThresholdSpec) -> None:
        """A multi-class bound on one class's metric names a declared class; no other has one."""
        key = f"evaluation.thresholds[{i}].class"
        per_class = self.task == "multiclass_classification" and threshold.metric in (
            PER_CLASS_METRICS
        )
        if threshold.label_class is None:
            if per_class:
                raise Invalid(
                    f"a multi-class {threshold.metric} is one class's: name the class, one of "
                    f"{list(self.label.classes)} (or bound macro_{threshold.metric})",
                    key=key,
                )
            return
        if not per_class:
            what = (
                f"multi-class {sorted(PER_CLASS_METRICS)}"
                if self.task == "multiclass_classification"
                else "a multi-class task"
            )
            raise Invalid(f"only bounds on {what} name a class: remove the key", key=key)
        if str(threshold.label_class) not in [str(c) for c in self.label.classes]:
            raise Invalid(
                f"{threshold.label_class!r} is not one of label.classes {list(self.label.classes)}",
                key=key,
            )

    @model_validator(mode="after")
    def _threshold_slices_are_sliced(self) -> SpecFile:
        for i, threshold in enumerate(self.evaluation.thresholds):
            if threshold.slice and threshold.slice[0] not in self.slicing.columns:
                raise Invalid(
                    f"column {threshold.slice[0]!r} is not in slicing.columns "
                    f"{list(self.slicing.columns)}",
                    key=f"evaluation.thresholds[{i}].slice",
                )
        return self

    @model_validator(mode="after")
    def _ablation_removes_features(self) -> SpecFile:
        if not self.ablation:
            return self
        groups = self.ablation.groups_for(self.features)
        if not groups:
            raise Invalid("name at least one group of columns to remove", key="ablation.groups")
        for name, group in groups.items():
            key = (
                f"ablation.groups.{name}"
                if self.ablation.groups is not None
                else "ablation.features"
            )
            if not group:
                raise Invalid("a group removes at least one column", key=key)
            unknown = [c for c in group if c not in self.features]
            if unknown:
                raise Invalid(
                    f"{unknown} are not features (numeric or categorical columns)", key=key
                )
        return self


def dotted_key(loc: tuple[str | int, ...] | list[str | int], below: str = "") -> str:
    """`('evaluation', 'thresholds', 0, 'metric')` -> 'evaluation.thresholds[0].metric'."""
    key = ""
    for part in [*loc, *([below] if below else [])]:
        if isinstance(part, int):
            key += f"[{part}]"
        elif key and not str(part).startswith("["):
            key += f".{part}"
        else:
            key += str(part)
    return key or "<top level>"


def first_error(error: ValidationError) -> tuple[str, str]:
    """The dotted key and the message of the first problem in `error`, in our words.

    Pydantic reports every problem it finds; a user fixes one at a time, in file order.
    """
    detail = error.errors(include_url=False)[0]
    loc = list(detail["loc"])
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        return dotted_key(loc, cause.key), str(cause)
    if detail["type"] == "missing":
        return dotted_key(loc), "is required but missing"
    if loc and loc[-1] == "[key]":  # a mapping's key, such as a column name
        return dotted_key(loc[:-2]), f"expected names (text) as keys, got {loc[-2]!r}"
    # A type no helper above checks: pydantic's words, in the loader's form.
    message = str(detail["msg"])
    return dotted_key(loc), f"{message[:1].lower()}{message[1:]}, got {detail['input']!r}"
