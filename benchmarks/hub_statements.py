"""Monthly hub charge statements for every party of a large estate (issue 10: 5 million hubs'
custody history in 60 s or less).

Run: ``.venv/bin/python benchmarks/hub_statements.py [--hubs 5000000] [--runs 3] [--keep DB]``.
It builds a fresh SQLite database (the embedded default), migrates it, and writes the estate
through the inventory's own bulk load (``inventory.service.load_devices``): 40 suppliers, each
hub delivered on a day of 2025-01-01 to 2026-10-31 to one of them, then (drawn from a fixed
seed) 15% passed to another supplier while still stock, 75% installed (installed, then
commissioned a day later), 5% returned to the DCC (withdrawn, then held by the DCC, with its
hub return row through ``comms_hubs.service.load_returns``), the rest left in stock. The stock
charge changes mid-month (1p a hub-day, 2p from the 16th).

Timed, per run: ``statements.statements_for_month`` for 2026-10, every party's statement, and
the same plus each statement's CSV and PDF (what ``meterhub hubs charges`` writes). Two floors,
measured in the same run, each one hand-written SQL aggregate (grouped by field and value) that
reads rows and does nothing else: over every hub's custody history ("all rows"), and over the
rows the statements read, those of the hubs in stock now or changed since the month began
("rows read").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from meterhub.audit.service import Actor
from meterhub.comms_hubs import service as hubs
from meterhub.comms_hubs import statements
from meterhub.db import bulk
from meterhub.db.session import session_scope
from meterhub.inventory import service as inventory
from meterhub.migrations.run import upgrade
from meterhub.parties import service as parties

SYSTEM = Actor.system("benchmark")
MONTH = "2026-10"
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2026, 10, 31)
BATCH = 100_000
SUPPLIERS = 40


def _eui(n: int) -> str:
    raw = f"00DB12{n:010X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def build(url: str, hubs_wanted: int) -> int:
    upgrade(url)
    with session_scope(url) as session:
        codes = [f"SUP{i:02d}" for i in range(SUPPLIERS)]
        ids = {}
        for code in codes:
            party = parties.create_party(
                session,
                actor=SYSTEM,
                code=code,
                name=f"Supplier {code}",
                kind="supplier",
                roles=("IS",),
                now=datetime(2024, 12, 1, tzinfo=UTC),
            )
            ids[code] = party.id
        dcc = parties.create_party(
            session,
            actor=SYSTEM,
            code="DCC",
            name="DCC",
            kind="operator",
            roles=("OPERATOR",),
            now=datetime(2024, 12, 1, tzinfo=UTC),
        )
        ids["DCC"] = dcc.id
        for day, millipence in ((date(2026, 10, 1), 1000), (date(2026, 10, 16), 2000)):
            hubs.set_tariff(
                session,
                actor=SYSTEM,
                kind="stock",
                effective_from=day,
                amount_millipence=millipence,
                reason="benchmark",
                now=datetime(2025, 1, 1, tzinfo=UTC),
            )
        _, instant = bulk.encoders(session)
        connection = session.connection()
        connection.exec_driver_sql("PRAGMA cache_size=-1048576")
        rng = random.Random(10)
        span = (LAST_DAY - FIRST_DAY).days + 1
        history_rows = 0
        for start in range(0, hubs_wanted, BATCH):
            devices, history, returns = [], [], []
            for n in range(start, min(start + BATCH, hubs_wanted)):
                device_id = _eui(n)
                delivered = datetime.combine(
                    FIRST_DAY + timedelta(days=rng.randrange(span)),
                    datetime.min.time(),
                    UTC,
                ) + timedelta(seconds=rng.randrange(86_400))
                holder = codes[rng.randrange(SUPPLIERS)]
                status = "Pending"
                rows = [
                    (
                        device_id,
                        instant(delivered),
                        "status",
                        None,
                        "Pending",
                        "system",
                        "delivered",
                    )
                ]
                when = delivered
                draw = rng.random()
                if draw < 0.15:
                    when += timedelta(days=rng.randrange(1, 60))
                    receiver = codes[
                        (codes.index(holder) + 1 + rng.randrange(SUPPLIERS - 1)) % SUPPLIERS
                    ]
                    rows.append(
                        (device_id, instant(when), "owner", holder, receiver, "system", "MP140")
                    )
                    holder = receiver
                    draw = rng.random()
                if draw < 0.75:
                    when += timedelta(days=rng.randrange(1, 90))
                    rows.append(
                        (
                            device_id,
                            instant(when),
                            "status",
                            "Pending",
                            "InstalledNotCommissioned",
                            "system",
                            "8.14.2",
                        )
                    )
                    rows.append(
                        (
                            device_id,
                            instant(when + timedelta(days=1)),
                            "status",
                            "InstalledNotCommissioned",
                            "Commissioned",
                            "system",
                            "8.14.1",
                        )
                    )
                    status = "Commissioned"
                elif draw < 0.80:
                    when += timedelta(days=rng.randrange(1, 90))
                    rows.append(
                        (
                            device_id,
                            instant(when),
                            "status",
                            "Pending",
                            "Withdrawn",
                            "system",
                            "no-fault return",
                        )
                    )
                    rows.append(
                        (
                            device_id,
                            instant(when),
                            "owner",
                            holder,
                            "DCC",
                            "system",
                            "no-fault return",
                        )
                    )
                    returns.append(
                        (
                            device_id,
                            ids[holder],
                            ids[holder],
                            "no_fault",
                            "excess stock",
                            None,
                            670,
                            instant(when),
                        )
                    )
                    holder, status = "DCC", "Withdrawn"
                at, changed = instant(delivered), rows[-1][1]
                devices.append(
                    (
                        device_id,
                        "CHF",
                        "Acme",
                        "CH-1",
                        "1.0",
                        "CHTS",
                        "North",
                        status,
                        ids[holder],
                        None,
                        None,
                        at,
                        changed,
                    )
                )
                history.extend(rows)
            inventory.load_devices(session, devices=devices, history=history)
            hubs.load_returns(session, rows=returns)
            history_rows += len(history)
            print(f"  loaded {min(start + BATCH, hubs_wanted):,} hubs", flush=True)
    return history_rows


FLOOR_SQL = """
SELECT h.field, h.new_value, count(*)
FROM device_history h JOIN device d ON d.device_id = h.device_id
WHERE d.device_type = 'CHF' AND h.field IN ('status', 'owner')
GROUP BY h.field, h.new_value
"""
FLOOR_READ_SQL = """
SELECT h.field, h.new_value, count(*)
FROM device_history h JOIN device d ON d.device_id = h.device_id
WHERE d.device_type = 'CHF' AND h.field IN ('status', 'owner')
  AND (d.status IN ('Pending', 'Whitelisted') OR d.updated_at >= '2026-09-30 00:00:00.000000')
  AND h.at < '2026-11-01 00:00:00.000000'
GROUP BY h.field, h.new_value
"""


def timed_runs(url: str, runs: int) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    compute, rendered, floor, floor_read = [], [], [], []
    cpu_compute, cpu_floor_read = [], []
    for run in range(runs):
        with session_scope(url, write=False) as session:
            started = time.perf_counter()
            session.execute(text(FLOOR_SQL)).all()
            floor.append(time.perf_counter() - started)
            started, cpu = time.perf_counter(), time.process_time()
            session.execute(text(FLOOR_READ_SQL)).all()
            floor_read.append(time.perf_counter() - started)
            cpu_floor_read.append(time.process_time() - cpu)
        with session_scope(url, write=False) as session:
            started, cpu = time.perf_counter(), time.process_time()
            got = statements.statements_for_month(session, month=MONTH, now=now)
            compute.append(time.perf_counter() - started)
            cpu_compute.append(time.process_time() - cpu)
            for statement in got:
                statements.statement_csv(statement)
                statements.statement_pdf(statement)
            rendered.append(time.perf_counter() - started)
        hub_days = sum(s.stock_hub_days for s in got)
        print(
            f"run {run + 1}: floor all rows {floor[-1]:.1f} s, rows read {floor_read[-1]:.1f} s;"
            f" statements {compute[-1]:.1f} s;"
            f" with CSV and PDF {rendered[-1]:.1f} s ({len(got)} parties,"
            f" {hub_days:,} hub-days of stock); CPU: statements {cpu_compute[-1]:.1f} s,"
            f" floor rows read {cpu_floor_read[-1]:.1f} s; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    print(
        f"median of {runs}: floor all rows {statistics.median(floor):.1f} s,"
        f" rows read {statistics.median(floor_read):.1f} s;"
        f" statements {statistics.median(compute):.1f} s;"
        f" with CSV and PDF {statistics.median(rendered):.1f} s;"
        f" CPU: statements {statistics.median(cpu_compute):.1f} s,"
        f" floor rows read {statistics.median(cpu_floor_read):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hubs", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", default="", help="SQLite file to build into (and reuse)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "hubs.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            started = time.perf_counter()
            rows = build(url, args.hubs)
            print(
                f"built {args.hubs:,} hubs, {rows:,} history rows"
                f" in {time.perf_counter() - started:.0f} s"
            )
        timed_runs(url, args.runs)
        print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
