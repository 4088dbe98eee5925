"""How fast does ``meterhub simulate traffic`` fill the event lake, against a floor?

Builds (or reuses) an estate of about a million devices in a SQLite database, simulates enough
traffic to write about ``--events`` events, and prints events/s, wall time, peak RSS, the lake's
size on disk, and a **floor** measured in the same run: writing the same number of rows of
pre-generated random columns (same schema, same encodings) to Parquet, with no simulation logic.
The ratio says how much the simulation itself costs on top of getting bytes into Parquet.

The estate comes from the demo seeder when ``meterhub.demo`` offers ``seed_estate``; otherwise a
synthetic estate is inserted directly: households with an ESME, a CHF and (for dual fuel) a GSME
and GPF, registered to a handful of suppliers of different sizes and the 14 distributors.

    .venv/bin/python benchmarks/simulate_traffic.py --devices 1000000 --events 100000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import text

from meterhub.db.migrate import upgrade
from meterhub.db.session import get_engine
from meterhub.kit.ids import make_mpan
from meterhub.lake import schema as S
from meterhub.lake.simulate import TrafficSettings, simulate_traffic
from meterhub.lake.writer import EventLakeWriter

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
                        if kind in ("GSME", "GPF")
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


def floor_write(root: Path, rows: int, chunk: int = 4_000_000) -> float:
    """Seconds to write ``rows`` random rows of the event schema to Parquet, no simulation."""
    rng = np.random.default_rng(7)
    ids = pa.array([_eui(i, 0x00DB12) for i in range(100_000)])
    writer = EventLakeWriter(root)
    start_ms = 1_717_200_000_000
    began = time.perf_counter()
    done = 0
    part = 0
    while done < rows:
        k = min(chunk, rows - done)

        def dictionary(card: int, k: int = k) -> pa.Array:
            return pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, card, k).astype(np.int32)),
                pa.array([f"v{i}" for i in range(card)]),
            )

        pick = pa.array(rng.integers(0, len(ids), k))
        columns = {
            "event_id": pa.array(np.arange(done, done + k, dtype=np.int64)),
            "event_time": pa.array(
                np.sort(start_ms + rng.integers(0, 3_600_000, k)), type=pa.timestamp("ms", tz="UTC")
            ),
            "kind": dictionary(6),
            "request_id": pa.array(np.arange(done, done + k, dtype=np.int64) // 4),
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
            "rtt_ms": pa.array(rng.integers(0, 60_000, k).astype(np.int32)),
            "failure_reason": dictionary(6),
            "alert_code": dictionary(6),
            "category": pa.nulls(k, pa.int8()),
        }
        writer.write(pa.Table.from_pydict(columns, schema=S.EVENT_SCHEMA), part=f"floor-{part:06d}")
        done += k
        part += 1
    return time.perf_counter() - began


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/meterhub-bench-estate.db"))
    parser.add_argument("--lake", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args()

    url = f"sqlite:///{args.db}"
    if not args.db.exists():
        t = time.perf_counter()
        upgrade(url)
        made = build_synthetic_estate(url, devices=args.devices)
        print(f"estate: {made:,} devices built in {time.perf_counter() - t:.1f}s ({args.db})")
    else:
        print(f"estate: reusing {args.db}")
    engine = get_engine(url)

    workdir = Path(tempfile.mkdtemp(prefix="meterhub-bench-"))
    lake = args.lake or workdir / "lake"
    # About 3.9 events per request; one day at this rate gives the target.
    rate = args.events / 3.9 / 86_400
    began = time.perf_counter()
    summary = simulate_traffic(
        engine,
        lake=lake,
        start=date(2024, 6, 3),
        days=1,
        rate=rate,
        seed=42,
        workers=args.workers,
        settings=TrafficSettings(),
        progress=lambda done, planned, events: print(
            f"\r  {done:,}/{planned:,} requests, {events:,} events", end="", file=sys.stderr
        ),
    )
    wall = time.perf_counter() - began
    print(file=sys.stderr)
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lake_bytes = _size(lake)
    print(
        f"simulate: {summary.events:,} events ({summary.requests:,} requests) at rate {rate:.0f}/s"
    )
    print(f"  wall {wall:.1f}s, {summary.events / wall:,.0f} events/s, {summary.chunks} chunks")
    print(f"  peak RSS main {rss_self:.0f} MiB, largest worker {rss_children:.0f} MiB")
    print(
        f"  lake {lake_bytes / 2**20:,.0f} MiB on disk, {lake_bytes / summary.events:.1f} B/event"
    )
    if not args.skip_floor:
        floor_root = workdir / "floor"
        floor = floor_write(floor_root, summary.events)
        print(
            f"floor: {summary.events:,} random rows to Parquet in {floor:.1f}s (1 core), "
            f"{summary.events / floor:,.0f} rows/s, {_size(floor_root) / 2**20:,.0f} MiB"
        )
        print(f"ratio: simulate wall / floor = {wall / floor:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
