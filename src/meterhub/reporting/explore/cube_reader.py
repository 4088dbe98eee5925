"""The report cube as the interactive reports read it: its Parquet files loaded into a private
DuckDB database per process (with smaller rollups beside the request tables), shared by every
request thread and reloaded when the cube's files change.

One reader per configured cube directory is kept for the life of the process
(:func:`reader_for`); a view takes one :class:`CubeSnapshot` and reads only that, so a reload
in the middle of a page cannot mix two builds of the cube.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb

from meterhub.config import Settings
from meterhub.reporting.cube import (
    ALERTS,
    HISTOGRAM_COLUMNS,
    REQUESTS,
    cube_days,
    cube_file,
    default_cube_dir,
)

_DIMS = "party, role, process, srv, device_type, model, firmware_version, smets_version, csp_region"


#: Smaller copies of the request tables without some dimensions (SRV; SRV, model and
#: firmware): a view that neither filters nor breaks down by those reads the smallest that has
#: every dimension it uses. Built when the cube is loaded.
ROLLUPS: Final[dict[str, frozenset[str]]] = {
    "by_device": frozenset(_DIMS.split(", ")) - {"srv"},
    "by_type": frozenset(_DIMS.split(", ")) - {"srv", "model", "firmware_version"},
}


def table_for(base: str, used: set[str]) -> str:
    """The smallest of ``base`` and its rollups holding every dimension in ``used``."""
    for name in ("by_type", "by_device"):
        if used <= ROLLUPS[name] | {"response_code", "failure_reason"}:
            return f"{base}_{name}"
    return base


def _load_sql(requests: list[str], alerts: list[str]) -> list[str]:
    """Statements loading the cube files into the reader's tables, sorted by role and day so
    DuckDB's zone maps skip other roles and days."""

    def read(files: list[str]) -> str:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return f"read_parquet([{listed}], hive_partitioning = true, hive_types = {{'day': DATE}})"

    hist = ", ".join(HISTOGRAM_COLUMNS)
    out = []
    if requests:
        out += [
            f"""CREATE TABLE req AS SELECT day, {_DIMS}, response_code, failure_reason,
                requests, successes, cat1, cat2, rtt_count, rtt_sum, rtt_min, rtt_max
            FROM {read(requests)} ORDER BY role, day""",
            f"""CREATE TABLE ok AS SELECT day, {_DIMS}, rtt_count, rtt_sum, rtt_min, rtt_max,
                {hist}
            FROM {read(requests)} WHERE response_code = 'I0' ORDER BY role, day""",
            """CREATE TABLE own_options AS SELECT DISTINCT party, role, model, firmware_version,
                response_code, failure_reason FROM req""",
        ]
        for name, kept in ROLLUPS.items():
            dims = ", ".join(d for d in _DIMS.split(", ") if d in kept)
            out += [
                f"""CREATE TABLE req_{name} AS SELECT day, {dims}, response_code, failure_reason,
                    sum(requests) AS requests, sum(successes) AS successes,
                    sum(cat1) AS cat1, sum(cat2) AS cat2, sum(rtt_count) AS rtt_count,
                    sum(rtt_sum) AS rtt_sum, min(rtt_min) AS rtt_min, max(rtt_max) AS rtt_max
                FROM req GROUP BY ALL ORDER BY role, day""",
                f"""CREATE TABLE ok_{name} AS SELECT day, {dims},
                    sum(rtt_count) AS rtt_count, sum(rtt_sum) AS rtt_sum,
                    min(rtt_min) AS rtt_min, max(rtt_max) AS rtt_max,
                    {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
                FROM ok GROUP BY ALL ORDER BY role, day""",
            ]
    if alerts:
        out.append(f"CREATE TABLE alerts AS SELECT * FROM {read(alerts)} ORDER BY role, day")
        out.append(
            f"""CREATE TABLE alerts_by_type AS SELECT day, party, role, alert_code, device_type,
                smets_version, csp_region, sum(alerts) AS alerts,
                sum(within_target) AS within_target, sum(delivery_count) AS delivery_count,
                sum(delivery_sum) AS delivery_sum, min(delivery_min) AS delivery_min,
                max(delivery_max) AS delivery_max,
                {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
            FROM alerts GROUP BY ALL ORDER BY role, day"""
        )
    sources = [
        f"SELECT DISTINCT day, party, role FROM {t}"
        for t, f in (("req", requests), ("alerts", alerts))
        if f
    ]
    if sources:
        out.append(f"CREATE TABLE pop AS {' UNION '.join(sources)}")
    return out


@dataclass
class CubeSnapshot:
    """One load of the cube: a DuckDB database file holding its tables. A view reads one
    snapshot from start to end, so a reload in the middle cannot mix two builds."""

    files: tuple[tuple[str, str, int, int], ...]
    db: duckdb.DuckDBPyConnection | None
    tables: frozenset[str]
    days: list[date]
    path: Path | None

    def has(self, table: str) -> bool:
        return table in self.tables

    def available(self) -> tuple[date, date] | None:
        return (self.days[0], self.days[-1]) if self.days else None

    def parties(self) -> list[str]:
        """Every party with requests or alerts on any day the cube holds: the busiest (most
        requests) first, then by code."""
        if not self.has("pop"):
            return []
        counted = (
            "LEFT JOIN (SELECT party, sum(requests) AS n FROM req_by_type GROUP BY party) "
            "USING (party)"
            if self.has("req_by_type")
            else ""
        )
        n = "coalesce(n, 0)" if counted else "0"
        found = self.rows(
            f"SELECT party FROM (SELECT DISTINCT party FROM pop WHERE party IS NOT NULL) {counted} "
            f"ORDER BY {n} DESC, party"
        )
        return [str(r["party"]) for r in found]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.db is None:
            return []
        cur = self.db.cursor()
        try:
            result = cur.execute(sql, list(params))
            names = [d[0] for d in result.description or ()]
            return [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        finally:
            cur.close()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


_EMPTY = CubeSnapshot((), None, frozenset(), [], None)


class CubeReader:
    """The cube's Parquet files loaded into a DuckDB database (a file in a private temporary
    directory, so DuckDB compresses the mostly-zero histogram columns and keeps what does not
    fit in memory on disk), reloaded when the cube's files change (checked at most every
    ``refresh_seconds``). A reload runs in a thread of its own: requests keep reading the
    previous load until the new one is complete, then the new one is swapped in (only the very
    first load is waited for). Each query runs on its own cursor, so request threads share a
    reader.

    Loading once and querying DuckDB's own storage, rather than reading Parquet per query,
    is what keeps a filtered view within a few hundred milliseconds over a large lake."""

    def __init__(
        self, root: Path, *, threads: int | None = None, refresh_seconds: float = 2.0
    ) -> None:
        self.root = Path(root)
        self.threads = threads
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._first_load = threading.Event()
        self._loading = False
        self._checked = -math.inf
        self._scratch = Path(tempfile.mkdtemp(prefix="meterhub-cube-"))
        # Removed at exit even if nobody calls close() (the portal's shared readers).
        weakref.finalize(self, shutil.rmtree, self._scratch, True)
        self._snapshot = _EMPTY
        self._retired: list[CubeSnapshot] = []
        self._loads = 0
        self._loaded = threading.Event()  # no load under way
        self._loaded.set()
        self._failure: BaseException | None = None
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for snapshot in [self._snapshot, *self._retired]:
                snapshot.close()
            self._retired = []
            self._snapshot = _EMPTY
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _files(self) -> tuple[tuple[str, str, int, int], ...]:
        found = []
        for kind in (REQUESTS, ALERTS):
            for d in cube_days(self.root, kind):
                path = cube_file(self.root, kind, d)
                try:
                    st = path.stat()
                except OSError:
                    continue
                found.append((kind, str(path), st.st_mtime_ns, st.st_size))
        return tuple(found)

    def _load(self, files: tuple[tuple[str, str, int, int], ...], n: int) -> CubeSnapshot:
        path = self._scratch / f"cube-{n}.duckdb"
        path.unlink(missing_ok=True)
        db = duckdb.connect(str(path))
        db.execute("SET enable_progress_bar = false")
        if self.threads:
            db.execute(f"SET threads = {int(self.threads)}")
        requests = [p for kind, p, _, _ in files if kind == REQUESTS]
        alerts = [p for kind, p, _, _ in files if kind == ALERTS]
        for statement in _load_sql(requests, alerts):
            db.execute(statement)
        tables = frozenset(
            r[0] for r in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        )
        days = sorted({date.fromisoformat(Path(p).parent.name[4:]) for p in requests})
        return CubeSnapshot(files, db, tables, days, path)

    def current(self) -> CubeSnapshot:
        """The loaded cube. When its files changed, a reload starts in the background and this
        (and every request until the reload is done) reads the previous load, so a rebuilt cube
        never makes a page wait for a load of the whole cube; only the very first load, with no
        previous one to read, is waited for."""
        served = self._look()
        if served is not None:
            return served
        self._first_load.wait()
        with self._lock:
            if self._failure is not None and self._snapshot is _EMPTY:
                failure, self._failure = self._failure, None
                raise failure
            return self._snapshot

    def _look(self) -> CubeSnapshot | None:
        """Start a load if the cube's files changed (looked at most every
        ``refresh_seconds``); the load to serve meanwhile, or ``None`` while the first load is
        still to come."""
        with self._lock:
            first = not self._first_load.is_set()
            if self._loading or time.monotonic() - self._checked < self.refresh_seconds:
                return None if first and self._loading else self._snapshot
            files = self._files()
            self._checked = time.monotonic()
            if files == self._snapshot.files:
                self._first_load.set()
                return self._snapshot
            self._start_load(files)
            return None if first else self._snapshot

    def _start_load(self, files: tuple[tuple[str, str, int, int], ...]) -> None:
        """Load ``files`` in a thread of its own (called under the lock)."""
        self._loading = True
        self._loaded.clear()
        self._loads += 1
        thread = threading.Thread(
            target=self._load_and_swap, args=(files, self._loads), name="meterhub-cube-load"
        )
        # Not a daemon: a process exiting mid-load waits for it rather than killing DuckDB in
        # the middle of a statement (which aborts the process).
        thread.daemon = False
        thread.start()

    def _load_and_swap(self, files: tuple[tuple[str, str, int, int], ...], n: int) -> None:
        try:
            loaded = self._load(files, n)
        except BaseException as exc:  # the previous load goes on being served
            with self._lock:
                self._failure = exc
                self._loading = False
                self._checked = -math.inf  # try again on the next request
                self._first_load.set()
                self._loaded.set()
            return
        with self._lock:
            if self._closed:
                loaded.close()
                self._loading = False
                self._loaded.set()
                return
            # A query may still be reading the previous load: retire it, close it next time.
            for old in self._retired:
                old.close()
            self._retired = [self._snapshot]
            self._snapshot = loaded
            self._failure = None
            self._loading = False
            self._first_load.set()
            self._loaded.set()

    def refresh(self, *, wait: bool = True) -> None:
        """Look at the cube's files now and load them if they changed (a request would only
        look every ``refresh_seconds``); with ``wait``, return once the new load is served."""
        with self._lock:
            self._checked = -math.inf
        self._look()
        if wait:
            self._loaded.wait()

    def available(self) -> tuple[date, date] | None:
        return self.current().available()


_readers: dict[Path, CubeReader] = {}
_readers_lock = threading.Lock()


def cube_dir_of(settings: Settings) -> Path | None:
    """The cube the portal and API read: ``METERHUB_CUBE_DIR``, else ``<lake>/cube``."""
    if settings.cube_dir:
        return Path(settings.cube_dir)
    if settings.lake_dir:
        return default_cube_dir(Path(settings.lake_dir))
    return None


def reader_for(settings: Settings) -> CubeReader | None:
    """The shared reader of the configured cube (``None`` when none is configured)."""
    root = cube_dir_of(settings)
    if root is None:
        return None
    with _readers_lock:
        reader = _readers.get(root)
        if reader is None:
            reader = _readers[root] = CubeReader(root)
        return reader
