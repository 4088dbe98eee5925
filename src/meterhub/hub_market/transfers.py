"""Dispatch and receipt of an MP140 stock transfer (requirement 5), and the transfer's timeline.

Allocation (``hub_market.service``) makes a ``Transfer`` in status ``allocated``. The sender
confirms **dispatch**; the receiver confirms **receipt** with the GUIDs it received, typed,
pasted or as the "CH Stock Transfer File" (``parse_transfer_file``). Only Communications Hubs
in SMI status ``Pending``, held by the sender, of the transfer's make, model, firmware and
region, and no more than its quantity, may change owner (MP140 6.2: the DSP enforces the
``Pending`` check).

A receipt is all or nothing: every line is checked, every refused line is listed with its
reason, and if any line is refused **nothing moves** and the transfer stays ``dispatched``;
the refused attempt is kept on the timeline (so both sides see what was wrong) and the
receiver sends a corrected list. A receipt with no refused line moves every hub at once
(``inventory.service.move_hubs``): ownership, and with it the stock charge, pass to the
receiver from the receipt day.

Only the two sides and the operator see a transfer; to anyone else it does not exist (404).
Every step tells both sides' users (inbox and e-mail) with a link to the transfer's page.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.db import bulk
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market.models import Transfer, TransferEvent, TransferLine
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, DeviceType
from meterhub.kit.ids import normalise_eui64
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties

PORTAL_TRANSFERS = "/portal/transfers"

#: Why a GUID line is refused: the machine code each refused line carries, and its meaning.
REFUSAL_REASONS: Final = {
    "not_a_guid": "not a hub GUID (an EUI-64 such as 00-DB-12-34-56-78-90-A2)",
    "duplicate": "the same GUID is on an earlier line",
    "wrong_receiver": "the line names a receiving party other than this transfer's",
    "unknown_guid": "no Communications Hub has this GUID",
    "foreign_holder": "the hub is not held by the sending party",
    "not_pending": "the hub is not in SMI status Pending, so it may not change owner",
    "wrong_manufacturer": "the hub's make is not the transfer's",
    "wrong_model": "the hub's model is not the transfer's",
    "wrong_firmware": "the hub's firmware version is not the transfer's",
    "wrong_region": "the hub's CSP region is not the transfer's",
    "over_quantity": "more hubs than the transfer's quantity",
}

#: The most GUID lines one receipt may hold (a transfer is at most a few pallets of 896; the
#: bound keeps one submission's memory small).
MAX_RECEIPT_LINES: Final = 250_000
#: Refused lines named in an error's details; all of them are kept on the timeline.
DETAILS_SHOWN: Final = 1_000
_GUID_LENGTH: Final = 80
_SEPARATORS = re.compile(r"[\s,;]+")
_CANONICAL = re.compile(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")


@dataclass(frozen=True)
class ReceiptLine:
    """One GUID a receiver submitted: where it was (``line_no``, the line of the text or file,
    counting a file's header as line 1), what was written, and the receiving party the line
    names (a stock transfer file names one on every line; a typed list names none)."""

    line_no: int
    guid: str
    receiving_party: str | None = None


@dataclass(frozen=True)
class RefusedLine:
    line_no: int
    guid: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Receipt:
    """What a submitted receipt did: ``moved`` hubs passed to the receiver (0 when any line
    was refused), the refused lines with their reasons, and the timeline step it made."""

    transfer: Transfer
    event: TransferEvent
    moved: int
    refused: list[RefusedLine]

    @property
    def accepted(self) -> bool:
        return not self.refused


@dataclass(frozen=True)
class TransferFileLayout:
    """The columns of the MP140 "CH Stock Transfer File": a CSV with a header line naming
    ``hub_column`` (the hub's GUID) and ``party_column`` (the receiving party's code), in any
    order, other columns ignored. The DCC finalises the real layout (MP140 6.2); the operator
    sets its column names (``METERHUB_TRANSFER_FILE_HUB_COLUMN``,
    ``METERHUB_TRANSFER_FILE_PARTY_COLUMN``)."""

    hub_column: str = "hub_id"
    party_column: str = "receiving_party"


DEFAULT_LAYOUT: Final = TransferFileLayout()


# ---------------------------------------------------------------- reading what was received


def parse_guid_list(text: str) -> list[ReceiptLine]:
    """A typed or pasted list of GUIDs: one or more a line, separated by spaces, commas or
    semicolons; blank lines are skipped. Each GUID keeps the number of the line it was on."""
    lines: list[ReceiptLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        item = raw.strip()
        if _SEPARATORS.search(item) is None:  # one GUID a line, the usual paste: no split
            if item:
                lines.append(ReceiptLine(line_no=number, guid=item))
            continue
        lines.extend(
            ReceiptLine(line_no=number, guid=part) for part in _SEPARATORS.split(item) if part
        )
    _check_size(lines)
    return lines


def parse_transfer_file(
    data: bytes, *, layout: TransferFileLayout = DEFAULT_LAYOUT
) -> list[ReceiptLine]:
    """The lines of a stock transfer file (see ``TransferFileLayout``), or InvalidInput
    ``bad_transfer_file`` naming every line in the wrong shape (not UTF-8, no header with the
    two columns, a line with more or fewer fields than the header, an empty GUID): a file that
    cannot be read as a whole is not read in part."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the stock transfer file is not UTF-8 text (byte {exc.start})",
            code="bad_transfer_file",
            details={"lines": []},
        ) from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None:
        raise InvalidInput(
            "the stock transfer file is empty", code="bad_transfer_file", details={"lines": []}
        )
    names = [h.strip().lower() for h in header]
    wanted = (layout.hub_column.lower(), layout.party_column.lower())
    missing = [w for w in wanted if w not in names]
    if missing:
        raise InvalidInput(
            f"line 1: the header must name the columns {', '.join(wanted)}"
            f" (missing {', '.join(missing)})",
            code="bad_transfer_file",
            details={"lines": [{"line": 1, "problem": f"no column {m}"} for m in missing]},
        )
    hub_at, party_at = names.index(wanted[0]), names.index(wanted[1])
    problems: list[dict[str, object]] = []
    lines: list[ReceiptLine] = []
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                {"line": number, "problem": f"{len(row)} fields, the header has {len(header)}"}
            )
            continue
        guid = row[hub_at].strip()
        if not guid:
            problems.append({"line": number, "problem": f"no {layout.hub_column}"})
            continue
        lines.append(ReceiptLine(line_no=number, guid=guid, receiving_party=row[party_at].strip()))
    if problems:
        named = ", ".join(str(p["line"]) for p in problems[:20])
        more = f" and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise InvalidInput(
            f"the stock transfer file is not in the expected shape on lines {named}{more}",
            code="bad_transfer_file",
            details={"lines": problems[:DETAILS_SHOWN]},
        )
    if not lines:
        raise InvalidInput(
            "the stock transfer file lists no hubs",
            code="bad_transfer_file",
            details={"lines": []},
        )
    _check_size(lines)
    return lines


def _check_size(lines: Sequence[ReceiptLine]) -> None:
    if len(lines) > MAX_RECEIPT_LINES:
        raise InvalidInput(
            f"a receipt lists at most {MAX_RECEIPT_LINES} GUIDs", code="too_many_lines"
        )


# ---------------------------------------------------------------- who sees a transfer


def get_transfer(session: Session, *, actor: Actor, transfer_id: int) -> Transfer:
    """The transfer, if the actor is its sender, its receiver or the operator; for anyone
    else it does not exist."""
    if not 0 < transfer_id <= MAX_ROW_ID:
        raise NotFound(f"no transfer {transfer_id}")
    stmt = select(Transfer).where(Transfer.id == transfer_id)
    if not actor.is_operator:
        party = actor.party_id if actor.party_id is not None else -1
        stmt = stmt.where(
            or_(Transfer.sender_party_id == party, Transfer.receiver_party_id == party)
        )
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no transfer {transfer_id}")
    return found


def get_transfer_for_update(session: Session, *, actor: Actor, transfer_id: int) -> Transfer:
    """``get_transfer``, with the row locked until the transaction ends (PostgreSQL; SQLite's
    writers already queue for its one write lock), so two steps on one transfer never
    interleave: a receipt submitted twice at once moves the hubs once."""
    found = get_transfer(session, actor=actor, transfer_id=transfer_id)
    session.execute(select(Transfer.id).where(Transfer.id == found.id).with_for_update()).one()
    session.refresh(found)
    return found


def list_transfers(
    session: Session,
    *,
    actor: Actor,
    side: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Transfer]:
    """The actor's transfers, newest first, ``limit`` at a time older than ``before_id``:
    those it sends (``side="sending"``), receives (``"receiving"``) or both; the operator
    reads every party's."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", code="bad_limit")
    stmt = select(Transfer)
    party = actor.party_id if actor.party_id is not None else -1
    if side == "sending":
        stmt = stmt.where(Transfer.sender_party_id == party)
    elif side == "receiving":
        stmt = stmt.where(Transfer.receiver_party_id == party)
    elif side is not None:
        raise InvalidInput("side is sending or receiving", code="bad_side")
    if not actor.is_operator or side is not None:
        stmt = stmt.where(
            or_(Transfer.sender_party_id == party, Transfer.receiver_party_id == party)
        )
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", code="bad_status")
        stmt = stmt.where(Transfer.status == status)
    if before_id is not None:
        stmt = stmt.where(Transfer.id < before_id)
    return list(session.scalars(stmt.order_by(Transfer.id.desc()).limit(limit)))


STATUSES: Final = ("allocated", "dispatched", "received", "disputed")


# ---------------------------------------------------------------- the steps


def _party_code(session: Session, party_id: int) -> str:
    party = parties.party_by_id(session, party_id)
    return party.code if party else "?"


def tell_both(
    session: Session,
    *,
    transfer: Transfer,
    kind: str,
    subject: str,
    body: str,
    now: datetime,
) -> None:
    """Tell the sender's and the receiver's users of a step, with a link to the transfer."""
    link = f"{PORTAL_TRANSFERS}/{transfer.id}"
    for party_id in (transfer.sender_party_id, transfer.receiver_party_id):
        notifications.notify(
            session,
            party_id=party_id,
            kind=kind,
            subject=subject,
            body=body,
            link=link,
            now=now,
        )


def add_event(
    session: Session,
    *,
    transfer: Transfer,
    actor: Actor,
    kind: str,
    note: str = "",
    now: datetime,
    accepted: int = 0,
    refused: int = 0,
    dispute_id: int | None = None,
) -> TransferEvent:
    """One step on the transfer's timeline (``TransferEvent``)."""
    event = TransferEvent(
        transfer_id=transfer.id,
        at=now,
        kind=kind,
        party_id=None if actor.is_operator else actor.party_id,
        actor=actor.name,
        note=note,
        accepted=accepted,
        refused=refused,
        dispute_id=dispute_id,
    )
    session.add(event)
    session.flush()
    return event


def dispatch(
    session: Session, *, actor: Actor, transfer_id: int, note: str = "", now: datetime
) -> Transfer:
    """The sender confirms it has sent the allocated hubs. Only the sender dispatches, and
    only an ``allocated`` transfer."""
    transfer = get_transfer_for_update(session, actor=actor, transfer_id=transfer_id)
    if actor.party_id != transfer.sender_party_id:
        raise PermissionDenied(
            f"only the sending party dispatches {transfer.reference}", code="not_the_sender"
        )
    if transfer.status != "allocated":
        raise Conflict(
            f"{transfer.reference} is {transfer.status}; only an allocated transfer is dispatched",
            code="not_allocated",
        )
    note = note.strip()
    transfer.status = "dispatched"
    transfer.dispatched_at = now
    transfer.dispatched_by = actor.name
    add_event(session, transfer=transfer, actor=actor, kind="dispatched", note=note, now=now)
    record(
        session,
        actor=actor,
        action="hub_transfer.dispatched",
        object_type="hub_transfer",
        object_id=transfer.reference,
        changes={"status": ["allocated", "dispatched"], "note": note},
        now=now,
    )
    sender = _party_code(session, transfer.sender_party_id)
    receiver = _party_code(session, transfer.receiver_party_id)
    lines = [
        f"{sender} dispatched {transfer.quantity} Communications Hubs"
        f" ({transfer.manufacturer} {transfer.model}, firmware {transfer.firmware_version},"
        f" {transfer.csp_region}) to {receiver} at {now:%Y-%m-%d %H:%M} UTC"
        f" under stock transfer {transfer.reference}.",
        f"{receiver} confirms receipt with the GUIDs it received; ownership and the stock"
        " charge move on the receipt day.",
    ]
    if note:
        lines.append(f"Note: {note}")
    tell_both(
        session,
        transfer=transfer,
        kind="hub_transfer.dispatched",
        subject=f"Stock transfer {transfer.reference} dispatched by {sender}",
        body="\n".join(lines),
        now=now,
    )
    return transfer


def check_lines(
    session: Session, *, transfer: Transfer, lines: Sequence[ReceiptLine]
) -> tuple[list[str], list[RefusedLine]]:
    """Check every GUID line of a receipt against SMI and the transfer, in one read of the
    hubs: the device IDs that may move, in line order, and every refused line with its reason
    (``REFUSAL_REASONS``). Reads only; changes nothing."""
    receiver = _party_code(session, transfer.receiver_party_id)
    sender = _party_code(session, transfer.sender_party_id)
    refused: list[RefusedLine] = []
    seen: dict[str, int] = {}
    candidates: list[tuple[ReceiptLine, str]] = []
    for line in lines:
        shown = line.guid[:_GUID_LENGTH]
        try:
            device_id = (
                line.guid
                if _CANONICAL.fullmatch(line.guid)
                else normalise_eui64(line.guid, field="GUID")
            )
        except InvalidInput:
            refused.append(
                RefusedLine(line.line_no, shown, "not_a_guid", REFUSAL_REASONS["not_a_guid"])
            )
            continue
        first = seen.get(device_id)
        if first is not None:
            refused.append(RefusedLine(line.line_no, shown, "duplicate", f"also on line {first}"))
            continue
        seen[device_id] = line.line_no
        named = line.receiving_party
        if named is not None and named.strip().upper() != receiver.upper():
            refused.append(
                RefusedLine(
                    line.line_no,
                    shown,
                    "wrong_receiver",
                    f"names {named.strip()[:40]!r}; this transfer's receiver is {receiver}",
                )
            )
            continue
        candidates.append((line, device_id))
    found = inventory.device_attributes_by_id(session, device_ids=[d for _, d in candidates])
    wanted = (
        ("manufacturer", transfer.manufacturer, "wrong_manufacturer", "make"),
        ("model", transfer.model, "wrong_model", "model"),
        ("firmware_version", transfer.firmware_version, "wrong_firmware", "firmware"),
        ("csp_region", transfer.csp_region, "wrong_region", "region"),
    )
    good: list[str] = []
    for line, device_id in candidates:
        hub = found.get(device_id)
        reason, detail = "", ""
        if hub is None or hub.device_type != DeviceType.CHF.value:
            reason, detail = "unknown_guid", REFUSAL_REASONS["unknown_guid"]
        elif hub.owner_party_id != transfer.sender_party_id:
            reason = "foreign_holder"
            detail = (
                "already held by you"
                if hub.owner_party_id == transfer.receiver_party_id
                else f"not held by {sender}"
            )
        elif hub.status != DeviceStatus.PENDING.value:
            reason, detail = "not_pending", f"status {hub.status}, not Pending"
        else:
            for column, expected, code, word in wanted:
                actual = getattr(hub, column)
                if actual != expected:
                    reason, detail = code, f"{word} {actual}; the transfer is for {expected}"
                    break
        if not reason and len(good) >= transfer.quantity:
            reason = "over_quantity"
            detail = f"the transfer is for {transfer.quantity} hubs"
        if reason:
            refused.append(RefusedLine(line.line_no, device_id, reason, detail[:200]))
        else:
            good.append(device_id)
    refused.sort(key=lambda r: r.line_no)
    return good, refused


_LINE_COLUMNS = (
    "transfer_id",
    "event_id",
    "line_no",
    "guid",
    "device_id",
    "outcome",
    "reason",
    "detail",
)


def receive(
    session: Session,
    *,
    actor: Actor,
    transfer_id: int,
    lines: Sequence[ReceiptLine],
    now: datetime,
) -> Receipt:
    """The receiver confirms receipt of a dispatched transfer with the GUIDs it received.

    Every line is checked (``check_lines``). If any is refused, nothing moves: the attempt and
    its refused lines go on the timeline (the caller commits them, so both sides can read what
    was wrong) and the transfer stays ``dispatched``. Otherwise every hub passes from the sender
    to the receiver at ``now`` in one set-based move, whose history rows name the transfer,
    and the transfer is ``received``; ownership and the stock charge are the receiver's from
    ``now``'s day. Both sides are told either way."""
    transfer = get_transfer_for_update(session, actor=actor, transfer_id=transfer_id)
    if actor.party_id != transfer.receiver_party_id:
        raise PermissionDenied(
            f"only the receiving party confirms receipt of {transfer.reference}",
            code="not_the_receiver",
        )
    if transfer.status == "allocated":
        raise Conflict(
            f"{transfer.reference} has not been dispatched; receipt comes after dispatch",
            code="not_dispatched",
        )
    if transfer.status != "dispatched":
        raise Conflict(
            f"{transfer.reference} is {transfer.status}; only a dispatched transfer is received",
            code="not_dispatched",
        )
    if not lines:
        raise InvalidInput("a receipt lists the GUIDs received", code="no_guids")
    _check_size(lines)
    good, refused = check_lines(session, transfer=transfer, lines=lines)
    sender = _party_code(session, transfer.sender_party_id)
    receiver = _party_code(session, transfer.receiver_party_id)
    if refused:
        event = add_event(
            session,
            transfer=transfer,
            actor=actor,
            kind="receipt_refused",
            note=f"{len(lines)} GUID lines, {len(refused)} refused; nothing moved",
            refused=len(refused),
            now=now,
        )
        bulk.write_rows(
            session,
            TransferLine.__table__,  # type: ignore[arg-type]
            _LINE_COLUMNS,
            [
                (transfer.id, event.id, r.line_no, r.guid, None, "refused", r.reason, r.detail)
                for r in refused
            ],
        )
        record(
            session,
            actor=actor,
            action="hub_transfer.receipt_refused",
            object_type="hub_transfer",
            object_id=transfer.reference,
            changes={"lines": len(lines), "refused": len(refused)},
            now=now,
        )
        counts: dict[str, int] = {}
        for r in refused:
            counts[r.reason] = counts.get(r.reason, 0) + 1
        why = ", ".join(f"{n} {code}" for code, n in sorted(counts.items()))
        tell_both(
            session,
            transfer=transfer,
            kind="hub_transfer.receipt_refused",
            subject=f"Stock transfer {transfer.reference}: receipt refused, nothing moved",
            body=(
                f"{receiver} submitted a receipt of {len(lines)} GUIDs for"
                f" {transfer.reference} from {sender} at {now:%Y-%m-%d %H:%M} UTC."
                f"\n{len(refused)} lines were refused ({why}), so no hub changed owner."
                "\nThe transfer's page lists every refused line with its reason."
            ),
            now=now,
        )
        return Receipt(transfer=transfer, event=event, moved=0, refused=refused)
    reason = f"MP140 stock transfer {transfer.reference} from {sender} to {receiver}: received"
    moved = inventory.move_hubs(
        session,
        actor=actor,
        device_ids=good,
        from_party_id=transfer.sender_party_id,
        to_party_id=transfer.receiver_party_id,
        reason=reason,
        now=now,
    )
    transfer.status = "received"
    transfer.received_at = now
    transfer.received_by = actor.name
    transfer.received_quantity = moved
    short = transfer.quantity - moved
    note = f"{moved} hubs received" + (f", {short} fewer than allocated" if short else "")
    event = add_event(
        session, transfer=transfer, actor=actor, kind="received", note=note, accepted=moved, now=now
    )
    # No line was refused, so the hubs that may move are the lines themselves, in order.
    rows = [
        (
            transfer.id,
            event.id,
            line.line_no,
            line.guid[:_GUID_LENGTH],
            device_id,
            "accepted",
            "",
            "",
        )
        for line, device_id in zip(lines, good, strict=True)
    ]
    bulk.write_rows(session, TransferLine.__table__, _LINE_COLUMNS, rows)  # type: ignore[arg-type]
    record(
        session,
        actor=actor,
        action="hub_transfer.received",
        object_type="hub_transfer",
        object_id=transfer.reference,
        changes={"status": ["dispatched", "received"], "hubs": moved},
        now=now,
    )
    shortfall = (
        f"\n{short} fewer than the {transfer.quantity} allocated: either side may raise a dispute."
        if short
        else ""
    )
    tell_both(
        session,
        transfer=transfer,
        kind="hub_transfer.received",
        subject=f"Stock transfer {transfer.reference}: {moved} hubs received by {receiver}",
        body=(
            f"{receiver} confirmed receipt of {moved} Communications Hubs from {sender} under"
            f" {transfer.reference} at {now:%Y-%m-%d %H:%M} UTC."
            f"\nThey are held by {receiver} from {now:%Y-%m-%d}: the stock charge for them is"
            f" {receiver}'s from that day.{shortfall}"
        ),
        now=now,
    )
    return Receipt(transfer=transfer, event=event, moved=moved, refused=[])


# ---------------------------------------------------------------- reading the story


def timeline(session: Session, *, actor: Actor, transfer_id: int) -> list[TransferEvent]:
    """The transfer's steps after allocation, oldest first (allocation is ``allocated_at``)."""
    transfer = get_transfer(session, actor=actor, transfer_id=transfer_id)
    stmt = (
        select(TransferEvent)
        .where(TransferEvent.transfer_id == transfer.id)
        .order_by(TransferEvent.id)
    )
    return list(session.scalars(stmt))


def step(session: Session, *, actor: Actor, event_id: int) -> TransferEvent:
    """One step of the timeline of a transfer the actor sees; another party's does not exist."""
    event = session.get(TransferEvent, event_id) if 0 < event_id <= MAX_ROW_ID else None
    if event is None:
        raise NotFound(f"no transfer step {event_id}")
    try:
        get_transfer(session, actor=actor, transfer_id=event.transfer_id)
    except NotFound:
        raise NotFound(f"no transfer step {event_id}") from None
    return event


def event_lines(
    session: Session,
    *,
    actor: Actor,
    event_id: int,
    after_line: int = 0,
    limit: int = 500,
) -> list[TransferLine]:
    """The GUID lines of one receipt (a timeline step) of a transfer the actor sees: the
    refused lines with their reasons, or the hubs a receipt moved, in line order, ``limit`` at
    a time after ``after_line``. Another party's step does not exist."""
    if not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be between 1 and 10000", code="bad_limit")
    event = step(session, actor=actor, event_id=event_id)
    stmt = (
        select(TransferLine)
        .where(TransferLine.event_id == event.id, TransferLine.line_no > after_line)
        .order_by(TransferLine.line_no, TransferLine.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def moved_hubs(session: Session, *, transfer: Transfer) -> list[str]:
    """The device IDs the transfer's receipt moved to the receiver (for a dispute's outcome)."""
    received = select(TransferEvent.id).where(
        TransferEvent.transfer_id == transfer.id, TransferEvent.kind == "received"
    )
    stmt = (
        select(TransferLine.device_id)
        .where(TransferLine.event_id.in_(received), TransferLine.outcome == "accepted")
        .order_by(TransferLine.event_id, TransferLine.line_no)
    )
    return [d for d in session.scalars(stmt) if d is not None]
