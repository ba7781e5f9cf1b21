"""The data set description as the code reads it: frozen dataclasses, built by `load_spec`.

Everything else (the module file's features and model, the eval_config's slices and
thresholds, the pipeline's splits) is derived from a `DatasetSpec`.

The file's schema is a separate layer: pydantic models, one per section of the YAML file
(`pipeline.spec.schema`); `pipeline.spec.loader` validates a file with them and builds these
dataclasses from the result. Why not use the pydantic models here too: the file's shape is
not the code's (columns are a mapping keyed by name in the file and a tuple of `Column`
here; the slicing, fairness and evaluation sections are flat here; the spec's folder is not
in the file), and the code relies on what frozen dataclasses do: `dataclasses.replace` (the
component views, the tests), positional construction (`Threshold("example_count", ...)` in
eval_config), `dataclasses.asdict` for TFX's custom_config, and rebuilding a spec in an
executor (`from_config`) with no second validation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline.metrics.catalogue import LOWER_IS_BETTER

ROLES = ("numeric", "categorical", "ignored", "label")
TASKS = ("binary_classification", "multiclass_classification", "regression")
SPLIT_NAMES = ("train", "eval", "test")


class SpecError(ValueError):
    """A data set spec is invalid; the message names the file and the key."""


@dataclasses.dataclass(frozen=True)
class Column:
    """One CSV column and the role it plays.

    Attributes:
        name: Column name, as in the CSV header.
        role: One of `ROLES`.
        buckets: Bucket boundaries for a numeric column that is also bucketized.
        reason: Why a column is ignored (documentation only).
    """

    name: str
    role: str
    buckets: tuple[float, ...] = ()
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Label:
    """The label column; for binary classification also its positive class (None
    otherwise); for multi-class classification its classes, in the order of the model's
    outputs (class id i is `classes[i]`)."""

    column: str
    positive: str | int | None = None
    classes: tuple[str | int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Threshold:
    """A model-validation threshold on an overall metric.

    Attributes:
        metric: A key of `THRESHOLD_METRICS` (or of `REGRESSION_THRESHOLD_METRICS`).
        lower_bound: The candidate must reach at least this value (absolute).
        max_regression: The candidate may be at most this much worse than the baseline
            (below it, or above it for a metric in `LOWER_IS_BETTER`).
        slice: (column, value) of a slice column the bound applies to; None = overall.
        upper_bound: The candidate must stay at or below this value (absolute).
        label_class: For a multi-class metric of one class (`PER_CLASS_METRICS`), the
            class (a value of `label.classes`); None otherwise.
    """

    metric: str
    lower_bound: float | None
    max_regression: float | None = None
    slice: tuple[str, str] | None = None
    upper_bound: float | None = None
    label_class: str | int | None = None

    @property
    def lower_is_better(self) -> bool:
        """Whether a smaller value of the metric is the better model (RMSE, not AUC)."""
        return self.metric in LOWER_IS_BETTER

    @property
    def where(self) -> str:
        """The slice the bound applies to, named as reports name slices."""
        return f"{self.slice[0]}={self.slice[1]}" if self.slice else "Overall"


@dataclasses.dataclass(frozen=True)
class Training:
    """Model and optimisation settings for `module_file.run_fn`."""

    train_steps: int = 2000
    steps_per_evaluation: int = 200
    eval_steps: int = 50
    batch_size: int = 128
    learning_rate: float = 0.001
    hidden_units: tuple[int, ...] = (64, 32)
    embedding_dim: int = 8
    early_stopping_patience: int = 3
    cross_hash_buckets: int = 1000


@dataclasses.dataclass(frozen=True)
class Drift:
    """Bounds on how far new training data may move from the last validated data.

    Attributes:
        categorical_max_linf: Largest L-infinity distance allowed between the value
            distributions of a categorical column (0 = identical, 1 = disjoint).
        numeric_max_js: Largest Jensen-Shannon divergence allowed between the
            histograms of a numeric column (0 = identical, 1 = disjoint).
    """

    categorical_max_linf: float | None = None
    numeric_max_js: float | None = None


@dataclasses.dataclass(frozen=True)
class Bootstrap:
    """Bootstrap confidence intervals on every reported metric (`replicates: 0` = none)."""

    replicates: int = 1000
    confidence: float = 0.95
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class FairnessGate:
    """Bounds on how far a group's error rate may be from the overall rate.

    Attributes:
        max_gap: Largest |rate(group) - rate(overall)| allowed, by rate (a key of
            GATE_RATES), for every group of every sensitive column.
        threshold: The decision threshold the rates are measured at.
        min_group_size: Groups with fewer test examples are reported, not gated.
    """

    max_gap: dict[str, float]
    threshold: float = 0.5
    min_group_size: int = 30


@dataclasses.dataclass(frozen=True)
class Ablation:
    """Short retrainings, each without one group of features (components/ablation).

    Attributes:
        groups: Group name -> the columns removed together (default: each feature alone).
        train_steps: Training steps of every short model, the full one included, so that
            they compare like for like. This bounds the cost: (groups + 1) x train_steps.
        replicates: Bootstrap replicates of the interval on each change.
    """

    groups: dict[str, tuple[str, ...]]
    train_steps: int = 300
    replicates: int = 1000


@dataclasses.dataclass(frozen=True)
class Owner:
    """Who owns the model, and how to reach them."""

    name: str
    contact: str = ""


@dataclasses.dataclass(frozen=True)
class License:
    """The model's licence: an SPDX identifier, or the text of a custom licence."""

    identifier: str = ""
    custom_text: str = ""


@dataclasses.dataclass(frozen=True)
class Citation:
    """How to cite the model or the work it rests on."""

    citation: str
    style: str = ""


@dataclasses.dataclass(frozen=True)
class Risk:
    """An ethical consideration: a risk and how it is mitigated."""

    name: str
    mitigation_strategy: str = ""


@dataclasses.dataclass(frozen=True)
class CardData:
    """What a model card says about the data set beyond its files and sizes."""

    name: str = ""
    link: str = ""
    description: str = ""
    sensitive_data: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """What a model card says that no run can measure: intended use, limitations, owners.

    From the spec's `model_card:` section; the card's numbers come from the run
    (`pipeline.reports.model_card`). Field names follow Model Card Toolkit's schema.
    """

    name: str = ""
    overview: str = ""
    documentation: str = ""
    owners: tuple[Owner, ...] = ()
    licenses: tuple[License, ...] = ()
    references: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    dataset: CardData = CardData()
    users: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    tradeoffs: tuple[str, ...] = ()
    ethical_considerations: tuple[Risk, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """The card section from its `dataclasses.asdict` form (or the schema's dump)."""
        data = dict(data)
        data["owners"] = tuple(Owner(**o) for o in data.get("owners", ()))
        data["licenses"] = tuple(License(**x) for x in data.get("licenses", ()))
        data["citations"] = tuple(Citation(**c) for c in data.get("citations", ()))
        data["ethical_considerations"] = tuple(
            Risk(**r) for r in data.get("ethical_considerations", ())
        )
        dataset = dict(data.get("dataset") or {})
        dataset["sensitive_data"] = tuple(dataset.get("sensitive_data", ()))
        data["dataset"] = CardData(**dataset)
        for key in ("references", "users", "use_cases", "limitations", "tradeoffs"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A described data set. Build it with `load_spec`, not by hand."""

    name: str
    directory: Path
    spec_path: Path
    description: str
    task: str
    files: dict[str, str]
    split: dict[str, int]
    missing_values: tuple[str, ...]
    label: Label
    columns: tuple[Column, ...]
    feature_crosses: tuple[tuple[str, str], ...]
    slice_columns: tuple[str, ...]
    slice_crosses: tuple[tuple[str, ...], ...]
    sensitive_columns: tuple[str, ...]
    fairness_thresholds: tuple[float, ...]
    thresholds: tuple[Threshold, ...]
    training: Training
    schema_file: Path | None = None
    drift: Drift | None = None
    min_slice_size: int | None = None
    bootstrap: Bootstrap = Bootstrap()
    fairness_gate: FairnessGate | None = None
    ablation: Ablation | None = None
    # A file (or glob pattern) each run scores, relative to `directory`.
    score: str | None = None
    model_card: ModelCard = ModelCard()
    # How every file is read (`pipeline.spec.csv_format`): the `files` section's keys.
    delimiter: str = ","
    encoding: str = "utf-8"

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def is_multiclass(self) -> bool:
        return self.task == "multiclass_classification"

    @property
    def class_names(self) -> list[str]:
        """A multi-class label's classes as text, by class id (as the label is read)."""
        return [str(c) for c in self.label.classes]

    def columns_with_role(self, role: str) -> list[str]:
        """Names of the columns that have `role`, in file order."""
        return [c.name for c in self.columns if c.role == role]

    @property
    def numeric_features(self) -> list[str]:
        return self.columns_with_role("numeric")

    @property
    def categorical_features(self) -> list[str]:
        return self.columns_with_role("categorical")

    @property
    def bucketized_features(self) -> dict[str, tuple[float, ...]]:
        return {c.name: c.buckets for c in self.columns if c.buckets}

    @property
    def float_columns(self) -> list[str]:
        """The columns whose values are numbers by the spec, in every file: the numeric
        features, and a regression's label. ExampleGen writes them as floats, so a column
        of whole numbers in one file and decimals in another has one type."""
        label = [self.label.column] if self.is_regression else []
        return [*self.numeric_features, *label]

    @property
    def raw_feature_columns(self) -> list[str]:
        """The columns the model reads (features only: no label, nothing ignored)."""
        return [c.name for c in self.columns if c.role in ("numeric", "categorical")]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def file_path(self, split: str) -> Path:
        return self.directory / self.files[split]

    @property
    def has_test_file(self) -> bool:
        return "test" in self.files

    def for_transform(self) -> DatasetSpec:
        """Only what Transform (and the data gate) read: columns, label, crosses.

        Components get the part of the spec they use, so that editing, say, a threshold
        re-runs the Evaluator but leaves Transform and Trainer cached. No component reads
        the model card: editing it changes only the card the runner writes after a run.
        """
        return dataclasses.replace(
            self,
            description="",
            slice_columns=(),
            slice_crosses=(),
            sensitive_columns=(),
            fairness_thresholds=(),
            thresholds=(),
            training=Training(cross_hash_buckets=self.training.cross_hash_buckets),
            schema_file=None,
            drift=None,
            min_slice_size=None,
            bootstrap=Bootstrap(),
            fairness_gate=None,
            ablation=None,
            score=None,
            model_card=ModelCard(),
        )

    def for_trainer(self) -> DatasetSpec:
        """What Trainer reads: the Transform part plus the training settings."""
        return dataclasses.replace(self.for_transform(), training=self.training)

    def to_config(self) -> dict[str, Any]:
        """A JSON-able dict for TFX `custom_config`, read back with `from_config`."""
        data = dataclasses.asdict(self)
        data["directory"] = str(self.directory)
        data["spec_path"] = str(self.spec_path)
        data["schema_file"] = str(self.schema_file) if self.schema_file else None
        return data

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> DatasetSpec:
        """Rebuild a spec from `to_config` output (inside TFX executors)."""
        data = dict(data)
        data["directory"] = Path(data["directory"])
        data["spec_path"] = Path(data["spec_path"])
        data["schema_file"] = Path(data["schema_file"]) if data["schema_file"] else None
        data["label"] = Label(**{**data["label"], "classes": tuple(data["label"]["classes"])})
        data["columns"] = tuple(
            Column(**{**c, "buckets": tuple(c["buckets"])}) for c in data["columns"]
        )
        data["thresholds"] = tuple(
            Threshold(**{**t, "slice": tuple(t["slice"]) if t.get("slice") else None})
            for t in data["thresholds"]
        )
        training = dict(data["training"])
        training["hidden_units"] = tuple(training["hidden_units"])
        data["training"] = Training(**training)
        data["drift"] = Drift(**data["drift"]) if data.get("drift") else None
        data["bootstrap"] = Bootstrap(**data.get("bootstrap") or {})
        gate = data.get("fairness_gate")
        data["fairness_gate"] = FairnessGate(**gate) if gate else None
        ablation = data.get("ablation")
        if ablation:
            groups = {k: tuple(v) for k, v in ablation["groups"].items()}
            data["ablation"] = Ablation(**{**ablation, "groups": groups})
        data["model_card"] = ModelCard.from_dict(data.get("model_card") or {})
        for key in ("feature_crosses", "slice_crosses"):
            data[key] = tuple(tuple(x) for x in data[key])
        for key in ("missing_values", "slice_columns", "sensitive_columns", "fairness_thresholds"):
            data[key] = tuple(data[key])
        return cls(**data)
