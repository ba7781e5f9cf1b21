"""Raw serialized tf.Examples from CSV rows: what a client sends to `serving_default`.

A cell's type (int64, float or bytes) comes from the run's schema, as the serving
signature parses it; empty cells and the spec's missing-value tokens are left out, as
ExampleGen leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pipeline.spec import DatasetSpec

SCHEMA_FILE = "schema.pbtxt"


def schema_types(schema_dir: str | Path) -> dict[str, str]:
    """Feature name -> 'int', 'float' or 'bytes', from a schema artifact's directory."""
    from tensorflow_data_validation import load_schema_text
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = load_schema_text(str(Path(schema_dir) / SCHEMA_FILE))
    names = {schema_pb2.INT: "int", schema_pb2.FLOAT: "float", schema_pb2.BYTES: "bytes"}
    return {f.name: names[f.type] for f in schema.feature if f.type in names}


def serialize_rows(
    spec: DatasetSpec, rows: Iterable[Mapping[str, str]], types: Mapping[str, str]
) -> list[bytes]:
    """Each row's model features (`spec.raw_feature_columns`) as a serialized tf.Example.

    Raises:
        KeyError: A feature column is absent from the schema `types` or from a row.
    """
    import tensorflow as tf

    missing = {"", *spec.missing_values}
    out = []
    for row in rows:
        features = {}
        for name in spec.raw_feature_columns:
            cell = str(row[name]).strip()
            if cell in missing:
                continue
            kind = types[name]
            if kind == "int":
                feature = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(float(cell))]))
            elif kind == "float":
                feature = tf.train.Feature(float_list=tf.train.FloatList(value=[float(cell)]))
            else:
                feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[cell.encode()]))
            features[name] = feature
        example = tf.train.Example(features=tf.train.Features(feature=features))
        # Features in name order: the same row gives the same bytes (a request body too).
        out.append(example.SerializeToString(deterministic=True))
    return out
