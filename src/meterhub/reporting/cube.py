"""The report cube: a daily rollup of the event lake that the report portal and API query.

Scanning a hundred million raw events for every page view cannot answer in a few hundred
milliseconds on a small machine, so the portal reads a rollup instead. It is materialised from
the lake once per day of events and holds no device or meter point identifiers at all:

``<cube>/requests/day=YYYY-MM-DD/cube.parquet``
    one row per day x originator party x role x process x SRV x device type x model x firmware
    x SMETS version x CSP region x response code x failure reason, from the request outcome
    rows (``refused`` and ``response``: a request counts on the day of its outcome, as in the
    monthly reports) with ``requests``, ``successes``, ``cat1`` and ``cat2`` (requests that met
    a Category 1 or 2 incident), the RTT count, sum, min and max, and a fixed RTT histogram
    (``h00`` .. ``h49``, see :data:`RTT_EDGES_MS`).

``<cube>/alerts/day=YYYY-MM-DD/cube.parquet``
    one row per day x recipient party x role x alert code x device type x model x firmware x
    SMETS version x CSP region, with ``alerts``, ``within_target`` (delivered within the 60 s
    target), the delivery time count, sum, min, max and the same histogram.

**Histogram.** Bucket 0 holds times under 100 ms; bucket ``b`` (1..48) holds
``[100 * 2^((b-1)/4), 100 * 2^(b/4))`` ms, four buckets per doubling up to 409.6 s; bucket 49
holds the rest. A median or percentile over any filter is estimated from the summed bucket
counts (:func:`estimate_quantile`): the estimate lies in the same bucket as the true value, so
it is within a factor 2^(1/4) of it (at most 19% off; typically a few per cent, as the value is
interpolated inside the bucket and clamped to the group's exact min and max). Counts, sums,
means, min and max are exact.

**Incremental and idempotent.** Each file records, in its Parquet key-value metadata, the
cube version and a fingerprint of the lake files it was built from (names, sizes, modification
times). ``build_cube`` rebuilds a day only when that fingerprint changed (or ``force``), writes
under a hidden temporary name and renames, so readers never see a half-written day and running
it twice changes nothing. A day whose events are gone loses its cube files too.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pyarrow.parquet as pq

from meterhub.errors import InvalidInput
from meterhub.lake.writer import events_dir
from meterhub.reporting.suite import ALERT_DELIVERY_TARGET_MS

CUBE_VERSION: Final = 2
REQUESTS, ALERTS = "requests", "alerts"
FILE_NAME: Final = "cube.parquet"
_META_VERSION, _META_SOURCE = b"meterhub.cube.version", b"meterhub.cube.source"

#: Histogram bucket lower edges in ms (bucket 0 is everything under the first edge).
RTT_BASE_MS: Final = 100.0
RTT_PER_DOUBLING: Final = 4
RTT_BUCKETS: Final = 50
RTT_EDGES_MS: Final[tuple[float, ...]] = tuple(
    RTT_BASE_MS * 2 ** ((b - 1) / RTT_PER_DOUBLING) for b in range(1, RTT_BUCKETS)
)
HISTOGRAM_COLUMNS: Final = tuple(f"h{b:02d}" for b in range(RTT_BUCKETS))
#: Worst relative error of a quantile estimated from the histogram.
QUANTILE_ERROR_BOUND: Final = 2 ** (1 / RTT_PER_DOUBLING) - 1

REQUEST_DIMENSIONS: Final = (
    "party",
    "role",
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
ALERT_DIMENSIONS: Final = (
    "party",
    "role",
    "alert_code",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
)

#: ``progress(done, total, day)`` after each day.
Progress = Callable[[int, int, str], None]


def bucket_of(ms: float) -> int:
    """The histogram bucket of a time in ms (the same rule the SQL below applies)."""
    if ms < RTT_BASE_MS:
        return 0
    b = 1 + math.floor(RTT_PER_DOUBLING * math.log2(ms / RTT_BASE_MS))
    return min(b, RTT_BUCKETS - 1)


def bucket_bounds(b: int) -> tuple[float, float | None]:
    """``(lower, upper)`` ms of bucket ``b``; the last bucket has no upper bound."""
    lower = 0.0 if b == 0 else RTT_EDGES_MS[b - 1]
    upper = RTT_EDGES_MS[b] if b < RTT_BUCKETS - 1 else None
    return lower, upper


def estimate_quantile(
    counts: Sequence[int], q: float, *, low: float | None, high: float | None
) -> float | None:
    """The ``q`` quantile (0..1) of values whose histogram is ``counts``, interpolated inside
    its bucket (geometrically, as the buckets are) and clamped to the exact ``low`` (min) and
    ``high`` (max) of the same values."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen, b = 0, 0
    while b < len(counts) - 1 and (not counts[b] or seen + counts[b] < rank):
        seen += counts[b]
        b += 1
    n = counts[b]
    lower, upper = bucket_bounds(b)
    if low is not None:
        lower = max(lower, low)
    if high is not None:
        upper = high if upper is None else min(upper, high)
    if upper is None:
        upper = lower
    upper = max(upper, lower)
    fraction = (rank - seen) / n if n else 0.0
    if lower <= 0:
        return lower + (upper - lower) * fraction
    return float(lower * (upper / lower) ** fraction)


def _bucket_sql(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} < {RTT_BASE_MS} THEN 0 "
        f"ELSE least({RTT_BUCKETS - 1}, "
        f"1 + floor({RTT_PER_DOUBLING} * log2({column} / {RTT_BASE_MS}))::INTEGER) END"
    )


def _histogram_sql() -> str:
    return ", ".join(
        f"count_if(bucket = {b})::INTEGER AS {name}" for b, name in enumerate(HISTOGRAM_COLUMNS)
    )


def _requests_sql(files: str) -> str:
    dims = ", ".join(
        [
            "originator_party AS party",
            "originator_role AS role",
            *REQUEST_DIMENSIONS[2:],
        ]
    )
    return f"""
        SELECT {dims},
            count(*)::BIGINT AS requests,
            count_if(response_code = 'I0')::BIGINT AS successes,
            count_if(category = 1)::BIGINT AS cat1,
            count_if(category = 2)::BIGINT AS cat2,
            count(rtt_ms)::BIGINT AS rtt_count,
            sum(rtt_ms)::BIGINT AS rtt_sum,
            min(rtt_ms) AS rtt_min,
            max(rtt_ms) AS rtt_max,
            {_histogram_sql()}
        FROM (
            SELECT *, {_bucket_sql("rtt_ms")} AS bucket
            FROM read_parquet({files})
            WHERE kind IN ('refused', 'response')
        )
        GROUP BY ALL
        ORDER BY ALL
    """


def _alerts_sql(files: str) -> str:
    dims = ", ".join(
        ["originator_party AS party", "originator_role AS role", *ALERT_DIMENSIONS[2:]]
    )
    return f"""
        SELECT {dims},
            count(*)::BIGINT AS alerts,
            count_if(rtt_ms <= {ALERT_DELIVERY_TARGET_MS})::BIGINT AS within_target,
            count(rtt_ms)::BIGINT AS delivery_count,
            sum(rtt_ms)::BIGINT AS delivery_sum,
            min(rtt_ms) AS delivery_min,
            max(rtt_ms) AS delivery_max,
            {_histogram_sql()}
        FROM (
            SELECT *, {_bucket_sql("rtt_ms")} AS bucket
            FROM read_parquet({files})
            WHERE kind = 'alert'
        )
        GROUP BY ALL
        ORDER BY ALL
    """


def default_cube_dir(lake: Path) -> Path:
    """Where the cube of ``lake`` lives unless configured otherwise: ``<lake>/cube``."""
    return Path(lake) / "cube"


def _sql_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def lake_days(lake: Path) -> dict[date, Path]:
    """Every day partition of the lake's events, by day."""
    root = events_dir(lake)
    out: dict[date, Path] = {}
    if not root.is_dir():
        return out
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.startswith("day="):
            try:
                out[date.fromisoformat(entry.name.removeprefix("day="))] = entry
            except ValueError:
                continue
    return out


def _event_files(day_dir: Path) -> list[Path]:
    return sorted(p for p in day_dir.glob("*.parquet") if not p.name.startswith("."))


def fingerprint(files: Sequence[Path]) -> str:
    """What a day's cube was built from: file names, sizes and modification times."""
    h = hashlib.sha256(f"v{CUBE_VERSION}".encode())
    for p in files:
        st = p.stat()
        h.update(f"\n{p.name} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()


def cube_file(cube: Path, kind: str, day: date) -> Path:
    return Path(cube) / kind / f"day={day.isoformat()}" / FILE_NAME


def _built_from(path: Path) -> str | None:
    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return None
    if meta.get(_META_VERSION) != str(CUBE_VERSION).encode():
        return None
    source = meta.get(_META_SOURCE)
    return source.decode() if source else None


def _write_day(con: duckdb.DuckDBPyConnection, sql: str, target: Path, source: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    kv = f"{{'{_META_VERSION.decode()}': '{CUBE_VERSION}', '{_META_SOURCE.decode()}': '{source}'}}"
    quoted = str(tmp).replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd, KV_METADATA {kv})")
    os.replace(tmp, target)


@dataclass(frozen=True)
class CubeBuild:
    """What ``build_cube`` did: days (re)built, days already up to date, days removed."""

    built: list[date]
    unchanged: list[date]
    removed: list[date]


def build_cube(
    lake: Path,
    *,
    cube: Path | None = None,
    first: date | None = None,
    last: date | None = None,
    days: Collection[date] | None = None,
    force: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
) -> CubeBuild:
    """Build (or bring up to date) the cube of ``lake`` for the days from ``first`` to
    ``last`` (default: every day the lake has), or only for ``days`` (the days a live export
    just wrote to: the worker's update looks at no other day's files)."""
    if first and last and first > last:
        raise InvalidInput("the first day is after the last", code="bad_period")
    cube = Path(cube) if cube is not None else default_cube_dir(lake)
    only = frozenset(days) if days is not None else None

    def in_range(d: date) -> bool:
        return (
            (first is None or d >= first)
            and (last is None or d <= last)
            and (only is None or d in only)
        )

    found = lake_days(lake)
    wanted = sorted(d for d in found if in_range(d))
    built: list[date] = []
    unchanged: list[date] = []
    removed: list[date] = []
    # Days with cube files but no events any more.
    for kind in (REQUESTS, ALERTS):
        for d in list(cube_days(cube, kind)):
            if in_range(d) and d not in found:
                shutil.rmtree(cube_file(cube, kind, d).parent, ignore_errors=True)
                if d not in removed:
                    removed.append(d)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for i, d in enumerate(wanted, start=1):
            files = _event_files(found[d])
            source = fingerprint(files)
            targets = {kind: cube_file(cube, kind, d) for kind in (REQUESTS, ALERTS)}
            current = all(_built_from(t) == source for t in targets.values())
            if current and not force:
                unchanged.append(d)
            elif not files:
                for t in targets.values():
                    shutil.rmtree(t.parent, ignore_errors=True)
                removed.append(d)
            else:
                listed = _sql_list(files)
                _write_day(con, _requests_sql(listed), targets[REQUESTS], source)
                _write_day(con, _alerts_sql(listed), targets[ALERTS], source)
                built.append(d)
            if progress:
                progress(i, len(wanted), d.isoformat())
    finally:
        con.close()
    return CubeBuild(built=built, unchanged=unchanged, removed=sorted(removed))


def cube_days(cube: Path, kind: str = REQUESTS) -> list[date]:
    """Days the cube holds for ``kind``, in order."""
    root = Path(cube) / kind
    out: list[date] = []
    if not root.is_dir():
        return out
    for entry in root.iterdir():
        if (entry / FILE_NAME).is_file() and entry.name.startswith("day="):
            try:
                out.append(date.fromisoformat(entry.name.removeprefix("day=")))
            except ValueError:
                continue
    return sorted(out)
