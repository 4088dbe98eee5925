"""Many parties requesting from one listing at the same moment, each in its own session and
thread, as the API serves them: the listing is never over-allocated, and what it gives out is
exactly min(quantity, demand), on SQLite and (with METERHUB_TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.session import session_scope
from meterhub.hub_market import service
from meterhub.hub_market.models import Listing, ListingRequest, Transfer
from tests.factories import make_api_login, make_party
from tests.hub_market.conftest import NOW, Market, actor, hold_hubs

REQUESTERS = 40


def _requesters(session: Session, count: int) -> list[Actor]:
    made = []
    for i in range(count):
        party = make_party(session, code=f"REQ{i:03d}", roles=("IS",))
        made.append(actor(make_api_login(session, party=party)))
    session.commit()
    return made


def _request_all_at_once(
    db_url: str, listing_id: int, wanted: list[tuple[Actor, int]]
) -> list[Exception]:
    start = threading.Barrier(len(wanted))
    errors: list[Exception] = []

    def one(who: Actor, quantity: int) -> None:
        start.wait()
        try:
            with session_scope(db_url) as s:
                service.request_units(
                    s, actor=who, listing_id=listing_id, quantity=quantity, now=NOW
                )
        except Exception as exc:  # every failure is reported by the test, not lost in a thread
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        for future in [pool.submit(one, who, q) for who, q in wanted]:
            future.result()
    return errors


@pytest.mark.parametrize(
    "quantity", [12, 200], ids=["demand-exceeds-stock", "stock-exceeds-demand"]
)
def test_parallel_requesters_never_over_allocate(
    session: Session, market: Market, db_url: str, quantity: int
) -> None:
    hold_hubs(session, owner=market.a, count=quantity)
    listing = market.list_stock(session, quantity=quantity)
    session.commit()
    wanted = [(who, 1 + i % 5) for i, who in enumerate(_requesters(session, REQUESTERS))]
    demand = sum(q for _, q in wanted)

    errors = _request_all_at_once(db_url, listing.id, wanted)

    assert errors == []
    session.expire_all()
    held = session.get(Listing, listing.id)
    assert held is not None
    assert held.allocated == min(quantity, demand)
    assert held.status == ("closed" if demand >= quantity else "open")
    moved = session.scalar(
        select(func.sum(Transfer.quantity)).where(Transfer.listing_id == listing.id)
    )
    assert moved == held.allocated
    requests = session.scalars(
        select(ListingRequest).where(ListingRequest.listing_id == listing.id)
    ).all()
    assert len(requests) == REQUESTERS
    assert all(0 <= r.allocated_quantity <= r.quantity for r in requests)
    assert sum(r.allocated_quantity for r in requests) == held.allocated
    transfers = session.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.listing_id == listing.id)
    )
    assert transfers == sum(1 for r in requests if r.allocated_quantity)
    # First come, first served: at most one request is part-filled, the one that emptied it.
    assert sum(1 for r in requests if r.status == "part_allocated") <= 1
