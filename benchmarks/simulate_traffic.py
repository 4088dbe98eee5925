"""How fast does ``meterhub simulate traffic`` fill the event lake, against a floor?

Uses an estate of about a million devices in a SQLite database: the demo estate
(``meterhub demo seed``, run as a subprocess) unless ``--synthetic`` asks for the quick
synthetic one inserted directly (households with an ESME, a CHF and, for dual fuel, a GSME and
GPF). Then, per run: the estate read on its own (``load_estate``), the whole simulation writing
about ``--events`` events, and two **floors** measured in the same run with the same number of
processes: writing the simulation's own rows (one real chunk, written as many times as the run
had chunks) and writing random columns of the same schema, both pre-generated, so the floors are
Parquet writing alone. CPU is user + system of this process and its worker processes.

    .venv/bin/python benchmarks/simulate_traffic.py --devices 1000000 --events 100000000 --runs 3
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, text

from meterhub.db.session import get_engine
from meterhub.inventory.catalogue import GAS_DEVICE_TYPES
from meterhub.kit.ids import make_mpan
from meterhub.lake import schema as S
from meterhub.lake.simulate import (
    ChunkGenerator,
    TrafficSettings,
    load_estate,
    plan_traffic,
    simulate_traffic,
)
from meterhub.lake.writer import EventLakeWriter
from meterhub.migrations.run import upgrade
from meterhub.network.model import NetworkModel

SUPPLIERS = [("BGAS", 0.30), ("OCTO", 0.25), ("EDFE", 0.15), ("EONX", 0.12), ("SPWR", 0.10)]
SUPPLIERS += [("SMAL", 0.05), ("TINY", 0.03)]
MODELS = {
    "ESME": [
        ("Aclara", "SGM1411", "1.2.3"),
        ("Landis+Gyr", "E470", "7.0"),
        ("Secure", "Liberty100", "3.1"),
    ],
    "GSME": [("Itron", "G4SRTV", "2.0"), ("Flonidan", "G4SZV", "1.4")],
    "CHF": [("Toshiba", "CHF-N", "4.1"), ("WNC", "CHF-CS", "2.6"), ("EDMI", "CHF-4G", "1.0")],
    "GPF": [("Toshiba", "GPF-N", "4.1")],
}
REGIONS = ["North", "Central", "South", "North4G", "Central4G", "South4G"]
START = date(2024, 6, 3)


def _eui(n: int, prefix: int) -> str:
    value = (prefix << 40) | n
    raw = f"{value:016X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def build_synthetic_estate(url: str, *, devices: int, seed: int = 1) -> int:
    """Insert about ``devices`` devices with meter points, registrations and parties."""
    rng = np.random.default_rng(seed)
    engine = get_engine(url)
    households = devices // 3
    with engine.begin() as conn:
        party_ids: dict[str, int] = {}
        codes = [c for c, _ in SUPPLIERS] + [f"DNO{i:02d}" for i in range(10, 24)] + ["MOP1"]
        for code in codes:
            kind = (
                "supplier"
                if not code.startswith(("DNO", "MOP"))
                else ("network_operator" if code.startswith("DNO") else "agent")
            )
            conn.execute(
                text("INSERT INTO party (code, name, kind, created_at) VALUES (:c, :n, :k, :t)"),
                {"c": code, "n": f"Party {code}", "k": kind, "t": "2024-01-01 00:00:00"},
            )
            party_ids[code] = conn.execute(
                text("SELECT id FROM party WHERE code = :c"), {"c": code}
            ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO agent_appointment (supplier_party_id, agent_party_id, valid_from,"
                " created_at) VALUES (:s, :a, '2020-01-01', '2024-01-01 00:00:00')"
            ),
            {"s": party_ids["BGAS"], "a": party_ids["MOP1"]},
        )
        weights = np.array([w for _, w in SUPPLIERS])
        supplier_of = rng.choice(len(SUPPLIERS), households, p=weights / weights.sum())
        dual = rng.random(households) < 0.55
        region_of = rng.integers(0, len(REGIONS), households)
        points: list[dict[str, object]] = []
        regs: list[dict[str, object]] = []
        rows: list[dict[str, object]] = []
        n = 0
        for h in range(households):
            dist = 10 + h % 14
            mpan = make_mpan(f"{dist:02d}{h:010d}")
            supplier = party_ids[SUPPLIERS[supplier_of[h]][0]]
            network = party_ids[f"DNO{dist:02d}"]
            points.append({"m": mpan, "f": "electricity"})
            regs.append({"m": mpan, "s": supplier, "n": network})
            region = REGIONS[region_of[h]]
            smets = "SMETS1" if rng.random() < 0.12 else "SMETS2"
            hub_id = _eui(n, 0x00DB12)
            kinds = ["CHF", "ESME"] + (["GSME", "GPF"] if dual[h] else [])
            mprn = f"{9_000_000 + h}"
            if dual[h]:
                points.append({"m": mprn, "f": "gas"})
                regs.append({"m": mprn, "s": supplier, "n": party_ids["DNO10"]})
            for kind in kinds:
                maker, model, fw = MODELS[kind][int(rng.integers(len(MODELS[kind])))]
                if kind == "CHF" and region.endswith("4G"):
                    maker, model, fw = MODELS["CHF"][2]
                rows.append(
                    {
                        "id": hub_id if kind == "CHF" else _eui(n, 0x00DB12),
                        "t": kind,
                        "ma": maker,
                        "mo": model,
                        "fw": fw,
                        "sv": smets,
                        "r": region,
                        "st": "Commissioned",
                        "o": supplier if kind == "CHF" else None,
                        "mp": mprn
                        if kind in GAS_DEVICE_TYPES
                        else (None if kind == "CHF" else mpan),
                        "h": None if kind == "CHF" else hub_id,
                    }
                )
                n += 1
        conn.execute(text("INSERT INTO meter_point (mpxn, fuel) VALUES (:m, :f)"), points)
        conn.execute(
            text(
                "INSERT INTO registration (mpxn, supplier_party_id, network_operator_party_id,"
                " effective_from) VALUES (:m, :s, :n, '2020-01-01')"
            ),
            regs,
        )
        conn.execute(
            text(
                "INSERT INTO device (device_id, device_type, manufacturer, model, firmware_version,"
                " smets_version, csp_region, status, owner_party_id, mpxn, comms_hub_id,"
                " created_at, updated_at) VALUES (:id, :t, :ma, :mo, :fw, :sv, :r, :st, :o, :mp,"
                " :h, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            ),
            rows,
        )
    return n


def _cpu() -> float:
    """User + system seconds of this process and of its waited-for children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def random_table(rows: int, *, vocab: dict[str, int] | None = None) -> pa.Table:
    """``rows`` rows of random columns in the event schema (the 'random' floor's data)."""
    rng = np.random.default_rng(7)
    ids = pa.array([_eui(i, 0x00DB12) for i in range(100_000)])
    start_ms = 1_717_200_000_000

    def dictionary(card: int) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, card, rows).astype(np.int32)),
            pa.array([f"v{i}" for i in range(card)]),
        )

    pick = pa.array(rng.integers(0, len(ids), rows))
    columns = {
        "event_id": pa.array(np.arange(rows, dtype=np.int64)),
        "event_time": pa.array(
            np.sort(start_ms + rng.integers(0, 3_600_000, rows)), type=pa.timestamp("ms", tz="UTC")
        ),
        "kind": dictionary(6),
        "request_id": pa.array(np.arange(rows, dtype=np.int64) // 4),
        "originator_party": dictionary(20),
        "originator_role": dictionary(7),
        "srv": dictionary(70),
        "service_reference": dictionary(50),
        "process": dictionary(13),
        "device_id": ids.take(pick),
        "device_type": dictionary(4),
        "manufacturer": dictionary(8),
        "model": dictionary(10),
        "firmware_version": dictionary(10),
        "smets_version": dictionary(2),
        "csp_region": dictionary(6),
        "mpxn": ids.take(pick),
        "response_code": dictionary(11),
        "rtt_ms": pa.array(rng.integers(0, 60_000, rows).astype(np.int32)),
        "failure_reason": dictionary(6),
        "alert_code": dictionary(6),
        "category": pa.nulls(rows, pa.int8()),
    }
    return pa.Table.from_pydict(columns, schema=S.EVENT_SCHEMA)


_FLOOR: tuple[pa.Table, EventLakeWriter] | None = None


def _floor_part(part: int) -> int:
    assert _FLOOR is not None
    table, writer = _FLOOR
    writer.write(table, part=f"floor-{part:06d}")
    return int(table.num_rows)


def floor_write(root: Path, table: pa.Table, parts: int, workers: int) -> tuple[float, float]:
    """(wall, CPU) seconds to write ``table`` ``parts`` times into a lake, ``workers`` processes
    forked after the table is built, as the simulation forks after reading the estate."""
    global _FLOOR
    _FLOOR = (table, EventLakeWriter(root))
    cpu, began = _cpu(), time.perf_counter()
    if workers == 1:
        for part in range(parts):
            _floor_part(part)
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _rows in pool.imap_unordered(_floor_part, range(parts)):
                pass
    wall = time.perf_counter() - began
    _FLOOR = None
    return wall, _cpu() - cpu


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def _machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"nproc {os.cpu_count()}, CPU {model!r}, Python {platform.python_version()}, "
        f"pyarrow {pa.__version__}, numpy {np.__version__}, SQLite {sqlite3.sqlite_version}"
    )


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def seed_demo_estate(db: Path, devices: int) -> None:
    """``meterhub db upgrade`` and ``meterhub demo seed`` into ``db``, as a user would."""
    env = {**os.environ, "METERHUB_DATABASE_URL": f"sqlite:///{db}"}
    meterhub = str(Path(sys.executable).parent / "meterhub")
    with tempfile.TemporaryDirectory() as tmp:
        logins = str(Path(tmp) / "logins.json")
        subprocess.run([meterhub, "db", "upgrade"], env=env, check=True)
        seed = ["demo", "seed", "--devices", str(devices), "--as-of", "2024-06-01"]
        subprocess.run([meterhub, *seed, "--credentials", logins], env=env, check=True)


@dataclass
class Run:
    load: list[str]
    estate_wall: float
    estate_cpu: float
    wall: float
    cpu: float
    events: int
    chunks: int
    in_run_estate: float
    lake_bytes: int
    rss_main: float
    rss_worker: float
    floors: dict[str, tuple[float, float]]


def one_run(engine: Engine, args: argparse.Namespace, workdir: Path) -> Run:
    load = [_load()]
    cpu, began = _cpu(), time.perf_counter()
    estate = load_estate(engine, on=START)
    estate_wall, estate_cpu = time.perf_counter() - began, _cpu() - cpu

    lake = workdir / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    # About 3.9 events per request; one day at this rate gives the target.
    rate = args.events / 3.9 / 86_400
    cpu, began = _cpu(), time.perf_counter()
    summary = simulate_traffic(
        engine,
        lake=lake,
        start=START,
        days=1,
        rate=rate,
        seed=42,
        workers=args.workers,
        settings=TrafficSettings(),
        progress=lambda done, planned, events: print(
            f"\r  {done:,}/{planned:,} requests, {events:,} events", end="", file=sys.stderr
        ),
    )
    wall, run_cpu = time.perf_counter() - began, _cpu() - cpu
    print(file=sys.stderr)
    load.append(_load())
    lake_bytes = _size(lake)
    shutil.rmtree(lake, ignore_errors=True)

    floors: dict[str, tuple[float, float]] = {}
    if args.floor in ("same", "both"):
        settings = TrafficSettings()
        plan = plan_traffic(estate, start=START, days=1, rate=rate, seed=42, settings=settings)
        generator = ChunkGenerator(estate, plan, NetworkModel(), settings)
        table = generator.generate(plan.chunks[len(plan.chunks) // 2])
        parts = -(-summary.events // table.num_rows)
        floors["same rows"] = floor_write(workdir / "floor", table, parts, args.workers)
        shutil.rmtree(workdir / "floor", ignore_errors=True)
        del table, generator
        load.append(_load())
    if args.floor in ("random", "both"):
        rows = 4_000_000
        table = random_table(rows)
        parts = -(-summary.events // rows)
        floors["random"] = floor_write(workdir / "floor", table, parts, args.workers)
        shutil.rmtree(workdir / "floor", ignore_errors=True)
        del table
        load.append(_load())
    return Run(
        load=load,
        estate_wall=estate_wall,
        estate_cpu=estate_cpu,
        wall=wall,
        cpu=run_cpu,
        events=summary.events,
        chunks=summary.chunks,
        in_run_estate=summary.estate_seconds,
        lake_bytes=lake_bytes,
        rss_main=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_worker=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        floors=floors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/meterhub-bench-demo-estate.db"))
    parser.add_argument("--synthetic", action="store_true", help="synthetic estate, not demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--floor", choices=("both", "same", "random", "none"), default="both")
    args = parser.parse_args()

    print(f"machine: {_machine()}")
    url = f"sqlite:///{args.db}"
    if not args.db.exists():
        began = time.perf_counter()
        if args.synthetic:
            upgrade(url)
            made = build_synthetic_estate(url, devices=args.devices)
        else:
            seed_demo_estate(args.db, args.devices)
            made = args.devices
        print(f"estate: {made:,} devices built in {time.perf_counter() - began:.1f}s ({args.db})")
    else:
        print(f"estate: reusing {args.db}")
    engine = get_engine(url)
    workdir = Path(tempfile.mkdtemp(prefix="meterhub-bench-"))
    runs: list[Run] = []
    try:
        for number in range(1, args.runs + 1):
            r = one_run(engine, args, workdir)
            runs.append(r)
            print(
                f"run {number}: load {' -> '.join(r.load)}; estate read {r.estate_wall:.1f}s wall "
                f"{r.estate_cpu:.1f}s CPU; simulate {r.events:,} events in {r.chunks} chunks: "
                f"{r.wall:.1f}s wall ({r.in_run_estate:.1f}s of it the estate), {r.cpu:.1f}s CPU, "
                f"{r.events / r.wall:,.0f} events/s; lake {r.lake_bytes / 2**20:,.0f} MiB "
                f"({r.lake_bytes / r.events:.1f} B/event); peak RSS main {r.rss_main:.0f} MiB, "
                f"largest worker {r.rss_worker:.0f} MiB",
                flush=True,
            )
            for name, (wall, cpu) in r.floors.items():
                print(
                    f"  floor ({name}): {wall:.1f}s wall, {cpu:.1f}s CPU; "
                    f"simulate / floor: wall {r.wall / wall:.2f}x, CPU {r.cpu / cpu:.2f}x",
                    flush=True,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if len(runs) > 1:
        med = statistics.median
        print(
            f"median of {len(runs)}: simulate {med(r.wall for r in runs):.1f}s wall, "
            f"{med(r.cpu for r in runs):.1f}s CPU, {med(r.events / r.wall for r in runs):,.0f} "
            f"events/s; estate read {med(r.estate_wall for r in runs):.1f}s wall, "
            f"{med(r.estate_cpu for r in runs):.1f}s CPU"
        )
        for name in runs[0].floors:
            print(
                f"  floor ({name}): {med(r.floors[name][0] for r in runs):.1f}s wall, "
                f"{med(r.floors[name][1] for r in runs):.1f}s CPU; ratio wall "
                f"{med(r.wall / r.floors[name][0] for r in runs):.2f}x, CPU "
                f"{med(r.cpu / r.floors[name][1] for r in runs):.2f}x"
            )


if __name__ == "__main__":
    main()
