"""A stock transfer ready to dispatch, made directly in the tables: allocation is the
marketplace service's, and these tests are about what happens after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from meterhub.hub_market import service as market
from meterhub.hub_market.models import Listing, ListingRequest, Transfer
from meterhub.inventory.models import Device
from meterhub.parties.models import Party
from tests.factories import Login, make_api_login, make_device, make_party

ALLOCATED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HUB = {"manufacturer": "Toshiba", "model": "CH-NORTH-2", "firmware_version": "3.1.0"}


@dataclass
class TransferWorld:
    sender: Party
    receiver: Party
    third: Party
    operator: Party
    transfer: Transfer
    hubs: list[Device]
    sender_login: Login
    receiver_login: Login
    third_login: Login
    operator_login: Login


def make_hubs(session: Session, *, owner: Party, count: int, **changes: str) -> list[Device]:
    """``count`` Pending Communications Hubs ``owner`` holds, of the transfer's kind unless
    ``changes`` says otherwise."""
    attrs = {**HUB, "csp_region": "North", "status": "Pending", **changes}
    return [
        make_device(
            session,
            device_type="CHF",
            owner=owner,
            smets_version="CHTS",
            **attrs,  # type: ignore[arg-type]
        )
        for _ in range(count)
    ]


def make_allocated_transfer(
    session: Session,
    *,
    sender: Party,
    receiver: Party,
    quantity: int,
    reference: str | None = None,
) -> Transfer:
    listing = Listing(
        holder_party_id=sender.id,
        quantity=quantity,
        allocated=quantity,
        csp_region="North",
        location="Unit 4, Leeds",
        available_from=date(2025, 3, 1),
        status="closed",
        created_by="setup",
        created_at=ALLOCATED_AT,
        updated_at=ALLOCATED_AT,
        **HUB,
    )
    session.add(listing)
    session.flush()
    request = ListingRequest(
        listing_id=listing.id,
        listing_version=1,
        requester_party_id=receiver.id,
        quantity=quantity,
        allocated_quantity=quantity,
        status="allocated",
        rule_version=1,
        requested_by="setup",
        requested_at=ALLOCATED_AT,
        decided_at=ALLOCATED_AT,
    )
    session.add(request)
    session.flush()
    transfer = Transfer(
        reference=reference or f"TR-R{request.id}",
        listing_id=listing.id,
        request_id=request.id,
        sender_party_id=sender.id,
        receiver_party_id=receiver.id,
        quantity=quantity,
        csp_region="North",
        status="allocated",
        allocated_at=ALLOCATED_AT,
        **HUB,
    )
    session.add(transfer)
    session.flush()
    if reference is None:  # named from its row id, as the marketplace names the ones it makes
        transfer.reference = market.transfer_reference(transfer.id)
        session.flush()
    return transfer


def make_transfer_world(session: Session, *, quantity: int = 4, hubs: int = 4) -> TransferWorld:
    sender = make_party(session, code="SEND", roles=("IS",), name="Sender Energy")
    receiver = make_party(session, code="RECV", roles=("IS",), name="Receiver Power")
    third = make_party(session, code="THRD", roles=("IS",), name="Third Supply")
    operator = make_party(session, code="DCC", roles=("OPERATOR",), name="DCC")
    held = make_hubs(session, owner=sender, count=hubs)
    transfer = make_allocated_transfer(session, sender=sender, receiver=receiver, quantity=quantity)
    world = TransferWorld(
        sender=sender,
        receiver=receiver,
        third=third,
        operator=operator,
        transfer=transfer,
        hubs=held,
        sender_login=make_api_login(session, party=sender),
        receiver_login=make_api_login(session, party=receiver),
        third_login=make_api_login(session, party=third),
        operator_login=make_api_login(session, party=operator),
    )
    session.commit()
    return world
