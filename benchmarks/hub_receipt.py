"""A stock transfer receipt of 100,000 hub GUIDs, checked and applied (issue 10: 10 s or less).

Run: ``.venv/bin/python benchmarks/hub_receipt.py [--hubs 100000] [--background 400000]
[--runs 5] [--database-url URL]``. Without a URL it uses a new SQLite file in a temporary
folder, migrated as ``meterhub db upgrade`` would. The estate: ``--hubs`` Pending hubs held by
one supplier and ``--background`` other devices (so the device table is not just the hubs).

Each run times, as the receiver's request does, from the pasted GUID list to the commit:
parsing the list, checking every line against SMI and the transfer, the set-based owner move
(UPDATE, DeviceHistory rows, audit entries), the receipt's line rows and the notifications, and
the commit. The **floor**, measured in the same run, is the bare statements any owner move
needs: the UPDATE of the owner in slices and one executemany of the history rows, committed.
Runs alternate the direction (the floor moves the hubs one way, the receipt back), so every run
starts from the same estate."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db import bulk
from meterhub.db.session import get_sessionmaker
from meterhub.hub_market import transfers
from meterhub.hub_market.models import Listing, ListingRequest, Transfer
from meterhub.inventory import service as inventory
from meterhub.inventory.models import DeviceHistory
from meterhub.migrations.run import upgrade
from meterhub.parties import service as parties

SYSTEM = Actor.system("benchmark")
HUB = {"manufacturer": "Toshiba", "model": "CH-NORTH-2", "firmware_version": "3.1.0"}


def _eui(prefix: int, n: int) -> str:
    raw = f"{prefix:06X}{n:010X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def _estate(session: Session, *, hubs: int, background: int, now: datetime) -> list[str]:
    for code in ("SEND", "RECV"):
        parties.create_party(
            session,
            actor=SYSTEM,
            code=code,
            name=f"Party {code}",
            kind="supplier",
            roles=("IS",),
            now=now,
        )
    session.flush()
    send = parties.party_by_code(session, "SEND")
    assert send is not None
    _, stamp = bulk.encoders(session)
    at = stamp(now)
    ids = [_eui(0x00DB12, n) for n in range(hubs)]
    devices: list[bulk.Row] = [
        (
            d,
            "CHF",
            HUB["manufacturer"],
            HUB["model"],
            HUB["firmware_version"],
            "CHTS",
            "North",
            "Pending",
            send.id,
            None,
            None,
            at,
            at,
        )
        for d in ids
    ]
    devices += [
        (
            _eui(0x00DB13, n),
            "CHF",
            "Acme",
            "ACME-CH",
            "1.0.0",
            "CHTS",
            "South",
            "Commissioned",
            send.id,
            None,
            None,
            at,
            at,
        )
        for n in range(background)
    ]
    history = [(row[0], at, "status", None, row[7], "benchmark", "loaded") for row in devices]
    inventory.load_devices(session, devices=devices, history=history)
    session.commit()
    return ids


def _transfer(
    session: Session, *, sender: int, receiver: int, quantity: int, n: int, now: datetime
) -> Transfer:
    listing = Listing(
        holder_party_id=sender,
        quantity=quantity,
        allocated=quantity,
        csp_region="North",
        location="Leeds",
        available_from=date(2025, 1, 1),
        status="closed",
        created_by="bench",
        created_at=now,
        updated_at=now,
        **HUB,
    )
    session.add(listing)
    session.flush()
    request = ListingRequest(
        listing_id=listing.id,
        listing_version=1,
        requester_party_id=receiver,
        quantity=quantity,
        allocated_quantity=quantity,
        status="allocated",
        rule_version=1,
        requested_by="bench",
        requested_at=now,
    )
    session.add(request)
    session.flush()
    transfer = Transfer(
        reference=f"TR-{n:06d}",
        listing_id=listing.id,
        request_id=request.id,
        sender_party_id=sender,
        receiver_party_id=receiver,
        quantity=quantity,
        csp_region="North",
        status="dispatched",
        allocated_at=now,
        dispatched_at=now,
        **HUB,
    )
    session.add(transfer)
    session.commit()
    return transfer


def _floor(session: Session, ids: list[str], *, old: int, new: int, now: datetime) -> float:
    """The bare owner move, on the driver with nothing around it: one executemany of the
    UPDATE by primary key, one executemany of the history rows, commit."""
    _, stamp = bulk.encoders(session)
    at = stamp(now)
    started = time.perf_counter()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            "UPDATE device SET owner_party_id = ? WHERE device_id = ?", [(new, d) for d in ids]
        )
        cursor.close()
    else:
        connection.execute(
            text("UPDATE device SET owner_party_id = :new WHERE device_id = :d"),
            [{"new": new, "d": d} for d in ids],
        )
    bulk.write_rows(
        session,
        DeviceHistory.__table__,  # type: ignore[arg-type]
        inventory.DEVICE_HISTORY_COLUMNS,
        [(d, at, "owner", str(old), str(new), "floor", "floor") for d in ids],
    )
    session.commit()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hubs", type=int, default=100_000)
    ap.add_argument("--background", type=int, default=400_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="meterhub-receipt-")
    url = args.database_url or f"sqlite:///{Path(folder) / 'meterhub.db'}"
    upgrade(url)
    session = get_sessionmaker(url)()
    now = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    ids = _estate(session, hubs=args.hubs, background=args.background, now=now)
    print(
        f"estate: {args.hubs:,} hubs + {args.background:,} devices"
        f" in {time.perf_counter() - t0:.1f} s"
    )
    send = parties.party_by_code(session, "SEND")
    recv = parties.party_by_code(session, "RECV")
    assert send is not None and recv is not None
    pasted = "\n".join(ids)
    holder, other = send.id, recv.id
    receipts: list[float] = []
    floors: list[float] = []
    cpus: list[float] = []
    for run in range(1, args.runs + 1):
        now += timedelta(days=1)
        # The receipt moves holder -> other, as the receiver's request does it.
        transfer = _transfer(
            session, sender=holder, receiver=other, quantity=args.hubs, n=run, now=now
        )
        receiver = Actor(name="receiver", party_id=other, interface="benchmark")
        started, cpu = time.perf_counter(), time.process_time()
        lines = transfers.parse_guid_list(pasted)
        receipt = transfers.receive(
            session, actor=receiver, transfer_id=transfer.id, lines=lines, now=now
        )
        session.commit()
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert receipt.accepted and receipt.moved == args.hubs, receipt.refused[:3]
        receipts.append(took)
        cpus.append(cpu)
        # The floor moves them back, so the next run starts where this one did.
        floors.append(_floor(session, ids, old=other, new=holder, now=now))
        print(
            f"run {run}: receipt {took:.2f} s ({cpu:.2f} s CPU), floor {floors[-1]:.2f} s",
            flush=True,
        )
    median, floor = statistics.median(receipts), statistics.median(floors)
    print(
        f"\n{args.hubs:,} GUIDs: receipt median {median:.2f} s (min {min(receipts):.2f},"
        f" max {max(receipts):.2f}), CPU median {statistics.median(cpus):.2f} s;"
        f" floor median {floor:.2f} s; ratio {median / floor:.1f}x"
    )
    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()},"
        f" load {os.getloadavg()[0]:.1f}, database {url.split(':')[0]}"
    )
    if median > 10:
        sys.exit("over the 10 s target")


if __name__ == "__main__":
    main()
