"""The data set description: one YAML file per data set, the single source of truth.

Everything else (the module file's features and model, the eval_config's slices and
thresholds, the pipeline's splits) is derived from a `DatasetSpec`. Loading validates
the file against itself and against the CSV headers, and every error names the file and
the bad key or column, and says how to fix it.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from pipeline.spec.reader import ConfigReader as _Reader

ROLES = ("numeric", "categorical", "ignored", "label")
TASKS = ("binary_classification", "regression")
SPLIT_NAMES = ("train", "eval", "test")
# Metric names the spec may put thresholds on, mapped to TFMA metric class names.
THRESHOLD_METRICS = {
    "auc": "AUC",
    "binary_accuracy": "BinaryAccuracy",
    "auc_precision_recall": "AUCPrecisionRecall",
    "precision": "Precision",
    "recall": "Recall",
}
# The same for a regression task, mapped to the metric names TFMA writes (the first four
# from `pipeline.metrics.regression`, the last one TFMA's own).
REGRESSION_THRESHOLD_METRICS = {
    "rmse": "root_mean_squared_error",
    "rmsle": "root_mean_squared_log_error",
    "r2": "r_squared",
    "adjusted_r2": "adjusted_r_squared",
    "mae": "mean_absolute_error",
}
# Metrics where a smaller value is the better model (bounded above, regress upwards).
LOWER_IS_BETTER = frozenset({"rmse", "rmsle", "mae"})
# Error rates the fairness gate can bound (FPR, FNR, TPR, TNR, FDR, FOR).
GATE_RATES = ("fpr", "fnr", "tpr", "tnr", "fdr", "for")


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
    """The label column; for classification also its positive class (None in regression)."""

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
    """

    metric: str
    lower_bound: float | None
    max_regression: float | None = None
    slice: tuple[str, str] | None = None
    upper_bound: float | None = None

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

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

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
        re-runs the Evaluator but leaves Transform and Trainer cached.
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
        for key in ("feature_crosses", "slice_crosses"):
            data[key] = tuple(tuple(x) for x in data[key])
        for key in ("missing_values", "slice_columns", "sensitive_columns", "fairness_thresholds"):
            data[key] = tuple(data[key])
        return cls(**data)


def _read_header(path: Path, reader: _Reader, key: str) -> list[str]:
    """The header of `path`, or of the first file its glob pattern matches."""
    matches = sorted(p for p in path.parent.glob(path.name) if p.is_file())
    if not matches:
        raise reader.fail(key, f"file {path} does not exist")
    path = matches[0]
    with path.open(newline="") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise reader.fail(key, f"file {path} is empty: it needs a header row")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise reader.fail(key, f"file {path} repeats the column(s) {duplicates} in its header")
    return header


def _parse_columns(raw: Any, r: _Reader) -> tuple[Column, ...]:
    columns = []
    for name, value in r.mapping(raw, "columns").items():
        key = f"columns.{name}"
        if isinstance(value, str):
            value = {"role": value}
        value = r.mapping(value, key)
        r.known(value, key, {"role", "buckets", "reason"})
        role = r.required(value, "role", key)
        if role not in ROLES:
            raise r.fail(f"{key}.role", f"unknown role {role!r}; use one of {list(ROLES)}")
        buckets: tuple[float, ...] = ()
        if "buckets" in value:
            if role != "numeric":
                raise r.fail(f"{key}.buckets", "only numeric columns can be bucketized")
            if not isinstance(value["buckets"], list) or not value["buckets"]:
                raise r.fail(f"{key}.buckets", "expected a non-empty list of boundaries")
            buckets = tuple(r.number(b, f"{key}.buckets") for b in value["buckets"])
            if list(buckets) != sorted(set(buckets)):
                raise r.fail(f"{key}.buckets", f"boundaries must increase strictly: {buckets}")
        columns.append(Column(name, role, buckets, str(value.get("reason", ""))))
    return tuple(columns)


def _parse_ablation(raw: Any, columns: tuple[Column, ...], r: _Reader) -> Ablation | None:
    if raw is None:
        return None
    raw = r.mapping(raw, "ablation")
    r.known(raw, "ablation", {"train_steps", "groups", "features", "replicates"})
    features = [c.name for c in columns if c.role in ("numeric", "categorical")]
    if "groups" in raw and "features" in raw:
        raise r.fail("ablation", "give either 'groups' (name: [columns]) or 'features', not both")
    if raw.get("groups") is not None:
        groups_raw = r.mapping(raw["groups"], "ablation.groups")
        groups = {str(k): r.str_list(v, f"ablation.groups.{k}") for k, v in groups_raw.items()}
    else:
        chosen = r.str_list(raw.get("features"), "ablation.features") or tuple(features)
        groups = {name: (name,) for name in chosen}
    if not groups:
        raise r.fail("ablation.groups", "name at least one group of columns to remove")
    for name, group in groups.items():
        key = f"ablation.groups.{name}" if "groups" in raw else "ablation.features"
        if not group:
            raise r.fail(key, "a group removes at least one column")
        unknown = [c for c in group if c not in features]
        if unknown:
            raise r.fail(key, f"{unknown} are not features (numeric or categorical columns)")
    train_steps = r.positive_int(
        raw.get("train_steps", Ablation.train_steps), "ablation.train_steps"
    )
    replicates = r.positive_int(raw.get("replicates", Ablation.replicates), "ablation.replicates")
    return Ablation(groups, train_steps, replicates)


def _parse_bootstrap(raw: Any, r: _Reader) -> Bootstrap:
    if raw is None:
        return Bootstrap()
    raw = r.mapping(raw, "evaluation.bootstrap")
    r.known(raw, "evaluation.bootstrap", {"replicates", "confidence", "seed"})
    replicates = raw.get("replicates", Bootstrap.replicates)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 0:
        raise r.fail(
            "evaluation.bootstrap.replicates",
            f"expected a whole number >= 0 (0 = no intervals), got {replicates!r}",
        )
    if 0 < replicates < 100:
        raise r.fail(
            "evaluation.bootstrap.replicates",
            f"{replicates} replicates cannot place a 95% percentile interval: use >= 100",
        )
    confidence = r.number(
        raw.get("confidence", Bootstrap.confidence), "evaluation.bootstrap.confidence"
    )
    if not 0 < confidence < 1:
        raise r.fail("evaluation.bootstrap.confidence", f"lies in (0, 1), got {confidence}")
    seed = raw.get("seed", Bootstrap.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise r.fail("evaluation.bootstrap.seed", f"expected a whole number, got {seed!r}")
    return Bootstrap(replicates, confidence, seed)


def _parse_fairness_gate(
    raw: Any, sensitive: tuple[str, ...], columns: tuple[Column, ...], r: _Reader
) -> FairnessGate | None:
    if raw is None:
        return None
    key = "fairness.gate"
    raw = r.mapping(raw, key)
    r.known(raw, key, {"max_gap", "threshold", "min_group_size"})
    if not sensitive:
        raise r.fail(key, "bounds gaps between the groups of fairness.sensitive_columns: list some")
    for name in sensitive:
        column = next(c for c in columns if c.name == name)
        if column.role != "categorical" and not column.buckets:
            raise r.fail(
                "fairness.sensitive_columns",
                f"{name!r} is {column.role}: the gate needs categorical or bucketized columns",
            )
    max_gap_raw = r.mapping(r.required(raw, "max_gap", key), f"{key}.max_gap")
    if not max_gap_raw:
        raise r.fail(f"{key}.max_gap", f"bound at least one rate of {list(GATE_RATES)}")
    r.known(max_gap_raw, f"{key}.max_gap", set(GATE_RATES))
    max_gap = {}
    for rate, value in max_gap_raw.items():
        bound = r.number(value, f"{key}.max_gap.{rate}")
        if not 0 < bound <= 1:
            raise r.fail(
                f"{key}.max_gap.{rate}", f"a gap between rates lies in (0, 1], got {bound}"
            )
        max_gap[rate] = bound
    threshold = r.number(raw.get("threshold", 0.5), f"{key}.threshold")
    if not 0 < threshold < 1:
        raise r.fail(f"{key}.threshold", f"a decision threshold lies in (0, 1), got {threshold}")
    min_group_size = r.positive_int(raw.get("min_group_size", 30), f"{key}.min_group_size")
    return FairnessGate(max_gap, threshold, min_group_size)


def _parse_thresholds(raw: Any, task: str, r: _Reader) -> tuple[Threshold, ...]:
    if not isinstance(raw, list) or not raw:
        raise r.fail(
            "evaluation.thresholds",
            "needs at least one threshold with a lower_bound or upper_bound: without one "
            "the Evaluator never blesses a model, so nothing would ever be pushed",
        )
    allowed = REGRESSION_THRESHOLD_METRICS if task == "regression" else THRESHOLD_METRICS
    thresholds = []
    for i, item in enumerate(raw):
        key = f"evaluation.thresholds[{i}]"
        item = r.mapping(item, key)
        r.known(item, key, {"metric", "lower_bound", "upper_bound", "max_regression", "slice"})
        metric = r.required(item, "metric", key)
        if metric not in allowed:
            raise r.fail(
                f"{key}.metric", f"{metric!r} is not one of {sorted(allowed)} (task: {task})"
            )
        bounds = {}
        for bound in ("lower_bound", "upper_bound"):
            if item.get(bound) is not None:
                bounds[bound] = r.number(item[bound], f"{key}.{bound}")
        if not bounds:
            better = "an upper_bound" if metric in LOWER_IS_BETTER else "a lower_bound"
            raise r.fail(
                key,
                f"give {metric} {better} (an absolute bound that a first model, with no "
                "baseline to compare with, must meet)",
            )
        if len(bounds) == 2 and bounds["lower_bound"] > bounds["upper_bound"]:
            raise r.fail(key, f"lower_bound {bounds['lower_bound']:g} > upper_bound")
        regression = item.get("max_regression")
        if regression is not None:
            regression = r.number(regression, f"{key}.max_regression")
            if regression < 0:
                raise r.fail(f"{key}.max_regression", "must be >= 0 (a drop, as a positive number)")
        where = None
        if item.get("slice") is not None:
            raw_slice = r.mapping(item["slice"], f"{key}.slice")
            if len(raw_slice) != 1:
                raise r.fail(f"{key}.slice", f"one column: value pair, got {raw_slice!r}")
            ((column, value),) = raw_slice.items()
            where = (str(column), str(value))
        thresholds.append(
            Threshold(
                metric, bounds.get("lower_bound"), regression, where, bounds.get("upper_bound")
            )
        )
    return tuple(thresholds)


def _parse_training(raw: Any, r: _Reader) -> Training:
    raw = r.mapping(raw or {}, "training")
    fields = {f.name: f for f in dataclasses.fields(Training)}
    r.known(raw, "training", set(fields))
    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"training.{name}"
        if name == "hidden_units":
            if not isinstance(value, list) or not value:
                raise r.fail(key, f"expected a list of layer sizes, got {value!r}")
            values[name] = tuple(r.positive_int(v, key) for v in value)
        elif name == "learning_rate":
            values[name] = r.number(value, key)
            if values[name] <= 0:
                raise r.fail(key, "must be > 0")
        else:
            values[name] = r.positive_int(value, key)
    return Training(**values)


def _check_columns_exist(
    spec_columns: list[str], names: tuple[str, ...], key: str, r: _Reader
) -> None:
    for name in names:
        if name not in spec_columns:
            raise r.fail(key, f"column {name!r} is not described under 'columns'")


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
    r = _Reader(path, SpecError)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML: {e}") from e
    data = r.mapping(data, "<top level>")
    r.known(
        data,
        "<top level>",
        {
            "name", "description", "task", "files", "split", "missing_values", "label",
            "columns", "feature_crosses", "slicing", "fairness", "evaluation", "training", "drift",
            "schema_file", "ablation",
        },
    )  # fmt: skip

    name = r.required(data, "name")
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise r.fail("name", f"expected a short identifier such as 'census', got {name!r}")
    task = data.get("task", "binary_classification")
    if task not in TASKS:
        raise r.fail("task", f"{task!r} is not supported; use one of {list(TASKS)}")

    files = r.mapping(r.required(data, "files"), "files")
    r.known(files, "files", {"train", "test"})
    r.required(files, "train", "files")

    split = r.mapping(data.get("split") or {}, "split")
    r.known(split, "split", set(SPLIT_NAMES))
    default_split = (
        {"train": 4, "eval": 1} if "test" in files else {"train": 8, "eval": 1, "test": 1}
    )
    split = {k: r.positive_int(v, f"split.{k}") for k, v in {**default_split, **split}.items()}
    if "test" in files and "test" in split:
        raise r.fail(
            "split.test", "a test file is given, so the train file is split train/eval only"
        )
    if "test" not in files and "test" not in split:
        raise r.fail("split", "with no test file, the train file must also give a 'test' split")

    columns = _parse_columns(r.required(data, "columns"), r)
    names = [c.name for c in columns]
    for split_name, file_name in files.items():
        header = _read_header(path.parent / file_name, r, f"files.{split_name}")
        missing = [n for n in names if n not in header]
        if missing:
            raise r.fail(
                "columns",
                f"column(s) {missing} are described but not in the header of {file_name}",
            )
        extra = [h for h in header if h not in names]
        if extra:
            raise r.fail(
                "columns",
                f"column(s) {extra} of {file_name} are not described: give each a role "
                f"(use 'ignored' to leave one out)",
            )

    label_raw = r.mapping(r.required(data, "label"), "label")
    r.known(label_raw, "label", {"column", "positive", "classes"})
    label_column = r.required(label_raw, "column", "label")
    labels = [c.name for c in columns if c.role == "label"]
    if labels != [label_column]:
        raise r.fail(
            "label.column",
            f"{label_column!r} must be the one column with role 'label' (found {labels})",
        )
    if task == "regression":
        for key in ("positive", "classes"):
            if key in label_raw:
                raise r.fail(
                    f"label.{key}",
                    "a regression label is a number, with no classes: remove the key, or "
                    "set task: binary_classification",
                )
        label = Label(label_column)
    else:
        positive = r.required(label_raw, "positive", "label")
        classes = tuple(label_raw.get("classes") or ())
        if classes and positive not in classes:
            raise r.fail("label.positive", f"{positive!r} is not one of label.classes {classes}")
        label = Label(label_column, positive, classes)

    features = [c.name for c in columns if c.role in ("numeric", "categorical")]
    if not features:
        raise r.fail(
            "columns", "no column has role 'numeric' or 'categorical': nothing to learn from"
        )

    crosses = []
    for i, cross in enumerate(data.get("feature_crosses") or []):
        key = f"feature_crosses[{i}]"
        cross = r.str_list(cross, key)
        if len(cross) != 2:
            raise r.fail(key, f"a cross joins exactly two columns, got {list(cross)}")
        _check_columns_exist(names, cross, key, r)
        for c in cross:
            col = columns[names.index(c)]
            if col.role != "categorical" and not col.buckets:
                raise r.fail(key, f"{c!r} must be categorical or a bucketized numeric to cross")
        crosses.append(cross)

    slicing = r.mapping(data.get("slicing") or {}, "slicing")
    r.known(slicing, "slicing", {"columns", "crosses"})
    slice_columns = r.str_list(slicing.get("columns"), "slicing.columns")
    _check_columns_exist(names, slice_columns, "slicing.columns", r)
    slice_crosses = []
    for i, cross in enumerate(slicing.get("crosses") or []):
        key = f"slicing.crosses[{i}]"
        cross = r.str_list(cross, key)
        if len(cross) < 2:
            raise r.fail(key, "a slice cross needs at least two columns")
        _check_columns_exist(names, cross, key, r)
        slice_crosses.append(cross)
    for col in {*slice_columns, *(c for x in slice_crosses for c in x)}:
        column = columns[names.index(col)]
        if column.role != "categorical" and not column.buckets:
            raise r.fail(
                "slicing", f"{col!r} is {column.role}: slice on categorical or bucketized columns"
            )

    if task == "regression" and data.get("fairness"):
        raise r.fail(
            "fairness",
            "the fairness rates (FPR, FNR, ...) need a classification task: for a regression "
            "label, slice by the sensitive columns (slicing.columns) and bound their errors",
        )
    fairness = r.mapping(data.get("fairness") or {}, "fairness")
    r.known(fairness, "fairness", {"sensitive_columns", "thresholds", "gate"})
    sensitive = r.str_list(fairness.get("sensitive_columns"), "fairness.sensitive_columns")
    _check_columns_exist(names, sensitive, "fairness.sensitive_columns", r)
    fairness_thresholds = tuple(
        r.number(t, "fairness.thresholds") for t in fairness.get("thresholds") or [0.5]
    )
    if not all(0 < t < 1 for t in fairness_thresholds):
        raise r.fail(
            "fairness.thresholds", f"decision thresholds lie in (0, 1): {fairness_thresholds}"
        )

    fairness_gate = _parse_fairness_gate(fairness.get("gate"), sensitive, columns, r)

    drift = None
    if data.get("drift") is not None:
        drift_raw = r.mapping(data["drift"], "drift")
        r.known(drift_raw, "drift", {"categorical_max_linf", "numeric_max_js"})
        bounds = {}
        for key, value in drift_raw.items():
            bound = r.number(value, f"drift.{key}")
            if not 0 < bound <= 1:
                raise r.fail(f"drift.{key}", f"a distance bound lies in (0, 1], got {bound}")
            bounds[key] = bound
        drift = Drift(**bounds)

    evaluation = r.mapping(data.get("evaluation") or {}, "evaluation")
    r.known(evaluation, "evaluation", {"thresholds", "min_slice_size", "bootstrap"})
    thresholds = _parse_thresholds(evaluation.get("thresholds"), task, r)
    for i, t in enumerate(thresholds):
        if t.slice and t.slice[0] not in slice_columns:
            raise r.fail(
                f"evaluation.thresholds[{i}].slice",
                f"column {t.slice[0]!r} is not in slicing.columns {list(slice_columns)}",
            )
    min_slice_size = None
    if evaluation.get("min_slice_size") is not None:
        min_slice_size = r.positive_int(evaluation["min_slice_size"], "evaluation.min_slice_size")
    bootstrap = _parse_bootstrap(evaluation.get("bootstrap"), r)

    ablation = _parse_ablation(data.get("ablation"), columns, r)

    training_raw = dict(data.get("training") or {})
    training_raw.update(overrides or {})
    training = _parse_training(training_raw, r)

    schema_file = None
    if data.get("schema_file"):
        schema_file = path.parent / data["schema_file"]
        if not schema_file.is_file():
            raise r.fail("schema_file", f"{schema_file} does not exist")

    missing_values = r.str_list(data.get("missing_values"), "missing_values")
    return DatasetSpec(
        name=name,
        directory=path.parent,
        spec_path=path,
        description=str(data.get("description", "")).strip(),
        task=task,
        files=dict(files),
        split=split,
        missing_values=missing_values,
        label=label,
        columns=columns,
        feature_crosses=tuple(crosses),
        slice_columns=slice_columns,
        slice_crosses=tuple(slice_crosses),
        sensitive_columns=sensitive,
        fairness_thresholds=fairness_thresholds,
        thresholds=thresholds,
        training=training,
        drift=drift,
        min_slice_size=min_slice_size,
        schema_file=schema_file,
        bootstrap=bootstrap,
        fairness_gate=fairness_gate,
        ablation=ablation,
    )
