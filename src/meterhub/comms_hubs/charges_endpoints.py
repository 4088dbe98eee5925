"""``/api/v1/hubs``: the custody ledger, the hub tariff and monthly charge statements.

Scoped to the caller's party: a hub's chain and holder for a hub it holds, once held or sees in
the inventory; holdings and statements of its own party only (``{party}`` is its own code; any
other is a 404). The hub operator reads any party's. The tariff is public to every party.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from meterhub.api.deps import CurrentActor, DbSession
from meterhub.api.responses import refusals
from meterhub.comms_hubs import service, statements
from meterhub.kit.clock import utcnow
from meterhub.kit.pagination import decode_cursor, encode_cursor
from meterhub.kit.schema import IsoDate
from meterhub.parties import service as parties

router = APIRouter(prefix="/hubs", tags=["hub charges"])


class CustodyStepOut(BaseModel):
    kind: str = Field(description="delivery, stock, install, return, transfer or service")
    at: datetime
    day: date = Field(description="The UTC day the step counts on (its state is the day's end)")
    party: str | None = Field(description="The party holding the hub after the step")
    from_party: str | None = Field(description="For a change of hands: the party it left")
    status: str | None
    in_stock: bool = Field(description="Held as stock (before installation) after the step")
    user: str
    reason: str


class HolderOut(BaseModel):
    device_id: str
    day: date
    party: str | None = Field(description="Who held the hub at the end of the day, if anyone")
    status: str | None
    in_stock: bool


class HoldingOut(BaseModel):
    device_id: str
    status: str | None
    in_stock: bool


class HoldingsPageOut(BaseModel):
    party: str
    day: date
    items: list[HoldingOut]
    next_cursor: str | None


class TariffOut(BaseModel):
    kind: str = Field(description="stock (per hub per day), fault_return or no_fault_return")
    effective_from: date
    pence: str = Field(description="Pence per hub (per day, for stock), to 3 decimal places")
    reason: str
    set_by: str
    recorded_at: datetime


class StatementLineOut(BaseModel):
    section: str = Field(description="stock, return or adjustment")
    day: date
    description: str
    quantity: int
    unit_charge_pence: str | None
    amount_pence: int
    reference: str


class StatementOut(BaseModel):
    party: str
    month: str
    total_pence: int
    stock_hub_days: int
    lines: list[StatementLineOut]


@router.get("/custody/{device_id}", response_model=list[CustodyStepOut], responses=refusals(404))
def custody_chain(device_id: str, session: DbSession, actor: CurrentActor) -> list[CustodyStepOut]:
    """The hub's custody chain, oldest step first: delivery, stock, install, return and
    transfers, each with the party, the user, the time and the reason."""
    steps = service.custody_chain(session, actor=actor, device_id=device_id)
    return [
        CustodyStepOut(
            kind=s.kind.value,
            at=s.at,
            day=s.day,
            party=s.party,
            from_party=s.from_party,
            status=s.status,
            in_stock=s.in_stock,
            user=s.user,
            reason=s.reason,
        )
        for s in steps
    ]


@router.get("/custody/{device_id}/holder", response_model=HolderOut, responses=refusals(404))
def holder_on(
    device_id: str,
    day: Annotated[IsoDate, Query(description="The UTC day, YYYY-MM-DD")],
    session: DbSession,
    actor: CurrentActor,
) -> HolderOut:
    """Who held the hub on ``day`` (at its end: custody that moved that day is the receiver's)."""
    held = service.holder_on(session, actor=actor, device_id=device_id, day=day)
    return HolderOut(
        device_id=held.device_id if held else device_id.upper(),
        day=day,
        party=held.party if held else None,
        status=held.status if held else None,
        in_stock=held.in_stock if held else False,
    )


@router.get("/holdings/{party}", response_model=HoldingsPageOut, responses=refusals(404))
def holdings_on(
    party: str,
    day: Annotated[IsoDate, Query(description="The UTC day, YYYY-MM-DD")],
    session: DbSession,
    actor: CurrentActor,
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = None,
) -> HoldingsPageOut:
    """The hubs ``party`` held at the end of ``day``, in Device ID order, a page at a time."""
    shown = parties.visible_party(session, actor=actor, code=party)
    after = str(decode_cursor(cursor)[0]) if cursor else None
    held = service.holdings_on(
        session, actor=actor, party_id=shown.id, day=day, after=after, limit=limit + 1
    )
    page = held[:limit]
    next_cursor = encode_cursor([page[-1].device_id]) if len(held) > limit else None
    return HoldingsPageOut(
        party=shown.code,
        day=day,
        items=[
            HoldingOut(device_id=h.device_id, status=h.status, in_stock=h.in_stock) for h in page
        ],
        next_cursor=next_cursor,
    )


@router.get("/tariffs", response_model=list[TariffOut])
def tariffs(session: DbSession, actor: CurrentActor) -> list[TariffOut]:
    """Every figure of the hub tariff ever set, by kind, in the order they take effect."""
    return [
        TariffOut(
            kind=t.kind,
            effective_from=t.effective_from,
            pence=statements.pence_text(t.amount_millipence),
            reason=t.reason,
            set_by=t.set_by,
            recorded_at=t.recorded_at,
        )
        for t in service.tariff_history(session)
    ]


def _statement(
    session: DbSession, actor: CurrentActor, party: str, month: str
) -> statements.Statement:
    shown = parties.visible_party(session, actor=actor, code=party)
    return statements.statement_for(session, party_id=shown.id, month=month, now=utcnow())


@router.get("/charges/{party}/{month}", response_model=StatementOut, responses=refusals(404))
def statement(party: str, month: str, session: DbSession, actor: CurrentActor) -> StatementOut:
    """``party``'s charge statement for ``month`` (YYYY-MM, a month that has ended): stock
    days at the tariff of each day, return charges, and the adjustments recorded in it."""
    s = _statement(session, actor, party, month)
    return StatementOut(
        party=s.party_code,
        month=s.month,
        total_pence=s.total_pence,
        stock_hub_days=s.stock_hub_days,
        lines=[
            StatementLineOut(
                section=line.section,
                day=line.day,
                description=line.description,
                quantity=line.quantity,
                unit_charge_pence=statements.pence_text(line.unit_millipence),
                amount_pence=line.amount_pence,
                reference=line.reference,
            )
            for line in s.lines
        ],
    )


@router.get(
    "/charges/{party}/{month}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **refusals(404)},
)
def statement_csv(party: str, month: str, session: DbSession, actor: CurrentActor) -> Response:
    """The statement as CSV (the same bytes each time it is drawn)."""
    s = _statement(session, actor, party, month)
    return Response(
        statements.statement_csv(s),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{statements.file_name(s)}.csv"'},
    )


@router.get(
    "/charges/{party}/{month}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **refusals(404)},
)
def statement_pdf(party: str, month: str, session: DbSession, actor: CurrentActor) -> Response:
    """The statement as PDF (the same bytes each time it is drawn)."""
    s = _statement(session, actor, party, month)
    return Response(
        statements.statement_pdf(s),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{statements.file_name(s)}.pdf"'},
    )
