"""The Arrow CSV ExampleGen executor through its real `Executor().Do`, against TFX's own
CsvExampleGen executor on the same files: the same examples in the same hash splits."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import tensorflow as tf
from google.protobuf import json_format
from tfx.components.example_gen.base_example_gen_executor import _PartitionFn
from tfx.components.example_gen.csv_example_gen.executor import Executor as TfxExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.arrow_csv_example_gen import CsvOptions, Executor, executor
from components.arrow_csv_example_gen.executor import ColumnType, infer_type
from pipeline.spec import load_spec
from tests.conftest import DATA, sample_rows, write_csv

SPLITS = {"train": 3, "eval": 1}
# Every kind of cell TFX's executor distinguishes. Column `i` is int in the first file and
# float in the second (a type is inferred over every file of a split); `empty` is never
# filled (a feature with no kind); `big` overflows int64 (a string column, as in TFX);
# quoted cells hold a comma, a newline and a quote; a blank line is skipped.
EDGE_CASES = {
    "a.csv": (
        "i,f,mixed,s,empty,big,quoted,sparse\n"
        '1,1.5,1,a,,99999999999999999999,"x, y",\n'
        '2, 2.25,2.5,café,,1,"line one\nline two",3\n'
        "\n"
        '-3,1e3,+4,,,2,"say ""hi""",\n'
        "007,nan,5,b,,3,plain,-1\n"
    ),
    # One cell longer than 16 KiB: lengths of more than two varint bytes.
    "b.csv": (
        "i,f,mixed,s,empty,big,quoted,sparse\n"
        f"4.5,inf,6,{'long' * 5000},,4,z,\n"
        "10,-0.0,7,d,,5,w,8\n"
    ),
}


def _records(files: list[Path]) -> list[bytes]:
    dataset = tf.data.TFRecordDataset([str(f) for f in files], compression_type="GZIP")
    return [record.numpy() for record in dataset]


def _run(
    executor_class: type,
    input_base: Path,
    pattern: str,
    out: Path,
    beam_args: tuple[str, ...] = ("--direct_running_mode=in_memory",),
    options: CsvOptions | None = None,
    partition_feature: str = "",
) -> dict[str, list]:
    """Runs one executor (hash split by the whole example, or by `partition_feature`);
    returns each split's serialized records as written."""
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    properties = {
        "input_base": str(input_base),
        "input_config": json_format.MessageToJson(
            example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="x", pattern=pattern)])
        ),
        "output_config": json_format.MessageToJson(
            example_gen_pb2.Output(
                split_config=example_gen_pb2.SplitConfig(
                    splits=[
                        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
                        for name, buckets in SPLITS.items()
                    ],
                    **({"partition_feature_name": partition_feature} if partition_feature else {}),
                )
            )
        ),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }
    if options is not None:  # as TFX passes a proto parameter to an executor: JSON
        properties["custom_config"] = proto_utils.proto_to_json(options.to_custom_config())
    context = executor_class.Context(beam_pipeline_args=list(beam_args), tmp_dir=str(out / "tmp"))
    executor_class(context).Do({}, {"examples": [examples]}, properties)
    return {split: _records(sorted((out / f"Split-{split}").iterdir())) for split in SPLITS}


def _deterministic(records: list[bytes]) -> list[bytes]:
    return [tf.train.Example.FromString(r).SerializeToString(deterministic=True) for r in records]


def _compare(input_base: Path, pattern: str, tmp_path: Path) -> dict[str, list]:
    ours = _run(Executor, input_base, pattern, tmp_path / "arrow")
    theirs = _run(TfxExecutor, input_base, pattern, tmp_path / "tfx")
    for split in SPLITS:
        # Ours are written deterministically serialized already: TFX's hash split reads
        # those bytes, so equal bytes mean equal splits. In one process both write the
        # examples in the order read (TFX's Reshuffle does not reorder on this runner).
        assert ours[split] == _deterministic(theirs[split]), split
    return ours


def test_edge_cases_give_tfxs_examples_and_splits(tmp_path):
    for name, text in EDGE_CASES.items():
        (tmp_path / "in" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_text(text, encoding="utf-8")
    ours = _compare(tmp_path / "in", "*.csv", tmp_path)
    examples = [tf.train.Example.FromString(r) for split in ours.values() for r in split]
    assert len(examples) == 6  # the blank line is not a row
    by_i = {tuple(e.features.feature["i"].float_list.value): e for e in examples}
    assert set(by_i) == {(1.0,), (2.0,), (-3.0,), (7.0,), (4.5,), (10.0,)}  # float: file b
    two = by_i[(2.0,)].features.feature
    assert two["quoted"].bytes_list.value == [b"line one\nline two"]
    assert two["s"].bytes_list.value == ["café".encode()]
    assert two["big"].bytes_list.value == [b"1"]  # one value beyond int64: a string column
    assert two["sparse"].int64_list.value == [3]
    assert not two["empty"].HasField("kind")  # never filled: no kind, as TFX writes it
    one = by_i[(1.0,)].features.feature
    assert one["sparse"].HasField("int64_list") and not one["sparse"].int64_list.value
    assert by_i[(-3.0,)].features.feature["mixed"].float_list.value == [4.0]
    assert by_i[(4.5,)].features.feature["s"].bytes_list.value == [b"long" * 5000]


@pytest.mark.parametrize("block_bytes", [executor.BLOCK_BYTES, 64 << 10])
def test_census_file_gives_tfxs_examples_and_splits(tmp_path, monkeypatch, block_bytes):
    # With 64 KiB blocks the 2 MB file is ~30 blocks, shuffled as blocks: still in order.
    monkeypatch.setattr(executor, "BLOCK_BYTES", block_bytes)
    shutil.copy(DATA / "census" / "test.csv", tmp_path / "test.csv")
    ours = _compare(tmp_path, "test.csv", tmp_path)
    assert sum(len(records) for records in ours.values()) == 16281
    assert min(len(records) for records in ours.values()) > 3000


def test_with_two_workers_each_split_is_two_files_in_the_order_read(tmp_path):
    shutil.copy(DATA / "census" / "test.csv", tmp_path / "test.csv")
    one_process = _run(Executor, tmp_path, "test.csv", tmp_path / "one")
    workers = ("--direct_running_mode=multi_threading", "--direct_num_workers=2")
    _run(Executor, tmp_path, "test.csv", tmp_path / "two", workers)
    for split in SPLITS:
        files = sorted((tmp_path / "two" / f"Split-{split}").iterdir())
        assert len(files) == 2, files
        for index, file in enumerate(files):
            # Every example in the file its hash picks, in the order the CSV holds them.
            expected = [r for r in one_process[split] if executor.shard_of(r, 2) == index]
            assert _records([file]) == expected, file.name


@pytest.mark.parametrize(
    ("beam_args", "shards"),
    [
        ([], 1),
        (["--direct_running_mode=in_memory"], 1),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=3"], 3),
        (["--runner=DataflowRunner", "--direct_running_mode=multi_processing"], 0),
    ],
)
def test_files_per_split_follow_the_runner(beam_args, shards):
    assert executor.local_shards(beam_args) == shards


def test_files_with_different_headers_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "b.csv").write_text("x,z\n1,2\n")
    with pytest.raises(RuntimeError, match=r"different headers: .*a\.csv and .*b\.csv"):
        _run(Executor, tmp_path, "*.csv", tmp_path / "out")


def test_a_row_with_too_few_cells_names_the_file(tmp_path):
    (tmp_path / "bad.csv").write_text("x,y,z\n1,2,3\n4,5\n")
    with pytest.raises(Exception, match=r"bad\.csv.*Expected 3 columns, got 2"):
        _run(Executor, tmp_path, "bad.csv", tmp_path / "out")


def test_no_file_for_the_pattern_is_named(tmp_path):
    with pytest.raises(RuntimeError, match=r"missing\*\.csv does not match any files"):
        _run(Executor, tmp_path, "missing*.csv", tmp_path / "out")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (b"", ColumnType.UNKNOWN),
        (b"12", ColumnType.INT),
        (b" -7", ColumnType.INT),
        (b"9223372036854775808", ColumnType.STRING),  # int64 max + 1
        (b"1.5", ColumnType.FLOAT),
        (b"1e3", ColumnType.FLOAT),
        (b"nan", ColumnType.FLOAT),
        (b"12a", ColumnType.STRING),
    ],
)
def test_cell_types_follow_tfxs_rule(cell, expected):
    assert infer_type(cell) is expected


# How spreadsheets, R and databases export: a gzip file in Latin-1 with semicolons and
# quoted names, whole numbers and 'N/A'; a UTF-8 file with a byte-order mark and decimals.
EXPORTS = {
    "a.csv.gz": '"hours per week";"país";"n"\r\n40;México;1\r\nN/A;Perú;2\r\n 7 ; NA ;3\r\n',
    "b.csv": '\ufeff"hours per week";"país";"n"\r\n37.5;México;4\r\n;?;5\r\n',
}
SPEC_OPTIONS = CsvOptions(
    delimiter=";", encoding="latin-1", missing_values=("?", "N/A", "NA"), float_columns=("n",)
)


def _write_exports(directory: Path) -> None:
    import gzip

    directory.mkdir()
    latin = EXPORTS["a.csv.gz"].encode("latin-1")
    (directory / "a.csv.gz").write_bytes(gzip.compress(latin))
    (directory / "b.csv").write_bytes(EXPORTS["b.csv"].encode("utf-8"))


def test_spec_options_read_exports_as_the_spec_says(tmp_path):
    _write_exports(tmp_path / "in")
    options = dataclasses.replace(SPEC_OPTIONS, float_columns=("hours per week", "n"))
    written = _run(Executor, tmp_path / "in", "*", tmp_path / "out", options=options)
    examples = [tf.train.Example.FromString(r) for split in written.values() for r in split]
    by_n = {e.features.feature["n"].float_list.value[0]: e.features.feature for e in examples}
    assert sorted(by_n) == [1.0, 2.0, 3.0, 4.0, 5.0]  # every row of both files, n a float
    # The header's names, without quotes or byte-order mark, decoded from each encoding.
    assert set(by_n[1.0]) == {"hours per week", "país", "n"}
    # A numeric column is a float in both files: whole numbers in one, decimals in the other.
    hours = {n: list(f["hours per week"].float_list.value) for n, f in by_n.items()}
    assert hours == {1.0: [40.0], 2.0: [], 3.0: [7.0], 4.0: [37.5], 5.0: []}
    assert all(f["hours per week"].HasField("float_list") for f in by_n.values())
    # Missing tokens (trimmed) and empty cells are missing in a text column too.
    countries = {n: list(f["país"].bytes_list.value) for n, f in by_n.items()}
    assert countries == {
        1.0: ["México".encode()], 2.0: ["Perú".encode()], 3.0: [], 4.0: ["México".encode()],
        5.0: [],
    }  # fmt: skip


def test_without_options_the_exports_read_as_tfx_would(tmp_path):
    # TFX splits the header on commas: each file is one column named after its whole
    # header line. The options are what make these files readable.
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "c.csv").write_text('"x";"y"\n1;2\n')
    written = _run(Executor, tmp_path / "in", "c.csv", tmp_path / "out")
    (example,) = [tf.train.Example.FromString(r) for split in written.values() for r in split]
    assert list(example.features.feature) == ['"x";"y"']


def test_options_reach_the_executor_through_custom_config():
    config = proto_utils.proto_to_json(SPEC_OPTIONS.to_custom_config())
    assert CsvOptions.from_exec_properties({"custom_config": config}) == SPEC_OPTIONS
    assert CsvOptions.from_exec_properties({}) == CsvOptions()


def test_a_non_number_in_a_float_column_names_file_and_column(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.csv").write_text("x,y\n1,2\nforty,3\n")
    options = CsvOptions(missing_values=(), float_columns=("x",))
    with pytest.raises(
        Exception, match=r"bad\.csv, column 'x': .*forty.*declares the column numeric"
    ):
        _run(Executor, tmp_path / "in", "bad.csv", tmp_path / "out", options=options)


def _values(example: tf.train.Example) -> tuple:
    """An example's cells whatever their type: 39, 39.0 and b'39' read alike; a missing
    token reads as no value."""
    out = []
    for name, feature in sorted(example.features.feature.items()):
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        cells = [v.decode() if isinstance(v, bytes) else f"{v:g}" for v in values]
        out.append((name, tuple(c for c in cells if c != "?")))
    return tuple(out)


def test_the_specs_typing_leaves_every_row_in_tfxs_split(tmp_path):
    # Census as the pipeline reads it: numeric columns as floats, '?' a missing value. The
    # examples differ from TFX's, yet each row lands in the split TFX puts it in.
    census = load_spec(DATA / "census")
    header, rows = sample_rows(DATA / "census" / "train.csv", 3000)
    write_csv(tmp_path / "in" / "train.csv", header, rows)
    options = CsvOptions(
        missing_values=census.missing_values, float_columns=tuple(census.float_columns)
    )
    ours = _run(Executor, tmp_path / "in", "train.csv", tmp_path / "arrow", options=options)
    theirs = _run(TfxExecutor, tmp_path / "in", "train.csv", tmp_path / "tfx")
    for split in SPLITS:
        examples = [tf.train.Example.FromString(r) for r in ours[split]]
        assert examples[0].features.feature["age"].HasField("float_list")
        expected = [_values(tf.train.Example.FromString(r)) for r in theirs[split]]
        assert [_values(e) for e in examples] == expected, split


@pytest.mark.parametrize("buckets", [[3, 4], [8, 9, 10], [1, 2, 3, 100]])
def test_split_index_is_tfxs_hash_split(buckets):
    # TFX's private partition function is the reference, in this test only.
    keys = [f"row {i}".encode() for i in range(3000)] + [b"", bytes(range(256))]
    config = example_gen_pb2.SplitConfig()
    ours = [executor.split_index(key, buckets) for key in keys]
    assert ours == [_PartitionFn(key, len(buckets), buckets, config) for key in keys]
    assert set(ours) == set(range(len(buckets)))


def test_a_split_by_a_features_value_is_tfxs(tmp_path):
    # Split by `n`'s value as TFX's executor splits: by `n` as it types it (whole numbers:
    # int64), though the examples hold `n` as a float (TFX refuses to split by floats).
    (tmp_path / "in").mkdir()
    rows = "".join(f"{i},{'abcdefg'[i % 7]}\n" for i in range(200))
    (tmp_path / "in" / "f.csv").write_text("n,s\n" + rows)
    options = CsvOptions(missing_values=(), float_columns=("n",))
    ours = _run(
        Executor, tmp_path / "in", "f.csv", tmp_path / "arrow", options=options,
        partition_feature="n",
    )  # fmt: skip
    theirs = _run(TfxExecutor, tmp_path / "in", "f.csv", tmp_path / "tfx", partition_feature="n")
    for split in SPLITS:
        assert [_values(tf.train.Example.FromString(r)) for r in ours[split]] == [
            _values(tf.train.Example.FromString(r)) for r in theirs[split]
        ], split
    assert all(ours.values())
    assert tf.train.Example.FromString(ours["train"][0]).features.feature["n"].float_list.value
