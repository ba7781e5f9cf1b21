"""Names of the exported model's signatures and outputs, shared by the module file, the
eval config and the tables (which must not import TensorFlow to know them).

The SavedModel has three signatures, all taking serialized raw tf.Examples:
- `serving_default`: `{"probabilities": P(positive)}` for serving (no label needed);
- `transform_features`: the transformed features, for TFMA's label and slices;
- `evaluation`: the model's probabilities and the baselines' scores, for the Evaluator.
"""

from __future__ import annotations

SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
EVALUATION_SIGNATURE = "evaluation"
# The model's output (the candidate TFMA blesses or not).
PREDICTION_KEY = "probabilities"
# Simple models every model must beat (seed 000: baselines), exported beside it:
#   linear:   logistic regression on the same transformed inputs, same training steps;
#   majority: the training majority class for everyone (a constant 0 or 1);
#   chance:   a score from a hash of the example, unrelated to the label.
BASELINES = ("linear", "majority", "chance")
