"""Where definitions run: DuckDB over the Parquet lake (the default) or PySpark, unchanged.

Both engines bind the same three names the definitions' unbound Ibis tables use: ``events`` (the
lake's day partitions the run needs, ``day`` recovered from the Hive path as a DATE), ``devices``
(the month-end device snapshot) and ``forecasts`` (the suppliers' install forecasts for the
month), both Parquet files written by ``reporting/inventory.py``.
Ibis compiles one expression to each engine's SQL; results come back as plain Python rows and
are normalised the same way (``normalise``) so that numbers can be compared exactly: floats are
rounded to each measure's presentation decimals, times are UTC ISO strings.

Spark runs in local mode (``local[2]``, two shuffle partitions, no UI, UTC session time zone):
the point is that the definitions are portable to a cluster, and CI proves it on a tiny lake.

Speed (docs/reporting.md, benchmarks/report_pack.py): DuckDB runs up to two definitions at once
on separate cursors of one database (one query's single-threaded phases and the normalising of
another's result overlap), caches Parquet footers between queries, and has a memory limit and a
spill directory of its own, so a billion-event month spills to disk rather than running out of
memory. ``normalise_table`` normalises a result column by column and orders it with Arrow; it
gives exactly the rows ``normalise`` gives (tested), a hundred times faster on big data files.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import queue
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from meterhub.lake.schema import EVENT_SCHEMA
from meterhub.reporting.definitions import (
    DEVICES_TABLE,
    EVENTS_TABLE,
    FORECASTS_TABLE,
    Definition,
)

EngineName = Literal["duckdb", "spark"]
ENGINES: Final[tuple[EngineName, ...]] = ("duckdb", "spark")
Row = dict[str, Any]


class Engine(Protocol):
    name: EngineName

    def bind(
        self, *, event_days: Sequence[Path], events_root: Path, devices: Path, forecasts: Path
    ) -> None:
        """Make ``events`` the given day partitions, ``devices`` and ``forecasts`` the
        snapshot files."""

    def rows(self, expression: ir.Table) -> list[Row]:
        """Run an expression over the bound tables."""

    def tables(self, expressions: Sequence[ir.Table]) -> Iterator[pa.Table]:
        """Run expressions over the bound tables; results in the order given."""

    def close(self) -> None: ...


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: Environment variable overriding DuckDB's memory limit for report runs (e.g. ``8GB``).
MEMORY_LIMIT_ENV: Final = "METERHUB_REPORT_MEMORY_LIMIT"
#: Share of the machine's memory DuckDB may use by default; beyond it, it spills to disk. The
#: rest is left for the run's Python side (the results, the per-recipient files) and the OS.
DEFAULT_MEMORY_SHARE: Final = 0.4


def default_memory_limit() -> str:
    """``METERHUB_REPORT_MEMORY_LIMIT``, else 40% of physical memory (DuckDB's own default is
    80%, which leaves too little for the rest of a run on a big month)."""
    configured = os.environ.get(MEMORY_LIMIT_ENV)
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(1, int(total * DEFAULT_MEMORY_SHARE) // 2**20)}MB"


class DuckDBEngine:
    """In-process DuckDB, reading the Parquet files in place.

    ``concurrency`` definitions run at once, each on its own cursor of the one database (so
    they share the memory limit and the Parquet footer cache). Spilled data goes to a private
    temporary directory removed by ``close``."""

    name: EngineName = "duckdb"

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        concurrency: int = 2,
    ) -> None:
        # DuckDB creates the directory only if it has to spill; ``close`` removes it.
        self._spill = str(Path(tempfile.gettempdir()) / f"meterhub-duckdb-{secrets.token_hex(8)}")
        config: dict[str, Any] = {
            "memory_limit": memory_limit or default_memory_limit(),
            "temp_directory": self._spill,
            # Results are fully ordered by ``normalise``; letting DuckDB skip insertion order
            # saves memory on big data files.
            "preserve_insertion_order": False,
        }
        if threads:
            config["threads"] = threads
        self.con = ibis.duckdb.connect(**config)
        # Every definition reads the same files: read their footers once.
        self.con.raw_sql("SET parquet_metadata_cache = true")
        self.concurrency = max(1, concurrency)

    def bind(
        self, *, event_days: Sequence[Path], events_root: Path, devices: Path, forecasts: Path
    ) -> None:
        files = [str(d / "*.parquet") for d in event_days]
        listing = "[" + ", ".join(_sql_string(f) for f in files) + "]"
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {EVENTS_TABLE} AS SELECT * FROM read_parquet({listing}, "
            "hive_partitioning = true, hive_types = {'day': DATE}, union_by_name = true)"
        )
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {DEVICES_TABLE} AS "
            f"SELECT * FROM read_parquet({_sql_string(str(devices))})"
        )
        self.con.raw_sql(
            f"CREATE OR REPLACE VIEW {FORECASTS_TABLE} AS "
            f"SELECT * FROM read_parquet({_sql_string(str(forecasts))})"
        )

    def rows(self, expression: ir.Table) -> list[Row]:
        table: pa.Table = self.con.to_pyarrow(expression)
        return list(table.to_pylist())

    def tables(self, expressions: Sequence[ir.Table]) -> Iterator[pa.Table]:
        """Compiled here (Ibis is not thread-safe), run ``concurrency`` at a time on cursors,
        typed as Ibis's ``to_pyarrow`` types them."""
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        sqls = [str(self.con.compile(e)) for e in expressions]
        if self.concurrency == 1 or len(sqls) < 2:
            for e, sql in zip(expressions, sqls, strict=True):
                yield e.__pyarrow_result__(
                    self.con.con.sql(sql).to_arrow_table(), data_mapper=DuckDBPyArrowData
                )
            return

        # A connection refuses a second call while one runs, so each query gets a cursor,
        # all opened here before any runs.
        cursors: queue.SimpleQueue[Any] = queue.SimpleQueue()
        opened = [self.con.con.cursor() for _ in range(self.concurrency)]
        for cursor in opened:
            cursors.put(cursor)

        def run(sql: str) -> pa.Table:
            cursor = cursors.get()
            try:
                return cursor.sql(sql).to_arrow_table()
            finally:
                cursors.put(cursor)

        # At most ``concurrency`` queries are submitted ahead of the caller, so a caller that
        # stops early (an error) leaves nothing queued behind the running ones.
        work = iter(zip(expressions, sqls, strict=True))
        pending: deque[tuple[ir.Table, Future[pa.Table]]] = deque()
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="meterhub-duckdb") as pool:
                for e, sql in itertools.islice(work, self.concurrency):
                    pending.append((e, pool.submit(run, sql)))
                while pending:
                    e, future = pending.popleft()
                    table = future.result()
                    following = next(work, None)
                    if following is not None:
                        pending.append((following[0], pool.submit(run, following[1])))
                    yield e.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)
        finally:
            for _, future in pending:
                future.cancel()
            for cursor in opened:
                cursor.close()

    def close(self) -> None:
        self.con.disconnect()
        shutil.rmtree(self._spill, ignore_errors=True)


def spark_session(app_name: str = "meterhub-reporting") -> Any:
    """A local SparkSession fit for a laptop or CI runner; reused if one is already running."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.log.level", "ERROR")
        .getOrCreate()
    )


class SparkEngine:
    """PySpark through Ibis's pyspark backend; the lake is read with Spark's Parquet reader."""

    name: EngineName = "spark"

    def __init__(self, session: Any | None = None) -> None:
        self.spark = session or spark_session()
        self.con = ibis.pyspark.connect(self.spark)

    def bind(
        self, *, event_days: Sequence[Path], events_root: Path, devices: Path, forecasts: Path
    ) -> None:
        from pyspark.sql import functions as F

        events = (
            self.spark.read.option("basePath", str(events_root))
            .parquet(*(str(d) for d in event_days))
            .withColumn("day", F.col("day").cast("date"))
        )
        events.createOrReplaceTempView(EVENTS_TABLE)
        self.spark.read.parquet(str(devices)).createOrReplaceTempView(DEVICES_TABLE)
        self.spark.read.parquet(str(forecasts)).createOrReplaceTempView(FORECASTS_TABLE)

    def rows(self, expression: ir.Table) -> list[Row]:
        table: pa.Table = self.con.to_pyarrow(expression)
        return list(table.to_pylist())

    def tables(self, expressions: Sequence[ir.Table]) -> Iterator[pa.Table]:
        for e in expressions:
            yield self.con.to_pyarrow(e)

    def close(self) -> None:
        """The SparkSession is left running: starting one costs tens of seconds."""


def open_engine(name: EngineName) -> Engine:
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine()
    raise ValueError(f"unknown engine {name!r}")


# ---- binding the lake ---------------------------------------------------------------------


def event_partitions(lake: Path, days: Iterable[date], scratch: Path) -> tuple[Path, list[Path]]:
    """The lake's day directories among ``days`` that hold data. When none do, an empty
    partition is written under ``scratch`` so both engines still see the lake's columns."""
    root = lake / "events"
    found = [
        root / f"day={d:%Y-%m-%d}"
        for d in days
        if any((root / f"day={d:%Y-%m-%d}").glob("*.parquet"))
    ]
    if found:
        return root, found
    first = next(iter(days))
    empty_root = scratch / "empty-lake" / "events"
    part = empty_root / f"day={first:%Y-%m-%d}"
    part.mkdir(parents=True, exist_ok=True)
    pq.write_table(EVENT_SCHEMA.empty_table(), part / "empty.parquet")
    return empty_root, [part]


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="meterhub-report-")


# ---- normalising results ------------------------------------------------------------------


def _value(value: Any, decimals: int | None) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if decimals is not None:
            return round(value, decimals)
        return round(value, 6)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _value(value.item(), decimals)
    return value


def _sort_key(row: Row, columns: Sequence[str]) -> tuple[tuple[int, Any], ...]:
    """None first, then numbers by value, then text."""
    return tuple(
        (0, 0)
        if row[c] is None
        else (1, row[c])
        if isinstance(row[c], int | float)
        else (2, str(row[c]))
        for c in columns
    )


def normalise(definition: Definition, rows: Iterable[Row]) -> list[Row]:
    """Rows in the definition's column order, values in presentation form, sorted."""
    decimals = {m.name: m.decimals for m in definition.measures}
    out = [{c: _value(row.get(c), decimals.get(c)) for c in definition.columns} for row in rows]
    out.sort(key=lambda r: _sort_key(r, definition.columns))
    return out


def _column_values(column: pa.ChunkedArray, decimals: int | None) -> list[Any]:
    """A result column in presentation form, as ``_value`` gives it value by value; strings,
    integers and booleans are already in that form, so only the rest goes through ``_value``."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    values: list[Any] = column.to_pylist()
    if (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    ):
        return values
    return [_value(v, decimals) for v in values]


def _sorted_order(columns: Sequence[list[Any]], n: int) -> list[int] | None:
    """Row positions in ``_sort_key`` order, computed by Arrow (a stable sort, nulls first;
    numbers by value, text by code point, as Python compares them); ``None`` when a column
    mixes kinds Arrow cannot order the same way, and the caller sorts in Python."""
    keys: dict[str, pa.Array] = {}
    for i, values in enumerate(columns):
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return None
        kind = array.type
        if not (
            pa.types.is_null(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_string(kind)
        ):
            return None
        keys[f"c{i}"] = array
    if not keys:
        return list(range(n))
    order = pc.sort_indices(
        pa.table(keys), sort_keys=[(name, "ascending", "at_start") for name in keys]
    )
    return list(order.to_pylist())


def normalise_table(definition: Definition, table: pa.Table) -> list[Row]:
    """``normalise`` for a result held as an Arrow table: the same rows in the same order,
    converted column by column and sorted by Arrow rather than value by value in Python."""
    decimals = {m.name: m.decimals for m in definition.measures}
    columns = definition.columns
    n = table.num_rows
    values = [
        _column_values(table.column(c), decimals.get(c)) if c in table.column_names else [None] * n
        for c in columns
    ]
    order = _sorted_order(values, n)
    if order is None:
        out = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
        out.sort(key=lambda r: _sort_key(r, columns))
        return out
    if n > 1:
        pick = operator.itemgetter(*order)  # reorders a column in C: a tuple in that order
        values = [pick(column) for column in values]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
