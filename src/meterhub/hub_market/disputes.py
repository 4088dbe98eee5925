"""Disputes over an MP140 stock transfer (requirement 7): what arrived differs from what was
allocated in quantity, make, model or firmware.

Either side raises one on a dispatched or received transfer; the other side answers; the
operator resolves it. The workflow is one table (``STEPS``). While a dispute is open the
transfer is ``disputed``: no receipt is taken and no second dispute raised. The operator's
outcome is ``rejected`` (custody and charges stand) or ``upheld``, which corrects them: hubs
the transfer moved go back to the sender in one set-based move whose history names the
dispute, and a charge adjustment (``comms_hubs.service.record_charge_adjustment``) appears in
the party's next monthly statement. The transfer then goes back to the status it had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs import service as comms_hubs
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market import transfers
from meterhub.hub_market.models import Transfer, TransferDispute
from meterhub.inventory import service as inventory
from meterhub.kit.ids import normalise_eui64
from meterhub.kit.pagination import MAX_ROW_ID

#: What a dispute may be about: what arrived differs from the transfer in this.
KINDS: Final = ("quantity", "manufacturer", "model", "firmware")
OUTCOMES: Final = ("upheld", "rejected")
MAX_TEXT: Final = 2000


@dataclass(frozen=True)
class Step:
    """One row of the dispute workflow: ``name`` moves a dispute from ``source`` to
    ``target``, taken by ``who`` (the ``other_side`` of the one that raised it, or the
    ``operator``)."""

    name: str
    source: tuple[str, ...]
    target: str
    who: str


STEPS: Final = (
    Step("answer", ("open",), "answered", "other_side"),
    Step("resolve", ("open", "answered"), "resolved", "operator"),
)
_STEP = {s.name: s for s in STEPS}
#: A transfer a dispute may be raised on: once dispatched (nothing, or the wrong thing, may
#: have arrived) and once received.
DISPUTABLE: Final = ("dispatched", "received")


@dataclass(frozen=True)
class Resolution:
    """The operator's outcome: ``upheld`` or ``rejected``, the reason, and for an upheld
    dispute the corrections: hubs to move back to the sender (GUIDs the transfer moved) and a
    charge adjustment of ``adjustment_pence`` (negative: a credit) to the ``sender`` or the
    ``receiver``."""

    outcome: str
    resolution: str
    return_hubs: Sequence[str] = ()
    adjustment_party: str | None = None
    adjustment_pence: int = 0


def _text(value: str, what: str, code: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is 1-{MAX_TEXT} characters", code=code)
    return value


def get_dispute(session: Session, *, actor: Actor, dispute_id: int) -> TransferDispute:
    """The dispute, for the two sides of its transfer and the operator; for anyone else it
    does not exist."""
    found = session.get(TransferDispute, dispute_id) if 0 < dispute_id <= MAX_ROW_ID else None
    if found is None:
        raise NotFound(f"no dispute {dispute_id}")
    try:
        transfers.get_transfer(session, actor=actor, transfer_id=found.transfer_id)
    except NotFound:
        raise NotFound(f"no dispute {dispute_id}") from None
    return found


def disputes_of(session: Session, *, actor: Actor, transfer_id: int) -> list[TransferDispute]:
    """Every dispute of the transfer, oldest first."""
    transfer = transfers.get_transfer(session, actor=actor, transfer_id=transfer_id)
    stmt = (
        select(TransferDispute)
        .where(TransferDispute.transfer_id == transfer.id)
        .order_by(TransferDispute.id)
    )
    return list(session.scalars(stmt))


def open_disputes(session: Session, *, actor: Actor, limit: int = 200) -> list[TransferDispute]:
    """Disputes waiting for the operator (open or answered), oldest first: the operator's
    work queue; a party sees those on its own transfers."""
    stmt = select(TransferDispute).where(TransferDispute.status.in_(("open", "answered")))
    if not actor.is_operator:
        party = actor.party_id if actor.party_id is not None else -1
        mine = select(Transfer.id).where(
            (Transfer.sender_party_id == party) | (Transfer.receiver_party_id == party)
        )
        stmt = stmt.where(TransferDispute.transfer_id.in_(mine))
    return list(session.scalars(stmt.order_by(TransferDispute.id).limit(limit)))


def raise_dispute(
    session: Session,
    *,
    actor: Actor,
    transfer_id: int,
    kind: str,
    statement: str,
    now: datetime,
) -> TransferDispute:
    """Either side says what arrived differs from the transfer in ``kind``. The transfer is
    ``disputed`` until the operator resolves it."""
    transfer = transfers.get_transfer_for_update(session, actor=actor, transfer_id=transfer_id)
    if actor.party_id not in (transfer.sender_party_id, transfer.receiver_party_id):
        raise PermissionDenied("only the two sides of a transfer raise a dispute on it")
    if kind not in KINDS:
        raise InvalidInput(f"a dispute is about one of {', '.join(KINDS)}", code="bad_kind")
    statement = _text(statement, "a dispute's statement", "bad_statement")
    if transfer.status == "disputed":
        raise Conflict(f"{transfer.reference} already has an open dispute", code="already_disputed")
    if transfer.status not in DISPUTABLE:
        raise Conflict(
            f"{transfer.reference} is {transfer.status}; a dispute is raised once it is dispatched",
            code="not_disputable",
        )
    dispute = TransferDispute(
        transfer_id=transfer.id,
        raised_by_party_id=actor.party_id,
        kind=kind,
        statement=statement,
        status="open",
        transfer_status_before=transfer.status,
        raised_by=actor.name,
        raised_at=now,
    )
    session.add(dispute)
    session.flush()
    transfer.status = "disputed"
    transfers.add_event(
        session,
        transfer=transfer,
        actor=actor,
        kind="dispute_raised",
        note=f"{dispute.reference} ({kind}): {statement}",
        dispute_id=dispute.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="hub_transfer.dispute_raised",
        object_type="hub_transfer",
        object_id=transfer.reference,
        changes={"dispute": dispute.reference, "kind": kind},
        now=now,
    )
    by = _code(session, actor.party_id)
    transfers.tell_both(
        session,
        transfer=transfer,
        kind="hub_transfer.dispute_raised",
        subject=f"Dispute {dispute.reference} raised by {by} on {transfer.reference}",
        body=(
            f"{by} disputes stock transfer {transfer.reference}: what arrived differs in"
            f" {kind}.\n{statement}\nThe other side answers on the transfer's page; the"
            " operator then resolves it."
        ),
        now=now,
    )
    return dispute


def _code(session: Session, party_id: int | None) -> str:
    return inventory.party_by_code_for_id(session, party_id) or "the operator"


def _step(dispute: TransferDispute, name: str) -> Step:
    step = _STEP[name]
    if dispute.status not in step.source:
        raise Conflict(
            f"{dispute.reference} is {dispute.status}; {name} needs it {' or '.join(step.source)}",
            code="invalid_transition",
        )
    return step


def answer_dispute(
    session: Session, *, actor: Actor, dispute_id: int, answer: str, now: datetime
) -> TransferDispute:
    """The side that did not raise the dispute gives its account."""
    dispute = get_dispute(session, actor=actor, dispute_id=dispute_id)
    transfer = transfers.get_transfer_for_update(
        session, actor=actor, transfer_id=dispute.transfer_id
    )
    other = (
        transfer.receiver_party_id
        if dispute.raised_by_party_id == transfer.sender_party_id
        else transfer.sender_party_id
    )
    if actor.party_id != other:
        raise PermissionDenied(
            f"{dispute.reference} is answered by the other side", code="not_the_other_side"
        )
    step = _step(dispute, "answer")
    dispute.answer = _text(answer, "an answer", "bad_answer")
    dispute.answered_by = actor.name
    dispute.answered_at = now
    dispute.status = step.target
    transfers.add_event(
        session,
        transfer=transfer,
        actor=actor,
        kind="dispute_answered",
        note=f"{dispute.reference}: {dispute.answer}",
        dispute_id=dispute.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="hub_transfer.dispute_answered",
        object_type="hub_transfer",
        object_id=transfer.reference,
        changes={"dispute": dispute.reference},
        now=now,
    )
    by = _code(session, actor.party_id)
    transfers.tell_both(
        session,
        transfer=transfer,
        kind="hub_transfer.dispute_answered",
        subject=f"Dispute {dispute.reference} on {transfer.reference} answered by {by}",
        body=f"{by} answered dispute {dispute.reference}:\n{dispute.answer}",
        now=now,
    )
    return dispute


def resolve_dispute(
    session: Session,
    *,
    actor: Actor,
    dispute_id: int,
    resolution: Resolution,
    now: datetime,
) -> TransferDispute:
    """The operator decides. An upheld dispute corrects custody and charges: the named hubs
    (ones this transfer moved, still ``Pending`` and held by the receiver) go back to the
    sender from ``now``, and the adjustment is recorded for the next statement; all of it, or
    none of it, in the caller's transaction. The transfer returns to the status it had."""
    dispute = get_dispute(session, actor=actor, dispute_id=dispute_id)
    if not actor.is_operator:
        raise PermissionDenied("only the operator resolves a dispute", code="not_the_operator")
    transfer = transfers.get_transfer_for_update(
        session, actor=actor, transfer_id=dispute.transfer_id
    )
    step = _step(dispute, "resolve")
    if resolution.outcome not in OUTCOMES:
        raise InvalidInput(f"an outcome is {' or '.join(OUTCOMES)}", code="bad_outcome")
    text = _text(resolution.resolution, "a resolution", "bad_resolution")
    upheld = resolution.outcome == "upheld"
    if not upheld and (resolution.return_hubs or resolution.adjustment_pence):
        raise InvalidInput(
            "a rejected dispute changes no custody and no charge", code="rejected_changes_nothing"
        )
    returning = _hubs_to_return(session, transfer=transfer, guids=resolution.return_hubs)
    adjust_party_id: int | None = None
    if resolution.adjustment_pence:
        if resolution.adjustment_party == "sender":
            adjust_party_id = transfer.sender_party_id
        elif resolution.adjustment_party == "receiver":
            adjust_party_id = transfer.receiver_party_id
        else:
            raise InvalidInput(
                "an adjustment is to the sender or the receiver", code="bad_adjustment_party"
            )
    sender = _code(session, transfer.sender_party_id)
    receiver = _code(session, transfer.receiver_party_id)
    if returning:
        inventory.move_hubs(
            session,
            actor=actor,
            device_ids=returning,
            from_party_id=transfer.receiver_party_id,
            to_party_id=transfer.sender_party_id,
            reason=(
                f"MP140 dispute {dispute.reference} on stock transfer {transfer.reference}"
                f" upheld: returned from {receiver} to {sender}"
            ),
            now=now,
        )
        transfer.received_quantity = (transfer.received_quantity or 0) - len(returning)
    if adjust_party_id is not None:
        comms_hubs.record_charge_adjustment(
            session,
            party_id=adjust_party_id,
            amount_pence=resolution.adjustment_pence,
            reason=f"MP140 dispute {dispute.reference} on stock transfer {transfer.reference}:"
            f" {text}",
            reference=dispute.reference,
            actor=actor,
            now=now,
        )
    dispute.status = step.target
    dispute.outcome = resolution.outcome
    dispute.resolution = text
    dispute.hubs_returned = len(returning)
    dispute.adjustment_party_id = adjust_party_id
    dispute.adjustment_pence = resolution.adjustment_pence or None
    dispute.resolved_by = actor.name
    dispute.resolved_at = now
    transfer.status = dispute.transfer_status_before
    outcome_lines = [f"{dispute.reference} {resolution.outcome}: {text}"]
    if returning:
        outcome_lines.append(f"{len(returning)} hubs returned from {receiver} to {sender}")
    if adjust_party_id is not None:
        outcome_lines.append(
            f"charge adjustment of £{resolution.adjustment_pence / 100:,.2f} to"
            f" {_code(session, adjust_party_id)}"
        )
    transfers.add_event(
        session,
        transfer=transfer,
        actor=actor,
        kind="dispute_resolved",
        note="; ".join(outcome_lines),
        accepted=len(returning),
        dispute_id=dispute.id,
        now=now,
    )
    record(
        session,
        actor=actor,
        action="hub_transfer.dispute_resolved",
        object_type="hub_transfer",
        object_id=transfer.reference,
        changes={
            "dispute": dispute.reference,
            "outcome": resolution.outcome,
            "hubs_returned": len(returning),
            "adjustment_pence": resolution.adjustment_pence,
        },
        now=now,
    )
    transfers.tell_both(
        session,
        transfer=transfer,
        kind="hub_transfer.dispute_resolved",
        subject=f"Dispute {dispute.reference} on {transfer.reference} {resolution.outcome}",
        body="\n".join(outcome_lines),
        now=now,
    )
    return dispute


def _hubs_to_return(session: Session, *, transfer: Transfer, guids: Sequence[str]) -> list[str]:
    """The device IDs to move back, each one this transfer moved; any other is named."""
    if not guids:
        return []
    ids: list[str] = []
    bad: list[str] = []
    for guid in guids:
        try:
            ids.append(normalise_eui64(guid, field="GUID"))
        except InvalidInput:
            bad.append(guid[:80])
    moved = set(transfers.moved_hubs(session, transfer=transfer))
    seen: set[str] = set()
    for device_id in ids:
        if device_id not in moved or device_id in seen:
            bad.append(device_id)
        seen.add(device_id)
    if bad:
        raise InvalidInput(
            f"{len(bad)} hubs to return were not moved by {transfer.reference} (or are named"
            f" twice): {', '.join(bad[:20])}",
            code="not_moved_by_transfer",
            details={"guids": bad[:1000]},
        )
    return ids
