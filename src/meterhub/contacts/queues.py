"""Each organisation's work queues of contacts.

* **Drafts**: saved, not yet submitted (the raising organisation's own).
* **New for us**: awaiting our move, and nobody in our organisation has picked it up.
* **Awaiting us**: awaiting our move, picked up by one of us (the queue shows who).
* **Awaiting others**: open, and the move is another party's.
* **Overdue**: open with a deadline that has passed (ours or another party's); these are also
  in one of the queues above.
* **Closed**: every part finished.

An involved party's row is read from its own part of the contact (its status, its deadline); the
raising organisation's and the operator's from the contact's summary (the earliest open
deadline, whether the move is theirs). Rows are sorted by deadline, last change, creation or
reference, and paged with keyset cursors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from meterhub.audit.service import Actor
from meterhub.contacts.catalogue import CONTACT_TYPES, contact_type
from meterhub.contacts.definitions import Side
from meterhub.contacts.models import Contact, ContactHandler, ContactInvolvement
from meterhub.contacts.service import CLOSED, DRAFT, OPEN, status_words
from meterhub.db.base import UTCDateTime
from meterhub.errors import InvalidInput, NotFound
from meterhub.kit.pagination import decode_cursor, encode_cursor
from meterhub.parties import service as parties

QUEUES: Final = {
    "new": "New for us",
    "awaiting_us": "Awaiting us",
    "awaiting_others": "Awaiting others",
    "overdue": "Overdue",
    "closed": "Closed",
    "drafts": "Drafts",
    "all": "All",
}
SORTS: Final = {
    "due": "Deadline, soonest first",
    "-updated": "Last changed, newest first",
    "-created": "Created, newest first",
    "reference": "Reference",
}
#: Where rows with no deadline sort: after every real one.
_NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class QueueFilter:
    contact_type: str | None = None
    reference: str | None = None  # the start of a reference: "TOG-0001"
    status: str | None = None  # a status code of the type's workflow


@dataclass(frozen=True)
class QueueRow:
    contact_id: int
    reference: str | None
    contact_type: str
    type_title: str
    status_words: str
    raised_by: str
    summary: str
    due: datetime | None
    overdue: bool
    awaiting_us: bool
    handler: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class QueuePage:
    queue: str
    rows: list[QueueRow]
    next_cursor: str | None


def _ours(actor: Actor) -> Subquery:
    """One row per contact ``actor``'s organisation takes part in: whether the move is ours,
    our deadline and our status."""
    party_id = actor.party_id
    part = ContactInvolvement
    involved = select(
        part.contact_id.label("contact_id"),
        case((part.awaiting == Side.INVOLVED.value, true()), else_=false()).label("awaiting_us"),
        part.respond_by.label("due"),
        part.status.label("party_status"),
    ).where(part.party_id == party_id)
    raised = select(
        Contact.id.label("contact_id"),
        Contact.awaiting_raiser.label("awaiting_us"),
        Contact.next_due_at.label("due"),
        Contact.headline_status.label("party_status"),
    ).where(Contact.raising_party_id == party_id)
    selects = [involved, raised]
    if actor.is_operator:
        selects.append(
            select(
                Contact.id.label("contact_id"),
                Contact.awaiting_operator.label("awaiting_us"),
                Contact.next_due_at.label("due"),
                Contact.headline_status.label("party_status"),
            ).where(Contact.status != DRAFT, Contact.raising_party_id != party_id)
        )
    return union_all(*selects).subquery("ours")


def _queue_clause(name: str, ours: Any, handler: Any, now: datetime) -> ColumnElement[bool]:
    awaiting = ours.c.awaiting_us.is_(True)
    if name == "drafts":
        return Contact.status == DRAFT
    if name == "new":
        return and_(Contact.status == OPEN, awaiting, handler.user_id.is_(None))
    if name == "awaiting_us":
        return and_(Contact.status == OPEN, awaiting, handler.user_id.is_not(None))
    if name == "awaiting_others":
        return and_(Contact.status == OPEN, ours.c.awaiting_us.is_not(True))
    if name == "overdue":
        return and_(Contact.status == OPEN, ours.c.due <= now)
    if name == "closed":
        return Contact.status == CLOSED
    return true()


def _base(actor: Actor, name: str, flt: QueueFilter, now: datetime) -> tuple[Any, Subquery]:
    if actor.party_id is None:
        raise NotFound("work queues are an organisation's")
    if name not in QUEUES:
        raise InvalidInput(
            f"queue is one of {', '.join(QUEUES)}", code="unknown_queue", details={"queue": name}
        )
    ours = _ours(actor)
    handler = ContactHandler
    stmt = (
        select(Contact, ours.c.awaiting_us, ours.c.due, ours.c.party_status, handler.username)
        .join(ours, ours.c.contact_id == Contact.id)
        .outerjoin(
            handler,
            and_(handler.contact_id == Contact.id, handler.party_id == actor.party_id),
        )
        .where(_queue_clause(name, ours, handler, now))
    )
    if flt.contact_type:
        stmt = stmt.where(Contact.contact_type == contact_type(flt.contact_type).code)
    if flt.reference:
        stmt = stmt.where(
            Contact.reference.startswith(flt.reference.strip().upper(), autoescape=True)
        )
    if flt.status:
        stmt = stmt.where(ours.c.party_status == flt.status)
    return stmt, ours


def _sort_key(sort: str, ours: Subquery) -> tuple[Any, bool]:
    """The sort's expression and whether it runs ascending."""
    if sort == "due":
        return func.coalesce(ours.c.due, literal(_NO_DEADLINE, UTCDateTime())), True
    if sort == "-updated":
        return Contact.updated_at, False
    if sort == "-created":
        return Contact.created_at, False
    if sort == "reference":
        return func.coalesce(Contact.reference, literal("", String())), True
    raise InvalidInput(f"sort is one of {', '.join(SORTS)}", code="unknown_sort")


def _cursor_value(sort: str, raw: Any) -> Any:
    if sort == "reference":
        if not isinstance(raw, str):
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        return raw
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput("cursor is not one this hub issued", code="bad_cursor") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def queue(
    session: Session,
    *,
    actor: Actor,
    name: str,
    now: datetime,
    flt: QueueFilter | None = None,
    sort: str = "due",
    cursor: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of the organisation's queue ``name``, filtered and sorted."""
    flt = flt or QueueFilter()
    stmt, ours = _base(actor, name, flt, now)
    key, ascending = _sort_key(sort, ours)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 2 or not isinstance(values[1], int):
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        after, after_id = _cursor_value(sort, values[0]), values[1]
        if ascending:
            stmt = stmt.where(or_(key > after, and_(key == after, Contact.id > after_id)))
        else:
            stmt = stmt.where(or_(key < after, and_(key == after, Contact.id < after_id)))
    order = (key.asc(), Contact.id.asc()) if ascending else (key.desc(), Contact.id.desc())
    rows = session.execute(
        stmt.add_columns(key.label("sort_key")).order_by(*order).limit(limit + 1)
    ).all()
    shown = rows[:limit]
    codes = parties.party_codes(session, ids={r[0].raising_party_id for r in shown})
    out = []
    for contact, awaiting_us, due, party_status, handler, _key in shown:
        definition = CONTACT_TYPES.get(contact.contact_type)
        if definition is None:
            continue
        words = (
            definition.words(party_status)
            if party_status and contact.status != DRAFT
            else status_words(definition, contact)
        )
        out.append(
            QueueRow(
                contact_id=contact.id,
                reference=contact.reference,
                contact_type=contact.contact_type,
                type_title=definition.title,
                status_words=words,
                raised_by=codes.get(contact.raising_party_id, "?"),
                summary=definition.summary(contact.values),
                due=due if contact.status == OPEN else None,
                overdue=contact.status == OPEN and due is not None and due <= now,
                awaiting_us=bool(awaiting_us) and contact.status == OPEN,
                handler=handler,
                created_at=contact.created_at,
                updated_at=contact.updated_at,
            )
        )
    next_cursor = None
    if len(rows) > limit and shown:
        last = shown[-1]
        value = last[-1]
        encoded = value.isoformat() if isinstance(value, datetime) else value
        if isinstance(value, str) and sort != "reference":
            encoded = value  # SQLite hands the coalesced timestamp back as text
        next_cursor = encode_cursor([encoded, last[0].id])
    return QueuePage(queue=name, rows=out, next_cursor=next_cursor)


def counts(session: Session, *, actor: Actor, now: datetime) -> dict[str, int]:
    """How many contacts each of the organisation's queues holds (the tabs' numbers)."""
    found = {}
    for name in QUEUES:
        stmt, _ = _base(actor, name, QueueFilter(), now)
        found[name] = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return found
