"""The fairness gate's per-group confusion counts, one TFMA inputs object at a time."""

from __future__ import annotations

import numpy as np
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from pipeline.metrics.fairness_gap import _GroupCountsCombiner
from pipeline.metrics.inputs import metric_key


def example(sex: bytes, label: float, score: float) -> metric_types.StandardMetricInputs:
    return metric_types.StandardMetricInputs(
        labels=np.array([label]),
        predictions={"probabilities": np.array([score])},
        features={"sex": np.array([sex])},
    )


def test_counts_per_group_when_inputs_repeat_and_alternate():
    """TFMA adds one example's inputs once per slice it falls in, so a combiner sees the
    same object again and again; each addition counts, each under its own group."""
    key = metric_key("_group_counts/sex@0.5", output_name="probabilities")
    combiner = _GroupCountsCombiner(key, tfma.EvalConfig(), "sex", 0.5)
    woman_tp = example(b"Female", 1.0, 0.9)
    man_fp = example(b"Male", 0.0, 0.7)
    woman_fn = example(b"Female", 1.0, 0.2)

    acc = combiner.create_accumulator()
    for element in (woman_tp, woman_tp, man_fp, woman_tp, woman_fn, man_fp):
        acc = combiner.add_input(acc, element)

    # [tp, fp, tn, fn]
    assert acc.counts == {"Female": [3.0, 0.0, 0.0, 1.0], "Male": [0.0, 2.0, 0.0, 0.0]}
    assert acc.examples == {"Female": 4, "Male": 2}
