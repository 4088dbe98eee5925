"""``/api/v1/duis``: DUIS XML in, acknowledgement or error out; JSON and batch forms; polling
for responses and alerts; the user's callback URL.

The acknowledgement is only sent after the request is committed (nothing acknowledged is lost).
A refusal carries its DUIS response code in the XML and in ``X-DUIS-Response-Code``, the reason
in ``X-DUIS-Reason``, and an HTTP status by code (``service.http_status_for``): 400 for E65
(malformed, schema-invalid, body rules, a replayed or lower counter), 403 access, 404 unknown
device, 409 device status, 422 the rest.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.api.deps import CurrentUser, DbSession, authorization_of
from meterhub.errors import NotFound
from meterhub.gateway import intake, service
from meterhub.gateway.models import Callback, OutboundMessage, ServiceRequest
from meterhub.gateway.runtime import GatewayRuntime
from meterhub.gateway.schemas import (
    BatchIn,
    BatchOut,
    CallbackIn,
    CallbackOut,
    DuisJsonRequest,
    MessageOut,
    MessagesOut,
    RequestStatusOut,
    SubmissionOut,
)
from meterhub.gateway.xml import DuisRejected, request_to_xml
from meterhub.kit.clock import utcnow
from meterhub.parties.models import User
from meterhub.parties.service import ApiUser

router = APIRouter(prefix="/duis", tags=["duis"])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.gateway
    return runtime


def _submit_json(
    session: Session, runtime: GatewayRuntime, user: User, body: DuisJsonRequest
) -> service.Submission:
    """Store a JSON-form request in the caller's transaction (already holding the write lock)."""
    try:
        raw = request_to_xml(body.model_dump())
    except DuisRejected as rejected:
        return service.rejected_submission(
            session, user=user, rejected=rejected, raw=body.model_dump_json().encode(), now=utcnow()
        )
    return intake.store(session, runtime, ApiUser.of(user), raw, intake.parse(runtime, raw))


def _locked(session: Session) -> None:
    """End the authentication read and take the write lock for the submissions that follow."""
    session.commit()
    service.lock_for_submission(session)


def _out(sub: service.Submission) -> SubmissionOut:
    return SubmissionOut(
        request_id=sub.request.request_id,
        accepted=sub.accepted,
        response_code=sub.code,
        reason=sub.request.refusal_reason,
        xml=sub.reply_xml.decode(),
    )


@router.post(
    "",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "I99 acknowledgement"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
        },
        "security": [{"HTTPBearer": []}],
    },
)
async def submit_xml(request: Request) -> Response:
    """Send one DUIS 5.4 ``Request``; get the ``Response`` (I99 or an error code) back.

    The acknowledgement leaves only after the commit that stores the request. In a running app
    ``gateway.intake.DuisFastPath`` answers this path before the framework routes it; this route
    does the same work (``handle_duis_xml``) when the app is built without that middleware.
    """
    raw = await request.body()
    reply = await intake.handle_duis_xml(
        _runtime(request), request.app.state.duis_intake, authorization_of(request), raw
    )
    return Response(
        reply.body,
        status_code=reply.status,
        headers={k.decode(): v.decode() for k, v in reply.headers if k != b"content-type"},
        media_type="application/xml",
    )


@router.post("/json", response_model=SubmissionOut)
def submit_json(
    body: DuisJsonRequest, request: Request, session: DbSession, user: CurrentUser
) -> SubmissionOut:
    """The same request as JSON; answered with the same DUIS XML inside a JSON envelope."""
    runtime = _runtime(request)
    with runtime.writing():
        _locked(session)
        sub = _submit_json(session, runtime, user, body)
        session.commit()
    return _out(sub)


@router.post("/batch", response_model=BatchOut)
def submit_batch(
    body: BatchIn, request: Request, session: DbSession, user: CurrentUser
) -> BatchOut:
    """Many requests at once, each with its own result, in order."""
    runtime = _runtime(request)
    results = []
    with runtime.writing():
        _locked(session)
        for item in body.requests:
            with session.begin_nested():
                results.append(_out(_submit_json(session, runtime, user, item)))
        session.commit()
    return BatchOut(results=results)


def _message_out(m: OutboundMessage) -> MessageOut:
    return MessageOut(
        id=m.id,
        kind=m.kind,
        request_id=m.request_id,
        code=m.code,
        device_id=m.device_id,
        created_at=m.created_at,
        xml=m.xml,
    )


@router.get("/messages", response_model=MessagesOut)
def poll_messages(
    session: DbSession,
    user: CurrentUser,
    after: int = Query(default=0, ge=0, description="Cursor: the last message id you have"),
    limit: int = Query(default=100, ge=1, le=1000),
    kind: str | None = Query(default=None, pattern="^(response|alert)$"),
) -> MessagesOut:
    """Responses and alerts for you since the cursor, oldest first."""
    stmt = select(OutboundMessage).where(
        OutboundMessage.user_id == user.id, OutboundMessage.id > after
    )
    if kind:
        stmt = stmt.where(OutboundMessage.kind == kind)
    rows = list(session.scalars(stmt.order_by(OutboundMessage.id).limit(limit)))
    return MessagesOut(
        items=[_message_out(m) for m in rows], next_cursor=rows[-1].id if rows else after
    )


@router.get("/requests/{request_id}", response_model=RequestStatusOut)
def request_status(request_id: str, session: DbSession, user: CurrentUser) -> RequestStatusOut:
    """One request's life: acknowledgement, state, response, RTT and the messages it caused."""
    # The accepted request, not a later refused replay of it.
    row = session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.request_id == request_id, ServiceRequest.party_id == user.party_id)
        .order_by((ServiceRequest.ack_code == "I99").desc(), ServiceRequest.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no request {request_id}")
    messages = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.service_request_id == row.id)
        .order_by(OutboundMessage.id)
    )
    return RequestStatusOut(
        request_id=row.request_id,
        srv=row.srv,
        received_at=row.received_at,
        acknowledgement=row.ack_code,
        refusal_reason=row.refusal_reason,
        state=row.state,
        response_code=row.response_code,
        responded_at=row.responded_at,
        rtt_ms=row.rtt_ms,
        failure_reason=row.failure_reason,
        messages=[_message_out(m) for m in messages],
    )


@router.get("/callback", response_model=CallbackOut)
def get_callback(session: DbSession, user: CurrentUser) -> CallbackOut:
    row = session.get(Callback, user.id)
    return CallbackOut(url=row.url if row else None)


@router.put("/callback", response_model=CallbackOut)
def set_callback(body: CallbackIn, session: DbSession, user: CurrentUser) -> CallbackOut:
    """Push your responses and alerts to this URL (bounded retries, then held for polling)."""
    row = session.get(Callback, user.id)
    if row is None:
        session.add(Callback(user_id=user.id, url=body.url, created_at=utcnow()))
    else:
        row.url = body.url
    return CallbackOut(url=body.url)


@router.delete("/callback", response_model=CallbackOut)
def delete_callback(session: DbSession, user: CurrentUser) -> CallbackOut:
    row = session.get(Callback, user.id)
    if row is not None:
        session.delete(row)
    return CallbackOut(url=None)
