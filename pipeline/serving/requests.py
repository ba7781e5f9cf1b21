"""Request bodies for the pushed model behind a server: TF Serving's REST API and Vertex AI.

`serving_default` has one input, `examples`: a batch of serialized raw tf.Examples. JSON
cannot carry bytes, so each example travels base64-encoded in a `{"b64": "..."}` object,
which TF Serving's JSON decoder turns back into the bytes of a string input (its REST API
guide, "Encoding binary values"). With a single input, the `instances` are those values
themselves (the guide's row format):

    TF Serving  POST http://HOST:8501/v1/models/MODEL:predict
                {"signature_name": "serving_default", "instances": [{"b64": "..."}, ...]}
    Vertex AI   POST https://REGION-aiplatform.googleapis.com/v1/projects/PROJECT/
                     locations/REGION/endpoints/ENDPOINT:predict
                {"instances": [{"b64": "..."}, ...]}

Vertex AI's prebuilt TensorFlow containers serve the SavedModel's default signature with
TF Serving; its request body has no `signature_name` (only `instances` and `parameters`).
Both answer `{"predictions": [[p], ...]}`: one list per example (the output has shape
[batch, 1]), without the output's name, as the signature has one output.
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.model.outputs import SERVING_SIGNATURE
from pipeline.runners.input_checks import check_scoring_file
from pipeline.serving.model import ServedModel
from pipeline.serving.predict import check_fit
from pipeline.serving.raw_examples import serialize_rows
from pipeline.spec import DatasetSpec, csv_format

TF_SERVING = "tf-serving"
VERTEX = "vertex"
SERVERS = (TF_SERVING, VERTEX)


def b64_instances(examples: Sequence[bytes]) -> list[dict[str, str]]:
    """Each serialized example as the JSON object a binary string input takes."""
    return [{"b64": base64.b64encode(example).decode("ascii")} for example in examples]


def rest_request(examples: Sequence[bytes]) -> dict[str, Any]:
    """TF Serving's REST `predict` body for serialized tf.Examples (row format)."""
    return {"signature_name": SERVING_SIGNATURE, "instances": b64_instances(examples)}


def vertex_request(examples: Sequence[bytes]) -> dict[str, Any]:
    """A Vertex AI endpoint's `predict` body for serialized tf.Examples."""
    return {"instances": b64_instances(examples)}


def request_for_csv(
    spec: DatasetSpec, model: ServedModel, data: Path, server: str = TF_SERVING
) -> dict[str, Any]:
    """The request body for every row of a (small) CSV file, checked as `predict` checks it.

    Raises:
        InputDataError: A cell or the header of `data` is wrong.
        PredictError: The model does not read the spec's features.
        ValueError: `server` is not one of `SERVERS`.
    """
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}; use one of {list(SERVERS)}")
    check_fit(spec, model)
    header = check_scoring_file(spec, data, model.types, model.required)
    with csv_format.open_text(data, spec.encoding) as f:
        reader = csv.reader(f, delimiter=spec.delimiter)
        next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader if row]
    examples = serialize_rows(spec, rows, model.types)
    return rest_request(examples) if server == TF_SERVING else vertex_request(examples)
