"""``/api/v1/hub-transfers`` and ``/api/v1/hub-disputes``: a stock transfer's dispatch, receipt
(a GUID list or the stock transfer file), timeline and disputes (MP140 requirements 5 and 7).

A transfer is seen only by its two sides and the operator: to anyone else every route is a 404.
A receipt with a refused line answers 422 ``receipt_refused`` with every refused line and its
reason, and moved nothing; the refused attempt is kept on the transfer's timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.errors import InvalidInput
from meterhub.hub_market import disputes, transfers
from meterhub.hub_market.models import Transfer, TransferDispute, TransferEvent, TransferLine
from meterhub.hub_market.transfer_schemas import (
    AnswerIn,
    DispatchIn,
    DisputeIn,
    DisputeOut,
    LineOut,
    LinePageOut,
    ReceiptIn,
    ReceiptOut,
    ResolutionIn,
    StepOut,
    TransferDetailOut,
    TransferOut,
    TransferPageOut,
)
from meterhub.kit.clock import utcnow
from meterhub.kit.pagination import MAX_ROW_ID, decode_cursor, encode_cursor
from meterhub.parties.service import party_codes

router = APIRouter(tags=["hub transfers"])

#: Largest stock transfer file read (the body-size limit applies first).
MAX_FILE_BYTES = 64 * 1_048_576
LINES_PAGE = 1000


def _codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return party_codes(session, ids=wanted) if wanted else {}


def transfer_out(session: Session, t: Transfer, codes: dict[int, str] | None = None) -> TransferOut:
    codes = codes or _codes(session, {t.sender_party_id, t.receiver_party_id})
    return TransferOut(
        id=t.id,
        reference=t.reference,
        sender=codes.get(t.sender_party_id, "?"),
        receiver=codes.get(t.receiver_party_id, "?"),
        quantity=t.quantity,
        manufacturer=t.manufacturer,
        model=t.model,
        firmware_version=t.firmware_version,
        csp_region=t.csp_region,
        status=t.status,
        allocated_at=t.allocated_at,
        dispatched_at=t.dispatched_at,
        received_at=t.received_at,
        received_quantity=t.received_quantity,
    )


def step_out(e: TransferEvent, codes: dict[int, str]) -> StepOut:
    return StepOut(
        id=e.id,
        at=e.at,
        kind=e.kind,
        party=codes.get(e.party_id) if e.party_id is not None else None,
        actor=e.actor,
        note=e.note,
        accepted=e.accepted,
        refused=e.refused,
        dispute_id=e.dispute_id,
    )


def dispute_out(session: Session, d: TransferDispute) -> DisputeOut:
    codes = _codes(session, {d.raised_by_party_id, d.adjustment_party_id})
    return DisputeOut(
        id=d.id,
        reference=d.reference,
        transfer_id=d.transfer_id,
        raised_by=codes.get(d.raised_by_party_id, "?"),
        kind=d.kind,
        statement=d.statement,
        status=d.status,
        raised_at=d.raised_at,
        answer=d.answer,
        answered_at=d.answered_at,
        outcome=d.outcome,
        resolution=d.resolution,
        hubs_returned=d.hubs_returned,
        adjustment_party=codes.get(d.adjustment_party_id)
        if d.adjustment_party_id is not None
        else None,
        adjustment_pence=d.adjustment_pence,
        resolved_at=d.resolved_at,
    )


def detail_out(session: Session, actor: Any, t: Transfer) -> TransferDetailOut:
    steps = transfers.timeline(session, actor=actor, transfer_id=t.id)
    codes = _codes(session, [t.sender_party_id, t.receiver_party_id, *(e.party_id for e in steps)])
    return TransferDetailOut(
        **transfer_out(session, t, codes).model_dump(),
        steps=[step_out(e, codes) for e in steps],
        disputes=[
            dispute_out(session, d)
            for d in disputes.disputes_of(session, actor=actor, transfer_id=t.id)
        ],
    )


def receipt_answer(session: Session, receipt: transfers.Receipt) -> ReceiptOut | JSONResponse:
    """A receipt that moved the hubs, or the 422 naming every refused line. The refused
    attempt is still committed (it is on the timeline), hence a response, not an exception."""
    if receipt.accepted:
        return ReceiptOut(
            transfer=transfer_out(session, receipt.transfer),
            step_id=receipt.event.id,
            moved=receipt.moved,
        )
    shown = receipt.refused[: transfers.DETAILS_SHOWN]
    named = ", ".join(str(r.line_no) for r in shown[:20])
    more = f" and {len(receipt.refused) - 20} more" if len(receipt.refused) > 20 else ""
    return JSONResponse(
        status_code=422,
        content={
            "error": {
                "code": "receipt_refused",
                "message": f"{len(receipt.refused)} GUID lines were refused (lines {named}{more});"
                " nothing moved",
                "details": {
                    "step_id": receipt.event.id,
                    "refused_count": len(receipt.refused),
                    "refused": [
                        {"line": r.line_no, "guid": r.guid, "reason": r.reason, "detail": r.detail}
                        for r in shown
                    ],
                },
            }
        },
    )


@router.get("/hub-transfers", response_model=TransferPageOut)
def list_transfers(
    session: DbSession,
    actor: CurrentActor,
    side: str | None = Query(default=None, description="sending or receiving; omitted: both"),
    status: str | None = Query(default=None, description=", ".join(transfers.STATUSES)),
    before: int | None = Query(
        default=None, ge=1, le=MAX_ROW_ID, description="Transfers older than this id"
    ),
    limit: int = Query(default=50, ge=1, le=500),
) -> TransferPageOut:
    """Your party's stock transfers, sending and receiving, newest first (the operator: all)."""
    rows = transfers.list_transfers(
        session, actor=actor, side=side, status=status, before_id=before, limit=limit + 1
    )
    shown = rows[:limit]
    codes = _codes(
        session, {t.sender_party_id for t in shown} | {t.receiver_party_id for t in shown}
    )
    return TransferPageOut(
        items=[transfer_out(session, t, codes) for t in shown],
        next_before=shown[-1].id if len(rows) > limit and shown else None,
    )


@router.get(
    "/hub-transfers/{transfer_id}", response_model=TransferDetailOut, responses=refusals(404)
)
def get_transfer(transfer_id: RowId, session: DbSession, actor: CurrentActor) -> TransferDetailOut:
    """The transfer with its timeline (allocation is ``allocated_at``) and its disputes."""
    t = transfers.get_transfer(session, actor=actor, transfer_id=transfer_id)
    return detail_out(session, actor, t)


@router.post(
    "/hub-transfers/{transfer_id}/dispatch",
    response_model=TransferOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def dispatch(
    transfer_id: RowId, body: DispatchIn, session: DbSession, actor: CurrentActor
) -> TransferOut:
    """The sender confirms it sent the allocated hubs; both sides are told."""
    t = transfers.dispatch(
        session, actor=actor, transfer_id=transfer_id, note=body.note, now=utcnow()
    )
    return transfer_out(session, t)


@router.post(
    "/hub-transfers/{transfer_id}/receipt",
    response_model=ReceiptOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def receive(transfer_id: RowId, body: ReceiptIn, session: DbSession, actor: CurrentActor) -> Any:
    """The receiver confirms receipt with the GUIDs it received. All or nothing: if any line is
    refused (422 ``receipt_refused``, each refused line with its reason), no hub moves."""
    lines = [transfers.ReceiptLine(line_no=i, guid=g) for i, g in enumerate(body.guids, 1)]
    receipt = transfers.receive(
        session, actor=actor, transfer_id=transfer_id, lines=lines, now=utcnow()
    )
    return receipt_answer(session, receipt)


@router.post(
    "/hub-transfers/{transfer_id}/receipt-file",
    response_model=ReceiptOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def receive_file(
    request: Request,
    transfer_id: RowId,
    file: Annotated[UploadFile, File(description="The stock transfer file (CSV)")],
    session: DbSession,
    actor: CurrentActor,
) -> Any:
    """The receiver confirms receipt with the MP140 stock transfer file: a CSV whose header
    names the hub GUID and receiving party columns (docs/hub-transfers.md). A file in the
    wrong shape is a 422 ``bad_transfer_file`` naming its lines."""
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput("the stock transfer file is too large", code="bad_transfer_file")
    settings = request.app.state.settings
    layout = transfers.TransferFileLayout(
        hub_column=settings.transfer_file_hub_column,
        party_column=settings.transfer_file_party_column,
    )
    transfers.get_transfer(session, actor=actor, transfer_id=transfer_id)
    lines = transfers.parse_transfer_file(data, layout=layout)
    receipt = transfers.receive(
        session, actor=actor, transfer_id=transfer_id, lines=lines, now=utcnow()
    )
    return receipt_answer(session, receipt)


@router.get(
    "/hub-transfer-steps/{step_id}/lines",
    response_model=LinePageOut,
    responses=refusals(404),
)
def step_lines(
    step_id: RowId,
    session: DbSession,
    actor: CurrentActor,
    cursor: str | None = Query(default=None, description="next_cursor of the page before"),
) -> LinePageOut:
    """A receipt's GUID lines (a step of a transfer's timeline) in line order, a thousand at a
    time: the refused ones with their reasons, or the hubs it moved."""
    after = 0
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        after = values[0]
    rows: list[TransferLine] = transfers.event_lines(
        session, actor=actor, event_id=step_id, after_line=after, limit=LINES_PAGE + 1
    )
    shown = rows[:LINES_PAGE]
    return LinePageOut(
        items=[LineOut.model_validate(r) for r in shown],
        next_cursor=encode_cursor([shown[-1].line_no]) if len(rows) > LINES_PAGE else None,
    )


@router.post(
    "/hub-transfers/{transfer_id}/disputes",
    response_model=DisputeOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def raise_dispute(
    transfer_id: RowId, body: DisputeIn, session: DbSession, actor: CurrentActor
) -> DisputeOut:
    """Either side: what arrived differs in quantity, make, model or firmware."""
    d = disputes.raise_dispute(
        session,
        actor=actor,
        transfer_id=transfer_id,
        kind=body.kind,
        statement=body.statement,
        now=utcnow(),
    )
    return dispute_out(session, d)


@router.get("/hub-disputes", response_model=list[DisputeOut])
def open_disputes(session: DbSession, actor: CurrentActor) -> list[DisputeOut]:
    """Disputes not yet resolved, oldest first: the operator's queue (a party: its own)."""
    return [dispute_out(session, d) for d in disputes.open_disputes(session, actor=actor)]


@router.get("/hub-disputes/{dispute_id}", response_model=DisputeOut, responses=refusals(404))
def get_dispute(dispute_id: RowId, session: DbSession, actor: CurrentActor) -> DisputeOut:
    return dispute_out(session, disputes.get_dispute(session, actor=actor, dispute_id=dispute_id))


@router.post(
    "/hub-disputes/{dispute_id}/answer",
    response_model=DisputeOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def answer_dispute(
    dispute_id: RowId, body: AnswerIn, session: DbSession, actor: CurrentActor
) -> DisputeOut:
    """The side that did not raise the dispute gives its account."""
    d = disputes.answer_dispute(
        session, actor=actor, dispute_id=dispute_id, answer=body.answer, now=utcnow()
    )
    return dispute_out(session, d)


@router.post(
    "/hub-disputes/{dispute_id}/resolve",
    response_model=DisputeOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def resolve_dispute(
    dispute_id: RowId, body: ResolutionIn, session: DbSession, actor: CurrentActor
) -> DisputeOut:
    """The operator decides; an upheld dispute moves hubs back and adjusts a charge."""
    d = disputes.resolve_dispute(
        session,
        actor=actor,
        dispute_id=dispute_id,
        resolution=disputes.Resolution(
            outcome=body.outcome,
            resolution=body.resolution,
            return_hubs=body.return_hubs,
            adjustment_party=body.adjustment_party,
            adjustment_pence=body.adjustment_pence,
        ),
        now=utcnow(),
    )
    return dispute_out(session, d)
