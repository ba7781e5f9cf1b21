"""The fast reader of TFMA's per-example inputs agrees with TFMA's own reader, and hands
every layout it does not handle to it."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from pipeline.metrics.inputs import ScalarReader, metric_key, scalar_examples


def inputs(label, prediction, weight=None) -> metric_types.StandardMetricInputs:
    return metric_types.StandardMetricInputs(
        labels=label, predictions=prediction, example_weights=weight
    )


def config(*names: str, label_key: str = "income") -> tfma.EvalConfig:
    specs = [tfma.ModelSpec(name=n, label_key=label_key) for n in names or ("",)]
    return tfma.EvalConfig(model_specs=specs)


# (eval config, key, inputs): layouts the Evaluator produces, read directly.
FAST = {
    "one model, one output": (
        config(),
        metric_key("m", output_name="probabilities"),
        inputs(np.array([1.0]), {"probabilities": np.array([0.8], dtype=np.float32)}),
    ),
    "candidate and baseline": (
        config("candidate", "baseline"),
        metric_key("m", model_name="baseline", output_name="linear"),
        inputs(
            np.array([0]),
            {"candidate": {"linear": np.array([0.9])}, "baseline": {"linear": np.array([0.3])}},
        ),
    ),
    "label keyed by the label key": (
        config(),
        metric_key("m", output_name="probabilities"),
        inputs({"income": np.array([1])}, {"probabilities": np.array([[0.4]])}),
    ),
    "label keyed by output": (
        config(label_key=""),
        metric_key("m", output_name="predictions"),
        inputs({"predictions": np.array([151.0])}, {"predictions": np.array([140.5])}),
    ),
    "no output name": (config(), metric_key("m"), inputs(np.array([1.0]), np.array([0.6]))),
}
# Layouts that need TFMA's reader: a prediction dict found by a common key, example
# weights, several values per example, a class sub-key.
SLOW = {
    "common prediction key": (
        config(),
        metric_key("m"),
        inputs(np.array([1.0]), {"probabilities": np.array([0.7])}),
    ),
    "weighted": (
        config(),
        metric_key("m", output_name="p", example_weighted=True),
        inputs(np.array([1.0]), {"p": np.array([0.7])}, np.array([2.5])),
    ),
    "two values": (
        config(),
        metric_key("m", output_name="p"),
        inputs(np.array([1.0, 0.0]), {"p": np.array([0.7, 0.2])}),
    ),
    "class sub-key": (
        config(),
        metric_key("m", sub_key=metric_types.SubKey(class_id=1)),
        inputs(np.array([1]), np.array([0.3, 0.7])),
    ),
}


@pytest.mark.parametrize("case", sorted(FAST) + sorted(SLOW))
def test_reader_equals_tfmas_reader(case):
    eval_config, key, element = {**FAST, **SLOW}[case]
    reader = ScalarReader(key, eval_config)
    assert (reader.fast(element) is not None) == (case in FAST)
    expected = list(scalar_examples(element, key, eval_config))
    got = list(reader(element))
    assert np.asarray(got) == pytest.approx(np.asarray(expected)) and len(got) == len(expected)


def test_a_missing_output_fails_as_in_tfma():
    key = metric_key("m", output_name="absent")
    element = inputs(np.array([1.0]), {"probabilities": np.array([0.8])})
    with pytest.raises(ValueError):
        list(ScalarReader(key, config())(element))


def test_the_same_inputs_are_read_once_and_new_inputs_always_read(monkeypatch):
    """TFMA passes one example's inputs once per slice: the reader reads them once, and
    never answers for other inputs with an earlier example's values."""
    key = metric_key("m", output_name="probabilities")
    reader = ScalarReader(key, config())
    reads = []
    fast = reader.fast
    monkeypatch.setattr(reader, "fast", lambda element: reads.append(element) or fast(element))
    first = inputs(np.array([1.0]), {"probabilities": np.array([0.8])})
    second = inputs(np.array([0.0]), {"probabilities": np.array([0.8])})
    same_values = inputs(np.array([1.0]), {"probabilities": np.array([0.8])})

    assert list(reader(first)) == [(1.0, 0.8, 1.0)]
    assert list(reader(first)) == [(1.0, 0.8, 1.0)]
    assert len(reads) == 1
    assert list(reader(second)) == [(0.0, 0.8, 1.0)]
    assert list(reader(first)) == [(1.0, 0.8, 1.0)]
    assert list(reader(same_values)) == [(1.0, 0.8, 1.0)]
    assert reads == [first, second, first, same_values]


def test_inputs_tfma_reads_are_read_once_too():
    key = metric_key("m", output_name="p", example_weighted=True)
    reader = ScalarReader(key, config())
    element = inputs(np.array([1.0]), {"p": np.array([0.7])}, np.array([2.5]))
    assert reader(element) is reader(element)
    other = inputs(np.array([0.0]), {"p": np.array([0.1])}, np.array([1.5]))
    assert np.asarray(reader(other)) == pytest.approx(np.array([[0.0, 0.1, 1.5]]))
