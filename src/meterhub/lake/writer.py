"""Append events to the lake: Parquet files partitioned by UTC day, each written atomically.

A file is written under a hidden temporary name (``.part-x.parquet.tmp``) in its partition
directory and renamed into place only when complete, so readers globbing ``*.parquet`` never see
a half-written file, even after a crash; a crash leaves at most a hidden ``.tmp`` behind, which
the next writer of the same part removes. Rows whose ``event_time`` falls on different days
(a response arriving after midnight) go to their own day's partition.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from meterhub.errors import InvalidInput
from meterhub.lake.schema import DICTIONARY_COLUMNS, EVENT_SCHEMA

_EPOCH = date(1970, 1, 1)
# Near-sorted integers: delta encoding stores them in a few bits each, and fast.
_DELTA_ENCODED = {
    "event_id": "DELTA_BINARY_PACKED",
    "event_time": "DELTA_BINARY_PACKED",
    "request_id": "DELTA_BINARY_PACKED",
}
_MS_PER_DAY = 86_400_000


def events_dir(root: Path) -> Path:
    return Path(root) / "events"


def events_glob(root: Path) -> str:
    """The glob DuckDB (``read_parquet(..., hive_partitioning=true)``) reads the lake with."""
    return str(events_dir(root) / "*" / "*.parquet")


def day_dir(root: Path, day: date) -> Path:
    return events_dir(root) / f"day={day.isoformat()}"


class EventLakeWriter:
    """Writes batches of events under ``<root>/events/day=YYYY-MM-DD/part-<name>.parquet``.

    ``compression`` is any Parquet codec pyarrow knows (zstd by default); ``row_group_rows``
    bounds a row group so readers can skip by statistics without loading a whole file.
    """

    def __init__(
        self,
        root: Path,
        *,
        compression: str = "zstd",
        compression_level: int | None = 1,
        row_group_rows: int = 1_048_576,
        durable: bool = True,
    ) -> None:
        self.root = Path(root)
        self.compression = compression
        self.compression_level = compression_level
        self.row_group_rows = row_group_rows
        self.durable = durable

    def write(
        self, data: pa.Table | pa.RecordBatch | Mapping[str, Any], *, part: str
    ) -> list[Path]:
        """Write ``data`` as file(s) named ``part-<part>``; returns the visible paths written.

        ``part`` must be unique within a day: writing the same part again replaces the file
        (that is what makes a re-run of a deterministic simulation idempotent).
        """
        if not part or "/" in part or part.startswith("."):
            raise InvalidInput(f"bad part name {part!r}", code="bad_part_name")
        table = self._as_table(data)
        if table.num_rows == 0:
            return []
        millis = table.column("event_time").cast(pa.int64()).to_numpy()
        days = millis // _MS_PER_DAY
        written: list[Path] = []
        first, last = int(days.min()), int(days.max())
        if first == last:
            written.append(self._write_day(table, first, part))
            return written
        for day in np.unique(days):
            mask = pa.array(days == day)
            written.append(self._write_day(table.filter(mask), int(day), part))
        return written

    def _as_table(self, data: pa.Table | pa.RecordBatch | Mapping[str, Any]) -> pa.Table:
        if isinstance(data, pa.RecordBatch):
            table = pa.Table.from_batches([data])
        elif isinstance(data, pa.Table):
            table = data
        else:
            missing = [n for n in EVENT_SCHEMA.names if n not in data]
            extra = [n for n in data if n not in EVENT_SCHEMA.names]
            if extra:
                raise InvalidInput(
                    f"unknown event column(s): {', '.join(extra)}", code="bad_event_columns"
                )
            length = len(next(iter(data.values()))) if data else 0
            columns = {
                name: (data[name] if name in data else pa.nulls(length))
                for name in EVENT_SCHEMA.names
            }
            if any(not EVENT_SCHEMA.field(n).nullable for n in missing):
                raise InvalidInput(
                    f"missing event column(s): {', '.join(missing)}", code="bad_event_columns"
                )
            arrays = [_to_array(columns[f.name], f.type) for f in EVENT_SCHEMA]
            return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
        if table.schema != EVENT_SCHEMA:
            table = table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
        return table

    def _write_day(self, table: pa.Table, day_number: int, part: str) -> Path:
        directory = day_dir(self.root, _EPOCH + timedelta(days=day_number))
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"part-{part}.parquet"
        temporary = directory / f".part-{part}.parquet.tmp"
        pq.write_table(
            table,
            temporary,
            compression=self.compression,
            compression_level=self.compression_level,
            row_group_size=self.row_group_rows,
            use_dictionary=list(DICTIONARY_COLUMNS),
            column_encoding=_DELTA_ENCODED,
            write_statistics=["event_id", "event_time", "request_id"],
        )
        if self.durable:
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(temporary, final)
        return final


def _to_array(values: Any, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == type_ else pc.cast(values, type_)
    if pa.types.is_dictionary(type_):
        return pa.array(values, type=pa.string()).dictionary_encode().cast(type_)
    return pa.array(values, type=type_)
