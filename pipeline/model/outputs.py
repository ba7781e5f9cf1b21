"""Names of the exported model's signatures and outputs, shared by the module file, the
eval config and the tables (which must not import TensorFlow to know them).

The SavedModel has three signatures, all taking serialized raw tf.Examples:
- `serving_default`: `{"probabilities": P(positive)}` for a binary classifier;
  `{"probabilities": one per class, in the order of label.classes, "predicted_class":
  the top class's name}` for a multi-class one; `{"predictions": the predicted label}`
  for a regression model (no label needed);
- `transform_features`: the transformed features, for TFMA's label and slices;
- `evaluation`: the model's output and the baselines' scores, for the Evaluator.
"""

from __future__ import annotations

SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
EVALUATION_SIGNATURE = "evaluation"
# The model's output (the candidate TFMA blesses or not), by task.
PREDICTION_KEY = "probabilities"
REGRESSION_PREDICTION_KEY = "predictions"
MODEL_OUTPUTS = (PREDICTION_KEY, REGRESSION_PREDICTION_KEY)
# A multi-class model's serving output beside its probabilities: the top class's name.
PREDICTED_CLASS_KEY = "predicted_class"
# Simple models every model must beat (seed 000: baselines), exported beside it:
#   linear:   logistic (or, for regression, linear) regression on the same transformed
#             inputs, with the same training steps;
#   majority: the training majority class for everyone (a constant 0 or 1; for a
#             multi-class task the training class frequencies, whose top class is the
#             majority class);
#   chance:   a score from a hash of the example, unrelated to the label (for a
#             multi-class task, probabilities from it, so the top class is drawn at random);
#   mean:     the training mean of a regression label for everyone.
CLASSIFICATION_BASELINES = ("linear", "majority", "chance")
REGRESSION_BASELINES = ("linear", "mean")
BASELINES = ("linear", "majority", "chance", "mean")


def prediction_key(task: str) -> str:
    """The model's output name for a data set spec's `task`."""
    return REGRESSION_PREDICTION_KEY if task == "regression" else PREDICTION_KEY


# The columns `python -m pipeline predict` (and the pipeline's PredictionCsv) append to a
# scored file, by task: P(positive class) and the class it decides; the predicted value.
SCORED_COLUMNS = {
    "binary_classification": ("probability", "predicted_class"),
    "regression": ("prediction",),
}


def baselines(task: str) -> tuple[str, ...]:
    """The baseline outputs exported for a data set spec's `task`."""
    return REGRESSION_BASELINES if task == "regression" else CLASSIFICATION_BASELINES
