"""The contact engine: drafts, submitting (the contact reference), the workflow's steps, the
deadline sweep, notes, attachments, picking a contact up, and what a party may see of it.

Everything a contact type decides is in its definition (``definitions.py``, ``catalogue.py``);
this module applies it the same way for every type. One entrance per write: the API, the portal
and the CLI call these functions, which check, change, write the contact's history and the
audit log, and tell the parties a step now awaits.

Scoping: a contact is seen by its raising organisation, by every party it involves (once
submitted) and by the hub operator (once submitted). To anyone else it does not exist: a 404,
never a 403. A draft is the raising organisation's alone.

A step is applied by ``_apply_step`` to a *set* of involvements in one ``UPDATE ... WHERE
status = <from>``: a person's step is a set of one, the sweep's a batch of every part whose
deadline passed, so the deemed step is exactly the person's, and a part that moved meanwhile
(a user answering as the deadline passes) is left alone rather than moved twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.contacts import attachments as files
from meterhub.contacts.catalogue import CONTACT_TYPES, contact_type
from meterhub.contacts.definitions import (
    ContactType,
    Field,
    FieldErrors,
    PartMoved,
    Side,
    Step,
    StepTaken,
    parse_fields,
)
from meterhub.contacts.models import (
    Contact,
    ContactAttachment,
    ContactEvent,
    ContactHandler,
    ContactInvolvement,
    ContactNote,
    ContactReferenceCounter,
)
from meterhub.db.base import UTCDateTime, text_length
from meterhub.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from meterhub.kit.business_days import UK_TIME, deadline_after, uk_day
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from meterhub.parties.roles import Role

DRAFT, OPEN, CLOSED = "draft", "open", "closed"
#: How a contact reads before it is submitted, and once every part is finished.
DRAFT_WORDS = "Draft (not submitted)"
MAX_NOTE = text_length(ContactNote.__table__.c.text)
MAX_REASON = 4000
#: The sweep moves at most this many parts per set of statements.
SWEEP_BATCH = 20_000
#: The system's name in a contact's history when the sweep applies a step.
DEADLINE_ACTOR = "system (deadline passed)"


# ---------------------------------------------------------------- who the actor is


def _user_roles(session: Session, actor: Actor) -> frozenset[str]:
    """The roles the acting user acts in; the system actor (CLI) in none."""
    if actor.user_id is None:
        return frozenset()
    user = parties.user_by_id(session, actor.user_id)
    return frozenset(r.role for r in user.roles) if user is not None else frozenset()


def _party_of(actor: Actor) -> int:
    if actor.party_id is None:
        raise PermissionDenied("contacts are raised and worked by a party's users", code="no_party")
    return actor.party_id


# ---------------------------------------------------------------- scoping


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """The contacts ``actor`` may see: its own organisation's (drafts included), those that
    involve its party, and for the operator every submitted one."""
    mine = Contact.raising_party_id == actor.party_id
    involved = exists().where(
        ContactInvolvement.contact_id == Contact.id,
        ContactInvolvement.party_id == actor.party_id,
    )
    if actor.is_operator:
        return or_(mine, Contact.status != DRAFT)
    if actor.party_id is None:
        return literal(False)
    return or_(mine, involved)


def get_contact(session: Session, *, actor: Actor, contact_id: int) -> Contact:
    """The contact if ``actor`` may see it; anyone else's is a 404."""
    if not 1 <= contact_id <= MAX_ROW_ID:
        raise NotFound(f"there is no contact {contact_id}")
    found = session.scalar(select(Contact).where(Contact.id == contact_id, visible_clause(actor)))
    if found is None:
        raise NotFound(f"there is no contact {contact_id}")
    return found


def contact_by_reference(session: Session, *, actor: Actor, reference: str) -> Contact:
    found = session.scalar(
        select(Contact).where(Contact.reference == reference.strip().upper(), visible_clause(actor))
    )
    if found is None:
        raise NotFound(f"there is no contact {reference[:24]}")
    return found


def involvements(session: Session, *, contact_id: int) -> list[ContactInvolvement]:
    return list(
        session.scalars(
            select(ContactInvolvement)
            .where(ContactInvolvement.contact_id == contact_id)
            .order_by(ContactInvolvement.id)
        )
    )


# ---------------------------------------------------------------- drafts and submitting


def _invalid(exc: FieldErrors) -> InvalidInput:
    return InvalidInput(
        "the contact is refused: " + str(exc), code="invalid_contact", details=exc.errors
    )


def _may_raise(session: Session, *, actor: Actor, definition: ContactType) -> int:
    party_id = _party_of(actor)
    roles = _user_roles(session, actor)
    if not roles & {r.value for r in definition.raised_by}:
        allowed = ", ".join(sorted(r.value for r in definition.raised_by))
        raise PermissionDenied(
            f"a {definition.title} contact is raised by a user acting as {allowed}",
            code="may_not_raise",
        )
    return party_id


def _event(
    session: Session,
    *,
    contact: Contact,
    actor: Actor,
    action: str,
    now: datetime,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    involvement_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    session.add(
        ContactEvent(
            contact_id=contact.id,
            involvement_id=involvement_id,
            at=now,
            actor=actor.name,
            actor_party_id=actor.party_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            changes=dict(changes or {}),
            reason=reason,
        )
    )


def save_draft(
    session: Session,
    *,
    actor: Actor,
    contact_type_code: str,
    values: Mapping[str, Any],
    now: datetime,
    contact_id: int | None = None,
) -> Contact:
    """Save a contact as a draft on the raising organisation's queue: a new one, or the given
    draft changed. A draft may be incomplete (required fields are checked on submit), but what
    it holds is checked field by field now; it has no reference until it is submitted."""
    definition = contact_type(contact_type_code)
    existing = (
        None if contact_id is None else _own_draft(session, actor=actor, contact_id=contact_id)
    )
    party_id = _may_raise(session, actor=actor, definition=definition)
    try:
        parsed = definition.parse(values, complete=False)
    except FieldErrors as exc:
        raise _invalid(exc) from None
    if existing is None:
        contact = Contact(
            contact_type=definition.code,
            status=DRAFT,
            raising_party_id=party_id,
            created_by=actor.name,
            values=parsed,
            created_at=now,
            updated_at=now,
        )
        session.add(contact)
        session.flush()
        _event(session, contact=contact, actor=actor, action="saved", now=now, changes=parsed)
    else:
        contact = existing
        if contact.contact_type != definition.code:
            raise InvalidInput("a draft keeps its contact type", code="contact_type_changed")
        changed = {
            k: parsed.get(k)
            for k in set(parsed) | set(contact.values)
            if parsed.get(k) != contact.values.get(k)
        }
        contact.values = parsed
        contact.updated_at = now
        _event(session, contact=contact, actor=actor, action="saved", now=now, changes=changed)
    record(
        session,
        actor=actor,
        action="contact.saved",
        object_type="contact",
        object_id=str(contact.id),
        changes={"contact_type": definition.code},
        now=now,
    )
    return contact


def _own_draft(session: Session, *, actor: Actor, contact_id: int) -> Contact:
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    if contact.raising_party_id != actor.party_id:
        raise NotFound(f"there is no contact {contact_id}")
    if contact.status != DRAFT:
        raise InvalidTransition(
            f"contact {contact.reference} is submitted; it is no longer a draft",
            code="not_a_draft",
        )
    return contact


def next_reference(session: Session, *, prefix: str) -> str:
    """The next contact reference for ``prefix``: ``TOG-000042``. One atomic ``UPDATE ...
    RETURNING`` on the prefix's counter row, which concurrent submitting transactions queue
    for (a row lock on PostgreSQL, the write lock on SQLite): no two contacts ever get the same
    number, and a number is held only by a contact that committed with it. The first submit
    of a prefix creates the row with ``INSERT ... ON CONFLICT DO NOTHING``, so two first
    submits racing both go on to the same UPDATE."""
    counter = ContactReferenceCounter
    bump = (
        update(counter)
        .where(counter.prefix == prefix)
        .values(last_number=counter.last_number + 1)
        .returning(counter.last_number)
    )
    number = session.execute(bump).scalar()
    if number is None:
        dialect = session.get_bind().dialect.name
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            make(counter)
            .values(prefix=prefix, last_number=0)
            .on_conflict_do_nothing(index_elements=["prefix"])
        )
        number = session.execute(bump).scalar_one()
    return f"{prefix}-{number:06d}"


def submit(session: Session, *, actor: Actor, contact_id: int, now: datetime) -> Contact:
    """Submit a draft: check it in full (the type's fields and its cross-checks, field by
    field), give it its contact reference, route it to the parties it involves with their
    first deadline, and tell each of them."""
    contact = _own_draft(session, actor=actor, contact_id=contact_id)
    definition = contact_type(contact.contact_type)
    _may_raise(session, actor=actor, definition=definition)
    reference = None
    try:
        values = definition.parse(contact.values, complete=True)
        if definition.exclusive_check:
            # Taken first, so concurrent submits of the type queue here; a refusal rolls the
            # number back with the caller's transaction.
            reference = next_reference(session, prefix=definition.prefix)
        errors = definition.check(session, values, contact.raising_party_id, uk_day(now))
        if errors:
            raise FieldErrors(errors)
        routed = definition.route(session, values, contact.raising_party_id)
    except FieldErrors as exc:
        raise _invalid(exc) from None
    if not routed:
        raise InvalidInput("the contact involves no party", code="nobody_to_route_to")
    if any(r.party_id == contact.raising_party_id for r in routed):
        raise InvalidInput(
            "the contact would involve the party that raises it", code="routed_to_raiser"
        )
    first = definition.status(definition.initial_status)
    due = (
        deadline_after(now, definition.windows[definition.submit_window])
        if definition.submit_window and first.awaits is not None
        else None
    )
    contact.reference = reference or next_reference(session, prefix=definition.prefix)
    contact.status = OPEN
    contact.submitted_at = now
    contact.updated_at = now
    for routed_to in routed:
        session.add(
            ContactInvolvement(
                contact_id=contact.id,
                contact_type=definition.code,
                party_id=routed_to.party_id,
                role=routed_to.role.value,
                status=first.code,
                awaiting=first.awaits.value if first.awaits else None,
                respond_by=due,
                share=dict(routed_to.share),
                updated_at=now,
            )
        )
    session.flush()
    _event(
        session,
        contact=contact,
        actor=actor,
        action="submitted",
        now=now,
        to_status=first.code,
        changes={"reference": contact.reference, "respond_by": due.isoformat() if due else None},
    )
    _refresh_contacts(session, contact_ids=[contact.id], now=now)
    session.refresh(contact)
    record(
        session,
        actor=actor,
        action="contact.submitted",
        object_type="contact",
        object_id=str(contact.id),
        changes={"reference": contact.reference, "contact_type": definition.code},
        now=now,
    )
    _tell(
        session,
        definition=definition,
        contact=contact,
        party_ids=[r.party_id for r in routed],
        subject=f"{definition.title} {contact.reference} raised for you",
        lines=[
            f"{definition.title} contact {contact.reference} was submitted by"
            f" {_code(session, contact.raising_party_id)} and now awaits you:"
            f" {first.words}.",
            definition.summary(values),
            f"Respond by {_when(due)}." if due else "",
        ],
        now=now,
    )
    return contact


# ---------------------------------------------------------------- the workflow's steps


@dataclass(frozen=True)
class Action:
    """A step the actor may take now on one party's part of a contact."""

    involvement_id: int
    party_code: str
    action: str
    label: str
    needs_reason: bool
    to_words: str
    inputs: tuple[Field, ...] = ()


def _may_take(
    step: Step, *, actor: Actor, roles: frozenset[str], contact: Contact, part: ContactInvolvement
) -> bool:
    definition = contact_type(contact.contact_type)
    if step.by is Side.RAISER:
        return actor.party_id == contact.raising_party_id and bool(
            roles & {r.value for r in definition.raised_by}
        )
    if step.by is Side.INVOLVED:
        return actor.party_id == part.party_id and part.role in roles
    return actor.is_operator and (Role.OPERATOR.value in roles or actor.user_id is None)


def actions_for(session: Session, *, actor: Actor, contact: Contact) -> list[Action]:
    """Every step ``actor`` may take on ``contact`` now, per part (the portal's buttons)."""
    if contact.status != OPEN:
        return []
    definition = contact_type(contact.contact_type)
    roles = _user_roles(session, actor)
    parts = involvements(session, contact_id=contact.id)
    codes = parties.party_codes(session, ids={p.party_id for p in parts})
    return [
        Action(
            involvement_id=part.id,
            party_code=codes.get(part.party_id, "?"),
            action=step.action,
            label=step.label,
            needs_reason=step.needs_reason,
            to_words=definition.words(step.to_status),
            inputs=step.inputs,
        )
        for part in parts
        for step in definition.steps_from(part.status)
        if _may_take(step, actor=actor, roles=roles, contact=contact, part=part)
    ]


def act(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    action: str,
    reason: str = "",
    involvement_id: int | None = None,
    inputs: Mapping[str, Any] | None = None,
    now: datetime,
) -> Contact:
    """Take a step of the contact type's workflow on one party's part: ``involvement_id``, or
    the actor's own part, or the only part the step applies to, with the values the step takes
    (``inputs``, checked field by field). Refused with 409 when the workflow has no such step
    from the part's status now, and 403 when the step is another side's."""
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    if contact.status != OPEN:
        raise InvalidTransition(
            f"contact {contact.reference or contact.id} is {contact.status}; nothing awaits",
            code="contact_not_open",
        )
    definition = contact_type(contact.contact_type)
    parts = involvements(session, contact_id=contact.id)
    part = _part_for(
        parts, actor=actor, involvement_id=involvement_id, definition=definition, action=action
    )
    step = definition.step(part.status, action)
    if step is None:
        raise InvalidTransition(
            f"{definition.title} {contact.reference}: no step {action!r} while"
            f" {definition.words(part.status).lower()}",
            code="invalid_transition",
        )
    if not _may_take(
        step, actor=actor, roles=_user_roles(session, actor), contact=contact, part=part
    ):
        raise PermissionDenied(
            f"{step.label!r} is for the {step.by.value} side of this contact",
            code="not_your_step",
        )
    reason = reason.strip()
    if step.needs_reason and not reason:
        raise InvalidInput(
            f"{step.label!r} needs a reason",
            code="reason_required",
            details={"reason": "is required"},
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason is at most {MAX_REASON} characters", code="reason_too_long")
    given = _step_inputs(step, inputs or {})
    moved = _apply_step(
        session,
        definition=definition,
        step=step,
        where=ContactInvolvement.id == part.id,
        actor_name=actor.name,
        actor_party_id=actor.party_id,
        reason=reason,
        now=now,
        changes=given or None,
        inputs=given,
    )
    if not moved.count:
        raise InvalidTransition(
            f"{definition.title} {contact.reference} moved on meanwhile; nothing was changed",
            code="invalid_transition",
        )
    record(
        session,
        actor=actor,
        action=f"contact.{step.action}",
        object_type="contact",
        object_id=str(contact.id),
        changes={"involvement_id": part.id, "from": step.from_status, "to": step.to_status},
        now=now,
    )
    _tell_step(session, definition=definition, step=step, moved=moved, by=actor.name, now=now)
    session.refresh(contact)
    return contact


def _step_inputs(step: Step, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The values a step takes, each checked by its field; any other is refused."""
    try:
        return parse_fields(
            step.inputs, raw, complete=True, unknown=f"is not taken by the step {step.label!r}"
        )
    except FieldErrors as exc:
        raise _invalid(exc) from None


def _part_for(
    parts: Sequence[ContactInvolvement],
    *,
    actor: Actor,
    involvement_id: int | None,
    definition: ContactType,
    action: str,
) -> ContactInvolvement:
    if involvement_id is not None:
        for part in parts:
            if part.id == involvement_id:
                return part
        raise NotFound(f"the contact has no part {involvement_id}")
    own = [p for p in parts if p.party_id == actor.party_id]
    if len(own) == 1:
        return own[0]
    able = [p for p in parts if definition.step(p.status, action) is not None]
    if len(able) == 1:
        return able[0]
    if not able:
        return parts[0]  # refused as an invalid step below, in the part's own words
    raise InvalidInput(
        f"{action!r} applies to {len(able)} parties' parts: name one (involvement_id)",
        code="involvement_required",
    )


@dataclass
class Moved:
    """What one application of a step moved: how many parts, and for each party to be told
    (whoever the new status awaits; the raiser when the step finishes the part) how many of
    its contacts and the first of them."""

    count: int = 0
    told: dict[int, tuple[int, list[int]]] = field(default_factory=dict)


#: How many references a notification of many contacts names.
NAMED = 20


def _who_to_tell(
    session: Session,
    *,
    definition: ContactType,
    step: Step,
    guard: ColumnElement[bool],
    named_enough: Collection[int] = (),
) -> Moved:
    """How many parts ``guard`` selects, per party to be told, with the first contacts of each
    (not looked up for ``named_enough``: parties a sweep already has enough names for)."""
    part = ContactInvolvement
    awaits = definition.status(step.to_status).awaits
    target = part.party_id if awaits is Side.INVOLVED else Contact.raising_party_id

    def of(stmt: Any) -> Any:
        return (
            stmt if awaits is Side.INVOLVED else stmt.join(Contact, Contact.id == part.contact_id)
        )

    rows = session.execute(
        of(select(target, func.count()).select_from(part)).where(guard).group_by(target)
    ).all()
    moved = Moved(count=sum(n for _, n in rows))
    wanted = {party_id for party_id, _ in rows} - set(named_enough)
    named: dict[int, list[int]] = {party_id: [] for party_id in wanted}
    if wanted:
        # The first contacts of the batch, shared out: enough for a name list each, in one
        # read (a party with few in the batch may get fewer names; its count is exact).
        for party_id, contact_id in session.execute(
            of(select(target, part.contact_id).select_from(part))
            .where(guard, target.in_(sorted(wanted)))
            .order_by(part.id)
            .limit(NAMED * len(wanted) * 4)
        ):
            if len(named[party_id]) < NAMED:
                named[party_id].append(contact_id)
    moved.told = {party_id: (n, named.get(party_id, [])) for party_id, n in rows}
    if awaits is Side.OPERATOR and moved.count:
        first = sorted({c for _, ids in moved.told.values() for c in ids})[:NAMED]
        moved.told = {
            pid: (moved.count, first)
            for pid, roles in parties.party_role_lists(session).items()
            if Role.OPERATOR in roles
        }
    return moved


def _apply_step(
    session: Session,
    *,
    definition: ContactType,
    step: Step,
    where: ColumnElement[bool],
    actor_name: str,
    actor_party_id: int | None,
    reason: str,
    now: datetime,
    changes: Mapping[str, Any] | None = None,
    named_enough: Collection[int] = (),
    inputs: Mapping[str, Any] | None = None,
) -> Moved:
    """Move the parts ``where`` selects that are in the step's status to its next, as sets:
    one ``INSERT ... SELECT`` writes each part's history line, one ``UPDATE`` moves them and
    sets the deadline the step's window opens, one more brings their contacts' summaries
    (open or closed, next deadline, whose move) up to date. Parts no longer in the step's
    status are left as they are (on PostgreSQL the parts are locked first, so a person's step
    and the sweep's never both move one).

    The type's ``on_step`` hook then gets exactly the parts this call moved (read before the
    ``UPDATE``, by the same guard), so what it does (a posting to settlement) happens once per
    part moved, whether a person took the step or the sweep deemed it."""
    part = ContactInvolvement
    to = definition.status(step.to_status)
    due = (
        deadline_after(now, definition.windows[step.window])
        if step.window and to.awaits is not None
        else None
    )
    guard = and_(part.contact_type == definition.code, part.status == step.from_status, where)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(part.id).where(guard).order_by(part.id).with_for_update())
    moved = _who_to_tell(
        session, definition=definition, step=step, guard=guard, named_enough=named_enough
    )
    if not moved.count:
        return moved
    taken = _parts_moved(session, guard) if definition.on_step is not None else ()
    detail = {"respond_by": due.isoformat() if due else None, **(changes or {})}
    last_event = session.scalar(select(func.max(ContactEvent.id))) or 0
    session.execute(
        insert(ContactEvent).from_select(
            [
                "contact_id",
                "involvement_id",
                "at",
                "actor",
                "actor_party_id",
                "action",
                "from_status",
                "to_status",
                "changes",
                "reason",
            ],
            select(
                part.contact_id,
                part.id,
                literal(now, ContactEvent.__table__.c.at.type),
                literal(actor_name),
                literal(actor_party_id, ContactEvent.__table__.c.actor_party_id.type),
                literal(step.action),
                literal(step.from_status),
                literal(step.to_status),
                literal(detail, JSON()),
                literal(reason),
            ).where(guard),
        )
    )
    changed: dict[str, Any] = {"status": to.code, "respond_by": due, "updated_at": now}
    if definition.status(step.from_status).awaits != to.awaits:  # else its index stays as it is
        changed["awaiting"] = to.awaits.value if to.awaits else None
    session.execute(
        update(part).where(guard).values(changed).execution_options(synchronize_session=False)
    )
    _refresh_contacts(session, since_event=last_event, now=now)
    session.expire_all()
    if definition.on_step is not None and taken:
        definition.on_step(
            session,
            StepTaken(
                step=step,
                parts=taken,
                actor_name=actor_name,
                reason=reason,
                inputs=dict(inputs or {}),
                deemed=actor_party_id is None and actor_name == DEADLINE_ACTOR,
                now=now,
            ),
        )
    return moved


def _parts_moved(session: Session, guard: ColumnElement[bool]) -> tuple[PartMoved, ...]:
    part = ContactInvolvement
    rows = session.execute(
        select(
            part.id, part.contact_id, Contact.reference, part.party_id, part.share, Contact.values
        )
        .join(Contact, Contact.id == part.contact_id)
        .where(guard)
        .order_by(part.id)
    ).all()
    return tuple(
        PartMoved(
            involvement_id=i,
            contact_id=c,
            reference=ref or "",
            party_id=p,
            share=share or {},
            values=values or {},
        )
        for i, c, ref, p, share, values in rows
    )


#: A submitted contact's summary, recomputed from its parts in one aggregate each: open while
#: any part awaits someone (closed, with the time, once none does), the earliest open
#: deadline, whether any part awaits the raiser or the operator, and the status all parts
#: share (none when they differ). A row-value UPDATE (SQLite 3.15+, PostgreSQL 10+), so each
#: contact's parts are read once.
_SUMMARY = """
UPDATE contact SET (status, closed_at, next_due_at, awaiting_raiser, awaiting_operator,
                    headline_status, updated_at) = (
  SELECT CASE WHEN count(p.awaiting) > 0 THEN 'open' ELSE 'closed' END,
         CASE WHEN count(p.awaiting) > 0 THEN NULL ELSE coalesce(contact.closed_at, :now) END,
         min(CASE WHEN p.awaiting IS NOT NULL THEN p.respond_by END),
         coalesce(max(CASE WHEN p.awaiting = 'raiser' THEN 1 ELSE 0 END), 0) = 1,
         coalesce(max(CASE WHEN p.awaiting = 'operator' THEN 1 ELSE 0 END), 0) = 1,
         CASE WHEN min(p.status) = max(p.status) THEN min(p.status) END,
         :now
  FROM contact_involvement AS p WHERE p.contact_id = contact.id)
WHERE contact.status != 'draft' AND contact.id IN ({which})
"""
_SUMMARY_OF = text(_SUMMARY.format(which=":ids")).bindparams(
    bindparam("ids", expanding=True), bindparam("now", type_=UTCDateTime())
)
_SUMMARY_SINCE = text(
    _SUMMARY.format(which="SELECT e.contact_id FROM contact_event AS e WHERE e.id > :since")
).bindparams(bindparam("now", type_=UTCDateTime()))


def _refresh_contacts(
    session: Session, *, now: datetime, contact_ids: Sequence[int] = (), since_event: int = -1
) -> None:
    """Bring the summaries of ``contact_ids``, or of the contacts with history lines after
    ``since_event``, up to date with their parts."""
    if since_event >= 0:
        session.execute(_SUMMARY_SINCE, {"since": since_event, "now": now})
    elif contact_ids:
        session.execute(_SUMMARY_OF, {"ids": list(contact_ids), "now": now})


# ---------------------------------------------------------------- the deadline sweep


@dataclass
class SweepResult:
    """What one sweep applied: parts moved per (contact type, action)."""

    moved: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.moved.values())


def sweep(
    session: Session, *, now: datetime, batch: int = SWEEP_BATCH, limit: int | None = None
) -> SweepResult:
    """Apply every step that falls due at ``now``: for each contact type and each status its
    definition gives an expiry step for, every part in that status whose deadline has passed
    takes that step, exactly as a person's step (history, summary, notifications), in batches
    of ``batch``. Idempotent: a part it moved is no longer in the expiring status, so a
    second sweep at the same ``now`` finds nothing; a later ``now`` only finds what fell due
    since. Each affected party gets one notification per step, naming the references.

    With ``limit``, it stops once about that many parts moved (a whole batch more at most), so
    a caller may commit and call again: the worker keeps each transaction short that way."""
    result = SweepResult()
    told: dict[tuple[str, str, int], tuple[int, list[int]]] = {}
    part = ContactInvolvement
    postgres = session.get_bind().dialect.name == "postgresql"
    for definition in CONTACT_TYPES.values():
        for status, action in definition.on_expiry.items():
            step = definition.step(status, action)
            assert step is not None  # the definition checked itself
            due = and_(
                part.contact_type == definition.code,
                part.status == status,
                part.respond_by <= now,
            )
            while limit is None or result.total < limit:
                # The batch: the first parts due, in the index's order. Those moved before it
                # have left the status, so the scan reads just the batch.
                first_due = (
                    select(part.id).where(due).order_by(part.respond_by, part.id).limit(batch)
                )
                if postgres:
                    # Locked now (skipping any a person is moving this instant) and named by
                    # id, so every statement of the step sees the same parts.
                    ids = list(session.scalars(first_due.with_for_update(skip_locked=True)))
                    if not ids:
                        break
                    where: ColumnElement[bool] = part.id == any_(literal(ids, ARRAY(Integer())))
                else:
                    # SQLite: the sweep holds the write lock, so the batch cannot change
                    # between the step's statements.
                    where = part.id.in_(first_due.scalar_subquery())
                moved = _apply_step(
                    session,
                    definition=definition,
                    step=step,
                    where=where,
                    actor_name=DEADLINE_ACTOR,
                    actor_party_id=None,
                    reason="No response by the deadline: "
                    f"{step.label.lower()} is deemed, as the contact type provides.",
                    now=now,
                    changes={"deemed": True},
                    named_enough={
                        p
                        for (c, a, p), (_, n) in told.items()
                        if (c, a) == (definition.code, action) and len(n) >= NAMED
                    },
                )
                key = (definition.code, action)
                if moved.count:  # a type with nothing due is not in the result (nor the audit)
                    result.moved[key] = result.moved.get(key, 0) + moved.count
                for party_id, (n, first) in moved.told.items():
                    count, named = told.get((definition.code, action, party_id), (0, []))
                    told[(definition.code, action, party_id)] = (count + n, (named + first)[:NAMED])
                if moved.count < batch:
                    break
    for (code, action, party_id), (count, contact_ids) in told.items():
        definition = CONTACT_TYPES[code]
        step = next(s for s in definition.workflow if s.action == action)
        _tell_deemed(
            session,
            definition=definition,
            step=step,
            party_id=party_id,
            count=count,
            contact_ids=contact_ids,
            now=now,
        )
    for (code, action), count in result.moved.items():
        record(
            session,
            actor=Actor.system("worker"),
            action="contact.deadline_passed",
            object_type="contact_type",
            object_id=code,
            changes={"action": action, "parts": count},
            now=now,
        )
    return result


# ---------------------------------------------------------------- telling the parties


def _code(session: Session, party_id: int) -> str:
    return parties.party_codes(session, ids={party_id}).get(party_id, "?")


def _when(at: datetime | None) -> str:
    """A deadline as people say it: the last business day it includes."""
    if at is None:
        return ""
    return f"the end of {last_day(at):%a %d %b %Y}"


def last_day(at: datetime) -> date:
    """The last UK day a deadline (midnight UK time at its end) includes."""
    return (at.astimezone(UK_TIME) - timedelta(microseconds=1)).date()


def _tell(
    session: Session,
    *,
    definition: ContactType,
    contact: Contact,
    party_ids: Iterable[int],
    subject: str,
    lines: Sequence[str],
    now: datetime,
) -> None:
    body = "\n".join(line for line in lines if line)
    for party_id in sorted(set(party_ids)):
        notifications.notify(
            session,
            party_id=party_id,
            kind=f"contact.{definition.code.lower()}",
            subject=subject,
            body=body,
            link=f"/portal/contacts/{contact.id}",
            now=now,
        )


def _tell_step(
    session: Session,
    *,
    definition: ContactType,
    step: Step,
    moved: Moved,
    by: str,
    now: datetime,
) -> None:
    """Tell whoever a person's step now awaits; when it finishes a part, the raiser."""
    to = definition.status(step.to_status)
    for party_id, (_, contact_ids) in moved.told.items():
        for contact_id in contact_ids:
            contact = session.get(Contact, contact_id)
            assert contact is not None
            due = next(
                (
                    p.respond_by
                    for p in involvements(session, contact_id=contact_id)
                    if p.status == to.code and p.awaiting
                ),
                None,
            )
            _tell(
                session,
                definition=definition,
                contact=contact,
                party_ids=[party_id],
                subject=f"{definition.title} {contact.reference}: {to.words}",
                lines=[
                    f"{by} took the step {step.label!r} on {definition.title} contact"
                    f" {contact.reference}: it is now {to.words.lower()}.",
                    f"Respond by {_when(due)}." if due and to.awaits else "",
                ],
                now=now,
            )


def _tell_deemed(
    session: Session,
    *,
    definition: ContactType,
    step: Step,
    party_id: int,
    count: int,
    contact_ids: Sequence[int],
    now: datetime,
) -> None:
    to = definition.status(step.to_status)
    refs = list(
        session.scalars(
            select(Contact.reference).where(Contact.id.in_(contact_ids)).order_by(Contact.id)
        )
    )
    more = count - len(refs)
    subject = (
        f"{definition.title} {refs[0]}: deadline passed, {to.words.lower()}"
        if count == 1
        else f"{count} {definition.title} contacts passed their deadline"
    )
    body = "\n".join(
        [
            f"No response came by the deadline, so {step.label.lower()!r} was applied as the"
            f" contact type provides; now {to.words.lower()}:",
            ", ".join(r for r in refs if r) + (f" and {more:,} more" if more > 0 else ""),
        ]
    )
    notifications.notify(
        session,
        party_id=party_id,
        kind=f"contact.{definition.code.lower()}",
        subject=subject,
        body=body,
        link=f"/portal/contacts/{contact_ids[0]}" if count == 1 else "/portal/contacts",
        now=now,
    )


# ---------------------------------------------------------------- picking up, notes, files


def pick_up(session: Session, *, actor: Actor, contact_id: int, now: datetime) -> Contact:
    """Take the contact for the actor's organisation: the queue shows who has it. Any user of a
    party of the contact may pick it up, taking it over from a colleague."""
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    if actor.user_id is None or actor.party_id is None:
        raise PermissionDenied("a contact is picked up by a user", code="no_user")
    handler = session.scalar(
        select(ContactHandler).where(
            ContactHandler.contact_id == contact.id, ContactHandler.party_id == actor.party_id
        )
    )
    before = handler.username if handler else None
    if handler is None:
        handler = ContactHandler(contact_id=contact.id, party_id=actor.party_id)
        session.add(handler)
    elif handler.user_id == actor.user_id:
        return contact
    handler.user_id = actor.user_id
    handler.username = actor.name
    handler.picked_at = now
    _event(
        session,
        contact=contact,
        actor=actor,
        action="picked_up",
        now=now,
        changes={"handler": actor.name, "previously": before},
    )
    session.flush()
    return contact


def add_note(
    session: Session, *, actor: Actor, contact_id: int, text: str, now: datetime
) -> ContactNote:
    """A note every party of the contact reads, in its history too."""
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    party_id = _party_of(actor)
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise InvalidInput(f"a note is 1 to {MAX_NOTE} characters", code="bad_note")
    note = ContactNote(
        contact_id=contact.id, party_id=party_id, author=actor.name, at=now, text=text
    )
    session.add(note)
    _event(session, contact=contact, actor=actor, action="note_added", now=now)
    session.flush()
    return note


def add_attachment(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    filename: str,
    content_type: str,
    data: bytes,
    now: datetime,
) -> ContactAttachment:
    """Attach evidence: at most ``attachments.MAX_BYTES``, of a type the hub accepts whose
    content is what it claims (a "PDF" must start as one)."""
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    party_id = _party_of(actor)
    name, kind = files.check(filename=filename, content_type=content_type, data=data)
    attachment = ContactAttachment(
        contact_id=contact.id,
        party_id=party_id,
        uploaded_by=actor.name,
        at=now,
        filename=name,
        content_type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
    session.add(attachment)
    session.flush()
    _event(
        session,
        contact=contact,
        actor=actor,
        action="attachment_added",
        now=now,
        changes={"filename": name, "size": len(data), "content_type": kind},
    )
    return attachment


def attachment(
    session: Session, *, actor: Actor, attachment_id: int, contact_id: int | None = None
) -> ContactAttachment:
    """One attachment of a contact the actor may see (of ``contact_id``, when given); any
    other is a 404."""
    found = (
        session.get(ContactAttachment, attachment_id) if 1 <= attachment_id <= MAX_ROW_ID else None
    )
    if found is None or (contact_id is not None and found.contact_id != contact_id):
        raise NotFound(f"there is no attachment {attachment_id}")
    try:
        get_contact(session, actor=actor, contact_id=found.contact_id)
    except NotFound:
        raise NotFound(f"there is no attachment {attachment_id}") from None
    return found


# ---------------------------------------------------------------- a contact's page


@dataclass(frozen=True)
class PartView:
    id: int
    party_code: str
    role: str
    status: str
    status_words: str
    awaiting: str | None
    respond_by: datetime | None
    overdue: bool
    share: Mapping[str, Any]
    share_words: str = ""


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    party_code: str | None
    action: str
    from_words: str | None
    to_words: str | None
    changes: Mapping[str, Any]
    reason: str


@dataclass(frozen=True)
class ValueView:
    name: str
    label: str
    value: Any
    shown: str


@dataclass(frozen=True)
class ContactView:
    """Everything a party of the contact reads on its page."""

    contact: Contact
    definition: ContactType
    raising_party_code: str
    status_words: str
    values: list[ValueView]
    parts: list[PartView]
    events: list[EventView]
    notes: list[ContactNote]
    attachments: list[ContactAttachment]
    handlers: dict[str, str]
    actions: list[Action]
    mine: bool  # raised by the actor's organisation
    my_handler: str | None


def status_words(definition: ContactType, contact: Contact, *, parts: int | None = None) -> str:
    """The contact's status in words: a draft, the status its parts share, or, when parts
    differ (a theft claim some shippers answered), that each party is at its own step."""
    if contact.status == DRAFT:
        return DRAFT_WORDS
    if contact.headline_status:
        return definition.words(contact.headline_status)
    return "Closed" if contact.status == CLOSED else "In progress: each party at its own step"


def view(session: Session, *, actor: Actor, contact_id: int, now: datetime) -> ContactView:
    contact = get_contact(session, actor=actor, contact_id=contact_id)
    definition = contact_type(contact.contact_type)
    parts = involvements(session, contact_id=contact.id)
    events = list(
        session.scalars(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact.id)
            .order_by(ContactEvent.id)
        )
    )
    handlers = list(
        session.scalars(select(ContactHandler).where(ContactHandler.contact_id == contact.id))
    )
    ids = {contact.raising_party_id, *(p.party_id for p in parts), *(h.party_id for h in handlers)}
    ids |= {e.actor_party_id for e in events if e.actor_party_id is not None}
    codes = parties.party_codes(session, ids=ids)
    notes = list(
        session.scalars(
            select(ContactNote).where(ContactNote.contact_id == contact.id).order_by(ContactNote.id)
        )
    )
    attached = list(
        session.scalars(
            select(ContactAttachment)
            .where(ContactAttachment.contact_id == contact.id)
            .order_by(ContactAttachment.id)
        )
    )
    return ContactView(
        contact=contact,
        definition=definition,
        raising_party_code=codes.get(contact.raising_party_id, "?"),
        status_words=status_words(definition, contact),
        values=[
            ValueView(
                f.name, f.label, contact.values.get(f.name), f.shown(contact.values.get(f.name))
            )
            for f in definition.fields
        ],
        parts=[
            PartView(
                id=p.id,
                party_code=codes.get(p.party_id, "?"),
                role=p.role,
                status=p.status,
                status_words=definition.words(p.status),
                awaiting=p.awaiting,
                respond_by=p.respond_by,
                overdue=p.awaiting is not None and p.respond_by is not None and p.respond_by <= now,
                share=p.share,
                share_words=definition.share_words(p.share)
                if definition.share_words and p.share
                else "",
            )
            for p in parts
        ],
        events=[
            EventView(
                at=e.at,
                actor=e.actor,
                party_code=codes.get(e.actor_party_id) if e.actor_party_id else None,
                action=e.action,
                from_words=definition.words(e.from_status) if e.from_status else None,
                to_words=definition.words(e.to_status) if e.to_status else None,
                changes=e.changes,
                reason=e.reason,
            )
            for e in events
        ],
        notes=notes,
        attachments=attached,
        handlers={codes.get(h.party_id, "?"): h.username for h in handlers},
        actions=actions_for(session, actor=actor, contact=contact),
        mine=contact.raising_party_id == actor.party_id,
        my_handler=next((h.username for h in handlers if h.party_id == actor.party_id), None),
    )
