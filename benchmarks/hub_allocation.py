"""MP140 allocation under concurrent requesters: throughput and latency percentiles.

Run: ``.venv/bin/python benchmarks/hub_allocation.py [--database-url URL] [--requesters 200]
[--rounds 5] [--listings 1] [--quantity 600]``. Without a URL it uses a new SQLite file in a
temporary folder; a PostgreSQL URL (``postgresql+psycopg://...``) must name an empty database,
which the script migrates.

One supplier holds ``quantity`` Pending hubs per listing and lists them; ``requesters`` other
suppliers (each with a user, so every outcome writes inbox entries as in use) start together on
a barrier, and each makes ``rounds`` requests of 1-5 units, one after the other, on a listing
picked round-robin: every request is one unit of work of its own (its own session and
transaction, committed), as an API request is. With one listing every request contends for one
row: the worst case. The time of a request runs from opening its session to its commit, so on
PostgreSQL it includes the wait for one of the pool's 30 connections. At the end the script
checks what the test suite does: no listing over-allocated, each gave out exactly
min(quantity, demand), and the transfers add up to it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from meterhub.audit.service import Actor
from meterhub.db.session import get_engine, session_scope
from meterhub.hub_market import service
from meterhub.hub_market.models import Listing, ListingRequest, Transfer
from meterhub.inventory import service as inventory
from meterhub.migrations.run import upgrade
from meterhub.parties import service as parties

SYSTEM = Actor.system("benchmark")
STOCK = {
    "manufacturer": "Acme",
    "model": "ACME-1",
    "firmware_version": "1.0.0",
    "csp_region": "North",
}


def _user_actor(session: object, party_code: str, n: int) -> Actor:
    party = parties.party_by_code(session, party_code)  # type: ignore[arg-type]
    assert party is not None
    user = parties.create_user(
        session,  # type: ignore[arg-type]
        actor=SYSTEM,
        party=party,
        username=f"bench{n}@{party_code.lower()}",
        display_name=f"Bench {n}",
        password=None,
        roles={"IS": None},
        now=datetime.now(UTC),
    )
    return parties.actor_for(user, "api")


def seed(
    url: str, *, requesters: int, listings: int, quantity: int
) -> tuple[list[int], list[Actor]]:
    now = datetime.now(UTC)
    with session_scope(url) as s:
        parties.create_party(
            s, actor=SYSTEM, code="HOLDER", name="Holder", kind="supplier", roles=["IS"], now=now
        )
        holder = _user_actor(s, "HOLDER", 0)
        for i in range(requesters):
            parties.create_party(
                s,
                actor=SYSTEM,
                code=f"R{i:04d}",
                name=f"Requester {i}",
                kind="supplier",
                roles=["IS"],
                now=now,
            )
        actors = [_user_actor(s, f"R{i:04d}", i + 1) for i in range(requesters)]
        for n in range(listings * quantity):
            raw = f"00DB77{n:010X}"
            inventory.add_device(
                s,
                actor=SYSTEM,
                device_id="-".join(raw[i : i + 2] for i in range(0, 16, 2)),
                device_type="CHF",
                smets_version="CHTS",
                status="Pending",
                owner="HOLDER",
                mpxn=None,
                now=now,
                **STOCK,
            )
        ids = [
            service.create_listing(
                s,
                actor=holder,
                quantity=quantity,
                location="Depot",
                available_from=date.today(),
                now=now,
                **STOCK,
            ).id
            for _ in range(listings)
        ]
    return ids, actors


def run(
    url: str, *, listing_ids: list[int], actors: list[Actor], rounds: int
) -> tuple[float, list[float], int, dict[int, int]]:
    """Every requester at once; the wall time, each committed request's time, how many
    failed, and the units asked of each listing by the requests that committed."""
    start = threading.Barrier(len(actors))
    latencies: list[float] = []
    demand = dict.fromkeys(listing_ids, 0)
    failures: list[str] = []
    lock = threading.Lock()

    def requester(n: int, who: Actor) -> None:
        start.wait()
        mine = []
        for r in range(rounds):
            listing_id = listing_ids[(n + r) % len(listing_ids)]
            quantity = 1 + (n + r) % 5
            began = time.perf_counter()
            try:
                with session_scope(url) as s:
                    service.request_units(
                        s,
                        actor=who,
                        listing_id=listing_id,
                        quantity=quantity,
                        now=datetime.now(UTC),
                    )
            except Exception as exc:  # reported below: a refused request is not a failure
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            mine.append(time.perf_counter() - began)
            with lock:
                demand[listing_id] += quantity
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(actors)) as pool:
        for future in [pool.submit(requester, n, who) for n, who in enumerate(actors)]:
            future.result()
    wall = time.perf_counter() - began
    if failures:
        print(f"{len(failures)} requests failed, e.g. {failures[0]}", file=sys.stderr)
    return wall, latencies, len(failures), demand


def check(url: str, *, listing_ids: list[int], quantity: int, demand: dict[int, int]) -> None:
    with session_scope(url, write=False) as s:
        for listing_id in listing_ids:
            listing = s.get(Listing, listing_id)
            assert listing is not None
            moved = s.scalar(
                select(func.coalesce(func.sum(Transfer.quantity), 0)).where(
                    Transfer.listing_id == listing_id
                )
            )
            given = s.scalar(
                select(func.coalesce(func.sum(ListingRequest.allocated_quantity), 0)).where(
                    ListingRequest.listing_id == listing_id
                )
            )
            expected = min(quantity, demand[listing_id])
            if not listing.allocated == moved == given == expected <= listing.quantity:
                sys.exit(
                    f"listing {listing_id}: allocated {listing.allocated}, transfers {moved}, "
                    f"requests {given}, expected {expected}: OVER- OR UNDER-ALLOCATED"
                )
    print("check: every listing gave out exactly min(quantity, demand); none over-allocated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--requesters", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--listings", type=int, default=1)
    parser.add_argument("--quantity", type=int, default=600, help="hubs per listing")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    listing_ids, actors = seed(
        url, requesters=args.requesters, listings=args.listings, quantity=args.quantity
    )
    asked = sum(1 + (n + r) % 5 for n in range(args.requesters) for r in range(args.rounds))
    print(
        f"{get_engine(url).dialect.name}: {args.requesters} requesters x {args.rounds} requests on "
        f"{args.listings} listing(s) of {args.quantity} hubs; demand {asked} units"
    )
    wall, latencies, failed, demand = run(
        url, listing_ids=listing_ids, actors=actors, rounds=args.rounds
    )
    done = len(latencies)
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if done > 1
        else [latencies[0]] * 99
    )
    print(
        f"{done} requests in {wall:.2f} s = {done / wall:,.0f} requests/s; latency p50 "
        f"{cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; {failed} failed"
    )
    check(url, listing_ids=listing_ids, quantity=args.quantity, demand=demand)
    get_engine(url).dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
