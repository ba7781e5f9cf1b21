"""Keeps AutoGraph from rewriting the Keras library's own code when a model is traced.

`tf.function` passes every Python function that a traced function calls through AutoGraph,
which parses its source and rewrites its control flow, unless the function's module is on
TensorFlow's do-not-convert list. That list names `keras`, the package Keras 2 shipped
as, but not `tf_keras`: the same Keras 2 code under the name that TFX 1.16 needs on
TensorFlow 2.16 (Keras 3 cannot save the models TFX expects). So each first trace of a
model (a training step, an evaluation, a serving signature, `model.save`) rewrote hundreds
of Keras's own functions, the largest part of tracing a model (the ablation, five models
side by side, gives the same report to the last digit either way).

Listing `tf_keras` restores what Keras 2 was written for: its code runs as written (it
never depended on AutoGraph). Code of the project's or a user's own (a subclassed layer's
`call`, the training and serving functions in `module_file.py`) is still converted.
"""

from __future__ import annotations

KERAS_PACKAGE = "tf_keras"


def keep_keras_unconverted() -> None:
    """Adds `tf_keras` to AutoGraph's do-not-convert rules (once; later calls do nothing).

    AutoGraph reads the rules at each conversion, so this applies to every model traced
    afterwards in the process.
    """
    # A private module: TensorFlow has no public way to list a package.
    from tensorflow.python.autograph.core import config

    rule = config.DoNotConvert(KERAS_PACKAGE)
    if any(str(r) == str(rule) for r in config.CONVERSION_RULES):
        return
    config.CONVERSION_RULES = (rule, *config.CONVERSION_RULES)
