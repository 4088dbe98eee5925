"""``/api/v1/duis``: DUIS XML in, acknowledgement or error out; JSON and batch forms; polling
for responses and alerts; the user's callback URL.

The acknowledgement is only sent after the request is committed (nothing acknowledged is lost).
A refusal carries its DUIS response code in the XML and in ``X-DUIS-Response-Code``, the reason
in ``X-DUIS-Reason``, and an HTTP status by code (``service.http_status_for``): 400 for E65
(malformed, schema-invalid, body rules, a replayed or lower counter), 403 access, 404 unknown
device, 409 device status, 422 the rest. The JSON and batch forms are stored by the same
intake as the XML (``gateway.intake``: the same parse, the same group commit, the same answer),
and carry a refusal as ``accepted: false`` with its code in a 200 answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from meterhub.api.deps import CurrentActor, CurrentUser, DbSession, authorization_of
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.errors import MeterhubError, NotFound
from meterhub.gateway import callbacks, intake, queries, service
from meterhub.gateway.models import OutboundMessage
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
from meterhub.kit.clock import utcnow
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.parties.service import token_from_header

router = APIRouter(prefix="/duis", tags=["duis"])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.gateway
    return runtime


def _out(sub: service.Submission) -> SubmissionOut:
    return SubmissionOut(
        request_id=sub.request.request_id,
        accepted=sub.accepted,
        response_code=sub.code,
        reason=sub.request.refusal_reason,
        xml=sub.reply_xml.decode(),
    )


def bearer_authorization(request: Request) -> str:
    """The ``Authorization`` header, refused at once when it carries no bearer token (no
    parse, no write lock); the intake's writer checks the token itself, in the batch's snapshot."""
    authorization = authorization_of(request)
    token_from_header(authorization)
    return authorization


Authorization = Annotated[str, Depends(bearer_authorization)]

# A refused XML request is answered in DUIS XML (its code in ``X-DUIS-Response-Code``), with
# the status ``service.http_status_for`` gives it; a call the hub cannot take at all (no token,
# too big, shutting down) is the API's JSON error.
_DUIS_XML = {"application/xml": {"schema": {"type": "string"}}}
_DUIS_REFUSALS: dict[int | str, dict[str, Any]] = {
    200: {"content": _DUIS_XML, "description": "I99 acknowledgement"},
    400: {
        "content": _DUIS_XML,
        "description": "E65: malformed, schema-invalid, a replayed counter",
    },
    403: {"content": _DUIS_XML, "description": "Not permitted: user, role or device access"},
    404: {"content": _DUIS_XML, "description": "The device is unknown"},
    409: {"content": _DUIS_XML, "description": "The device's status does not allow it"},
    422: {"content": _DUIS_XML, "description": "Refused for another DUIS reason"},
    **refusals(401, 413, 503),
}


@router.post(
    "",
    response_class=Response,
    responses=_DUIS_REFUSALS,
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
    ``api.duis.DuisFastPath`` answers this path before the framework routes it; this route
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


@router.post("/json", response_model=SubmissionOut, responses={**JSON_BODY, **refusals(503)})
async def submit_json(
    body: DuisJsonRequest, request: Request, authorization: Authorization
) -> SubmissionOut:
    """The same request as JSON; answered with the same DUIS XML inside a JSON envelope.

    It is the request the XML would be, stored by the same intake (group commit) and answered
    only after the commit that stores it; a refusal is ``accepted: false`` with its code."""
    runtime = _runtime(request)
    raw, parsed = intake.parse_json(runtime, body.model_dump())
    sub = await request.app.state.duis_intake.submit(authorization, raw, parsed)
    return _out(sub)


@router.post("/batch", response_model=BatchOut, responses={**JSON_BODY, **refusals(503)})
async def submit_batch(body: BatchIn, request: Request, authorization: Authorization) -> BatchOut:
    """Many requests at once, each with its own result, in order.

    Each is one submission to the intake, in the batch's order: a refused one is answered with
    its code and stored, and never costs the others theirs. Should the hub fail to store some
    of them (it is shutting down, or one broke), the answer is that error, and its
    ``details.results`` hold, in order, the result of each request that was stored and
    ``null`` for each that was not, so no acknowledgement is lost."""
    runtime = _runtime(request)
    # Up to a thousand parses: off the event loop, which answers the XML endpoint meanwhile.
    items = await run_in_threadpool(
        lambda: [intake.parse_json(runtime, item.model_dump()) for item in body.requests]
    )
    results = await request.app.state.duis_intake.submit_all(authorization, items)
    failed = [r for r in results if isinstance(r, BaseException)]
    if not failed:
        return BatchOut(results=[_out(r) for r in results if isinstance(r, service.Submission)])
    first = failed[0]
    if not isinstance(first, MeterhubError):
        raise first
    if len(failed) == len(results):  # nothing stored: an unknown token, a hub shutting down
        raise first
    raise type(first)(
        f"{len(results) - len(failed)} of the batch's {len(results)} requests were stored and"
        f" are answered in details.results; {len(failed)} were not: {first.message}",
        code=first.code,
        details={
            "results": [
                _out(r).model_dump(mode="json") if isinstance(r, service.Submission) else None
                for r in results
            ]
        },
    )


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
    after: int = Query(
        default=0, ge=0, le=MAX_ROW_ID, description="Cursor: the last message id you have"
    ),
    limit: int = Query(default=100, ge=1, le=1000),
    kind: str | None = Query(default=None, pattern="^(response|alert)$"),
) -> MessagesOut:
    """Responses and alerts for you since the cursor, oldest first."""
    rows = queries.poll_messages(session, user_id=user.id, after=after, limit=limit, kind=kind)
    return MessagesOut(
        items=[_message_out(m) for m in rows], next_cursor=rows[-1].id if rows else after
    )


@router.get("/requests/{request_id}", response_model=RequestStatusOut, responses=refusals(404))
def request_status(request_id: str, session: DbSession, user: CurrentUser) -> RequestStatusOut:
    """One request's life: acknowledgement, state, response, RTT and the messages it caused."""
    row = queries.accepted_request(session, party_id=user.party_id, request_id=request_id)
    if row is None:
        raise NotFound(f"no request {request_id}")
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
        messages=[_message_out(m) for m in queries.messages_of_request(session, request=row)],
    )


@router.get("/callback", response_model=CallbackOut)
def get_callback(session: DbSession, actor: CurrentActor) -> CallbackOut:
    return CallbackOut(url=queries.callback_url(session, actor=actor))


@router.put("/callback", response_model=CallbackOut, responses=JSON_BODY)
def set_callback(body: CallbackIn, session: DbSession, actor: CurrentActor) -> CallbackOut:
    """Push your responses and alerts to this URL (bounded retries, then held for polling).

    The same rules as the portal's callback page (http or https, a host, no spaces, no user
    name or password: 422 ``bad_callback_url``), and the change is audited."""
    url = callbacks.set_callback(session, actor=actor, url=body.url, now=utcnow())
    return CallbackOut(url=url)


@router.delete("/callback", response_model=CallbackOut)
def delete_callback(session: DbSession, actor: CurrentActor) -> CallbackOut:
    """Stop pushing: your responses and alerts wait to be polled (audited, as on the portal)."""
    callbacks.clear_callback(session, actor=actor, now=utcnow())
    return CallbackOut(url=None)
