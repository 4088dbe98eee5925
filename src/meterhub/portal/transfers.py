"""``/portal/transfers``: a party's stock transfers, each transfer's page with its timeline, and
the steps both sides and the operator take on it (MP140 requirements 5 and 7).

The page shows what the visitor may do next as plain forms (no JavaScript): the sender's
dispatch; the receiver's receipt, as a pasted list of GUIDs or the stock transfer file; a
dispute by either side, the other side's answer, the operator's resolution. Each form posts
with the CSRF token and comes back to the transfer's page, where a refused receipt's lines are
listed with their reasons (the attempt is kept, so the page is reloadable). Another party's
transfer, dispute or step is the portal's 404 page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import Response

from meterhub.api.deps import DbSession, RowId
from meterhub.errors import InvalidInput
from meterhub.hub_market import disputes, transfers
from meterhub.hub_market.models import Transfer
from meterhub.kit.clock import utcnow
from meterhub.parties.service import party_codes
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import CurrentUser, CurrentWebSession, PortalUser, redirect, render

router = APIRouter()

TRANSFERS_PATH = "/portal/transfers"
PAGE_SIZE = 50
#: GUID lines shown per receipt on the transfer's page; the step's own page lists them all.
LINES_SHOWN = 200
STEP_LINES_PAGE = 1000
MAX_FILE_BYTES = 64 * 1_048_576

STEP_TITLES = {
    "allocated": "Allocated",
    "dispatched": "Dispatched by the sender",
    "receipt_refused": "Receipt refused: nothing moved",
    "received": "Received: ownership moved",
    "dispute_raised": "Dispute raised",
    "dispute_answered": "Dispute answered",
    "dispute_resolved": "Dispute resolved",
}


def _page_link(transfer_id: RowId, anchor: str = "") -> str:
    return f"{TRANSFERS_PATH}/{transfer_id}" + (f"#{anchor}" if anchor else "")


@router.get("/transfers")
def transfers_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's transfers, sending and receiving, newest first."""
    raw_before = request.query_params.get("before", "")
    if raw_before and not (raw_before.isascii() and raw_before.isdigit() and len(raw_before) < 11):
        raise InvalidInput("before must be a transfer number", code="bad_cursor")
    side = request.query_params.get("side") or None
    rows = transfers.list_transfers(
        db,
        actor=me.actor,
        side=side,
        before_id=int(raw_before) if raw_before else None,
        limit=PAGE_SIZE + 1,
    )
    shown = rows[:PAGE_SIZE]
    codes = _codes(db, shown)
    query = f"side={side}&" if side else ""
    return render(
        request,
        "transfers.html",
        {
            "nav": "transfers",
            "rows": shown,
            "codes": codes,
            "side": side or "",
            "next_url": f"{TRANSFERS_PATH}?{query}before={shown[-1].id}"
            if len(rows) > PAGE_SIZE
            else "",
        },
    )


def _codes(db: Session, rows: list[Transfer]) -> dict[int, str]:
    ids = {t.sender_party_id for t in rows} | {t.receiver_party_id for t in rows}
    return party_codes(db, ids=ids) if ids else {}


@router.get("/transfers/{transfer_id}")
def transfer_page(request: Request, db: DbSession, me: CurrentUser, transfer_id: RowId) -> Response:
    """One transfer: what was allocated, its timeline with each receipt's GUID lines, its
    disputes, and the forms for the visitor's next step."""
    actor = me.actor
    t = transfers.get_transfer(db, actor=actor, transfer_id=transfer_id)
    codes = _codes(db, [t])
    events = transfers.timeline(db, actor=actor, transfer_id=t.id)
    steps: list[dict[str, Any]] = [
        {
            "id": 0,
            "kind": "allocated",
            "at": t.allocated_at,
            "title": STEP_TITLES["allocated"],
            "by": "",
            "note": f"{t.quantity} hubs from {codes.get(t.sender_party_id)} to"
            f" {codes.get(t.receiver_party_id)}",
            "lines": [],
            "more": False,
        }
    ]
    for e in events:
        lines = []
        if e.kind in ("received", "receipt_refused"):
            lines = transfers.event_lines(db, actor=actor, event_id=e.id, limit=LINES_SHOWN + 1)
        steps.append(
            {
                "id": e.id,
                "kind": e.kind,
                "at": e.at,
                "title": STEP_TITLES.get(e.kind, e.kind),
                "by": e.actor,
                "note": e.note,
                "accepted": e.accepted,
                "refused": e.refused,
                "lines": lines[:LINES_SHOWN],
                "more": len(lines) > LINES_SHOWN,
            }
        )
    found = disputes.disputes_of(db, actor=actor, transfer_id=t.id)
    is_sender = actor.party_id == t.sender_party_id
    is_receiver = actor.party_id == t.receiver_party_id
    open_dispute = next((d for d in found if d.status != "resolved"), None)
    may_answer = (
        open_dispute is not None
        and open_dispute.status == "open"
        and (is_sender or is_receiver)
        and open_dispute.raised_by_party_id != actor.party_id
    )
    return render(
        request,
        "transfer.html",
        {
            "nav": "transfers",
            "t": t,
            "codes": codes,
            "steps": steps,
            "disputes": found,
            "dispute_codes": party_codes(db, ids={d.raised_by_party_id for d in found})
            if found
            else {},
            "may_dispatch": is_sender and t.status == "allocated",
            "may_receive": is_receiver and t.status == "dispatched",
            "may_dispute": (is_sender or is_receiver) and t.status in disputes.DISPUTABLE,
            "open_dispute": open_dispute,
            "may_answer": may_answer,
            "may_resolve": actor.is_operator and open_dispute is not None,
            "kinds": disputes.KINDS,
            "reasons": transfers.REFUSAL_REASONS,
            "hub_column": request.app.state.settings.transfer_file_hub_column,
            "party_column": request.app.state.settings.transfer_file_party_column,
        },
    )


@router.get("/transfer-steps/{step_id}")
def step_page(request: Request, db: DbSession, me: CurrentUser, step_id: RowId) -> Response:
    """Every GUID line of one receipt (a step of a transfer's timeline), a thousand a page."""
    raw_after = request.query_params.get("after", "")
    if raw_after and not (raw_after.isascii() and raw_after.isdigit() and len(raw_after) < 11):
        raise InvalidInput("after must be a line number", code="bad_cursor")
    after = int(raw_after) if raw_after else 0
    lines = transfers.event_lines(
        db, actor=me.actor, event_id=step_id, after_line=after, limit=STEP_LINES_PAGE + 1
    )
    step = transfers.step(db, actor=me.actor, event_id=step_id)
    t = transfers.get_transfer(db, actor=me.actor, transfer_id=step.transfer_id)
    shown = lines[:STEP_LINES_PAGE]
    return render(
        request,
        "transfer_step.html",
        {
            "nav": "transfers",
            "t": t,
            "step": step,
            "title": STEP_TITLES.get(step.kind, step.kind),
            "lines": shown,
            "reasons": transfers.REFUSAL_REASONS,
            "next_url": f"/portal/transfer-steps/{step.id}?after={shown[-1].line_no}"
            if len(lines) > STEP_LINES_PAGE
            else "",
        },
    )


@router.post("/transfers/{transfer_id}/dispatch")
def dispatch(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    transfer_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    transfers.dispatch(db, actor=me.actor, transfer_id=transfer_id, note=note, now=utcnow())
    return redirect(request, _page_link(transfer_id))


def _after_receipt(request: Request, me: PortalUser, receipt: transfers.Receipt) -> Response:
    return redirect(request, _page_link(receipt.transfer.id, f"step-{receipt.event.id}"))


@router.post("/transfers/{transfer_id}/receipt")
def receive_list(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    transfer_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    guids: Annotated[str, Form()] = "",
) -> Response:
    """A typed or pasted GUID list."""
    check_csrf(session, csrf_token)
    transfers.get_transfer(db, actor=me.actor, transfer_id=transfer_id)
    lines = transfers.parse_guid_list(guids)
    receipt = transfers.receive(
        db, actor=me.actor, transfer_id=transfer_id, lines=lines, now=utcnow()
    )
    return _after_receipt(request, me, receipt)


@router.post("/transfers/{transfer_id}/receipt-file")
def receive_file(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    transfer_id: RowId,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The stock transfer file (CSV), uploaded."""
    check_csrf(session, csrf_token)
    transfers.get_transfer(db, actor=me.actor, transfer_id=transfer_id)
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput("the stock transfer file is too large", code="bad_transfer_file")
    settings = request.app.state.settings
    lines = transfers.parse_transfer_file(
        data,
        layout=transfers.TransferFileLayout(
            hub_column=settings.transfer_file_hub_column,
            party_column=settings.transfer_file_party_column,
        ),
    )
    receipt = transfers.receive(
        db, actor=me.actor, transfer_id=transfer_id, lines=lines, now=utcnow()
    )
    return _after_receipt(request, me, receipt)


@router.post("/transfers/{transfer_id}/disputes")
def raise_dispute(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    transfer_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    d = disputes.raise_dispute(
        db, actor=me.actor, transfer_id=transfer_id, kind=kind, statement=statement, now=utcnow()
    )
    return redirect(request, _page_link(transfer_id, f"dispute-{d.id}"))


@router.post("/disputes/{dispute_id}/answer")
def answer_dispute(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    dispute_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    d = disputes.answer_dispute(
        db, actor=me.actor, dispute_id=dispute_id, answer=answer, now=utcnow()
    )
    return redirect(request, _page_link(d.transfer_id, f"dispute-{d.id}"))


@router.post("/disputes/{dispute_id}/resolve")
def resolve_dispute(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    dispute_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form()] = "",
    return_hubs: Annotated[str, Form()] = "",
    adjustment_party: Annotated[str, Form()] = "",
    adjustment_pence: Annotated[str, Form()] = "",
) -> Response:
    """The operator's outcome: hubs to return as a pasted list, an adjustment in pence."""
    check_csrf(session, csrf_token)
    amount = adjustment_pence.strip()
    if amount and not (amount.lstrip("-").isascii() and amount.lstrip("-").isdigit()):
        raise InvalidInput("an adjustment is a whole number of pence", code="bad_amount")
    if len(amount) > 12:
        raise InvalidInput("an adjustment is at most £1,000,000", code="bad_amount")
    d = disputes.resolve_dispute(
        db,
        actor=me.actor,
        dispute_id=dispute_id,
        resolution=disputes.Resolution(
            outcome=outcome,
            resolution=resolution,
            return_hubs=[line.guid for line in transfers.parse_guid_list(return_hubs)],
            adjustment_party=adjustment_party or None,
            adjustment_pence=int(amount) if amount else 0,
        ),
        now=utcnow(),
    )
    return redirect(request, _page_link(d.transfer_id, f"dispute-{d.id}"))


@router.get("/disputes")
def disputes_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Disputes not yet resolved: the operator's queue; a party's own."""
    found = disputes.open_disputes(db, actor=me.actor)
    ids = {d.raised_by_party_id for d in found}
    return render(
        request,
        "disputes.html",
        {
            "nav": "transfers",
            "rows": found,
            "codes": party_codes(db, ids=ids) if ids else {},
        },
    )
