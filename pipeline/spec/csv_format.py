"""How the spec's CSV files are read, and what a file's first bytes say about its format.

One set of rules for every reader of the data: the spec loader (headers), the input checks
(every cell), the ExampleGen executor (on binary streams from TFX's fileio, so on gs:// too)
and the serving helpers. A file is read as the spec's `files` section says:

- `delimiter` (default ','): the character between cells; a header is parsed as a CSV
  record, so quoted names (R's `write.csv` quotes every one) lose their quotes;
- `encoding` (default UTF-8): the file's text encoding; a file that starts with a UTF-8
  byte-order mark (Excel's "CSV UTF-8") is UTF-8 whatever `encoding` says, the mark
  dropped;
- a name ending in `.gz` is a gzip-compressed file (as Beam reads it).

The detectors below (`starts_with_bom`, `first_undecodable_line`, `other_delimiter`) name
what is wrong with a file that does not read as its spec says; they only look at bytes and
text, so a tool that writes specs can use them too.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

DEFAULT_DELIMITER = ","
DEFAULT_ENCODING = "utf-8"
UTF8_BOM = codecs.BOM_UTF8
GZIP_SUFFIX = ".gz"
# Delimiters a header is tried with when the declared one leaves it in one piece.
COMMON_DELIMITERS = (",", ";", "\t", "|")
# Bytes read to find a file's header line (a header longer than this is cut).
HEADER_BYTES = 1 << 20


def is_gzip(path: str | Path) -> bool:
    """Whether `path` names a gzip-compressed file (by its suffix, as Beam decides)."""
    return str(path).endswith(GZIP_SUFFIX)


def is_known_encoding(encoding: str) -> bool:
    """Whether Python (and so Arrow, which transcodes through Python's codecs) knows it."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def is_utf8(encoding: str) -> bool:
    """Whether `encoding` names UTF-8 (any spelling: utf8, UTF-8, utf_8)."""
    return codecs.lookup(encoding).name == "utf-8"


def starts_with_bom(first_bytes: bytes) -> bool:
    """Whether a file's first bytes are a UTF-8 byte-order mark."""
    return first_bytes.startswith(UTF8_BOM)


def text_encoding(encoding: str, first_bytes: bytes = b"") -> str:
    """The Python codec a file is decoded with: UTF-8 when it starts with a UTF-8
    byte-order mark (the mark is dropped), else `encoding`.

    `utf-8-sig` reads UTF-8 with or without the mark, so a UTF-8 file never keeps it in its
    first column's name.
    """
    if starts_with_bom(first_bytes) or is_utf8(encoding):
        return "utf-8-sig"
    return encoding


def decompressed(stream: IO[bytes], path: str | Path) -> IO[bytes]:
    """`stream` (the bytes of `path`) decompressed when `path` is a gzip file."""
    return gzip.GzipFile(fileobj=stream, mode="rb") if is_gzip(path) else stream  # type: ignore[return-value]


@contextlib.contextmanager
def open_text(path: str | Path, encoding: str = DEFAULT_ENCODING) -> Iterator[IO[str]]:
    """A local CSV file as text for Python's `csv` module (decompressed, decoded, no BOM)."""
    with open(path, "rb") as raw:
        binary = decompressed(raw, path)
        # Both streams are buffered: peeking reads nothing away.
        first = binary.peek(len(UTF8_BOM))[: len(UTF8_BOM)]  # type: ignore[attr-defined]
        with io.TextIOWrapper(binary, encoding=text_encoding(encoding, first), newline="") as text:
            yield text


def parse_header(
    stream: IO[bytes],
    path: str | Path,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str = DEFAULT_DELIMITER,
) -> list[str]:
    """The column names in the first record of `stream` (the bytes of file `path`).

    Raises:
        UnicodeDecodeError: The header is not text in the file's encoding.
    """
    data = decompressed(stream, path).read(HEADER_BYTES)
    text = data.decode(text_encoding(encoding, data), errors="strict")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def read_header(
    path: str | Path, encoding: str = DEFAULT_ENCODING, delimiter: str = DEFAULT_DELIMITER
) -> list[str]:
    """The column names of local file `path` ([] for an empty file)."""
    with open(path, "rb") as f:
        return parse_header(f, path, encoding, delimiter)


def read_rows(
    path: str | Path, encoding: str = DEFAULT_ENCODING, delimiter: str = DEFAULT_DELIMITER
) -> list[dict[str, str]]:
    """Every row of local file `path` as {column name: cell} (for serving and tests)."""
    with open_text(path, encoding) as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def file_starts_with_bom(path: str | Path) -> bool:
    """Whether local file `path` (decompressed) starts with a UTF-8 byte-order mark."""
    with open(path, "rb") as raw:
        return starts_with_bom(decompressed(raw, path).read(len(UTF8_BOM)))


class Undecodable(NamedTuple):
    """Where a file stops being text in an encoding: its line (from 1) and the bytes."""

    line: int
    data: bytes


def first_undecodable_line(path: str | Path, encoding: str) -> Undecodable | None:
    """The first line of local file `path` that `encoding` cannot decode, or None.

    Lines are split on newline bytes, which holds for UTF-8 and the single-byte encodings
    (latin-1, cp1252, ...) that files from spreadsheets use.
    """
    with open(path, "rb") as raw:
        binary = decompressed(raw, path)
        codec = None
        for number, line in enumerate(binary, start=1):
            codec = codec or text_encoding(encoding, line)
            try:
                line.decode(codec)
            except UnicodeDecodeError as error:
                return Undecodable(number, line[error.start : error.end])
    return None


def undecodable_message(path: str | Path, encoding: str) -> str:
    """One line on a file that is not text in `encoding`: its first bad line, and what to
    do."""
    found = first_undecodable_line(path, encoding)
    where = f"{path} line {found.line}" if found else str(path)
    data = f" byte(s) {found.data!r}" if found else ""
    return (
        f"{where}:{data} not {encoding} text: the file has another encoding; set "
        "`encoding:` under `files:` in the spec to the file's (files from Excel on Windows "
        "are often cp1252 or latin-1)"
    )


def other_delimiter(line: str, delimiter: str = DEFAULT_DELIMITER) -> str | None:
    """The delimiter a header line seems separated by, when it is not `delimiter`.

    A common delimiter that splits the line into more names than `delimiter` does (a
    semicolon-separated export read with ','), or None.
    """

    def count(candidate: str) -> int:
        return len(next(csv.reader([line], delimiter=candidate), []))

    best, fields = None, count(delimiter)
    for candidate in COMMON_DELIMITERS:
        if candidate != delimiter and count(candidate) > fields:
            best, fields = candidate, count(candidate)
    return best


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is written in the spec: ';' as "';'", a tab as '"\\t"'."""
    return '"\\t"' if delimiter == "\t" else repr(delimiter)


def first_line(path: str | Path, encoding: str = DEFAULT_ENCODING) -> str:
    """The first line of local file `path` as text (undecodable bytes replaced), without
    its line break: the header as `other_delimiter` reads it."""
    with open(path, "rb") as raw:
        data = decompressed(raw, path).readline(HEADER_BYTES)
    return data.decode(text_encoding(encoding, data), errors="replace").rstrip("\r\n")
