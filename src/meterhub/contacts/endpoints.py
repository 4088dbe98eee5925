"""``/api/v1/contacts``: the Contact Management Service's API, and ``/api/v1/contact-types``,
the definitions its forms and workflows follow. A contact your party is not part of is a 404."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.audit.service import Actor
from meterhub.contacts import attachments as files
from meterhub.contacts import queues, service
from meterhub.contacts.catalogue import CONTACT_TYPES
from meterhub.contacts.definitions import ContactType, Field
from meterhub.contacts.models import ContactAttachment, ContactNote
from meterhub.contacts.schemas import (
    ActionIn,
    ActionOut,
    AttachmentOut,
    ContactOut,
    ContactTypeOut,
    DraftChange,
    DraftIn,
    EventOut,
    FieldOut,
    NoteIn,
    NoteOut,
    PartOut,
    QueueCountsOut,
    QueuePageOut,
    QueueRowOut,
    StatusOut,
    StepOut,
)
from meterhub.kit.clock import utcnow

router = APIRouter(tags=["contacts"])

QueueName = Literal["new", "awaiting_us", "awaiting_others", "overdue", "closed", "drafts", "all"]
SortName = Literal["due", "-updated", "-created", "reference"]


def field_out(f: Field) -> FieldOut:
    return FieldOut(
        name=f.name,
        label=f.label,
        kind=f.kind.value,
        required=f.required,
        max_length=f.max_length,
        choices=dict(f.choices),
        minimum=f.minimum,
        maximum=f.maximum,
        help=f.help,
    )


def type_out(d: ContactType) -> ContactTypeOut:
    return ContactTypeOut(
        code=d.code,
        title=d.title,
        description=d.description,
        reference_prefix=d.prefix,
        raised_by=sorted(r.value for r in d.raised_by),
        fields=[field_out(f) for f in d.fields],
        statuses=[
            StatusOut(code=s.code, words=s.words, awaits=s.awaits.value if s.awaits else None)
            for s in d.statuses
        ],
        initial_status=d.initial_status,
        workflow=[
            StepOut(
                action=s.action,
                label=s.label,
                from_status=s.from_status,
                to_status=s.to_status,
                by=s.by.value,
                needs_reason=s.needs_reason,
                window=s.window,
                inputs=[field_out(f) for f in s.inputs],
            )
            for s in d.workflow
        ],
        windows=dict(d.windows),
        on_expiry=dict(d.on_expiry),
    )


def note_out(n: ContactNote) -> NoteOut:
    return NoteOut(id=n.id, author=n.author, at=n.at, text=n.text)


def attachment_out(a: ContactAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        uploaded_by=a.uploaded_by,
        at=a.at,
    )


def contact_out(session: Session, actor: Actor, contact_id: int) -> ContactOut:
    v = service.view(session, actor=actor, contact_id=contact_id, now=utcnow())
    c = v.contact
    return ContactOut(
        id=c.id,
        reference=c.reference,
        contact_type=c.contact_type,
        type_title=v.definition.title,
        status=c.status,
        status_words=v.status_words,
        raised_by=v.raising_party_code,
        values=dict(c.values),
        parts=[
            PartOut(
                id=p.id,
                party=p.party_code,
                role=p.role,
                status=p.status,
                status_words=p.status_words,
                awaiting=p.awaiting,
                respond_by=p.respond_by,
                overdue=p.overdue,
                share=dict(p.share),
                share_words=p.share_words,
            )
            for p in v.parts
        ],
        history=[
            EventOut(
                at=e.at,
                actor=e.actor,
                party=e.party_code,
                action=e.action,
                from_status=e.from_words,
                to_status=e.to_words,
                changes=dict(e.changes),
                reason=e.reason,
            )
            for e in v.events
        ],
        notes=[note_out(n) for n in v.notes],
        attachments=[attachment_out(a) for a in v.attachments],
        handlers=v.handlers,
        actions=[
            ActionOut(
                involvement_id=a.involvement_id,
                party=a.party_code,
                action=a.action,
                label=a.label,
                needs_reason=a.needs_reason,
                leads_to=a.to_words,
                takes=[f.name for f in a.inputs],
            )
            for a in v.actions
        ],
        created_at=c.created_at,
        submitted_at=c.submitted_at,
        closed_at=c.closed_at,
    )


@router.get("/contact-types", response_model=list[ContactTypeOut])
def list_contact_types(actor: CurrentActor) -> list[ContactTypeOut]:
    """Every contact type: its form, who may raise it, its workflow table and its response
    windows (GB business days)."""
    return [type_out(d) for d in CONTACT_TYPES.values()]


@router.get("/contacts", response_model=QueuePageOut, responses=refusals(404))
def list_contacts(
    session: DbSession,
    actor: CurrentActor,
    queue: QueueName = Query(default="all", description="Which work queue"),
    contact_type: str | None = Query(default=None, alias="type", max_length=8),
    reference: str | None = Query(default=None, max_length=24, description="Reference starts"),
    status: str | None = Query(default=None, max_length=32, description="A status code"),
    sort: SortName = Query(default="due"),
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
) -> QueuePageOut:
    """Your organisation's work queue: new for you, awaiting you, awaiting others, overdue,
    closed, your drafts, or all; filtered and sorted, a page at a time."""
    page = queues.queue(
        session,
        actor=actor,
        name=queue,
        now=utcnow(),
        flt=queues.QueueFilter(contact_type=contact_type, reference=reference, status=status),
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    return QueuePageOut(
        queue=page.queue,
        items=[
            QueueRowOut(
                id=r.contact_id,
                reference=r.reference,
                contact_type=r.contact_type,
                type_title=r.type_title,
                status_words=r.status_words,
                raised_by=r.raised_by,
                summary=r.summary,
                respond_by=r.due,
                overdue=r.overdue,
                awaiting_you=r.awaiting_us,
                handler=r.handler,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in page.rows
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/contact-queues", response_model=QueueCountsOut, responses=refusals(404))
def queue_counts(session: DbSession, actor: CurrentActor) -> QueueCountsOut:
    """How many contacts each of your organisation's queues holds."""
    return QueueCountsOut(counts=queues.counts(session, actor=actor, now=utcnow()))


@router.post(
    "/contacts",
    response_model=ContactOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404)},
)
def save_draft(body: DraftIn, session: DbSession, actor: CurrentActor) -> ContactOut:
    """Save a new contact as a draft on your organisation's queue (no reference yet)."""
    contact = service.save_draft(
        session, actor=actor, contact_type_code=body.contact_type, values=body.values, now=utcnow()
    )
    return contact_out(session, actor, contact.id)


@router.get("/contacts/{contact_id}", response_model=ContactOut, responses=refusals(404))
def get_contact(contact_id: RowId, session: DbSession, actor: CurrentActor) -> ContactOut:
    """A contact with its parts, history, notes, attachments and the steps you may take."""
    return contact_out(session, actor, contact_id)


@router.put(
    "/contacts/{contact_id}",
    response_model=ContactOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def change_draft(
    contact_id: RowId, body: DraftChange, session: DbSession, actor: CurrentActor
) -> ContactOut:
    """Change a draft of your organisation's (a submitted contact is no longer a draft: 409)."""
    contact = service.get_contact(session, actor=actor, contact_id=contact_id)
    service.save_draft(
        session,
        actor=actor,
        contact_type_code=contact.contact_type,
        values=body.values,
        contact_id=contact_id,
        now=utcnow(),
    )
    return contact_out(session, actor, contact_id)


@router.post(
    "/contacts/{contact_id}/submit",
    response_model=ContactOut,
    responses=refusals(403, 404, 409),
)
def submit(contact_id: RowId, session: DbSession, actor: CurrentActor) -> ContactOut:
    """Submit a draft: it is checked in full, gets its contact reference and goes to the
    parties it involves. A refusal names each field and why."""
    service.submit(session, actor=actor, contact_id=contact_id, now=utcnow())
    return contact_out(session, actor, contact_id)


@router.post(
    "/contacts/{contact_id}/actions",
    response_model=ContactOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def act(contact_id: RowId, body: ActionIn, session: DbSession, actor: CurrentActor) -> ContactOut:
    """Take a step of the contact type's workflow (``actions`` of the contact lists yours),
    with the values the step takes: a shipper accepts or disputes its Supplier Theft of Gas
    share; the operator resolves a dispute (uphold, amend with ``amended_kwh``, withdraw)."""
    service.act(
        session,
        actor=actor,
        contact_id=contact_id,
        action=body.action,
        reason=body.reason,
        involvement_id=body.involvement_id,
        inputs=body.values,
        now=utcnow(),
    )
    return contact_out(session, actor, contact_id)


@router.post(
    "/contacts/{contact_id}/pick-up",
    response_model=ContactOut,
    responses=refusals(403, 404),
)
def pick_up(contact_id: RowId, session: DbSession, actor: CurrentActor) -> ContactOut:
    """Take the contact for yourself in your organisation's queue (from a colleague, too)."""
    service.pick_up(session, actor=actor, contact_id=contact_id, now=utcnow())
    return contact_out(session, actor, contact_id)


@router.post(
    "/contacts/{contact_id}/notes",
    response_model=NoteOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404)},
)
def add_note(contact_id: RowId, body: NoteIn, session: DbSession, actor: CurrentActor) -> NoteOut:
    """A note every party of the contact reads."""
    return note_out(
        service.add_note(session, actor=actor, contact_id=contact_id, text=body.text, now=utcnow())
    )


@router.post(
    "/contacts/{contact_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    responses=refusals(403, 404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file's bytes",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def add_attachment(
    contact_id: RowId,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    filename: str = Query(min_length=1, max_length=files.MAX_NAME, description="The file's name"),
    content_type: str = Query(
        max_length=100,
        description="What the file is: application/pdf, image/png, image/jpeg, "
        "text/plain or text/csv (its bytes must bear it out)",
    ),
) -> AttachmentOut:
    """Attach evidence: the file as the body (at most 768 KiB)."""
    data = await request.body()
    added = await run_in_threadpool(
        lambda: service.add_attachment(
            session,
            actor=actor,
            contact_id=contact_id,
            filename=filename,
            content_type=content_type,
            data=data,
            now=utcnow(),
        )
    )
    return attachment_out(added)


@router.get(
    "/contacts/{contact_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "The file, as it was attached",
        },
        **refusals(404),
    },
)
def download_attachment(
    contact_id: RowId, attachment_id: RowId, session: DbSession, actor: CurrentActor
) -> Response:
    """An attachment's bytes, always as a download (its checked type is in the contact)."""
    found = service.attachment(
        session, actor=actor, contact_id=contact_id, attachment_id=attachment_id
    )
    return Response(
        content=found.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
