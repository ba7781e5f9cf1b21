"""Keras's own code is not rewritten by AutoGraph; training is unchanged and user code still is."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tensorflow.python.autograph.core import config
from tensorflow.python.autograph.impl import conversion

from pipeline.model.tracing import KERAS_PACKAGE, keep_keras_unconverted


def keras_is_unconverted() -> bool:
    """Whether AutoGraph leaves `tf_keras`'s functions as they are."""
    return conversion.is_allowlisted(keras.layers.Dense.call)


@pytest.fixture
def default_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorFlow's own rules, without `tf_keras` (restored after the test)."""
    rules = tuple(r for r in config.CONVERSION_RULES if KERAS_PACKAGE not in str(r))
    monkeypatch.setattr(config, "CONVERSION_RULES", rules)


class _SignFlip(keras.layers.Layer):
    """A user layer whose `call` branches in Python on a tensor: needs AutoGraph."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        if tf.reduce_sum(x) < 0:
            return -x
        return x


def _trained_weights(layer: keras.layers.Layer | None = None) -> list[np.ndarray]:
    """Weights of a small model after a few seeded steps of `fit`."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(3,))
    x = layer(inputs) if layer is not None else inputs
    x = keras.layers.Dense(4, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    features = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    labels = (features.sum(axis=1) > 0).astype("float32")
    model.fit(features, labels, batch_size=16, epochs=2, verbose=0, shuffle=False)
    return model.get_weights()


def test_the_rule_is_added_once(default_rules: None) -> None:
    assert not keras_is_unconverted()
    keep_keras_unconverted()
    keep_keras_unconverted()
    assert keras_is_unconverted()
    assert sum(KERAS_PACKAGE in str(r) for r in config.CONVERSION_RULES) == 1


def test_training_is_the_same_without_rewriting_keras(default_rules: None) -> None:
    converted = _trained_weights()
    keep_keras_unconverted()
    unconverted = _trained_weights()
    for a, b in zip(converted, unconverted, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_user_layer_is_still_converted(default_rules: None) -> None:
    keep_keras_unconverted()
    # Unconverted, the `if` on a symbolic tensor would raise inside the traced step.
    weights = _trained_weights(_SignFlip())
    assert all(np.isfinite(w).all() for w in weights)
