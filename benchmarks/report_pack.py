"""How fast is the whole MP176 report pack for a month, against a floor and against PostgreSQL?

Per run: ``meterhub report run --month M`` as a subprocess, exactly as a user runs it (every
party, CSVs, manifests and PDFs; the device estate from ``--db`` unless ``--no-inventory``),
timed with its CPU (user + system of it and its worker processes) and its peak memory (the
largest sum of resident memory over its process tree, polled every 0.1 s, DuckDB included).
Then the **floor**: one hand-written DuckDB SQL statement computing the core aggregates of the
pack over the same Parquet files (per party and per role: requests, successes, failures and
RTT best/worst/mean/median by process and SRV; the daily breakdown by process, device type,
region and SMETS version with incident counts; alert delivery per day and code), in this
process with DuckDB's defaults. With ``--postgres URL`` the same SQL runs on PostgreSQL over
the same events, loaded with COPY into an unlogged table (load and query timed apart).

    .venv/bin/python benchmarks/report_pack.py --lake /work/bench-lakes/m100 \\
        --db /work/bench-lakes/demo.db --month 2024-06 --runs 3
    .venv/bin/python benchmarks/report_pack.py --lake /work/bench-lakes/m10 --month 2024-06 \\
        --runs 1 --postgres "$(scripts/pg.sh url)"

``--build EVENTS`` first simulates a month of about that many events into ``--lake`` over the
estate in ``--db`` (about 3.9 events per request).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from meterhub.reporting.definitions import Period
from meterhub.reporting.suite import ALERT_DELIVERY_TARGET_MS, SUITE

MEBI = 2**20

#: The floor's core aggregates; ``{events}`` is the month's outcome and alert rows. The same
#: text runs on DuckDB and PostgreSQL (FILTER, GROUPING SETS, percentile_cont).
CORE_SQL = """
WITH outcomes AS (
    SELECT day, originator_party AS party, originator_role AS role, process, srv, device_type,
           csp_region, smets_version, category, kind, rtt_ms, response_code = 'I0' AS success
    FROM {events}
    WHERE kind IN ('refused', 'response') AND day BETWEEN {first} AND {last}
),
alerts AS (
    SELECT day, originator_party AS party, originator_role AS role, alert_code, rtt_ms
    FROM {events}
    WHERE kind = 'alert' AND day BETWEEN {first} AND {last}
),
by_srv AS (
    SELECT 'srv' AS part, party, role, process, srv,
           CAST(NULL AS DATE) AS day, CAST(NULL AS VARCHAR) AS device_type,
           CAST(NULL AS VARCHAR) AS csp_region, CAST(NULL AS VARCHAR) AS smets_version,
           CAST(NULL AS VARCHAR) AS alert_code,
           count(*) AS requests,
           count(*) FILTER (WHERE success) AS successes,
           count(*) FILTER (WHERE NOT success) AS failures,
           min(rtt_ms) FILTER (WHERE success AND kind = 'response') AS best_ms,
           max(rtt_ms) FILTER (WHERE success AND kind = 'response') AS worst_ms,
           avg(rtt_ms) FILTER (WHERE success AND kind = 'response') AS mean_ms,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY rtt_ms)
               FILTER (WHERE success AND kind = 'response') AS median_ms,
           CAST(NULL AS BIGINT) AS category_1, CAST(NULL AS BIGINT) AS category_2,
           CAST(NULL AS BIGINT) AS on_time
    FROM outcomes
    GROUP BY GROUPING SETS ((party, role, process, srv), (role, process, srv),
                            (party, role, process), (role, process))
),
daily AS (
    SELECT 'daily', party, role, process, CAST(NULL AS VARCHAR), day, device_type, csp_region,
           smets_version, CAST(NULL AS VARCHAR),
           count(*),
           count(*) FILTER (WHERE success),
           count(*) FILTER (WHERE NOT success),
           CAST(NULL AS INTEGER), CAST(NULL AS INTEGER),
           avg(rtt_ms) FILTER (WHERE success AND kind = 'response'),
           CAST(NULL AS DOUBLE PRECISION),
           count(*) FILTER (WHERE category = 1),
           count(*) FILTER (WHERE category = 2),
           CAST(NULL AS BIGINT)
    FROM outcomes
    GROUP BY GROUPING SETS ((party, role, day, process, device_type, csp_region, smets_version),
                            (role, day, process, device_type, csp_region, smets_version))
),
delivery AS (
    SELECT 'alerts', party, role, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), day,
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), alert_code,
           count(*), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS INTEGER),
           max(rtt_ms), avg(rtt_ms), percentile_cont(0.5) WITHIN GROUP (ORDER BY rtt_ms),
           CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           count(*) FILTER (WHERE rtt_ms <= {target})
    FROM alerts
    GROUP BY GROUPING SETS ((party, role, day, alert_code), (role, day, alert_code),
                            (party, role, alert_code), (role, alert_code))
)
SELECT * FROM by_srv
UNION ALL SELECT * FROM daily
UNION ALL SELECT * FROM delivery
"""

#: Columns the floor reads, as loaded into PostgreSQL.
PG_COLUMNS = {
    "day": "date",
    "kind": "text",
    "originator_party": "text",
    "originator_role": "text",
    "process": "text",
    "srv": "text",
    "device_type": "text",
    "csp_region": "text",
    "smets_version": "text",
    "category": "smallint",
    "response_code": "text",
    "rtt_ms": "integer",
    "alert_code": "text",
}


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"nproc {os.cpu_count()}, CPU {model!r}, {memory:.0f} GiB, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, pyarrow {pa.__version__}"
    )


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(rss.get(pid, 0) for pid in tree)


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_rss: int
    load_before: str
    load_after: str


def run_measured(command: list[str], env: dict[str, str]) -> Measured:
    """Run ``command``, polling its process tree's memory; raise if it fails."""
    load_before = _load()
    cpu = _children_cpu()
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    output, _ = process.communicate()
    wall = time.perf_counter() - began
    done.set()
    poller.join()
    if process.returncode != 0:
        sys.stderr.write(output.decode(errors="replace")[-3000:])
        raise SystemExit(f"{command[:3]} failed with exit code {process.returncode}")
    return Measured(wall, _children_cpu() - cpu, peak, load_before, _load())


def month_files(lake: Path, month: str) -> list[str]:
    period = Period.month(month)
    return [
        str(p)
        for d in period.days()
        for p in sorted((lake / "events" / f"day={d:%Y-%m-%d}").glob("*.parquet"))
    ]


def core_sql(events: str, month: str, *, date_literal: str = "DATE '{}'") -> str:
    period = Period.month(month)
    return CORE_SQL.format(
        events=events,
        first=date_literal.format(period.first.isoformat()),
        last=date_literal.format(period.last.isoformat()),
        target=ALERT_DELIVERY_TARGET_MS,
    )


def floor_duckdb(lake: Path, month: str) -> tuple[Measured, int]:
    """The floor in this process: one statement over the month's Parquet files to Arrow."""
    listing = "[" + ", ".join(f"'{f}'" for f in month_files(lake, month)) + "]"
    events = (
        f"read_parquet({listing}, hive_partitioning = true, hive_types = {{'day': DATE}}, "
        "union_by_name = true)"
    )
    load_before = _load()
    cpu, began = time.process_time(), time.perf_counter()
    con = duckdb.connect()
    rows = con.sql(core_sql(events, month)).to_arrow_table().num_rows
    con.close()
    wall, used = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return Measured(wall, used, peak, load_before, _load()), rows


def postgres(url: str, lake: Path, month: str, *, limit: int | None) -> tuple[float, float, int]:
    """(load seconds, query seconds, rows loaded): COPY the month's events into an unlogged
    table, then the floor's SQL."""
    import psycopg

    url = url.replace("postgresql+psycopg://", "postgresql://")
    dataset = ds.dataset(month_files(lake, month), format="parquet", partitioning="hive")
    columns = [c for c in PG_COLUMNS if c != "day"]
    loaded = 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_events")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_events ("
            + ", ".join(f"{c} {t}" for c, t in PG_COLUMNS.items())
            + ")"
        )
        began = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY bench_events (" + ", ".join(PG_COLUMNS) + ") FROM STDIN (FORMAT csv)"
            ) as copy,
        ):
            for fragment in dataset.get_fragments():
                day = Path(fragment.path).parent.name.removeprefix("day=")
                for batch in fragment.to_batches(columns=columns, batch_size=1_000_000):
                    if limit is not None and loaded >= limit:
                        break
                    if limit is not None:
                        batch = batch.slice(0, limit - loaded)
                    table = pa.Table.from_batches([batch])
                    table = table.select(columns).add_column(
                        0, "day", pa.array([day] * table.num_rows, pa.string())
                    )
                    table = pa.table(
                        {
                            c: table.column(c).cast(pa.string())
                            if pa.types.is_dictionary(table.column(c).type)
                            else table.column(c)
                            for c in PG_COLUMNS
                        }
                    )
                    sink = pa.BufferOutputStream()
                    pacsv.write_csv(
                        table,
                        sink,
                        pacsv.WriteOptions(include_header=False, quoting_style="needed"),
                    )
                    copy.write(sink.getvalue().to_pybytes())
                    loaded += table.num_rows
        conn.execute("ANALYZE bench_events")
        load = time.perf_counter() - began
        began = time.perf_counter()
        conn.execute("SET max_parallel_workers_per_gather = 2")
        conn.execute("SET work_mem = '256MB'")
        rows = conn.execute(core_sql("bench_events", month)).fetchall()
        query = time.perf_counter() - began
        print(f"  postgres: {len(rows):,} result rows")
        conn.execute("DROP TABLE bench_events")
    return load, query, loaded


def build_lake(lake: Path, db: Path, month: str, events: int) -> None:
    period = Period.month(month)
    days = len(period.days())
    rate = events / 3.9 / (days * 86_400)
    env = {**os.environ, "METERHUB_DATABASE_URL": f"sqlite:///{db}"}
    meterhub = str(Path(sys.executable).parent / "meterhub")
    command = [meterhub, "simulate", "traffic", "--days", str(days), "--rate", f"{rate:.3f}"]
    command += ["--start", period.first.isoformat(), "--seed", "42", "--lake", str(lake)]
    subprocess.run(command, env=env, check=True)


def _events(lake: Path, month: str) -> int:
    return int(ds.dataset(month_files(lake, month), format="parquet").count_rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--month", default="2024-06")
    parser.add_argument("--db", type=Path, help="SQLite estate for the inventory reports")
    parser.add_argument("--no-inventory", action="store_true")
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build", type=int, help="simulate about this many events first")
    parser.add_argument("--skip-pack", action="store_true", help="floor (and PostgreSQL) only")
    parser.add_argument("--postgres", help="PostgreSQL URL: also run the aggregates there")
    parser.add_argument("--pg-limit", type=int, help="load only this many events into PG")
    parser.add_argument("--out", type=Path, help="keep the reports here (default: temporary)")
    args = parser.parse_args()

    print(f"machine: {_machine()}")
    if args.build and not args.lake.exists():
        if not args.db:
            raise SystemExit("--build needs --db (the estate to simulate traffic over)")
        build_lake(args.lake, args.db, args.month, args.build)
    events = _events(args.lake, args.month)
    size = sum(p.stat().st_size for p in args.lake.rglob("*.parquet"))
    print(
        f"lake: {args.lake}, {events:,} events in {args.month}, {size / MEBI:,.0f} MiB on disk; "
        f"suite: {len(SUITE)} definitions; date {date.today()}"
    )

    env = {**os.environ, "METERHUB_REPORT_SECRET": "benchmark secret"}
    if args.db:
        env["METERHUB_DATABASE_URL"] = f"sqlite:///{args.db}"
    meterhub = str(Path(sys.executable).parent / "meterhub")
    packs: list[Measured] = []
    floors: list[Measured] = []
    for run in range(1, args.runs + 1):
        if not args.skip_pack:
            out = args.out or Path(tempfile.mkdtemp(prefix="meterhub-pack-"))
            command = [meterhub, "report", "run", "--month", args.month]
            command += ["--lake", str(args.lake), "--out", str(out)]
            if args.no_inventory or not args.db:
                command.append("--no-inventory")
            if args.no_pdf:
                command.append("--no-pdf")
            pack = run_measured(command, env)
            packs.append(pack)
            reports = out / args.month
            pdfs = len(list(reports.glob("*.pdf")))
            csvs = len(list(reports.rglob("*.csv")))
            print(
                f"run {run} pack: wall {pack.wall:.1f}s, CPU {pack.cpu:.1f}s, peak RSS "
                f"{pack.peak_rss / MEBI:,.0f} MiB, load {pack.load_before} -> {pack.load_after}; "
                f"{csvs:,} CSVs, {pdfs} PDFs"
            )
            if args.out is None:
                shutil.rmtree(out, ignore_errors=True)
        floor, rows = floor_duckdb(args.lake, args.month)
        floors.append(floor)
        line = (
            f"run {run} floor: wall {floor.wall:.1f}s, CPU {floor.cpu:.1f}s, {rows:,} rows, "
            f"load {floor.load_before} -> {floor.load_after}"
        )
        if packs:
            line += f"; pack / floor {packs[-1].wall / floor.wall:.2f}x"
        print(line)

    if packs:
        wall = statistics.median(p.wall for p in packs)
        print(
            f"median pack: wall {wall:.1f}s, CPU {statistics.median(p.cpu for p in packs):.1f}s,"
            f" peak RSS {max(p.peak_rss for p in packs) / MEBI:,.0f} MiB (max)"
        )
    floor_wall = statistics.median(f.wall for f in floors)
    print(f"median floor: wall {floor_wall:.1f}s")
    if packs:
        ratios = [p.wall / f.wall for p, f in zip(packs, floors, strict=True)]
        print(f"median pack / floor (same run): {statistics.median(ratios):.2f}x")

    if args.postgres:
        print(f"postgres: load average before {_load()}")
        load, query, loaded = postgres(args.postgres, args.lake, args.month, limit=args.pg_limit)
        print(
            f"postgres: {loaded:,} events loaded by COPY in {load:.1f}s "
            f"({loaded / load:,.0f} rows/s), core aggregates in {query:.1f}s; "
            f"load average after {_load()}"
        )
        if packs and args.pg_limit is None:
            print(
                f"postgres query / pack wall: {query / wall:.2f}x; "
                f"(load + query) / pack wall: {(load + query) / wall:.2f}x; "
                f"query / DuckDB floor: {query / floor_wall:.2f}x"
            )


if __name__ == "__main__":
    main()
