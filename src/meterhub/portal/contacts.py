"""``/portal/contacts``: the Contact Management Service's pages. The organisation's work queues,
the contact form (save a draft, submit it), and a contact's page with its parts, the steps the
user may take, notes, attachments and its history.

Every page calls ``contacts.service`` and ``contacts.queues`` as the logged-in user, so a
contact the user's party is not part of is the portal's 404 page, as in the API. Plain forms
with the CSRF token: no JavaScript needed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.contacts import attachments as files
from meterhub.contacts import queues, service
from meterhub.contacts.catalogue import CONTACT_TYPES, contact_type
from meterhub.contacts.definitions import ContactType
from meterhub.db.session import begin_write
from meterhub.errors import InvalidInput
from meterhub.portal.sessions import WebSession, check_csrf
from meterhub.portal.web import (
    CurrentUser,
    CurrentWebSession,
    PortalUser,
    portal_now,
    redirect,
    render,
)

router = APIRouter()

CONTACTS_PATH = "/portal/contacts"
PAGE_SIZE = 25
#: Form fields of a contact type are sent as ``f_<name>``, apart from the form's own fields.
PREFIX = "f_"


def _raisable(me: PortalUser) -> list[ContactType]:
    """The contact types this user may raise (by the roles it acts in)."""
    roles = {role for role, _ in me.roles}
    return [d for d in CONTACT_TYPES.values() if roles & {r.value for r in d.raised_by}]


def _digits(raw: str, what: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidInput(f"{what} must be a number", code="bad_number")
    return int(raw)


@router.get("/contacts")
def queue_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One of the organisation's work queues, filtered and sorted, a page at a time."""
    q = request.query_params
    name = q.get("queue") or "new"
    sort = q.get("sort") or ("-updated" if name in ("closed", "drafts") else "due")
    flt = queues.QueueFilter(
        contact_type=q.get("type") or None,
        reference=(q.get("reference") or "").strip()[:24] or None,
        status=q.get("status") or None,
    )
    now = portal_now(request)
    page = queues.queue(
        db,
        actor=me.actor,
        name=name,
        now=now,
        flt=flt,
        sort=sort,
        cursor=q.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    kept = {
        k: v
        for k, v in {
            "queue": name,
            "type": flt.contact_type or "",
            "reference": flt.reference or "",
            "status": flt.status or "",
            "sort": sort,
        }.items()
        if v
    }
    statuses = sorted(
        {(s.code, s.words) for d in CONTACT_TYPES.values() for s in d.statuses},
        key=lambda s: s[1],
    )
    return render(
        request,
        "contacts.html",
        {
            "nav": "contacts",
            "queue": name,
            "queues": queues.QUEUES,
            "counts": queues.counts(db, actor=me.actor, now=now),
            "rows": page.rows,
            "flt": flt,
            "sort": sort,
            "sorts": queues.SORTS,
            "types": list(CONTACT_TYPES.values()),
            "statuses": statuses,
            "raisable": _raisable(me),
            "last_day": service.last_day,
            "back": f"{CONTACTS_PATH}?{urlencode(kept)}",
            "next_url": f"{CONTACTS_PATH}?{urlencode({**kept, 'cursor': page.next_cursor})}"
            if page.next_cursor
            else "",
        },
    )


def _form_page(
    request: Request,
    *,
    definition: ContactType,
    values: dict[str, Any],
    errors: dict[str, str],
    contact_id: int | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "contact_form.html",
        {
            "nav": "contacts",
            "definition": definition,
            "values": values,
            "errors": errors,
            "contact_id": contact_id,
            "prefix": PREFIX,
        },
        status_code=status_code,
    )


@router.get("/contacts/new")
def new_form(request: Request, me: CurrentUser) -> Response:
    """An empty form of the chosen contact type (``?type=TOG``)."""
    raisable = _raisable(me)
    code = request.query_params.get("type") or (raisable[0].code if raisable else "")
    definition = contact_type(code)
    return _form_page(request, definition=definition, values={}, errors={}, contact_id=None)


@router.get("/contacts/{contact_id}/edit")
def edit_form(request: Request, db: DbSession, me: CurrentUser, contact_id: int) -> Response:
    """A draft of the organisation's, in its form."""
    v = service.view(db, actor=me.actor, contact_id=contact_id, now=portal_now(request))
    if not v.mine or v.contact.status != service.DRAFT:
        return redirect(request, f"{CONTACTS_PATH}/{contact_id}")
    return _form_page(
        request,
        definition=v.definition,
        values=dict(v.contact.values),
        errors={},
        contact_id=contact_id,
    )


async def _save(
    request: Request, db: Session, me: PortalUser, web: WebSession, contact_id: int | None
) -> Response:
    """Save the form as a draft; with ``intent=submit`` also submit it. A draft is kept even
    when its submit is refused, and the form comes back with each field's reason."""
    form = await request.form()
    check_csrf(web, str(form.get("csrf_token") or ""))
    definition = contact_type(str(form.get("contact_type") or ""))
    values = {f.name: str(form.get(PREFIX + f.name) or "") for f in definition.fields}
    now = portal_now(request)

    def refused(exc: InvalidInput, kept: int | None) -> Response:
        if exc.code != "invalid_contact" or not isinstance(exc.details, dict):
            raise exc
        return _form_page(
            request,
            definition=definition,
            values=values,
            errors=exc.details,
            contact_id=kept,
            status_code=422,
        )

    def save() -> int:
        return service.save_draft(
            db,
            actor=me.actor,
            contact_type_code=definition.code,
            values=values,
            contact_id=contact_id,
            now=now,
        ).id

    try:
        saved = await run_in_threadpool(save)
    except InvalidInput as exc:
        return refused(exc, contact_id)
    if form.get("intent") == "submit":

        def submit() -> None:
            db.commit()  # the draft stays saved whatever the submit's checks say
            begin_write(db)
            service.submit(db, actor=me.actor, contact_id=saved, now=now)

        try:
            await run_in_threadpool(submit)
        except InvalidInput as exc:
            await run_in_threadpool(db.rollback)
            return refused(exc, saved)
    return redirect(request, f"{CONTACTS_PATH}/{saved}")


@router.post("/contacts/new")
async def create(
    request: Request, db: DbSession, me: CurrentUser, web: CurrentWebSession
) -> Response:
    """Save the form as a draft, or save and submit it (``intent=submit``)."""
    return await _save(request, db, me, web, None)


@router.post("/contacts/{contact_id}/edit")
async def change(
    request: Request, db: DbSession, me: CurrentUser, web: CurrentWebSession, contact_id: int
) -> Response:
    """Save the draft's changes, or save and submit it."""
    return await _save(request, db, me, web, contact_id)


@router.get("/contacts/attachments/{attachment_id}")
def download(request: Request, db: DbSession, me: CurrentUser, attachment_id: int) -> Response:
    """An attachment of a contact the user's party is part of, as a download."""
    found = service.attachment(db, actor=me.actor, attachment_id=attachment_id)
    return Response(
        content=found.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, db: DbSession, me: CurrentUser, contact_id: int) -> Response:
    """A contact: its values, each party's part, the steps the user may take, notes,
    attachments and every event of its history."""
    v = service.view(db, actor=me.actor, contact_id=contact_id, now=portal_now(request))
    return render(
        request,
        "contact.html",
        {
            "nav": "contacts",
            "v": v,
            "last_day": service.last_day,
            "max_kib": files.MAX_BYTES // 1024,
            "accepted": ", ".join(sorted(files.ACCEPTED)),
            "is_draft": v.contact.status == service.DRAFT,
        },
    )


@router.post("/contacts/{contact_id}/submit")
def submit(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    web: CurrentWebSession,
    contact_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(web, csrf_token)
    service.submit(db, actor=me.actor, contact_id=contact_id, now=portal_now(request))
    return redirect(request, f"{CONTACTS_PATH}/{contact_id}")


@router.post("/contacts/{contact_id}/act")
async def act(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    web: CurrentWebSession,
    contact_id: int,
) -> Response:
    """Take one of the steps the contact's page offers, with the values the step takes (sent
    as ``f_<name>``: the operator's amended energy)."""
    form = await request.form()

    def text_of(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    check_csrf(web, text_of("csrf_token"))
    involvement_id = text_of("involvement_id")
    inputs = {
        key[len(PREFIX) :]: value
        for key, value in form.multi_items()
        if key.startswith(PREFIX) and isinstance(value, str)
    }

    def take() -> None:
        service.act(
            db,
            actor=me.actor,
            contact_id=contact_id,
            action=text_of("action"),
            reason=text_of("reason"),
            involvement_id=_digits(involvement_id, "involvement") if involvement_id else None,
            inputs=inputs,
            now=portal_now(request),
        )

    await run_in_threadpool(take)
    return redirect(request, f"{CONTACTS_PATH}/{contact_id}")


@router.post("/contacts/{contact_id}/pick-up")
def pick_up(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    web: CurrentWebSession,
    contact_id: int,
    back: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Take the contact for yourself; back to the queue it was picked from, or its page."""
    check_csrf(web, csrf_token)
    service.pick_up(db, actor=me.actor, contact_id=contact_id, now=portal_now(request))
    target = back if back.startswith(CONTACTS_PATH + "?") else f"{CONTACTS_PATH}/{contact_id}"
    return redirect(request, target)


@router.post("/contacts/{contact_id}/notes")
def add_note(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    web: CurrentWebSession,
    contact_id: int,
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(web, csrf_token)
    service.add_note(db, actor=me.actor, contact_id=contact_id, text=text, now=portal_now(request))
    return redirect(request, f"{CONTACTS_PATH}/{contact_id}#notes")


@router.post("/contacts/{contact_id}/attachments")
async def add_attachment(
    request: Request, db: DbSession, me: CurrentUser, web: CurrentWebSession, contact_id: int
) -> Response:
    """Attach a file (multipart form)."""
    form = await request.form()
    check_csrf(web, str(form.get("csrf_token") or ""))
    await run_in_threadpool(lambda: service.get_contact(db, actor=me.actor, contact_id=contact_id))
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("choose a file to attach", code="no_file")
    data = await upload.read(files.MAX_BYTES + 1)
    now = portal_now(request)
    await run_in_threadpool(
        lambda: service.add_attachment(
            db,
            actor=me.actor,
            contact_id=contact_id,
            filename=upload.filename or "",
            content_type=upload.content_type or "",
            data=data,
            now=now,
        )
    )
    return redirect(request, f"{CONTACTS_PATH}/{contact_id}#attachments")
