"""What a party may read back from the gateway: its service requests, each request's life, the
alerts owed to its users, the messages a user polls, and a user's callback URL and its changes.

Reads only, for the portal's pages and the DUIS API; what changes a callback URL is
``gateway.callbacks``, what stores a request is ``gateway.service``. Everything is scoped to
the actor's party (or user): a request or message of another party is a ``NotFound``, never a
``PermissionDenied``, so nobody learns that it exists. Requests and alerts are the *party's*,
not only the user's: a supplier's operations team works its requests and alerts together,
whichever of its users (or systems) sent them. Delivery stays per user: a response or alert is
pushed to, and polled by, the user it is owed to (``OutboundMessage.user_id``): the sender of
the request, except N16 and N42, owed to a user of the meter point's network operator (who sees
the supplier's request ID in the alert but cannot open that request); the pages say whom.

Lists are keyset-paginated newest first (requests on ``(received_at, id)``, alerts on ``id``,
the order the hub owed them), so a page is as cheap at the millionth row as at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, entries_for
from meterhub.errors import InvalidInput, NotFound
from meterhub.gateway.catalogue import load_catalogue
from meterhub.gateway.codes import MEANINGS, ResponseCode
from meterhub.gateway.models import Callback, OutboundMessage, ServiceRequest
from meterhub.kit.ids import normalise_eui64
from meterhub.kit.pagination import decode_cursor, encode_cursor
from meterhub.parties.service import usernames_by_id

if TYPE_CHECKING:
    from meterhub.audit.models import AuditEntry

#: What happened to a request, as the portal's outcome filter names it.
OUTCOMES: dict[str, str] = {
    "acknowledged": "Acknowledged (I99)",
    "refused": "Refused",
    "queued": "Queued: waiting for the device",
    "responded-success": "Responded: success",
    "responded-failure": "Responded: failure",
}

#: The alerts the hub raises, in DOMAIN.md's words (MP176 names N13, N16, N42, N55).
ALERT_MEANINGS: dict[str, str] = {
    "AD1": "Power outage: the communications hub lost power.",
    "N13": "Failure to receive a response from the device.",
    "N16": "Device identity confirmation: the meter serves the MPxN named.",
    "N42": "Security credentials updated on the device.",
    "N55": "SMETS1 service provider (S1SP) validation failure.",
    "0x8F35": "Supply outage restored (device alert).",
}

#: Push delivery states of an outbound message (see ``OutboundMessage``), for people.
PUSH_STATES: dict[str, str] = {
    "none": "Not pushed: no callback URL was set when it was owed; there to be polled",
    "pending": "Waiting to be pushed to the callback URL",
    "pushing": "Being pushed now",
    "delivered": "Delivered to the callback URL",
    "held": "Held for polling: the push failed or its outcome is unknown; never pushed twice",
}

_MAX_LIMIT = 10_000


def code_meaning(code: str | None) -> str:
    """What a DUIS response code or an alert code means, or "" when the hub does not know it."""
    if not code:
        return ""
    if code in ALERT_MEANINGS:
        return ALERT_MEANINGS[code]
    try:
        return MEANINGS.get(ResponseCode(code), "")
    except ValueError:
        return ""


def srv_name(srv: str | None) -> str:
    """The SRV's name in the DUIS 5.4 catalogue ("" for an unknown or missing SRV)."""
    found = load_catalogue().get(srv) if srv else None
    return found.name if found else ""


def outcome_of(row: ServiceRequest) -> str:
    """``refused``, ``queued``, ``responded-success`` or ``responded-failure``."""
    if row.state == "responded":
        return (
            "responded-success"
            if row.response_code == ResponseCode.SUCCESS
            else ("responded-failure")
        )
    return row.state


def _party_clause(actor: Actor, column: Any) -> ColumnElement[bool]:
    if actor.party_id is None:
        return false()
    return column == actor.party_id  # type: ignore[no-any-return]


# ---------------------------------------------------------------- service requests


@dataclass(frozen=True)
class RequestFilter:
    """The portal's request filters; every field optional. Days are UTC and inclusive."""

    srv: str | None = None
    device_id: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    outcome: str | None = None
    response_code: str | None = None

    def checked(self) -> RequestFilter:
        """The same filter in canonical form, or ``InvalidInput`` saying what is wrong."""
        srv = self.srv.strip() if self.srv else None
        if srv and srv not in load_catalogue():
            raise InvalidInput(f"there is no SRV {srv!r} in DUIS 5.4", code="bad_srv")
        device = normalise_eui64(self.device_id) if self.device_id else None
        if self.received_from and self.received_to and self.received_from > self.received_to:
            raise InvalidInput(
                f"the 'from' day {self.received_from} is after the 'to' day {self.received_to}",
                code="bad_date_range",
            )
        if self.outcome and self.outcome not in OUTCOMES:
            raise InvalidInput(
                f"unknown outcome {self.outcome!r}; one of {', '.join(OUTCOMES)}",
                code="bad_outcome",
            )
        code = self.response_code.strip().upper() if self.response_code else None
        if code and (len(code) > 16 or not code.isascii() or not code.isalnum()):
            raise InvalidInput(
                f"{self.response_code!r} is not a response code (e.g. I0, E21)",
                code="bad_response_code",
            )
        return RequestFilter(
            srv=srv or None,
            device_id=device,
            received_from=self.received_from,
            received_to=self.received_to,
            outcome=self.outcome or None,
            response_code=code or None,
        )


@dataclass(frozen=True)
class RequestPage:
    items: list[ServiceRequest]
    next_cursor: str | None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _requests(actor: Actor, flt: RequestFilter) -> Select[ServiceRequest]:
    stmt = select(ServiceRequest).where(_party_clause(actor, ServiceRequest.party_id))
    if flt.srv:
        stmt = stmt.where(ServiceRequest.srv == flt.srv)
    if flt.device_id:
        stmt = stmt.where(ServiceRequest.device_id == flt.device_id)
    if flt.received_from:
        stmt = stmt.where(ServiceRequest.received_at >= _start_of(flt.received_from))
    if flt.received_to:
        stmt = stmt.where(
            ServiceRequest.received_at < _start_of(flt.received_to + timedelta(days=1))
        )
    if flt.outcome == "acknowledged":
        stmt = stmt.where(ServiceRequest.ack_code == ResponseCode.ACKNOWLEDGEMENT)
    elif flt.outcome in ("refused", "queued"):
        stmt = stmt.where(ServiceRequest.state == flt.outcome)
    elif flt.outcome == "responded-success":
        stmt = stmt.where(
            ServiceRequest.state == "responded",
            ServiceRequest.response_code == ResponseCode.SUCCESS,
        )
    elif flt.outcome == "responded-failure":
        stmt = stmt.where(
            ServiceRequest.state == "responded",
            ServiceRequest.response_code != ResponseCode.SUCCESS,
        )
    if flt.response_code:
        # A refusal's code is its acknowledgement (E4 ...); an answer's is the response (E21 ...).
        stmt = stmt.where(
            or_(
                ServiceRequest.response_code == flt.response_code,
                ServiceRequest.ack_code == flt.response_code,
            )
        )
    return stmt


def request_cursor(row: ServiceRequest) -> str:
    """The keyset cursor just past ``row`` (what ``next_cursor`` is when ``row`` ends a page)."""
    return encode_cursor([row.received_at.isoformat(), row.id])


def _decode_request_cursor(cursor: str) -> tuple[datetime, int]:
    bad = InvalidInput("cursor is not one this hub issued", code="bad_cursor")
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[0], str) or not isinstance(values[1], int):
        raise bad
    try:
        at = datetime.fromisoformat(values[0])
    except ValueError:
        raise bad from None
    if at.tzinfo is None:
        raise bad
    return at, values[1]


def list_requests(
    session: Session,
    *,
    actor: Actor,
    flt: RequestFilter,
    limit: int = 50,
    cursor: str | None = None,
    oldest_first: bool = False,
) -> RequestPage:
    """One page of the party's requests, newest first (or oldest first, to page backwards)."""
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {_MAX_LIMIT}", code="bad_limit")
    stmt = _requests(actor, flt.checked())
    received, row_id = ServiceRequest.received_at, ServiceRequest.id
    if cursor:
        at, last_id = _decode_request_cursor(cursor)
        if oldest_first:
            stmt = stmt.where(or_(received > at, and_(received == at, row_id > last_id)))
        else:
            stmt = stmt.where(or_(received < at, and_(received == at, row_id < last_id)))
    order = (received, row_id) if oldest_first else (received.desc(), row_id.desc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return RequestPage(items=rows, next_cursor=request_cursor(rows[-1]))
    return RequestPage(items=rows, next_cursor=None)


def srvs_used(session: Session, *, actor: Actor) -> list[str]:
    """The SRVs the party has sent at least once, in DUIS order (for the filter's choices)."""
    used = set(
        session.scalars(
            select(ServiceRequest.srv)
            .where(_party_clause(actor, ServiceRequest.party_id), ServiceRequest.srv.is_not(None))
            .distinct()
        )
    )
    return [s.srv for s in load_catalogue().all() if s.srv in used]


def get_request(session: Session, *, actor: Actor, ref: str) -> ServiceRequest:
    """One of the party's requests, by the hub's row number or by its DUIS RequestID.

    A RequestID may have been sent twice (a replay is refused and stored too); the accepted one
    is the request, as the DUIS API answers.
    """
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 19:
        row = session.scalars(
            select(ServiceRequest).where(
                _party_clause(actor, ServiceRequest.party_id), ServiceRequest.id == int(ref)
            )
        ).first()
    else:
        row = accepted_request(session, party_id=actor.party_id, request_id=ref)
    if row is None:
        raise NotFound(f"no request {ref}")
    return row


def accepted_request(
    session: Session, *, party_id: int | None, request_id: str
) -> ServiceRequest | None:
    """The party's request with this DUIS RequestID: the accepted one when there is one.

    A RequestID may be stored more than once: a replay (the same counter sent again) is refused
    and stored too, and must not hide the request that was acknowledged and acted on. With no
    accepted one, the latest refusal is the answer (what the sender last heard)."""
    if party_id is None:
        return None
    return session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.request_id == request_id, ServiceRequest.party_id == party_id)
        .order_by(
            (ServiceRequest.ack_code == ResponseCode.ACKNOWLEDGEMENT).desc(),
            ServiceRequest.id.desc(),
        )
        .limit(1)
    ).first()


def messages_of_request(session: Session, *, request: ServiceRequest) -> list[OutboundMessage]:
    """Every message a request caused, oldest first, whoever it is owed to (the sender sees an
    N16 sent to the network operator for its own request in the request's life on the API)."""
    return list(
        session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.service_request_id == request.id)
            .order_by(OutboundMessage.id)
        )
    )


@dataclass(frozen=True)
class TimelineStep:
    """One thing that happened to a request, in the order it happened."""

    kind: str  # received | acknowledged | refused | sent | waiting | response | alert
    at: datetime | None
    title: str
    code: str | None = None
    meaning: str = ""
    detail: str = ""
    message_id: int | None = None


@dataclass(frozen=True)
class RequestTimeline:
    request: ServiceRequest
    sender: str
    steps: list[TimelineStep]
    messages: list[OutboundMessage]


def _username(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    return usernames_by_id(session, user_ids=[user_id]).get(user_id, "")


def request_timeline(session: Session, *, actor: Actor, ref: str) -> RequestTimeline:
    """A request's life: received, acknowledged or refused, sent, answered, alerts it raised."""
    row = get_request(session, actor=actor, ref=ref)
    messages = list(
        session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.service_request_id == row.id,
                _party_clause(actor, OutboundMessage.party_id),
            )
            .order_by(OutboundMessage.id)
        )
    )
    sender = _username(session, row.user_id)
    as_whom = f" as {row.role}" if row.role else ""
    steps = [
        TimelineStep(
            kind="received",
            at=row.received_at,
            title=f"Received from {row.originator or 'an unreadable originator'}{as_whom}",
            detail=f"sent by {sender}" if sender else "",
        )
    ]
    if row.state == "refused":
        steps.append(
            TimelineStep(
                kind="refused",
                at=row.received_at,
                title="Refused",
                code=row.ack_code,
                meaning=code_meaning(row.ack_code),
                detail=row.refusal_reason or "",
            )
        )
        return RequestTimeline(request=row, sender=sender, steps=steps, messages=messages)
    steps.append(
        TimelineStep(
            kind="acknowledged",
            at=row.received_at,
            title="Acknowledged",
            code=row.ack_code,
            meaning=code_meaning(row.ack_code),
        )
    )
    if row.planned:
        sent = f"Sent to device {row.device_id} over the SM WAN"
    else:
        sent = "Carried out by DCC systems (no device on the SM WAN involved)"
    steps.append(TimelineStep(kind="sent", at=row.received_at, title=sent))
    responses = [m for m in messages if m.kind == "response"]
    if row.state == "queued":
        steps.append(
            TimelineStep(kind="waiting", at=None, title="Waiting for the device's response")
        )
    else:
        rtt = f"round trip {format_rtt(row.rtt_ms)}" if row.rtt_ms is not None else ""
        failure = f"failure: {row.failure_reason.replace('_', ' ')}" if row.failure_reason else ""
        steps.append(
            TimelineStep(
                kind="response",
                at=row.responded_at,
                title="Response",
                code=row.response_code,
                meaning=code_meaning(row.response_code),
                detail="; ".join(p for p in (rtt, failure) if p),
                message_id=responses[0].id if responses else None,
            )
        )
    for alert in (m for m in messages if m.kind == "alert"):
        steps.append(
            TimelineStep(
                kind="alert",
                at=alert.created_at,
                title="Alert raised",
                code=alert.code,
                meaning=code_meaning(alert.code),
                detail=f"about device {alert.device_id}" if alert.device_id else "",
                message_id=alert.id,
            )
        )
    return RequestTimeline(request=row, sender=sender, steps=steps, messages=messages)


def format_rtt(rtt_ms: int | None) -> str:
    """``850 ms``, ``4.2 s``, ``2 min 5 s``; "" when there is no answer yet."""
    if rtt_ms is None:
        return ""
    if rtt_ms < 1000:
        return f"{rtt_ms} ms"
    if rtt_ms < 60_000:
        return f"{rtt_ms / 1000:.1f} s"
    minutes, seconds = divmod(round(rtt_ms / 1000), 60)
    return f"{minutes} min {seconds} s"


# ---------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertFilter:
    code: str | None = None
    device_id: str | None = None

    def checked(self) -> AlertFilter:
        code = self.code.strip() if self.code else None
        if code:
            upper = code.upper()
            code = "0x" + upper[2:] if upper.startswith("0X") else upper
            if len(code) > 16 or not code.replace("0x", "", 1).isalnum() or not code.isascii():
                raise InvalidInput(
                    f"{self.code!r} is not an alert code (e.g. N13, AD1, 0x8F35)",
                    code="bad_alert_code",
                )
        device = normalise_eui64(self.device_id) if self.device_id else None
        return AlertFilter(code=code or None, device_id=device)


@dataclass(frozen=True)
class AlertRow:
    message: OutboundMessage
    recipient: str  # username of the user it is owed to
    # Whether the request that raised it (if any) is the party's own: an N16 or N42 reaches
    # the network operator for a supplier's request, whose timeline the operator cannot open.
    own_request: bool = True


@dataclass(frozen=True)
class AlertPage:
    items: list[AlertRow]
    next_cursor: str | None


def _alerts(actor: Actor, flt: AlertFilter) -> Select[OutboundMessage, int | None]:
    stmt = (
        select(OutboundMessage, ServiceRequest.party_id)
        .outerjoin(ServiceRequest, ServiceRequest.id == OutboundMessage.service_request_id)
        .where(OutboundMessage.kind == "alert", _party_clause(actor, OutboundMessage.party_id))
    )
    if flt.code:
        stmt = stmt.where(OutboundMessage.code == flt.code)
    if flt.device_id:
        stmt = stmt.where(OutboundMessage.device_id == flt.device_id)
    return stmt


def list_alerts(
    session: Session,
    *,
    actor: Actor,
    flt: AlertFilter,
    limit: int = 50,
    cursor: str | None = None,
    oldest_first: bool = False,
) -> AlertPage:
    """One page of the alerts owed to the party's users, newest first."""
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {_MAX_LIMIT}", code="bad_limit")
    stmt = _alerts(actor, flt.checked())
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int):
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        last = values[0]
        stmt = stmt.where(OutboundMessage.id > last if oldest_first else OutboundMessage.id < last)
    order = OutboundMessage.id if oldest_first else OutboundMessage.id.desc()
    found = session.execute(stmt.order_by(order).limit(limit + 1)).all()
    names = usernames_by_id(session, user_ids=[m.user_id for m, _ in found])
    rows = [_alert_row(m, names.get(m.user_id, ""), p) for m, p in found]
    if len(rows) > limit:
        rows = rows[:limit]
        return AlertPage(items=rows, next_cursor=alert_cursor(rows[-1].message))
    return AlertPage(items=rows, next_cursor=None)


def alert_cursor(message: OutboundMessage) -> str:
    return encode_cursor([message.id])


def alert_codes_used(session: Session, *, actor: Actor) -> list[str]:
    """The alert codes the party has been sent, for the filter's choices."""
    stmt = (
        select(OutboundMessage.code)
        .where(OutboundMessage.kind == "alert", _party_clause(actor, OutboundMessage.party_id))
        .distinct()
    )
    return sorted(session.scalars(stmt))


def get_alert(session: Session, *, actor: Actor, message_id: int) -> AlertRow:
    """One alert owed to the party's users; another party's (or a response) is not found."""
    row = session.execute(
        _alerts(actor, AlertFilter()).where(OutboundMessage.id == message_id)
    ).first()
    if row is None:
        raise NotFound(f"no alert {message_id}")
    return _alert_row(row[0], _username(session, row[0].user_id), row[1])


def _alert_row(message: OutboundMessage, recipient: str, request_party: int | None) -> AlertRow:
    own = request_party is None or request_party == message.party_id
    return AlertRow(message=message, recipient=recipient, own_request=own)


# ---------------------------------------------------------------- polling


def poll_messages(
    session: Session, *, user_id: int, after: int, limit: int, kind: str | None = None
) -> list[OutboundMessage]:
    """The responses and alerts owed to the user with an id above the cursor ``after``, oldest
    first: message ids are handed out in commit order (``service.lock_cursors``), so a poller
    that follows the cursor never skips one."""
    stmt = select(OutboundMessage).where(
        OutboundMessage.user_id == user_id, OutboundMessage.id > after
    )
    if kind:
        stmt = stmt.where(OutboundMessage.kind == kind)
    return list(session.scalars(stmt.order_by(OutboundMessage.id).limit(limit)))


# ---------------------------------------------------------------- callback URL


def callback_url(session: Session, *, actor: Actor) -> str | None:
    """The URL the actor's responses and alerts are pushed to, if any."""
    if actor.user_id is None:
        return None
    found = session.get(Callback, actor.user_id)
    return found.url if found else None


def recent_callback_changes(session: Session, *, actor: Actor, limit: int = 5) -> list[AuditEntry]:
    """The actor's last callback changes from the audit log, newest first."""
    if actor.user_id is None:
        return []
    entries = entries_for(session, object_type="duis_callback", object_id=str(actor.user_id))
    return list(reversed(entries[-limit:]))
