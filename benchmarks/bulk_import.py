"""Bulk import throughput: ``meterhub import`` of registrations and devices on a fresh database.

Run: ``.venv/bin/python benchmarks/bulk_import.py [--devices 100000] [--database-url URL]``.
Without a URL it uses a new SQLite file in a temporary folder. Half the devices are
communications hubs held by a supplier; the other half are electricity meters, each on its own
registered MPAN (``--registrations`` of them, shared round-robin) and joined to the hub one row
above it (a dependency inside the same file).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from meterhub.kit.ids import make_mpan

METERHUB = str(Path(sys.executable).with_name("meterhub"))


def _write(path: Path, header: list[str], rows: object) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)  # type: ignore[arg-type]


def _eui(prefix: int, n: int) -> str:
    raw = f"{prefix:06X}{n:010X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run one ``meterhub`` command; its wall time and CPU time (CPU is what a busy machine
    does not distort)."""
    started, cpu_before = time.perf_counter(), _cpu_of_children()
    done = subprocess.run([METERHUB, *args], env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - started, _cpu_of_children() - cpu_before
    if done.returncode != 0:
        sys.exit(f"meterhub {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    print(f"  {done.stdout.strip()}", flush=True)
    return elapsed, cpu


def _rate(what: str, rows: int, took: tuple[float, float]) -> None:
    wall, cpu = took
    print(
        f"{what}: {rows:,} rows in {wall:.1f} s wall = {rows / wall:,.0f} rows/s;"
        f" {cpu:.1f} s CPU = {rows / cpu:,.0f} rows per CPU-second",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    meters = args.devices // 2
    registered = min(args.registrations, meters)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        env = {**os.environ, "METERHUB_DATABASE_URL": url}
        _write(
            folder / "parties.csv",
            ["code", "name", "kind", "roles"],
            [["BGAS", "Supplier", "supplier", "IS;GS"], ["UKPN", "DNO", "network_operator", "ED"]],
        )
        mpans = [make_mpan(f"12{n:010d}") for n in range(registered)]
        _write(
            folder / "registrations.csv",
            ["mpxn", "supplier", "network_operator", "effective_from"],
            ([m, "BGAS", "UKPN", "2020-01-01"] for m in mpans),
        )
        header = [
            "device_id",
            "device_type",
            "manufacturer",
            "model",
            "firmware_version",
            "smets_version",
            "csp_region",
            "status",
            "owner",
            "mpxn",
            "comms_hub_id",
        ]
        rows = []
        for n in range(meters):
            mpan = mpans[n % registered]
            hub = _eui(0x00DB12, n)
            rows.append(
                [hub, "CHF", "Acme", "HUB-1", "1.0", "CHTS", "North", "Pending", "BGAS", "", ""]
            )
            rows.append(
                [
                    _eui(0x00DB13, n),
                    "ESME",
                    "Acme",
                    "ACME-1",
                    "1.0.0",
                    "SMETS2",
                    "North",
                    "Commissioned",
                    "",
                    mpan,
                    hub,
                ]
            )
        _write(folder / "devices.csv", header, rows)

        print(f"bulk import on {url.split(':')[0]}, {len(rows):,} devices", flush=True)
        _run(env, "db", "upgrade")
        _run(env, "import", "parties", str(folder / "parties.csv"))
        took = _run(env, "import", "registrations", str(folder / "registrations.csv"))
        _rate("registrations", registered, took)
        took = _run(env, "import", "devices", str(folder / "devices.csv"))
        _rate("devices", len(rows), took)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of one import: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
