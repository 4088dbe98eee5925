"""Seeding the synthetic GB estate: ``meterhub demo seed`` on a fresh SQLite database.

Run: ``.venv/bin/python benchmarks/estate_seed.py [--devices 1000000] [--runs 3]``.

Each run makes a new SQLite file in a temporary folder, runs the migrations (not timed), then
times the real command, ``meterhub demo seed``, as a subprocess (start-up included), and reads
its peak RSS. In the same run it measures two floors on another fresh, migrated file with the
same pragmas the hub uses (WAL, synchronous=NORMAL, a 1 GiB page cache), rows generated
beforehand and not timed:

* **device floor**: one raw ``sqlite3`` executemany of the same device rows into ``device``
  (same columns and indexes), then COMMIT: what writing the devices alone costs;
* **all-rows floor**: the same for every bulk row the seed writes (meter points,
  registrations, devices, device history).

The seed also generates the estate, creates ~90 parties, users and tokens through the services,
checks foreign keys and hashes one password; the ratios show what that costs over pure writing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from meterhub.demo.estate import Estate, Row
from meterhub.inventory.service import DEVICE_COLUMNS, DEVICE_HISTORY_COLUMNS
from meterhub.migrations.run import upgrade
from meterhub.registration.service import METER_POINT_COLUMNS, REGISTRATION_COLUMNS

METERHUB = str(Path(sys.executable).with_name("meterhub"))
TABLES = (
    ("meter_point", METER_POINT_COLUMNS),
    ("registration", REGISTRATION_COLUMNS),
    ("device", DEVICE_COLUMNS),
    ("device_history", DEVICE_HISTORY_COLUMNS),
)


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM,"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" load average {os.getloadavg()[0]:.2f}"
    )


def seed_run(folder: Path, devices: int, seed: int, as_of: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of ``meterhub demo seed``
    into a fresh database. On a shared machine the CPU time is the steadier figure."""
    url = f"sqlite:///{folder / 'seed.db'}"
    upgrade(url)
    env = {**os.environ, "METERHUB_DATABASE_URL": url}
    cmd = [METERHUB, "demo", "seed", "--devices", str(devices), "--seed", str(seed)]
    cmd += ["--as-of", as_of, "--credentials", str(folder / "credentials.json")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        sys.exit(f"meterhub demo seed failed ({done.returncode}): {done.stderr.strip()}")
    print(f"  {done.stdout.strip().splitlines()[-1]}")
    return elapsed, cpu, after.ru_maxrss / 1024


def pregenerate(devices: int, seed: int, as_of: date) -> dict[str, list[Row]]:
    """The seed's bulk rows, in SQLite's storage form, made before any clock starts."""
    estate = Estate(seed=seed, devices=devices, as_of=as_of)
    ids = {p.code: n for n, p in enumerate(estate.parties, start=1)}
    rows: dict[str, list[Row]] = {name: [] for name, _ in TABLES}
    for batch in estate.rows(
        ids,
        encode_day=lambda d: d.isoformat(),
        encode_instant=lambda dt: dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
    ):
        rows["meter_point"] += batch.meter_points
        rows["registration"] += batch.registrations
        rows["device"] += batch.devices
        rows["device_history"] += batch.device_history
    return rows


def floor_run(folder: Path, name: str, rows: dict[str, list[Row]], tables: list[str]) -> float:
    """Seconds for raw executemany of ``rows`` into ``tables`` of a fresh database, and COMMIT."""
    path = folder / f"floor-{name}.db"
    upgrade(f"sqlite:///{path}")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA cache_size=-1048576")
    started = time.perf_counter()
    con.execute("BEGIN")
    for table, columns in TABLES:
        if table in tables:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            con.executemany(sql, rows[table])
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-11-25")
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)
    print(f"machine: {machine()}")
    print(f"estate seed: {args.devices:,} devices, seed {args.seed}, {args.runs} run(s)")

    seeds: list[float] = []
    cpus: list[float] = []
    rss: list[float] = []
    device_floors: list[float] = []
    all_floors: list[float] = []
    rows = pregenerate(args.devices, args.seed, as_of)
    total_rows = sum(len(r) for r in rows.values())
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            wall, cpu, peak = seed_run(folder, args.devices, args.seed, args.as_of)
            device_floor = floor_run(folder, "device", rows, ["device"])
            all_floor = floor_run(folder, "all", rows, [t for t, _ in TABLES])
        seeds.append(wall)
        cpus.append(cpu)
        rss.append(peak)
        device_floors.append(device_floor)
        all_floors.append(all_floor)
        print(
            f"run {run}: seed {wall:.1f} s ({args.devices / wall:,.0f} devices/s),"
            f" CPU {cpu:.1f} s, peak RSS {peak:,.0f} MiB; device floor {device_floor:.1f} s,"
            f" all-rows floor {all_floor:.1f} s; load average {os.getloadavg()[0]:.2f}"
        )

    wall = statistics.median(seeds)
    device_floor = statistics.median(device_floors)
    all_floor = statistics.median(all_floors)
    print(f"median of {args.runs}:")
    print(f"  seed           {wall:7.1f} s  {args.devices / wall:>10,.0f} devices/s")
    print(f"  seed CPU       {statistics.median(cpus):7.1f} s  (user + system, all threads)")
    print(f"  peak RSS       {max(rss):7,.0f} MiB")
    print(
        f"  device floor   {device_floor:7.1f} s  {args.devices / device_floor:>10,.0f} rows/s"
        f"  (seed / floor = {wall / device_floor:.1f}x)"
    )
    print(
        f"  all-rows floor {all_floor:7.1f} s  {total_rows / all_floor:>10,.0f} rows/s"
        f"  ({total_rows:,} rows; seed / floor = {wall / all_floor:.1f}x)"
    )


if __name__ == "__main__":
    main()
