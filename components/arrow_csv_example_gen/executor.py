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

The data set spec's reading rules come in the component's `custom_config` (`CsvOptions`,
so they are part of its cache key), and there the spec, not TFX, is the reference: the
delimiter; the encoding (Arrow transcodes to UTF-8; a UTF-8 byte-order mark is dropped);
a `.gz` file decompressed as Beam would; the header parsed as a CSV record (quoted names
lose their quotes, where TFX splits the line on commas); a cell that is empty or a missing
token once trimmed is a missing value in every column; and the spec's numeric columns are
floats in every file, whatever their cells look like (TFX would make a column of whole
numbers INT in one file and FLOAT in another, and validation would then fail). Without
options it reads as TFX's executor does. Either way each row lands in the split TFX's
executor would put it in: the hash split reads a key, the row as TFX would have written it
(`encode_file`), so the spec's typing moves no row between train and eval.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import hashlib
import io
import itertools
import os
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from google.protobuf import any_pb2, json_format, struct_pb2
from tensorflow.core.example import example_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils
from tfx_bsl.coders import example_coder

from pipeline.spec import csv_format

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


@dataclasses.dataclass(frozen=True)
class CsvOptions:
    """How the CSV files are read and typed: the data set spec's rules.

    Attributes:
        delimiter: The character between cells.
        encoding: The files' text encoding (a Python codec name).
        missing_values: Tokens that mean a missing value in any column, besides an empty
            cell, both matched after trimming spaces; None: only an empty cell (TFX's rule).
        float_columns: Columns written as floats in every file (the spec's numbers).
    """

    delimiter: str = csv_format.DEFAULT_DELIMITER
    encoding: str = csv_format.DEFAULT_ENCODING
    missing_values: tuple[str, ...] | None = None
    float_columns: tuple[str, ...] = ()

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        """The options as ExampleGen's `custom_config` (so in its cache key)."""
        struct = struct_pb2.Struct()
        struct.update(
            {
                "delimiter": self.delimiter,
                "encoding": self.encoding,
                "missing_values": (
                    None if self.missing_values is None else list(self.missing_values)
                ),
                "float_columns": list(self.float_columns),
            }
        )
        packed = any_pb2.Any()
        packed.Pack(struct)
        return example_gen_pb2.CustomConfig(custom_config=packed)

    @classmethod
    def from_exec_properties(cls, exec_properties: dict[str, Any]) -> CsvOptions:
        """The options the component was given (TFX's defaults without a custom_config)."""
        config = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
        if not config:
            return cls()
        if isinstance(config, str):
            config = proto_utils.json_to_proto(config, example_gen_pb2.CustomConfig())
        struct = struct_pb2.Struct()
        if not config.custom_config.Unpack(struct):
            return cls()
        values = json_format.MessageToDict(struct)
        missing = values.get("missing_values")
        return cls(
            delimiter=values.get("delimiter", csv_format.DEFAULT_DELIMITER),
            encoding=values.get("encoding", csv_format.DEFAULT_ENCODING),
            missing_values=None if missing is None else tuple(missing),
            float_columns=tuple(values.get("float_columns", ())),
        )

    def arrow_encoding(self, path: str) -> str:
        """The encoding of file `path` as Arrow names it ('utf8' is read as is, others are
        transcoded): UTF-8 if the file starts with a UTF-8 byte-order mark, else the
        options' encoding."""
        if csv_format.is_utf8(self.encoding):
            return "utf8"
        with fileio.open(path, "rb") as stream:
            first = csv_format.decompressed(stream, path).read(len(csv_format.UTF8_BOM))
        return "utf8" if csv_format.starts_with_bom(first) else self.encoding

    def tfx_rules(self) -> CsvOptions:
        """The same files read as TFX's executor types cells: only an empty cell is
        missing, every column's type inferred (the rules of the examples' split keys)."""
        return dataclasses.replace(self, missing_values=None, float_columns=())

    def is_missing(self, cell: bytes) -> bool:
        """Whether a cell (UTF-8 bytes) is a missing value."""
        if self.missing_values is None:
            return not cell
        stripped = cell.strip()
        return not stripped or stripped.decode("utf-8", "replace") in self.missing_values


def read_header(path: str, options: CsvOptions = CsvOptions()) -> list[str]:
    """The column names of one file (any filesystem): with the spec's options, as its
    loader reads them (a CSV record: quoted names lose their quotes); without, as TFX
    does (the first line split on commas)."""
    if options == CsvOptions():
        return io_utils.load_csv_column_names(path)
    with fileio.open(path, "rb") as stream:
        return csv_format.parse_header(stream, path, options.encoding, options.delimiter)


def column_names(files: list[str], pattern: str, options: CsvOptions = CsvOptions()) -> list[str]:
    """The header shared by `files`: the first record of each, parsed as CSV."""
    names = read_header(files[0], options)
    for path in files[1:]:
        if read_header(path, options) != names:
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


def read_blocks(
    path: str, names: list[str], options: CsvOptions = CsvOptions()
) -> Iterator[pa.RecordBatch]:
    """The rows of one CSV file (header skipped), every cell as UTF-8 bytes, a block at a
    time."""
    try:
        with fileio.open(path, "rb") as stream:
            source = pa.PythonFile(_Readable(stream), mode="r")
            if csv_format.is_gzip(path):
                source = pa.CompressedInputStream(source, "gzip")
            # A UTF-8 byte-order mark is in the header, which is skipped.
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(
                    column_names=names,
                    skip_rows=1,
                    block_size=BLOCK_BYTES,
                    encoding=options.arrow_encoding(path),
                ),
                # Quoted cells may hold newlines, as in TFX's reader.
                parse_options=pacsv.ParseOptions(
                    delimiter=options.delimiter, newlines_in_values=True
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.binary() for name in names},
                    strings_can_be_null=False,
                ),
            )
            yield from reader
    except pa.ArrowInvalid as error:
        raise ValueError(f"Cannot parse CSV file {path}: {error}") from error


# A column's type as the spec's options write it, and as TFX's rules infer it (the type
# of its cells in the split key, see `encode_file`).
TypePair = tuple[ColumnType, ColumnType]


def file_column_types(
    path: str, names: list[str], options: CsvOptions = CsvOptions()
) -> dict[str, TypePair]:
    """Each column's types over one file: the widest `infer_type` of its distinct cells,
    as the options write it (missing values aside; FLOAT for their float columns) and as
    TFX infers it (every non-empty cell)."""
    floats = set(options.float_columns)
    spec = {name: ColumnType.FLOAT if name in floats else ColumnType.UNKNOWN for name in names}
    tfx = dict.fromkeys(names, ColumnType.UNKNOWN)
    for block in read_blocks(path, names, options):
        for index, name in enumerate(names):
            # Nothing can widen a column that is text by both rules (or a float column
            # that is text by TFX's).
            if tfx[name] is ColumnType.STRING and (
                spec[name] is ColumnType.STRING or name in floats
            ):
                continue
            for cell in block.column(index).unique().to_pylist():
                cell_type = infer_type(cell)
                tfx[name] = max(tfx[name], cell_type)
                if name not in floats and not options.is_missing(cell):
                    spec[name] = max(spec[name], cell_type)
    return {name: (spec[name], tfx[name]) for name in names}


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


def feature_column(
    cells: pa.Array, column_type: ColumnType, options: CsvOptions = CsvOptions()
) -> pa.Array:
    """One CSV column as tf.Example feature values: a list of one value per cell, none for a
    missing cell, and no list at all (a feature with no kind) in a column of empty cells.

    Raises:
        ValueError: A float column holds a cell that is not a number (the first such cell
            in its message).
    """
    value_type = _VALUE_TYPES[column_type]
    if column_type is ColumnType.UNKNOWN:
        return pa.nulls(len(cells), pa.large_list(value_type))
    # Each distinct cell is parsed once, by Python, as TFX parses every cell.
    encoded = cells.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    missing = [options.is_missing(cell) for cell in distinct]
    parsed = pa.array(
        [
            None if gone else _parse(cell, column_type)
            for cell, gone in zip(distinct, missing, strict=True)
        ],
        value_type,
    )
    indices = np.asarray(encoded.indices)
    present = ~np.asarray(missing, dtype=bool)[indices]
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    np.cumsum(present, out=offsets[1:])
    values = parsed.take(pa.array(indices[present]))
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


def column_entries(columns: dict[str, pa.Array]) -> dict[str, list[bytes]]:
    """Each column's serialized feature map entry per row (`join_entries` makes examples).

    tfx_bsl's encoder writes each example's features in hash-table order, which varies
    from row to row; so each column is encoded alone (`Example{Features{entry}}`) and
    its entries are joined in name order, which is cheaper than parsing and
    re-serializing each example.
    """
    encoder = example_coder.RecordBatchToExamplesEncoder()
    entries = {}
    for name, column in columns.items():
        alone = encoder.encode(pa.RecordBatch.from_arrays([column], [name]))
        entries[name] = [_after_header(example) for example in alone]
    return entries


def join_entries(entries: dict[str, list[bytes]]) -> list[bytes]:
    """One serialized tf.Example per row, as protobuf's deterministic serialization writes
    it: the features sorted by name (TFX's hash split reads these bytes)."""
    examples = []
    for row in zip(*(entries[name] for name in sorted(entries)), strict=True):
        features = b"".join(row)
        size = len(features)
        length = _SHORT_VARINTS[size] if size < len(_SHORT_VARINTS) else _varint(size)
        examples.append(b"\x0a" + length + features)  # field 1 of Example: features
    return examples


def serialize_examples(columns: dict[str, pa.Array]) -> list[bytes]:
    """One serialized tf.Example per row of `columns`, deterministically serialized."""
    return join_entries(column_entries(columns))


def encode_file(
    path: str,
    names: list[str],
    types: dict[str, TypePair],
    options: CsvOptions = CsvOptions(),
) -> Iterator[tuple[bytes, bytes]]:
    """The rows of one CSV file as (split key, serialized tf.Example) pairs.

    The example is written as the options say. Its split key is the example as TFX's
    executor would have written the row (`CsvOptions.tfx_rules`): the hash split, which
    reads the key, puts each row in the split TFX's own ExampleGen would, so the spec's
    typing (floats, missing tokens) changes no data set's splits. Only the columns whose
    values differ are encoded twice; without options the key is the example.
    """
    tfx = options.tfx_rules()
    for block in read_blocks(path, names, options):
        columns, differing = {}, {}
        for i, name in enumerate(names):
            spec_type, tfx_type = types[name]
            try:
                columns[name] = feature_column(block.column(i), spec_type, options)
            except ValueError as error:
                raise ValueError(
                    f"{path}, column '{name}': {error} (the spec declares the column "
                    "numeric: a cell must be a number, empty, or a missing_values token)"
                ) from None
            if options != tfx or spec_type is not tfx_type:
                as_tfx = feature_column(block.column(i), tfx_type, tfx)
                if not as_tfx.equals(columns[name]):
                    differing[name] = as_tfx
        entries = column_entries(columns)
        records = join_entries(entries)
        keys = join_entries({**entries, **column_entries(differing)}) if differing else records
        yield from zip(keys, records, strict=True)


def merge_types(per_file: Iterable[dict[str, TypePair]]) -> dict[str, TypePair]:
    """The widest types of each column over all files."""
    unknown = (ColumnType.UNKNOWN, ColumnType.UNKNOWN)
    merged: dict[str, TypePair] = {}
    for types in per_file:
        for name, (spec, tfx) in types.items():
            known = merged.get(name, unknown)
            merged[name] = (max(known[0], spec), max(known[1], tfx))
    return merged


@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(beam.typehints.Tuple[bytes, bytes])
class _CsvToKeyedExamples(beam.PTransform):
    """Reads the CSV files of one input split as (split key, serialized tf.Example)."""

    def __init__(self, exec_properties: dict[str, Any], split_pattern: str) -> None:
        self._pattern = os.path.join(
            exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern
        )
        self._options = CsvOptions.from_exec_properties(exec_properties)

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        files = sorted(fileio.glob(self._pattern))
        if not files:
            raise RuntimeError(f"Split pattern {self._pattern} does not match any files.")
        options = self._options
        names = column_names(files, self._pattern, options)
        unknown = sorted(set(options.float_columns) - set(names))
        if unknown:
            raise RuntimeError(f"Column(s) {unknown} are not in the header of {files[0]}.")
        paths = pipeline | "CsvFiles" >> beam.Create(files)
        # Only one small dict per file waits for the side input, not the data.
        types = beam.pvalue.AsSingleton(
            paths
            | "ColumnTypesPerFile" >> beam.Map(file_column_types, names, options)
            | "ColumnTypes" >> beam.CombineGlobally(merge_types)
        )
        return paths | "EncodeFiles" >> beam.FlatMap(encode_file, names, types, options)


@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(bytes)
class _CsvToSerializedExamples(beam.PTransform):
    """Reads the CSV files of one input split as serialized tf.Examples."""

    def __init__(self, exec_properties: dict[str, Any], split_pattern: str) -> None:
        self._keyed = _CsvToKeyedExamples(exec_properties, split_pattern)

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        return pipeline | "Keyed" >> self._keyed | "Examples" >> beam.Values()


def split_index(key: bytes, buckets: list[int]) -> int:
    """The output split of an example by TFX's hash split: the SHA-256 of its key, as a
    big-endian integer, modulo the total bucket count, placed among the cumulative
    `buckets` (e.g. [2, 3]: buckets 0-1 are split 0, bucket 2 is split 1)."""
    bucket = int.from_bytes(hashlib.sha256(key).digest(), "big") % buckets[-1]
    return bisect.bisect(buckets, bucket)


def partition_key(example: bytes, feature_name: str) -> bytes:
    """The key of a split by a feature's value, as TFX makes it: the named feature of a
    serialized tf.Example, deterministically serialized (bytes and int64 features only)."""
    features = example_pb2.Example.FromString(example).features.feature
    if feature_name not in features:
        raise RuntimeError(f"Cannot split by feature '{feature_name}': no such column.")
    feature = features[feature_name]
    if feature.WhichOneof("kind") not in ("bytes_list", "int64_list"):
        raise RuntimeError(
            f"Cannot split by feature '{feature_name}': it must hold text or whole numbers "
            "in every row (as TFX reads the file), not decimals or only empty cells."
        )
    return feature.SerializeToString(deterministic=True)


def _split_of(
    pair: tuple[bytes, bytes], num_partitions: int, buckets: list[int], feature_name: str
) -> int:
    """The split of a (split key, example) pair (`encode_file`): by its key, or by the
    key's feature `feature_name` when one is named."""
    key = pair[0]
    return split_index(partition_key(key, feature_name) if feature_name else key, buckets)


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

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.PCollection]:
        """TFX's output splits: one per input split, or hash splits of one input split.
        A hash split reads each example's split key (`encode_file`), or that key's
        `partition_feature_name` feature: the spec's typing leaves every row in the split
        TFX's executor would put it in."""
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config
        )
        split_config = output_config.split_config
        if not split_config.splits:
            return super().GenerateExamplesByBeam(pipeline, exec_properties)
        if len(input_config.splits) != 1:
            raise ValueError(
                "output_config names splits to hash into, so input_config must have exactly "
                f"one split, not {len(input_config.splits)}"
            )
        names = example_gen_utils.generate_output_split_names(input_config, output_config)
        buckets = list(itertools.accumulate(split.hash_buckets for split in split_config.splits))
        parts = (
            pipeline
            | "InputToRecord"
            >> _CsvToKeyedExamples(exec_properties, input_config.splits[0].pattern)
            | "SplitData"
            >> beam.Partition(_split_of, len(buckets), buckets, split_config.partition_feature_name)
        )
        return {
            name: part | f"Examples[{name}]" >> beam.Values()
            for name, part in zip(names, parts, strict=True)
        }

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
