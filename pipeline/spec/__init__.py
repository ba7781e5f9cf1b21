"""The data set spec: one YAML file per data set, the single source of truth.

`load_spec` reads and validates `data/<set>/dataset.yaml` (its schema: `schema.py`, the
models `dataset.schema.json` and `docs/spec-reference.md` are generated from); everything
else (features, model inputs, slices, thresholds) derives from the `DatasetSpec` it returns
(`dataset.py`). `infer.py` drafts a first spec from a CSV file and `init.py` writes it
(`python -m pipeline init`).
Nothing here imports TFX or TensorFlow.
"""

from pipeline.metrics.catalogue import (
    GATE_RATES,
    LOWER_IS_BETTER,
    MULTICLASS_THRESHOLD_METRICS,
    PER_CLASS_METRICS,
    REGRESSION_THRESHOLD_METRICS,
    THRESHOLD_METRICS,
)
from pipeline.spec.dataset import (
    ROLES,
    SPLIT_NAMES,
    TASKS,
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
from pipeline.spec.loader import load_spec
from pipeline.spec.names import (
    bucket_label,
    bucket_name,
    bucketized_column,
    cross_name,
    evaluated_features,
    feature_key,
    slice_feature,
)

__all__ = [
    "GATE_RATES",
    "LOWER_IS_BETTER",
    "MULTICLASS_THRESHOLD_METRICS",
    "PER_CLASS_METRICS",
    "REGRESSION_THRESHOLD_METRICS",
    "ROLES",
    "SPLIT_NAMES",
    "TASKS",
    "THRESHOLD_METRICS",
    "Ablation",
    "Bootstrap",
    "Column",
    "DatasetSpec",
    "Drift",
    "FairnessGate",
    "Label",
    "ModelCard",
    "SpecError",
    "Threshold",
    "Training",
    "bucket_label",
    "bucket_name",
    "bucketized_column",
    "cross_name",
    "evaluated_features",
    "feature_key",
    "load_spec",
    "slice_feature",
]
