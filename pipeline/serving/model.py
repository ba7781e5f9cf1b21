"""A pushed model: its versions in the serving folder, and what its `serving_default` reads.

The Pusher writes each blessed model to `<serving dir>/<version>/` (TF Serving's layout,
the version a number). What the serving signature parses (each feature's type, and
whether an example must carry it) is read from the signature's own `ParseExampleV2` op,
so a client builds its tf.Examples from the model alone, as the model will parse them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.model.outputs import SERVING_SIGNATURE

if TYPE_CHECKING:
    import numpy as np

LATEST = "latest"
# TensorFlow's CPU matrix kernels round a partial block of rows differently (in the last
# float32 digit) from a full one, so a row's score would depend on the batch it came in.
# Every call gets a multiple of this many rows (the last batch padded with copies of its
# last row, whose scores are dropped): a row's score is then the same in any batch.
ROW_BLOCK = 64
_KINDS = {"int64": "int", "float32": "float", "string": "bytes"}


class ModelNotFoundError(LookupError):
    """No pushed model, or no such version; the message says which exist."""


def pushed_versions(serving_dir: Path) -> list[str]:
    """The complete versions under a TF Serving folder, oldest first.

    A version is a numbered folder holding `saved_model.pb`; the atomic Pusher's
    `.incoming-*` folders (a push under way) are not versions yet.
    """
    if not serving_dir.is_dir():
        return []
    versions = [
        p.name
        for p in serving_dir.iterdir()
        if p.name.isdigit() and (p / "saved_model.pb").is_file()
    ]
    return sorted(versions, key=int)


def find_version(
    serving_dir: Path, version: str = LATEST, run: str = "python -m pipeline run"
) -> Path:
    """The folder of pushed model `version` ('latest': the newest).

    `run` is the command that would push one, for the message when none was pushed.

    Raises:
        ModelNotFoundError: Nothing was pushed yet, or `version` is not one of the
            versions (the message lists them).
    """
    versions = pushed_versions(serving_dir)
    if not versions:
        raise ModelNotFoundError(
            f"no pushed model under {serving_dir}: run the pipeline first ({run}); "
            "only a model the Evaluator blessed is pushed"
        )
    if version == LATEST:
        return serving_dir / versions[-1]
    if version not in versions:
        raise ModelNotFoundError(
            f"no pushed model version {version!r} under {serving_dir}; available: "
            f"{', '.join(versions)} (or 'latest')"
        )
    return serving_dir / version


@dataclasses.dataclass(frozen=True)
class ParsedFeature:
    """A feature as the serving signature parses it.

    Attributes:
        kind: 'int', 'float' or 'bytes': the tf.Example list the value must be in.
        required: The parser has no default for it: an example without it fails (a
            fixed-length feature that no training example lacked).
    """

    kind: str
    required: bool


def _const(nodes: Mapping[str, Any], reference: str) -> np.ndarray:
    """The value of the Const node an op input like 'name:output:0' refers to."""
    import tensorflow as tf

    node = nodes[reference.lstrip("^").split(":")[0]]
    if node.op != "Const":
        raise ValueError(f"{node.name} is a {node.op}, not a constant")
    return tf.make_ndarray(node.attr["value"].tensor)


def parsed_features(signature: Any) -> dict[str, ParsedFeature]:
    """What a signature's `tf.io.parse_example` reads, by feature name.

    Raises:
        ValueError: The signature parses no tf.Example (not a model of this project).
    """
    import tensorflow as tf

    graph = signature.graph.as_graph_def()
    bodies = [graph.node, *(f.node_def for f in graph.library.function)]
    features: dict[str, ParsedFeature] = {}
    for body in bodies:
        nodes = {n.name: n for n in body}
        for node in body:
            if node.op != "ParseExampleV2":
                continue
            # Inputs: serialized, names, sparse_keys, dense_keys, ragged_keys, then one
            # default per dense key (empty: no default, the feature is required).
            sparse_keys = _const(nodes, node.input[2])
            dense_keys = _const(nodes, node.input[3])
            sparse_types = node.attr["sparse_types"].list.type
            dense_types = node.attr["Tdense"].list.type
            for key, dtype in zip(sparse_keys, sparse_types, strict=True):
                features[key.decode()] = ParsedFeature(
                    _KINDS[tf.dtypes.as_dtype(dtype).name], False
                )
            for i, (key, dtype) in enumerate(zip(dense_keys, dense_types, strict=True)):
                default = _const(nodes, node.input[5 + i])
                features[key.decode()] = ParsedFeature(
                    _KINDS[tf.dtypes.as_dtype(dtype).name], default.size == 0
                )
    if not features:
        raise ValueError("the serving signature parses no tf.Example")
    return features


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """A loaded pushed model and what its serving signature reads.

    Attributes:
        path: The version folder.
        features: Each feature the signature parses (see `ParsedFeature`).
        signature: The `serving_default` concrete function.
    """

    path: Path
    features: dict[str, ParsedFeature]
    signature: Any

    @classmethod
    def load(cls, path: Path) -> ServedModel:
        import tensorflow as tf

        signature = tf.saved_model.load(str(path)).signatures[SERVING_SIGNATURE]
        return cls(Path(path), parsed_features(signature), signature)

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def types(self) -> dict[str, str]:
        """Feature name -> 'int', 'float' or 'bytes' (as `serialize_rows` takes them)."""
        return {name: f.kind for name, f in self.features.items()}

    @property
    def required(self) -> list[str]:
        """Features every example must carry."""
        return [name for name, f in self.features.items() if f.required]

    def score(self, examples: Sequence[bytes]) -> dict[str, np.ndarray]:
        """Each output of `serving_default` for serialized tf.Examples, one value per row.

        The call gets a multiple of `ROW_BLOCK` rows, so that a row's scores do not
        depend on the other rows of the batch (see `ROW_BLOCK`).
        """
        import tensorflow as tf

        count = len(examples)
        if not count:
            raise ValueError("no examples to score")
        padded = [*examples, *[examples[-1]] * (-count % ROW_BLOCK)]
        outputs = self.signature(examples=tf.constant(padded, dtype=tf.string))
        return {
            name: value.numpy().reshape(len(padded), -1)[:count] for name, value in outputs.items()
        }
