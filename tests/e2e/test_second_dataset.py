"""COMPAS runs end to end from its bundled spec alone: no code names a census column.

Its shape differs from census: one CSV (ExampleGen makes the test split, so there are
no Test* components), an integer 0/1 label, leaky columns marked ignored.

The same spec also runs with Beam's multi-processing DirectRunner (2 worker processes, as
Vertex AI containers and large data would use it) and must reach the same decisions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.reports.summary import RunSummary, latest_output_uri, summarize_run
from pipeline.runners import local as local_runner
from pipeline.spec import DatasetSpec, load_spec
from tests.conftest import DATA

MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


class Run:
    def __init__(self, spec: DatasetSpec, output_dir: Path, beam_args: list[str]) -> None:
        local_runner.run(spec, output_dir, beam_pipeline_args=beam_args)
        self.metadata = local_runner.paths_for(spec, output_dir).metadata_path
        self.name = local_runner.pipeline_name(spec)
        self.summary: RunSummary = summarize_run(self.metadata, self.name, spec=spec)

    def output(self, component: str, key: str) -> Path:
        return Path(latest_output_uri(self.metadata, self.name, component, key))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    spec = load_spec(DATA / "compas", {"train_steps": 100, "steps_per_evaluation": 50})
    return {
        "in_memory": Run(spec, tmp_path_factory.mktemp("in_memory"), []),
        "multi_processing": Run(spec, tmp_path_factory.mktemp("multi"), MULTI_PROCESSING),
    }


def test_compas_pipeline_runs_from_its_spec(runs):
    summary = runs["in_memory"].summary
    assert {c.state for c in summary.components} == {"ran"}
    assert not any(c.node_id.startswith("Test") for c in summary.components)
    # About a tenth of the 6,172 rows land in the hash-split test split.
    assert 450 < summary.metrics["Overall"]["n"] < 800
    assert {"race=African-American", "race=Caucasian", "sex=Female"} <= set(summary.metrics)
    assert any(name.startswith("race=") and ", sex=" in name for name in summary.metrics)
    # The spec's floor is AUC 0.65; the model clears it and is pushed.
    assert summary.blessed is True and summary.pushed_to
    assert summary.metrics["Overall"]["AUC"] >= 0.65


def _records(split_dir: Path) -> list[bytes]:
    """Every example of one split, sorted, with feature maps in key order.

    Runners may write a feature map in any order, so the records are re-serialized
    deterministically before comparing.
    """
    import tensorflow as tf

    files = sorted(str(p) for p in split_dir.glob("*.gz"))
    return sorted(
        tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True)
        for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
    )


def _schema(directory: Path) -> dict[str, Any]:
    """A schema as data, independent of the order features and values were found in."""
    from google.protobuf import json_format
    from tensorflow_data_validation import load_schema_text

    schema = json_format.MessageToDict(load_schema_text(str(directory / "schema.pbtxt")))
    features = {f.pop("name"): f for f in schema.pop("feature")}
    domains = {d["name"]: sorted(d["value"]) for d in schema.pop("stringDomain", [])}
    return {"features": features, "domains": domains, **schema}


def test_multi_processing_reaches_the_same_decisions(runs):
    memory, multi = runs["in_memory"], runs["multi_processing"]
    assert {c.state for c in multi.summary.components} == {"ran"}
    # The same examples in every split: the hash split does not depend on the runner.
    for split in ("train", "eval", "test"):
        a = _records(memory.output("ExampleGen", "examples") / f"Split-{split}")
        b = _records(multi.output("ExampleGen", "examples") / f"Split-{split}")
        assert a == b, split
    # The same inferred schema and the same vocabularies.
    assert _schema(memory.output("SchemaGen", "schema")) == _schema(
        multi.output("SchemaGen", "schema")
    )
    assets = {
        p.name: p.read_bytes()
        for p in (memory.output("Transform", "transform_graph") / "transform_fn/assets").iterdir()
    }
    assert assets and assets == {
        p.name: p.read_bytes()
        for p in (multi.output("Transform", "transform_graph") / "transform_fn/assets").iterdir()
    }
    # The same blessing decision on the same slices. Training reads the transformed
    # shards in the order the runner wrote them, so the model (and its metrics) may
    # differ a little, not the decision.
    assert multi.summary.blessed is memory.summary.blessed is True
    assert multi.summary.pushed_to and not multi.summary.failed_thresholds
    assert set(multi.summary.metrics) == set(memory.summary.metrics)
    for name, metrics in memory.summary.metrics.items():
        assert multi.summary.metrics[name]["n"] == metrics["n"], name
    assert multi.summary.metrics["Overall"]["AUC"] == pytest.approx(
        memory.summary.metrics["Overall"]["AUC"], abs=0.03
    )
