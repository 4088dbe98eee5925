"""Reading an operator's CSV file strictly, and writing the report of rejected rows.

A file is read as UTF-8 (an Excel byte-order mark is allowed), comma-separated with ``"`` quotes,
a header row first and the same number of fields on every line. Anything else (another encoding,
NUL bytes, ragged or badly quoted lines, an empty or oversized file) refuses the whole file
before any row reaches a service: a half-understood file must not load half of itself.

Line numbers are the physical lines of the file, the header being line 1, so an operator can go
straight to a rejected row in an editor even when a quoted field spans several lines.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from meterhub.errors import InvalidInput, PayloadTooLarge
from meterhub.kit.spreadsheet import spreadsheet_safe


@dataclass(frozen=True)
class CsvRow:
    """One data row: the line it starts on and its cells by (lower-case) column name."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvShape:
    """What a full pass over a well-formed file found: its columns, rows and content hash."""

    header: tuple[str, ...]
    rows: int
    sha256: str


def _malformed(path: Path, message: str) -> InvalidInput:
    return InvalidInput(f"{path.name}: {message}", code="malformed_csv")


def _open(path: Path, max_bytes: int) -> BinaryIO:
    if not path.exists():
        raise InvalidInput(f"no file {path}", code="no_such_file")
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file", code="no_such_file")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(
            f"{path.name} is {size:,} bytes, over the {max_bytes:,}-byte limit"
            " (METERHUB_MAX_CSV_BYTES); split it into smaller files",
            code="file_too_large",
        )
    if size == 0:
        raise _malformed(path, "the file is empty")
    try:
        return path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="no_such_file") from None


def _text_lines(path: Path, fh: BinaryIO, max_bytes: int, digest: hashlib._Hash) -> Iterator[str]:
    """Each physical line decoded strictly, so a bad byte is reported with its own line number."""
    read = 0
    for number, raw in enumerate(fh, 1):
        read += len(raw)
        if read > max_bytes:
            raise PayloadTooLarge(
                f"{path.name} grew past {max_bytes:,} bytes", code="file_too_large"
            )
        digest.update(raw)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\x00" in raw:
            raise _malformed(path, f"line {number} contains a NUL byte; is it really a CSV file?")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(
                path,
                f"line {number} is not UTF-8 (byte 0x{raw[exc.start]:02X} at position"
                f" {exc.start + 1}); save the file as CSV UTF-8",
            ) from None


def _records(
    path: Path, max_bytes: int, digest: hashlib._Hash | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) for every non-blank record; raises on the first malformation."""
    with _open(path, max_bytes) as fh:
        reader = csv.reader(
            _text_lines(path, fh, max_bytes, digest or hashlib.sha256()), strict=True
        )
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                hint = " (a quote opened and never closed?)" if "end of data" in str(exc) else ""
                raise _malformed(path, f"line {start}: {exc}{hint}") from None
            if all(not f.strip() for f in fields):
                continue
            yield start, fields


def _header(path: Path, fields: list[str]) -> tuple[str, ...]:
    names = tuple(f.strip().lower() for f in fields)
    for position, name in enumerate(names, 1):
        if not name:
            raise _malformed(path, f"column {position} of the header row has no name")
        if names.index(name) != position - 1:
            raise _malformed(path, f"column {name!r} appears twice in the header row")
    return names


def scan(
    path: Path,
    *,
    max_bytes: int,
    check_header: Callable[[tuple[str, ...]], None] | None = None,
) -> CsvShape:
    """Read the whole file once and refuse it if it is not well formed (see the module docs).
    ``check_header`` sees the column names first, so wrong columns are named before anything else.
    """
    digest = hashlib.sha256()
    records = _records(path, max_bytes, digest)
    first = next(records, None)
    if first is None:
        raise _malformed(path, "the file is empty")
    header = _header(path, first[1])
    if check_header is not None:
        check_header(header)
    rows = 0
    ragged: list[tuple[int, int]] = []
    for line, fields in records:
        rows += 1
        if len(fields) != len(header):
            ragged.append((line, len(fields)))
    if ragged:
        line, count = ragged[0]
        more = f" ({len(ragged)} such lines in all)" if len(ragged) > 1 else ""
        raise _malformed(
            path, f"line {line} has {count} fields where the header has {len(header)}{more}"
        )
    if rows == 0:
        raise _malformed(path, "the file has a header row but no data rows")
    return CsvShape(header=header, rows=rows, sha256=digest.hexdigest())


def rows(path: Path, *, max_bytes: int) -> Iterator[CsvRow]:
    """The data rows of a file ``scan`` accepted, as cells keyed by column name."""
    records = _records(path, max_bytes)
    first = next(records, None)
    if first is None:
        raise _malformed(path, "the file is empty")
    header = _header(path, first[1])
    for line, fields in records:
        if len(fields) != len(header):
            raise _malformed(path, f"line {line} has {len(fields)} fields, not {len(header)}")
        yield CsvRow(line=line, values=dict(zip(header, fields, strict=True)))


REPORT_COLUMNS = ("line", "key", "code", "message")


def write_report(path: Path, rejected: Iterable[tuple[int, str, str, str]]) -> None:
    """The rejected rows as CSV UTF-8: line, key, code, message (docs/import.md)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(REPORT_COLUMNS)
        for line, key, code, message in rejected:
            out.writerow([line, spreadsheet_safe(key), code, spreadsheet_safe(message)])
