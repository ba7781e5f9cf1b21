"""DataGate through its real `Executor().Do` on anomalies that TFDV computes from data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.data_gate import DataValidationError
from components.data_gate.executor import Executor
from pipeline.spec import load_spec
from tests.conftest import DATA

SPEC = load_spec(DATA / "census")


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    """Census rows as ExampleGen writes them: the spec's numeric columns as floats."""
    frame = pd.read_csv(DATA / "census" / "train.csv", nrows=400)
    return frame.astype(dict.fromkeys(SPEC.float_columns, float))


def _artifacts(tmp_path: Path, clean: pd.DataFrame, data: pd.DataFrame, split: str = "train"):
    """Schema inferred from `clean`; anomalies of `data` against it, in TFX's layout."""
    schema = tfdv.infer_schema(tfdv.generate_statistics_from_dataframe(clean))
    schema_artifact = standard_artifacts.Schema()
    schema_artifact.uri = str(tmp_path / "schema")
    io_utils.write_pbtxt_file(os.path.join(schema_artifact.uri, "schema.pbtxt"), schema)

    anomalies = tfdv.validate_statistics(tfdv.generate_statistics_from_dataframe(data), schema)
    anomalies_artifact = standard_artifacts.ExampleAnomalies()
    anomalies_artifact.uri = str(tmp_path / "anomalies")
    anomalies_artifact.split_names = artifact_utils.encode_split_names([split])
    io_utils.write_bytes_file(
        os.path.join(anomalies_artifact.uri, f"Split-{split}", "SchemaDiff.pb"),
        anomalies.SerializeToString(),
    )
    output = standard_artifacts.Schema()
    output.uri = str(tmp_path / "validated")
    return schema_artifact, anomalies_artifact, output


def _run(schema, anomalies, output, evaluation=None):
    inputs = {"schema": [schema], "anomalies": [anomalies]}
    if evaluation is not None:
        inputs["evaluation_anomalies"] = [evaluation]
    Executor().Do(
        inputs,
        {"validated_schema": [output]},
        {"dataset": json.dumps(SPEC.for_transform().to_config())},
    )


def test_clean_data_passes_the_schema_through(tmp_path, clean):
    schema, anomalies, output = _artifacts(tmp_path, clean, clean)
    _run(schema, anomalies, output)
    copied = Path(output.uri) / "schema.pbtxt"
    assert copied.read_text() == (Path(schema.uri) / "schema.pbtxt").read_text()


def test_unexpected_category_stops_the_gate_and_names_split_and_column(tmp_path, clean):
    bad = clean.copy()
    bad.loc[:30, "workclass"] = "Martian-corp"
    schema, anomalies, output = _artifacts(tmp_path, clean, bad)
    with pytest.raises(DataValidationError) as error:
        _run(schema, anomalies, output)
    message = str(error.value)
    assert "split 'train', column 'workclass'" in message
    assert "Martian-corp" in message
    assert "nothing is trained or pushed" in message
    assert not (Path(output.uri) / "schema.pbtxt").exists()


def test_anomalies_of_the_evaluation_file_also_stop_the_gate(tmp_path, clean):
    schema, anomalies, output = _artifacts(tmp_path, clean, clean)
    bad = clean.drop(columns=["occupation"])
    _, test_anomalies, _ = _artifacts(tmp_path / "test", clean, bad, split="test")
    with pytest.raises(DataValidationError, match=r"split 'test', column 'occupation'"):
        _run(schema, anomalies, output, evaluation=test_anomalies)


def test_text_in_a_numeric_column_contradicts_the_spec(tmp_path, clean):
    # With an inferred schema the text makes 'age' a string column: no TFDV anomaly,
    # but the spec declares it numeric, and the gate says so.
    texty = clean.astype({"age": str})
    texty.loc[3, "age"] = "forty"
    schema, anomalies, output = _artifacts(tmp_path, texty, texty)
    with pytest.raises(DataValidationError, match=r"column 'age' is declared numeric"):
        _run(schema, anomalies, output)


def test_rare_unseen_categories_pass_but_a_flood_of_one_does_not(tmp_path, clean):
    rare = clean.copy()
    rare.loc[0, "native_country"] = "Atlantis"  # 1 row of 400: under 1%
    schema, anomalies, output = _artifacts(tmp_path, clean, rare)
    _run(schema, anomalies, output)
    assert (Path(output.uri) / "schema.pbtxt").exists()

    flood = clean.copy()
    flood.loc[:20, "native_country"] = "Atlantis"  # 21 rows of 400: about 5%
    schema, anomalies, output = _artifacts(tmp_path / "flood", clean, flood)
    with pytest.raises(DataValidationError, match=r"column 'native_country'.*Atlantis"):
        _run(schema, anomalies, output)


def test_a_curated_schema_with_an_int_numeric_column_names_the_fix(tmp_path, clean):
    # ExampleGen writes the spec's numeric columns as floats; a schema exported before
    # (or written by hand) may still say INT.
    ints = clean.astype({"age": int})
    schema, anomalies, output = _artifacts(tmp_path, ints, ints)
    with pytest.raises(DataValidationError) as error:
        _run(schema, anomalies, output)
    assert "column 'age' is declared numeric" in str(error.value)
    assert "gives it type INT: change it to FLOAT there" in str(error.value)


def test_a_column_with_a_space_is_named_as_the_header_names_it(tmp_path, clean):
    # TFDV quotes such a name in its anomaly keys ("'native country'"): the gate does not.
    spaced = clean.rename(columns={"native_country": "native country"})
    flood = spaced.copy()
    flood.loc[:20, "native country"] = "Atlantis"
    schema, anomalies, output = _artifacts(tmp_path, spaced, flood)
    with pytest.raises(DataValidationError) as error:
        _run(schema, anomalies, output)
    assert "split 'train', column 'native country': " in str(error.value)
