"""Where definitions run: DuckDB over the Parquet lake (the default) or PySpark, unchanged.

Both engines bind the same two names the definitions' unbound Ibis tables use: ``events`` (the
lake's day partitions the run needs, ``day`` recovered from the Hive path as a DATE) and
``devices`` (the month-end device snapshot, a Parquet file written by ``reporting/inventory.py``).
Ibis compiles one expression to each engine's SQL; results come back as plain Python rows and
are normalised the same way (``normalise``) so that numbers can be compared exactly: floats are
rounded to each measure's presentation decimals, times are UTC ISO strings.

Spark runs in local mode (``local[2]``, two shuffle partitions, no UI, UTC session time zone):
the point is that the definitions are portable to a cluster, and CI proves it on a tiny lake.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from meterhub.lake.schema import EVENT_SCHEMA
from meterhub.reporting.definitions import DEVICES_TABLE, EVENTS_TABLE, Definition

EngineName = Literal["duckdb", "spark"]
ENGINES: Final[tuple[EngineName, ...]] = ("duckdb", "spark")
Row = dict[str, Any]


class Engine(Protocol):
    name: EngineName

    def bind(self, *, event_days: Sequence[Path], events_root: Path, devices: Path) -> None:
        """Make ``events`` the given day partitions and ``devices`` the snapshot file."""

    def rows(self, expression: ir.Table) -> list[Row]:
        """Run an expression over the bound tables."""

    def close(self) -> None: ...


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBEngine:
    """In-process DuckDB, reading the Parquet files in place."""

    name: EngineName = "duckdb"

    def __init__(self, *, threads: int | None = None) -> None:
        self.con = ibis.duckdb.connect(**({"threads": threads} if threads else {}))

    def bind(self, *, event_days: Sequence[Path], events_root: Path, devices: Path) -> None:
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

    def rows(self, expression: ir.Table) -> list[Row]:
        table: pa.Table = self.con.to_pyarrow(expression)
        return list(table.to_pylist())

    def close(self) -> None:
        self.con.disconnect()


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

    def bind(self, *, event_days: Sequence[Path], events_root: Path, devices: Path) -> None:
        from pyspark.sql import functions as F

        events = (
            self.spark.read.option("basePath", str(events_root))
            .parquet(*(str(d) for d in event_days))
            .withColumn("day", F.col("day").cast("date"))
        )
        events.createOrReplaceTempView(EVENTS_TABLE)
        self.spark.read.parquet(str(devices)).createOrReplaceTempView(DEVICES_TABLE)

    def rows(self, expression: ir.Table) -> list[Row]:
        table: pa.Table = self.con.to_pyarrow(expression)
        return list(table.to_pylist())

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
