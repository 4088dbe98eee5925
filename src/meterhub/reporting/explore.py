"""Interactive MP176 reporting: one party's performance over any date range and filter, read
from the report cube (``reporting/cube.py``) under the same disclosure control as the frozen
monthly reports (``reporting/disclosure.py``).

The portal's report pages and ``/api/v1/reports`` both call :func:`explore`; the benchmark
(``benchmarks/report_portal.py``) times the same call.

What a caller sees, for the user role it chooses among those it acted in during the period:

* **its own numbers**, named with its party code: totals, a daily series, a breakdown by one
  dimension, the RTT distribution, every failure by reason code, and alert delivery;
* **the industry** (every party of the role, the caller included), labelled ``Industry``;
* **anonymised peers** (``Supplier 7``) only when at least ``min_cohort`` parties of the role
  have rows under the current filters. Labels come from ``PeerLabeller`` keyed by the caller and
  the period: stable whatever filters are chosen within one period, unrelated across callers
  and periods. The population numbered is everyone in the period, not only those under the
  filter, so a label says nothing about how many parties a filter left;
* **league tables** per business process: the caller's own position named, the others
  labelled, and positions only when the process's cohort is big enough.

Filters make a stricter rule necessary than in the monthly files: a user could narrow a filter
until one other party is left and read it off as "industry minus own". So as soon as any
dimension filter is applied, an industry figure is shown only where at least ``min_cohort``
parties contribute to it (per row: per day, per breakdown value, per alert code); with the date
range alone the industry is shown as in the monthly reports. The cube has no device or meter
point columns, so no view can ever hold another party's device-level rows.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import duckdb

from meterhub.config import Settings
from meterhub.errors import InvalidInput
from meterhub.inventory.catalogue import SMETS_VERSIONS, CspRegion, DeviceType
from meterhub.lake.schema import PROCESS_OF_SRV, PROCESS_TITLES, PROCESSES, ROLES
from meterhub.reporting.cube import (
    ALERTS,
    HISTOGRAM_COLUMNS,
    REQUESTS,
    RTT_BUCKETS,
    bucket_bounds,
    cube_days,
    cube_file,
    default_cube_dir,
    estimate_quantile,
)
from meterhub.reporting.disclosure import (
    DEFAULT_MIN_COHORT,
    INDUSTRY,
    INDUSTRY_SERIES,
    MIN_INDUSTRY_OTHERS,
    OWN,
    PEER,
    PeerLabeller,
    noun_of_role,
)

#: Dimension filters, in the order the form shows them; the last two are the "reason code".
FILTERS: Final = (
    "process",
    "srv",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "response_code",
    "failure_reason",
)
FILTER_TITLES: Final = {
    "process": "Business process",
    "srv": "SRV",
    "device_type": "Device type",
    "model": "Model",
    "firmware_version": "Firmware",
    "smets_version": "SMETS version",
    "csp_region": "CSP region",
    "response_code": "Response code",
    "failure_reason": "Failure reason",
}
#: The filters that also apply to alerts (alerts have no SRV, process or response code).
ALERT_FILTERS: Final = ("device_type", "model", "firmware_version", "smets_version", "csp_region")
BREAKDOWNS: Final = (
    "csp_region",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "process",
    "srv",
)
MAX_DAYS: Final = 366
DEFAULT_DAYS: Final = 30
_SRV = re.compile(r"^\d{1,2}(\.\d{1,2}){1,2}$")
_FREE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+\-/]{0,63}$")


def _srv_key(srv: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in srv.split("."))


#: Values offered for the filters that are fixed lists (an SRV outside the MP176 table is still
#: accepted if it looks like one; the rest are free text, checked for shape).
CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "process": PROCESSES,
    "srv": tuple(sorted(PROCESS_OF_SRV, key=_srv_key)),
    "device_type": tuple(t.value for t in DeviceType),
    "smets_version": SMETS_VERSIONS,
    "csp_region": tuple(r.value for r in CspRegion),
}


@dataclass(frozen=True)
class ExploreQuery:
    """What the caller asked for: a period (UTC days, inclusive), a user role (``None``: the
    first the caller acted in), dimension filters and the dimension to break down by."""

    first: date
    last: date
    role: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    breakdown: str = "csp_region"

    @property
    def filter_map(self) -> dict[str, str]:
        return dict(self.filters)

    @property
    def period_label(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string that asks for this view again."""
        q = replace(self, **changes)
        out = {"from": q.first.isoformat(), "to": q.last.isoformat()}
        if q.role:
            out["role"] = q.role
        out.update(q.filters)
        if q.breakdown != "csp_region":
            out["breakdown"] = q.breakdown
        return out

    @classmethod
    def parse(cls, params: Mapping[str, str], *, latest: date | None) -> ExploreQuery:
        """Read and check a query string; the period defaults to the last 30 days up to
        ``latest`` (the newest day the cube holds)."""

        def text(name: str) -> str:
            return (params.get(name) or "").strip()

        def day(name: str) -> date | None:
            raw = text(name)
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput(
                    f"{name} must be a date, YYYY-MM-DD", code=f"bad_{name}_date"
                ) from None

        last = day("to") or latest or date.today()
        try:
            first = day("from") or last - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:  # 'to' within the first days of year 1
            raise InvalidInput("'to' is before any day reports hold", code="bad_period") from None
        if first > last:
            raise InvalidInput("'from' is after 'to'", code="bad_period")
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidInput(f"a period is at most {MAX_DAYS} days", code="bad_period")
        role = text("role") or None
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="bad_role")
        filters: list[tuple[str, str]] = []
        for name in FILTERS:
            value = text(name)
            if not value:
                continue
            allowed = None if name == "srv" else CHOICES.get(name)
            if name == "srv" and not _SRV.match(value):
                raise InvalidInput(f"SRV {value!r} is not one like 4.1.1", code="bad_srv")
            if allowed is not None and value not in allowed:
                raise InvalidInput(
                    f"{FILTER_TITLES[name]} {value!r} is not one the hub knows",
                    code=f"bad_{name}",
                )
            if allowed is None and not _FREE_TEXT.match(value):
                raise InvalidInput(
                    f"{FILTER_TITLES[name]} must be 1-64 letters, digits, spaces or . _ + - /",
                    code=f"bad_{name}",
                )
            filters.append((name, value))
        breakdown = text("breakdown") or "csp_region"
        if breakdown not in BREAKDOWNS:
            raise InvalidInput(
                f"breakdown must be one of {', '.join(BREAKDOWNS)}", code="bad_breakdown"
            )
        return cls(first, last, role, tuple(filters), breakdown)


# ---- tables --------------------------------------------------------------------------------

Kind = Literal["text", "int", "percent", "ms"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """One table of a view: what the page shows, the CSV holds and the API returns."""

    id: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    note: str = ""

    def cells(self) -> list[list[str]]:
        """Every row as the strings the page shows (and the CSV download holds)."""
        return [[display(r.get(c.key), c.kind) for c in self.columns] for r in self.rows]


def display(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value:.1f}"
    if kind == "ms":
        return f"{value:.0f}"
    return str(value)


SERIES = Column("series", "Series")
PARTY = Column("party", "Party")
REQ_COLUMNS = (
    Column("requests", "Requests", "int"),
    Column("successes", "Successes", "int"),
    Column("failures", "Failures", "int"),
    Column("success_rate", "Success rate (%)", "percent"),
)
RTT_COLUMNS = (
    Column("mean_rtt_ms", "Mean RTT (ms)", "ms"),
    Column("median_rtt_ms", "Median RTT, approx. (ms)", "ms"),
    Column("p95_rtt_ms", "95th percentile RTT, approx. (ms)", "ms"),
    Column("best_rtt_ms", "Best RTT (ms)", "ms"),
    Column("worst_rtt_ms", "Worst RTT (ms)", "ms"),
)
TABLE_IDS: Final = ("summary", "daily", "breakdown", "rtt", "failures", "league", "alerts")


@dataclass(frozen=True)
class ExploreView:
    """Everything one page (or API answer) shows."""

    party: str
    query: ExploreQuery
    role: str | None
    roles: tuple[str, ...]
    min_cohort: int
    cohort: int
    peers_shown: bool
    filtered: bool
    tables: dict[str, Table]
    options: dict[str, tuple[str, ...]]
    available: tuple[date, date] | None
    notes: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.role is not None

    @property
    def shown_cohort(self) -> int | None:
        """The cohort as the caller may see it: the number when at least the minimum, else
        ``None`` (how few parties a narrow filter leaves is itself a hint about them)."""
        return self.cohort if self.cohort >= self.min_cohort else None


# ---- reading the cube ----------------------------------------------------------------------


_DIMS = "party, role, process, srv, device_type, model, firmware_version, smets_version, csp_region"


#: Smaller copies of the request tables without some dimensions (SRV; SRV, model and
#: firmware): a view that neither filters nor breaks down by those reads the smallest that has
#: every dimension it uses. Built when the cube is loaded.
ROLLUPS: Final[dict[str, frozenset[str]]] = {
    "by_device": frozenset(_DIMS.split(", ")) - {"srv"},
    "by_type": frozenset(_DIMS.split(", ")) - {"srv", "model", "firmware_version"},
}


def _table_for(base: str, used: set[str]) -> str:
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
    ``refresh_seconds``). While a reload runs, other requests keep reading the previous load
    (only the very first load is waited for). Each query runs on its own cursor, so request
    threads share a reader.

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

    def close(self) -> None:
        with self._lock:
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
        """The loaded cube, reloaded first if its files changed."""
        with self._lock:
            fresh = time.monotonic() - self._checked < self.refresh_seconds
            if self._loading or fresh:
                if not (self._loading and not self._first_load.is_set()):
                    return self._snapshot
                wait = True
            else:
                wait = False
                files = self._files()
                self._checked = time.monotonic()
                if files == self._snapshot.files:
                    self._first_load.set()
                    return self._snapshot
                self._loading = True
                self._loads += 1
                n = self._loads
        if wait:  # the very first load is under way in another thread
            self._first_load.wait()
            with self._lock:
                return self._snapshot
        try:
            loaded = self._load(files, n)
        except BaseException:
            with self._lock:
                self._loading = False
                self._first_load.set()
            raise
        with self._lock:
            # A query may still be reading the previous load: retire it, close it next time.
            for old in self._retired:
                old.close()
            self._retired = [self._snapshot]
            self._snapshot = loaded
            self._loading = False
            self._first_load.set()
            return loaded

    def refresh(self) -> None:
        """Load the cube now if it changed (the first query would do it otherwise)."""
        with self._lock:
            self._checked = -math.inf
        self.current()

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


def label_secret(settings: Settings) -> bytes:
    """Keys the peer labels: ``METERHUB_REPORT_SECRET`` (the same key as the monthly runs),
    else one derived from the hub's secret key. Never shown to anyone."""
    if settings.report_secret:
        return settings.report_secret.encode()
    return hmac.new(
        settings.resolved_secret_key().encode(), b"meterhub report peer labels", hashlib.sha256
    ).digest()


# ---- the view ------------------------------------------------------------------------------


def _where(query: ExploreQuery, names: Iterable[str], role: str) -> tuple[str, list[Any]]:
    clauses = ["day BETWEEN ? AND ?", "role = ?"]
    params: list[Any] = [query.first, query.last, role]
    wanted = set(names)
    for name, value in query.filters:
        if name in wanted:
            clauses.append(f"{name} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def _rate(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _mean(total: int | None, count: int | None) -> float | None:
    return (total or 0) / count if count else None


def _lowest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _highest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class _Tally:
    """Sums of one group of request rows."""

    requests: int = 0
    successes: int = 0
    rtt_count: int = 0
    rtt_sum: int = 0
    rtt_min: int | None = None
    rtt_max: int | None = None
    cat1: int = 0
    cat2: int = 0
    parties: set[str] = field(default_factory=set)

    def add(self, r: Mapping[str, Any]) -> None:
        self.requests += int(r["requests"] or 0)
        self.successes += int(r["successes"] or 0)
        self.rtt_count += int(r["rtt_count"] or 0)
        self.rtt_sum += int(r["rtt_sum"] or 0)
        self.cat1 += int(r["cat1"] or 0)
        self.cat2 += int(r["cat2"] or 0)
        self.rtt_min = _lowest(self.rtt_min, r["rtt_min"])
        self.rtt_max = _highest(self.rtt_max, r["rtt_max"])
        if r["requests"]:
            self.parties.add(r["party"])

    def measures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.requests - self.successes,
            "success_rate": _rate(self.successes, self.requests),
            "mean_rtt_ms": _mean(self.rtt_sum, self.rtt_count),
            "best_rtt_ms": self.rtt_min,
            "worst_rtt_ms": self.rtt_max,
        }


_MAIN_SETS = {
    "day": "(day, party)",
    "breakdown": "({dim}, party)",
    "process": "(process, party)",
    "reason": "(party, response_code, failure_reason)",
}


def explore(
    reader: CubeReader,
    *,
    party: str,
    query: ExploreQuery,
    secret: bytes,
    min_cohort: int = DEFAULT_MIN_COHORT,
) -> ExploreView:
    """``party``'s view of the cube under ``query``, disclosure control applied."""
    data = reader.current()
    available = data.available()
    has_requests, has_alerts = data.has("req"), data.has("alerts")
    population = (
        {
            (r["party"], r["role"])
            for r in data.rows(
                "SELECT DISTINCT party, role FROM pop WHERE day BETWEEN ? AND ? "
                "AND party IS NOT NULL AND role IS NOT NULL",
                [query.first, query.last],
            )
        }
        if data.has("pop")
        else set()
    )
    roles = tuple(sorted({role for p, role in population if p == party}, key=ROLES.index))
    options = dict(CHOICES)
    empty = ExploreView(
        party=party,
        query=query,
        role=None,
        roles=roles,
        min_cohort=min_cohort,
        cohort=0,
        peers_shown=False,
        filtered=bool(query.filters),
        tables={},
        options=options,
        available=available,
    )
    if not roles:
        return replace(empty, notes=[f"{party} has no requests or alerts in this period."])
    role = query.role or roles[0]
    if role not in roles:
        return replace(
            empty, notes=[f"{party} did not act as {role} in this period: nothing to compare."]
        )
    labeller = PeerLabeller(
        secret=secret,
        recipient=party,
        month=query.period_label,
        population={(p, noun_of_role(r)) for p, r in population},
    )
    noun = noun_of_role(role)
    filtered = bool(query.filters)

    def industry_allowed(parties: Collection[str]) -> bool:
        """Industry figures of a slice these parties contribute to: never with fewer than
        ``MIN_INDUSTRY_OTHERS`` besides the caller (industry minus own would be theirs, as in
        the monthly runs); under a filter, only for a whole cohort."""
        others = len(set(parties) - {party})
        return others >= MIN_INDUSTRY_OTHERS and (not filtered or len(parties) >= min_cohort)

    tables: dict[str, Table] = {}
    notes: list[str] = []
    cohort = 0
    peers_shown = False

    if has_requests:
        dim = query.breakdown
        where, params = _where(query, FILTERS, role)
        sets = ", ".join(dict.fromkeys(s.format(dim=dim) for s in _MAIN_SETS.values()))
        used = {name for name, _ in query.filters} | {dim}
        main = data.rows(
            f"""
            SELECT day, party, process, {dim} AS value, response_code, failure_reason,
                grouping(day) = 0 AS by_day,
                grouping({dim}) = 0 AS by_value,
                grouping(process) = 0 AS by_process,
                grouping(response_code) = 0 AS by_reason,
                sum(requests) AS requests,
                sum(successes) AS successes,
                sum(rtt_count) FILTER (WHERE response_code = 'I0') AS rtt_count,
                sum(rtt_sum) FILTER (WHERE response_code = 'I0') AS rtt_sum,
                min(rtt_min) FILTER (WHERE response_code = 'I0') AS rtt_min,
                max(rtt_max) FILTER (WHERE response_code = 'I0') AS rtt_max,
                sum(cat1) AS cat1,
                sum(cat2) AS cat2
            FROM {_table_for("req", used)}
            WHERE {where}
            GROUP BY GROUPING SETS ({sets})
            """,
            params,
        )
        # Successes only: none under a filter on a failure code or reason.
        chosen = query.filter_map
        histogram: list[dict[str, Any]] = []
        if chosen.get("response_code", "I0") == "I0" and "failure_reason" not in chosen:
            ok_where, ok_params = _where(query, FILTERS[:7], role)
            histogram = data.rows(
                f"""
                SELECT party = ? AS own, {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
                FROM {_table_for("ok", used)}
                WHERE {ok_where}
                GROUP BY ALL
                """,
                [party, *ok_params],
            )
        own_values = data.rows(
            "SELECT model, firmware_version, response_code, failure_reason FROM own_options "
            "WHERE role = ? AND party = ?",
            [role, party],
        )
        for name in ("model", "firmware_version", "response_code", "failure_reason"):
            options[name] = tuple(sorted({r[name] for r in own_values if r[name] is not None}))

        # Each party's totals are the sum of its processes.
        by_party = [r for r in main if r["by_process"]]
        totals: dict[str, _Tally] = defaultdict(_Tally)
        for r in by_party:
            totals[r["party"]].add(r)
        cohort = sum(1 for t in totals.values() if t.requests)
        peers_shown = cohort >= min_cohort
        own_hist = [0] * RTT_BUCKETS
        all_hist = [0] * RTT_BUCKETS
        for h in histogram:
            counts = [int(h[c] or 0) for c in HISTOGRAM_COLUMNS]
            all_hist = [a + b for a, b in zip(all_hist, counts, strict=True)]
            if h["own"]:
                own_hist = counts
        industry = _Tally()
        for t in totals.values():
            for key in ("requests", "successes", "rtt_count", "rtt_sum", "cat1", "cat2"):
                setattr(industry, key, getattr(industry, key) + getattr(t, key))
            industry.rtt_min = _lowest(industry.rtt_min, t.rtt_min)
            industry.rtt_max = _highest(industry.rtt_max, t.rtt_max)
            industry.parties |= t.parties
        show_industry = industry_allowed({p for p, t in totals.items() if t.requests})
        tables["summary"] = _summary_table(
            party=party,
            own=totals.get(party, _Tally()),
            industry=industry if show_industry else None,
            own_hist=own_hist,
            industry_hist=all_hist,
            peers={
                labeller.label(p, noun): t
                for p, t in totals.items()
                if p != party and t.requests and peers_shown
            },
        )
        tables["daily"] = _grouped_table(
            "daily",
            "Day by day: requests, success rate and mean RTT of successes",
            Column("day", "Day"),
            [r for r in main if r["by_day"]],
            "day",
            party=party,
            industry_allowed=industry_allowed,
            extra=(
                Column("cat1", "Requests in a Category 1 incident", "int"),
                Column("cat2", "Requests in a Category 2 incident", "int"),
            ),
        )
        tables["breakdown"] = _grouped_table(
            "breakdown",
            f"By {FILTER_TITLES[dim].lower()}",
            Column("value", FILTER_TITLES[dim]),
            [r for r in main if r["by_value"]],
            "value",
            party=party,
            industry_allowed=industry_allowed,
            own_values_only=True,
        )
        tables["rtt"] = _rtt_table(
            party, own_hist, all_hist if show_industry and industry.successes else None
        )
        tables["failures"] = _failures_table(
            [r for r in main if r["by_reason"] and r["party"] == party]
        )
        tables["league"] = _league_table(
            [r for r in main if r["by_process"]],
            party=party,
            noun=noun,
            labeller=labeller,
            min_cohort=min_cohort,
        )
        if not show_industry:
            notes.append(
                f"Industry figures are hidden: too few parties in {role} have requests"
                f"{' under these filters' if filtered else ''} for a total that keeps each "
                "party's figures private."
            )
        elif not peers_shown:
            notes.append(
                f"Peers are not broken out: fewer than {min_cohort} parties in {role} have "
                "requests under these filters."
            )
    if has_alerts:
        where, params = _where(query, ALERT_FILTERS, role)
        by_model = {"model", "firmware_version"} & {name for name, _ in query.filters}
        alert_table = "alerts" if by_model else "alerts_by_type"
        alert_rows = data.rows(
            f"""
            SELECT alert_code, party, sum(alerts) AS alerts, sum(within_target) AS within_target,
                sum(delivery_count) AS delivery_count, sum(delivery_sum) AS delivery_sum,
                min(delivery_min) AS delivery_min, max(delivery_max) AS delivery_max,
                {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
            FROM {alert_table}
            WHERE {where}
            GROUP BY ALL
            """,
            params,
        )
        if alert_rows:
            tables["alerts"] = _alerts_table(
                alert_rows,
                party=party,
                noun=noun,
                labeller=labeller,
                min_cohort=min_cohort,
                industry_allowed=industry_allowed,
            )
    ordered: dict[str, Table] = {k: tables[k] for k in TABLE_IDS if k in tables}
    return ExploreView(
        party=party,
        query=query,
        role=role,
        roles=roles,
        min_cohort=min_cohort,
        cohort=cohort,
        peers_shown=peers_shown,
        filtered=filtered,
        tables=ordered,
        options=options,
        available=available,
        notes=notes,
    )


def _quantiles(hist: Sequence[int], tally: _Tally) -> dict[str, float | None]:
    def q(p: float) -> float | None:
        return estimate_quantile(hist, p, low=tally.rtt_min, high=tally.rtt_max)

    return {"median_rtt_ms": q(0.5), "p95_rtt_ms": q(0.95)}


def _summary_table(
    *,
    party: str,
    own: _Tally,
    industry: _Tally | None,
    own_hist: Sequence[int],
    industry_hist: Sequence[int],
    peers: Mapping[str, _Tally],
) -> Table:
    rows = [{"series": OWN, "party": party, **own.measures(), **_quantiles(own_hist, own)}]
    if industry is not None:
        rows.append(
            {
                "series": INDUSTRY_SERIES,
                "party": INDUSTRY,
                **industry.measures(),
                **_quantiles(industry_hist, industry),
            }
        )
    for label in sorted(peers, key=_label_order):
        m = peers[label].measures()
        rows.append({"series": PEER, "party": label, **{c.key: m[c.key] for c in REQ_COLUMNS}})
    return Table(
        "summary",
        "Requests and success against the industry and anonymised peers",
        (SERIES, PARTY, *REQ_COLUMNS, *RTT_COLUMNS),
        rows,
        note="RTT is of successful responses; medians and percentiles are estimated from a "
        "histogram (within 19%). Peers show volumes and rates only.",
    )


def _label_order(label: str) -> tuple[str, int]:
    noun, _, n = label.rpartition(" ")
    return (noun, int(n) if n.isdigit() else 0)


def _grouped_table(
    table_id: str,
    title: str,
    key_column: Column,
    rows: list[dict[str, Any]],
    key: str,
    *,
    party: str,
    industry_allowed: Any,
    extra: tuple[Column, ...] = (),
    own_values_only: bool = False,
) -> Table:
    own: dict[Any, _Tally] = defaultdict(_Tally)
    everyone: dict[Any, _Tally] = defaultdict(_Tally)
    for r in rows:
        everyone[r[key]].add(r)
        if r["party"] == party:
            own[r[key]].add(r)
    out: list[dict[str, Any]] = []
    for value in sorted(everyone, key=lambda v: (v is None, v)):
        industry = everyone[value]
        shown_industry = industry_allowed(industry.parties)
        if value not in own and (own_values_only or not shown_industry):
            continue  # a breakdown value only peers have is not even named
        label = value.isoformat() if isinstance(value, date) else value
        extras = {c.key: None for c in extra}
        if value in own:
            t = own[value]
            out.append(
                {key: label, "series": OWN, "party": party, **t.measures(), **_cats(t, extra)}
            )
        if shown_industry:
            out.append(
                {
                    key: label,
                    "series": INDUSTRY_SERIES,
                    "party": INDUSTRY,
                    **industry.measures(),
                    **(_cats(industry, extra) if extra else extras),
                }
            )
    columns = (
        key_column,
        SERIES,
        PARTY,
        *REQ_COLUMNS,
        Column("mean_rtt_ms", "Mean RTT (ms)", "ms"),
        *extra,
    )
    return Table(table_id, title, columns, out)


def _cats(t: _Tally, extra: tuple[Column, ...]) -> dict[str, Any]:
    return {"cat1": t.cat1, "cat2": t.cat2} if extra else {}


def _rtt_table(party: str, own: Sequence[int], industry: Sequence[int] | None) -> Table:
    used = [b for b in range(RTT_BUCKETS) if own[b] or (industry and industry[b])]
    own_total, industry_total = sum(own), sum(industry or ())
    rows: list[dict[str, Any]] = []
    if used:
        for b in range(used[0], used[-1] + 1):
            lower, upper = bucket_bounds(b)
            bounds = {"from_ms": lower, "to_ms": upper}
            rows.append(
                {
                    **bounds,
                    "series": OWN,
                    "party": party,
                    "responses": own[b],
                    "share": _rate(own[b], own_total),
                }
            )
            if industry is not None:
                rows.append(
                    {
                        **bounds,
                        "series": INDUSTRY_SERIES,
                        "party": INDUSTRY,
                        "responses": industry[b],
                        "share": _rate(industry[b], industry_total),
                    }
                )
    return Table(
        "rtt",
        "Distribution of RTT of successful responses",
        (
            Column("from_ms", "From (ms)", "ms"),
            Column("to_ms", "Below (ms)", "ms"),
            SERIES,
            PARTY,
            Column("responses", "Responses", "int"),
            Column("share", "Share (%)", "percent"),
        ),
        rows,
    )


def _failures_table(rows: list[dict[str, Any]]) -> Table:
    failures = [
        (r["response_code"], r["failure_reason"], int(r["requests"]) - int(r["successes"]))
        for r in rows
    ]
    failures = [f for f in failures if f[2] > 0]
    total = sum(f[2] for f in failures)
    failures.sort(key=lambda f: (-f[2], f[0] or "", f[1] or ""))
    return Table(
        "failures",
        "Your failures by reason code",
        (
            Column("response_code", "Response code"),
            Column("failure_reason", "Root cause"),
            Column("failures", "Failures", "int"),
            Column("share", "Share of your failures (%)", "percent"),
        ),
        [
            {"response_code": c, "failure_reason": why, "failures": n, "share": _rate(n, total)}
            for c, why, n in failures
        ],
        note="Refusals at validation have a response code and no root cause.",
    )


def _league_table(
    rows: list[dict[str, Any]],
    *,
    party: str,
    noun: str,
    labeller: PeerLabeller,
    min_cohort: int,
) -> Table:
    by_process: dict[str, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    for r in rows:
        by_process[r["process"]][r["party"]].add(r)
    out: list[dict[str, Any]] = []
    for process in sorted(by_process, key=lambda p: PROCESSES.index(p) if p in PROCESSES else 99):
        parties = {p: t for p, t in by_process[process].items() if t.requests}
        if party not in parties:
            continue
        rates = {p: t.successes / t.requests for p, t in parties.items()}
        ranked = len(parties) >= min_cohort
        position = {p: 1 + sum(1 for r in rates.values() if r > rates[p]) for p in parties}
        if ranked:
            labels = {p: p if p == party else labeller.label(p, noun) for p in parties}
            shown = sorted(
                parties, key=lambda p: (position[p], p != party, _label_order(labels[p]))
            )
        else:
            labels, shown = {party: party}, [party]
        entries = [
            {
                "process": process,
                "process_title": PROCESS_TITLES.get(process, process),
                "series": OWN if p == party else PEER,
                "party": labels[p],
                "requests": parties[p].requests,
                "success_rate": 100.0 * rates[p],
                "position": position[p] if ranked else None,
                "of": len(parties) if ranked else None,
            }
            for p in shown
        ]
        out.extend(entries)
    return Table(
        "league",
        "League tables: success rate per business process",
        (
            Column("process_title", "Business process"),
            Column("position", "Position", "int"),
            Column("of", "Of", "int"),
            SERIES,
            PARTY,
            Column("requests", "Requests", "int"),
            Column("success_rate", "Success rate (%)", "percent"),
        ),
        out,
        note=f"Positions (1 = best) are given only where at least {min_cohort} parties of your "
        "role sent requests for the process; only your own position is named.",
    )


def _alerts_table(
    rows: list[dict[str, Any]],
    *,
    party: str,
    noun: str,
    labeller: PeerLabeller,
    min_cohort: int,
    industry_allowed: Any,
) -> Table:
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_code[r["alert_code"]].append(r)

    def measures(group: list[dict[str, Any]]) -> dict[str, Any]:
        alerts = sum(int(r["alerts"]) for r in group)
        within = sum(int(r["within_target"]) for r in group)
        count = sum(int(r["delivery_count"] or 0) for r in group)
        total = sum(int(r["delivery_sum"] or 0) for r in group)
        lows = [r["delivery_min"] for r in group if r["delivery_min"] is not None]
        highs = [r["delivery_max"] for r in group if r["delivery_max"] is not None]
        hist = [sum(int(r[h] or 0) for r in group) for h in HISTOGRAM_COLUMNS]
        low, high = (min(lows) if lows else None), (max(highs) if highs else None)
        return {
            "alerts": alerts,
            "within_target": within,
            "within_target_rate": _rate(within, alerts),
            "mean_delivery_ms": _mean(total, count),
            "median_delivery_ms": estimate_quantile(hist, 0.5, low=low, high=high),
            "worst_delivery_ms": high,
        }

    out: list[dict[str, Any]] = []
    for code in sorted(by_code):
        group = [r for r in by_code[code] if r["alerts"]]
        parties = {r["party"] for r in group}
        if party not in parties:
            continue
        own = [r for r in group if r["party"] == party]
        out.append({"alert_code": code, "series": OWN, "party": party, **measures(own)})
        if industry_allowed(parties):
            out.append(
                {"alert_code": code, "series": INDUSTRY_SERIES, "party": INDUSTRY} | measures(group)
            )
        if len(parties) >= min_cohort:
            peers = {
                labeller.label(p, noun): [r for r in group if r["party"] == p] for p in parties
            }
            for label in sorted(peers, key=_label_order):
                if label != party:
                    out.append(
                        {"alert_code": code, "series": PEER, "party": label}
                        | measures(peers[label])
                    )
    return Table(
        "alerts",
        "Alerts delivered to you: within the 60 s target, and delivery time",
        (
            Column("alert_code", "Alert"),
            SERIES,
            PARTY,
            Column("alerts", "Alerts", "int"),
            Column("within_target", "Within 60 s", "int"),
            Column("within_target_rate", "Within 60 s (%)", "percent"),
            Column("mean_delivery_ms", "Mean delivery (ms)", "ms"),
            Column("median_delivery_ms", "Median delivery, approx. (ms)", "ms"),
            Column("worst_delivery_ms", "Worst delivery (ms)", "ms"),
        ),
        out,
    )
