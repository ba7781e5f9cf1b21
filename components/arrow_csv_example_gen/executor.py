"""TFX's CsvExampleGen executor, with the CSV files parsed and encoded by Apache Arrow.

TFX's executor parses each line with Python's `csv` module, infers each column's type in a
Beam combine that the conversion reads as a side input, and builds a `tf.train.Example`
proto in Python for each row, so Python's per-row cost bounds its speed.

Here each file is read twice by Arrow's C++ CSV reader, block by block: once for the
column types, once to encode whole blocks with tfx_bsl's C++ encoder. The types follow
TFX's rule (`infer_type`, applied to each distinct value of a column); an empty cell is a
feature with no values, a column that is always empty a feature with no kind, as TFX
writes them. Each example is serialized deterministically, as TFX serializes the key of
its hash split: the output is the same examples in the same splits as TFX's executor
(test on census and on a file of edge cases). Splitting and ML Metadata are TFX's own
(`BaseExampleGenExecutor`); so is writing, except that on the DirectRunner no example is
shuffled one by one (`Executor.Do`): that shuffle holds every example in memory.
"""

from __future__ import annotations

import enum
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils
from tfx_bsl.coders import example_coder

# Bytes of CSV Arrow parses at a time: memory stays bounded whatever the file size.
BLOCK_BYTES = 8 << 20
_INT64 = np.iinfo(np.int64)


class ColumnType(enum.IntEnum):
    """TFX's column types, ordered: a column takes the widest type of its cells."""

    UNKNOWN = 0  # only empty cells
    INT = 1
    FLOAT = 2
    STRING = 3


def infer_type(cell: bytes) -> ColumnType:
    """TFX's type of one CSV cell: INT if Python reads an int64, else FLOAT, else STRING."""
    if not cell:
        return ColumnType.UNKNOWN
    try:
        return ColumnType.INT if _INT64.min <= int(cell) <= _INT64.max else ColumnType.STRING
    except ValueError:
        pass
    try:
        float(cell)
    except ValueError:
        return ColumnType.STRING
    return ColumnType.FLOAT


def column_names(files: list[str], pattern: str) -> list[str]:
    """The header shared by `files`, read as TFX reads it (the first line split on commas)."""
    names = io_utils.load_csv_column_names(files[0])
    for path in files[1:]:
        if io_utils.load_csv_column_names(path) != names:
            raise RuntimeError(
                f"Files matching {pattern} have different headers: {files[0]} and {path}. "
                "Give every file of a split the same columns in the same order."
            )
    return names


class _Readable(io.RawIOBase):
    """A file of any filesystem TFX reads (local, gs://, ...) as a stream Arrow can read."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_blocks(path: str, names: list[str]) -> Iterator[pa.RecordBatch]:
    """The rows of one CSV file (header skipped), every cell as bytes, a block at a time."""
    try:
        with fileio.open(path, "rb") as stream:
            reader = pacsv.open_csv(
                pa.PythonFile(_Readable(stream), mode="r"),
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=BLOCK_BYTES
                ),
                # Quoted cells may hold newlines, as in TFX's reader.
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.binary() for name in names},
                    strings_can_be_null=False,
                ),
            )
            yield from reader
    except pa.ArrowInvalid as error:
        raise ValueError(f"Cannot parse CSV file {path}: {error}") from error


def file_column_types(path: str, names: list[str]) -> dict[str, ColumnType]:
    """Each column's type over one file: the widest `infer_type` of its distinct cells."""
    types = dict.fromkeys(names, ColumnType.UNKNOWN)
    for block in read_blocks(path, names):
        for name, column in zip(names, block.columns, strict=True):
            if types[name] is ColumnType.STRING:
                continue
            for cell in column.unique().to_pylist():
                types[name] = max(types[name], infer_type(cell))
    return types


def _parse(cell: bytes, column_type: ColumnType) -> Any:
    if not cell:
        return None  # an empty cell: no value (never taken, see feature_column)
    if column_type is ColumnType.INT:
        return int(cell)
    if column_type is ColumnType.FLOAT:
        return float(cell)
    return cell


_VALUE_TYPES = {
    ColumnType.UNKNOWN: pa.int64(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float32(),
    ColumnType.STRING: pa.large_binary(),
}


def feature_column(cells: pa.Array, column_type: ColumnType) -> pa.Array:
    """One CSV column as tf.Example feature values: a list of one value per cell, none for an
    empty cell, and no list at all (a feature with no kind) in a column of empty cells."""
    value_type = _VALUE_TYPES[column_type]
    if column_type is ColumnType.UNKNOWN:
        return pa.nulls(len(cells), pa.large_list(value_type))
    # Each distinct cell is parsed once, by Python, as TFX parses every cell.
    encoded = cells.dictionary_encode()
    parsed = pa.array(
        [_parse(cell, column_type) for cell in encoded.dictionary.to_pylist()], value_type
    )
    present = np.asarray(pc.not_equal(cells, b""))
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    np.cumsum(present, out=offsets[1:])
    values = parsed.take(pa.array(np.asarray(encoded.indices)[present]))
    return pa.LargeListArray.from_arrays(pa.array(offsets), values)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SHORT_VARINTS = [_varint(n) for n in range(1 << 14)]


def _after_header(message: bytes) -> bytes:
    """A length-delimited field's payload: the bytes after its tag and length."""
    if message[1] < 0x80:  # a one-byte length, almost always
        return message[2:]
    end = 2
    while message[end] & 0x80:
        end += 1
    return message[end + 1 :]


def serialize_examples(columns: dict[str, pa.Array]) -> list[bytes]:
    """One serialized tf.Example per row, as protobuf's deterministic serialization writes
    it: the features sorted by name (TFX's hash split reads these bytes).

    tfx_bsl's encoder writes each example's features in hash-table order, which varies
    from row to row; so each column is encoded alone (`Example{Features{entry}}`) and
    the entries are joined in name order, which is cheaper than parsing and
    re-serializing each example.
    """
    encoder = example_coder.RecordBatchToExamplesEncoder()
    entries = []
    for name in sorted(columns):
        alone = encoder.encode(pa.RecordBatch.from_arrays([columns[name]], [name]))
        entries.append([_after_header(example) for example in alone])
    examples = []
    for row in zip(*entries, strict=True):
        features = b"".join(row)
        size = len(features)
        length = _SHORT_VARINTS[size] if size < len(_SHORT_VARINTS) else _varint(size)
        examples.append(b"\x0a" + length + features)  # field 1 of Example: features
    return examples


def encode_file(path: str, names: list[str], types: dict[str, ColumnType]) -> Iterator[bytes]:
    """The rows of one CSV file as serialized tf.Examples (`serialize_examples`)."""
    for block in read_blocks(path, names):
        yield from serialize_examples(
            {name: feature_column(block.column(i), types[name]) for i, name in enumerate(names)}
        )


def merge_types(per_file: Iterable[dict[str, ColumnType]]) -> dict[str, ColumnType]:
    """The widest type of each column over all files."""
    merged: dict[str, ColumnType] = {}
    for types in per_file:
        for name, column_type in types.items():
            merged[name] = max(merged.get(name, ColumnType.UNKNOWN), column_type)
    return merged


@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(bytes)
class _CsvToSerializedExamples(beam.PTransform):
    """Reads the CSV files of one input split as serialized tf.Examples."""

    def __init__(self, exec_properties: dict[str, Any], split_pattern: str) -> None:
        self._pattern = os.path.join(
            exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern
        )

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        files = sorted(fileio.glob(self._pattern))
        if not files:
            raise RuntimeError(f"Split pattern {self._pattern} does not match any files.")
        names = column_names(files, self._pattern)
        paths = pipeline | "CsvFiles" >> beam.Create(files)
        # Only one small dict per file waits for the side input, not the data.
        types = beam.pvalue.AsSingleton(
            paths
            | "ColumnTypesPerFile" >> beam.Map(file_column_types, names)
            | "ColumnTypes" >> beam.CombineGlobally(merge_types)
        )
        return paths | "EncodeFiles" >> beam.FlatMap(encode_file, names, types)


def local_shards(beam_pipeline_args: list[str]) -> int:
    """Files per split when Beam runs on the DirectRunner (one per worker process, so
    that the components reading them can share them out), 0 on any other runner."""
    options = PipelineOptions(beam_pipeline_args)
    runner = options.view_as(StandardOptions).runner
    if runner is not None and "direct" not in str(runner).lower():
        return 0
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode in ("multi_processing", "multi_threading"):
        return max(1, direct.direct_num_workers or os.cpu_count() or 1)
    return 1


def shard_of(record: bytes, shards: int) -> int:
    """The file of a split an example goes to: a hash of its bytes, so reruns agree."""
    return zlib.crc32(record) % shards


class Executor(BaseExampleGenExecutor):
    """CsvExampleGen's executor with Arrow parsing; everything else is TFX's."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        """The PTransform from one input split's CSV files to serialized tf.Examples."""
        return _CsvToSerializedExamples

    def Do(
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        """TFX's ExampleGen `Do`: the splits, their files and the artifact's properties.

        One difference, on the DirectRunner only: no `Reshuffle` of every example
        before writing. On that runner TFX's Reshuffle does not reorder (it deals the
        examples out to the workers in the order they were read), but the runner's
        process holds all of them first and hands each worker its share at once, so
        ExampleGen's memory grows with the data. Here each split goes straight to
        `local_shards` files, each example to the file its hash picks, in the order
        read. With one process that is the file TFX writes, example for example. On
        other runners (Dataflow) TFX's WriteSplit is kept: there it does shuffle.
        """
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config
        )
        outputs = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(outputs).split_names = artifact_utils.encode_split_names(
            example_gen_utils.generate_output_split_names(input_config, output_config)
        )
        file_format = exec_properties.get(
            standard_component_specs.OUTPUT_FILE_FORMAT_KEY,
            example_gen_pb2.FILE_FORMAT_UNSPECIFIED,
        )
        payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        shards = local_shards(self._beam_pipeline_args)
        if payload_format == example_gen_pb2.PayloadFormat.FORMAT_PARQUET:
            shards = 0  # TFX's Parquet writer
        with self._make_beam_pipeline() as pipeline:
            for name, split in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                uri = artifact_utils.get_split_uri(outputs, name)
                if not shards:
                    _ = split | f"WriteSplit[{name}]" >> write_split.WriteSplit(
                        uri, file_format, exec_properties
                    )
                    continue
                # Each shard is its own sink: one file each, written as examples stream.
                parts = split | f"Shard[{name}]" >> beam.Partition(shard_of, shards)
                for index, part in enumerate(parts):
                    prefix = os.path.join(uri, f"{write_split.DEFAULT_FILE_NAME}-{index}")
                    _ = part | f"WriteSplit[{name}][{index}]" >> beam.io.WriteToTFRecord(
                        prefix, file_name_suffix=".gz"
                    )
        for artifact in outputs:
            if payload_format:
                examples_utils.set_payload_format(artifact, payload_format)
            if file_format:
                examples_utils.set_file_format(
                    artifact, write_split.to_file_format_str(file_format)
                )
