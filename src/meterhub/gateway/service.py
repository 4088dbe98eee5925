"""The service-request gateway: accept a DUIS request, validate it in DOMAIN.md's order, store
it durably, acknowledge it, act on it, and owe the sender a response.

Validation order (each failure answers with its own DUIS code and nothing else happens):

1. well-formed (and, when configured, schema-valid) XML          -> raised by ``gateway.xml``
2. sender: the RequestID originator is a DUIS user ID of the authenticated user
3. counter: higher than every counter accepted from that originator (replays never run twice)
4. SRV known (all 129 of DUIS 5.4)
5. the sender's role is eligible for the SRV on that day (SEC modifications applied)
6. the subject device is known and the sender is entitled to it that day
7. the device's status allows the SRV
8. the body rules of the SRVs the hub acts on

Requests whose effect lives in the hub (8.14.x, 8.2, 8.3, 11.1) take effect in the same
transaction that stores them, and their response is owed at once. Device requests go to the
simulated device network: their answer is decided now from the seed and the RequestID, and
released when due by ``release_due``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.direct import Direct
from meterhub.gateway import effects
from meterhub.gateway.catalogue import Srv, load_catalogue
from meterhub.gateway.codes import DuisRejected, ResponseCode, ValidationStage
from meterhub.gateway.entitlement import entitled
from meterhub.gateway.models import Callback, OutboundMessage, RequestCounter, ServiceRequest
from meterhub.gateway.xml import DuisRequest
from meterhub.inventory.catalogue import fuel_of_device_type
from meterhub.inventory.service import DeviceAttributes, device_attributes, device_by_id
from meterhub.network.model import request_rng
from meterhub.parties.roles import Role
from meterhub.parties.service import ApiUser, UserInRole, first_active_user, lock_users
from meterhub.registration.fuels import Fuel, fuel_of_mpxn
from meterhub.registration.service import meter_point, registered_parties_on

# SRVs that may reach a device before it is commissioned (install and commission, DOMAIN.md).
COMMISSIONING_SRVS = frozenset({"8.11", "8.1.1", "6.21", "8.7.1", "8.7.2", "6.20.1", "6.20.2"})
LIVE_STATUSES = frozenset({"Commissioned"})
INSTALLING_STATUSES = frozenset({"InstalledNotCommissioned", "Commissioned", "Whitelisted"})


def refuse(stage: ValidationStage, reason: str, request_id: str | None = None) -> DuisRejected:
    return DuisRejected.at_stage(stage, reason, request_id)


@dataclass
class Submission:
    """What the sender gets back at once: the acknowledgement (I99) or the error response."""

    request: ServiceRequest
    accepted: bool
    code: str
    reply_xml: bytes
    messages: list[OutboundMessage] = field(default_factory=list)


class PartyUser(Protocol):
    """Whom a message is owed to: a user, acting for its party (``ApiUser``, ``UserInRole``)."""

    @property
    def id(self) -> int: ...
    @property
    def party_id(self) -> int: ...


@dataclass(frozen=True)
class _Sender:
    id: int
    party_id: int


def _role_for(user: ApiUser, originator: str) -> str | None:
    for role, duis_user_id in user.roles:
        if duis_user_id == originator:
            return role
    return None


def _subject_device_ids(request: DuisRequest, srv: Srv) -> list[str]:
    """The devices a request is about: its target for device SRVs, the body's IDs otherwise."""
    if not srv.non_device:
        return [request.target]
    ids: list[str] = []
    for key in ("DeviceID", "DeviceIDList"):
        value = request.body.get(key)
        if isinstance(value, str):
            ids.extend(v for v in value.split() if v)
        elif isinstance(value, list):
            ids.extend(str(v) for v in value)
    return ids


def _raise_counter_statement(dialect: str) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(RequestCounter).values(
        originator=bindparam("originator"), last_counter=bindparam("counter")
    )
    # RETURNING, not rowcount: for an INSERT, psycopg's rowcount reaches SQLAlchemy as -1.
    return stmt.on_conflict_do_update(
        index_elements=["originator"],
        set_={"last_counter": stmt.excluded.last_counter},
        where=RequestCounter.last_counter < stmt.excluded.last_counter,
    ).returning(RequestCounter.originator)


# Built once per dialect, run on the driver (``db.direct``): the gateway's hottest statements.
_RAISE_COUNTER = {d: Direct(_raise_counter_statement(d)) for d in ("sqlite", "postgresql")}
_LAST_COUNTER = Direct(
    select(RequestCounter.last_counter).where(RequestCounter.originator == bindparam("originator"))
)
_TAKE_WRITE_LOCK = text("UPDATE duis_request_counter SET last_counter = last_counter WHERE 0")


def _take_counter(session: Session, originator: str, counter: int, request_id: str) -> None:
    """Raise the originator's counter to ``counter``, or refuse: the one atomic step that makes
    a replayed or lower counter impossible to process twice, under any concurrency.

    One upsert: a first counter inserts the row; a higher one updates it; a replayed or lower
    one matches the conflict but not the ``WHERE``, so no row changes and it is refused. The
    counter is stored as fixed-width digits (``db.base.Unsigned64``: the schema allows up to
    2^64-1, past either database's integers), which compare in the ``WHERE`` as the numbers do."""
    dialect = session.get_bind().dialect.name
    params = {"originator": originator, "counter": counter}
    raised = _RAISE_COUNTER["postgresql" if dialect == "postgresql" else "sqlite"].first(
        session, params
    )
    if raised is None:
        last = _LAST_COUNTER.first(session, {"originator": originator})
        # The driver's value, as stored: the counter's zero-padded digits (``Unsigned64``).
        raise refuse(
            ValidationStage.COUNTER_NOT_INCREASING,
            f"counter {counter} is not above {int(last[0]) if last else None},"
            f" the last one accepted from {originator}",
            request_id,
        )


#: One PostgreSQL advisory lock for the gateway's writers (any fixed number: "DUIS" in ASCII).
_GATEWAY_WRITERS = 0x44554953
_TAKE_GATEWAY_LOCK = text(f"SELECT pg_advisory_xact_lock({_GATEWAY_WRITERS})")


def lock_for_submission(session: Session) -> None:
    """Take the gateway's write lock before the first read of a submission's transaction.

    On SQLite this is the database's write lock, so concurrent writers queue (busy_timeout)
    instead of failing on a stale snapshot. On PostgreSQL it is a transaction-scoped advisory
    lock: a batch of submissions locks counter and user rows in arrival order, and two batches
    from different server processes could otherwise take them in opposite orders and deadlock."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().execute(_TAKE_WRITE_LOCK)
    elif dialect == "postgresql":
        session.connection().execute(_TAKE_GATEWAY_LOCK)


def _check_status(srv: Srv, device: Any) -> None:
    status = device.status
    if srv.srv in effects.HUB_SRVS:
        effects.check_hub_status(srv.srv, device)
        return
    if srv.non_device:
        return
    allowed = INSTALLING_STATUSES if srv.srv in COMMISSIONING_SRVS else LIVE_STATUSES
    if status not in allowed:
        raise refuse(
            ValidationStage.DEVICE_STATUS_DISALLOWS,
            f"device {device.device_id} is {status};"
            f" SRV {srv.srv} needs {', '.join(sorted(allowed))}",
        )


def submit(
    session: Session,
    *,
    user: ApiUser,
    request: DuisRequest,
    now: datetime,
    seed: int,
    network: Any,
    dcc_party_id: int | None = None,
) -> Submission:
    """Validate and store one request; the caller commits before sending ``reply_xml``."""
    catalogue = load_catalogue()
    srv = catalogue.get(request.srv)
    row = ServiceRequest(
        request_id=request.request_id,
        originator=request.originator,
        target=request.target,
        counter=request.counter,
        srv=request.srv,
        service_reference=request.service_reference,
        command_variant=request.command_variant,
        party_id=user.party_id,
        user_id=user.id,
        received_at=now,
        body=request.body,
        raw=request.raw.decode("utf-8", "replace"),
        state="refused",
        ack_code="",
    )
    try:
        role = _role_for(user, request.originator)
        if role is None:
            raise refuse(
                ValidationStage.UNKNOWN_SENDER,
                f"{request.originator} is not a DUIS user ID of {user.username}",
            )
        row.role = role
        if srv is None:
            raise refuse(ValidationStage.SRV_UNKNOWN, f"no SRV {request.srv} in DUIS 5.4")
        day = now.date()
        if role not in catalogue.eligible_roles(srv.srv, day):
            raise refuse(
                ValidationStage.ROLE_NOT_ELIGIBLE,
                f"role {role} may not send SRV {srv.srv} on {day}",
            )
        devices = _devices(session, request, srv)
        holder_only = srv.srv in effects.RETURN_SRVS
        for device in devices:
            if srv.srv == "8.2":
                continue  # Read Inventory: current and future suppliers may ask (DUIS 8.2)
            if not entitled(
                session,
                party_id=user.party_id,
                role=role,
                device=device,
                day=day,
                holder_only=holder_only,
            ):
                raise refuse(
                    ValidationStage.NOT_ENTITLED,
                    f"{user.party_code} as {role} is not entitled to {device.device_id} on {day}",
                )
        for device in devices:
            _check_status(srv, device)
        if srv.srv in effects.HUB_SRVS:
            effects.check_body(srv.srv, request, devices)
        _take_counter(session, request.originator, request.counter, request.request_id)
    except DuisRejected as refusal:
        row.ack_code = refusal.response_code
        row.refusal_reason = refusal.message
        row.state = "refused"
        session.add(row)
        session.flush()
        return Submission(
            request=row,
            accepted=False,
            code=refusal.response_code,
            reply_xml=_error_xml(request, refusal.response_code, now),
        )

    assert srv is not None
    row.ack_code = ResponseCode.ACKNOWLEDGEMENT
    row.device_id = devices[0].device_id if devices else None
    messages: list[OutboundMessage] = []
    if srv.srv in effects.HUB_SRVS or srv.non_device:
        session.add(row)
        session.flush()
        actor = Actor(name=user.username, party_id=user.party_id, interface="duis", user_id=user.id)
        response_body = effects.apply(
            session,
            actor=actor,
            request=request,
            srv=srv.srv,
            devices=devices,
            now=now,
            dcc_party_id=dcc_party_id,
        )
        row.state = "responded"
        row.response_code = ResponseCode.SUCCESS
        row.responded_at = now
        row.rtt_ms = 0
        messages.append(
            _owe(
                session,
                row,
                user,
                ResponseCode.SUCCESS,
                now,
                _response_xml(row, ResponseCode.SUCCESS, now, response_body),
            )
        )
    else:
        device = devices[0]
        outcome = network.deliver(device, srv.srv, request_rng(seed, request.request_id))
        row.state = "queued"
        row.due_at = now + timedelta(milliseconds=int(outcome.rtt_ms))
        row.planned = outcome.as_dict()
        _insert_queued(session, row)
    session.flush()
    return Submission(
        request=row,
        accepted=True,
        code=ResponseCode.ACKNOWLEDGEMENT,
        reply_xml=_ack_xml(request, srv, now),
        messages=messages,
    )


#: Every column but ``id``; an accepted device request sets the ones that matter at acceptance.
_REQUEST_COLUMNS = tuple(c.key for c in ServiceRequest.__table__.columns if c.key != "id")
_INSERT_REQUEST = Direct(
    insert(ServiceRequest)
    .values({key: bindparam(key) for key in _REQUEST_COLUMNS})
    .returning(ServiceRequest.id)
)


def _insert_queued(session: Session, row: ServiceRequest) -> None:
    """Store an accepted device request with one INSERT on the driver instead of the unit of
    work: the gateway's busiest write. ``row`` stays a plain (transient) object carrying its
    new id; the columns it leaves unset are stored as NULL, as their defaults say."""
    values = {key: row.__dict__.get(key) for key in _REQUEST_COLUMNS}
    inserted = _INSERT_REQUEST.first(session, values)
    assert inserted is not None
    row.id = inserted[0]


def _devices(session: Session, request: DuisRequest, srv: Srv) -> list[Any]:
    """The subject devices: the inventory's records where the hub acts on them (hub and
    non-device SRVs), otherwise their attributes read on the driver, which costs a fraction of
    loading the record on the gateway's busiest path."""
    ids = _subject_device_ids(request, srv)
    as_records = srv.srv in effects.HUB_SRVS or srv.non_device
    devices: list[Any] = []
    for device_id in ids:
        if as_records:
            device: Any = device_by_id(session, device_id=device_id)
        else:
            device = device_attributes(session, device_id=device_id)
        if device is None:
            raise refuse(ValidationStage.UNKNOWN_DEVICE, f"no device {device_id} in SMI")
        devices.append(device)
    return devices


def lock_cursors(session: Session, user_ids: Iterable[int]) -> None:
    """Before owing messages to these users: on PostgreSQL lock their rows (in id order, so two
    writers never deadlock). Message ids are the users' polling cursors; with the lock they are
    handed out in commit order, and a poller that has seen id N never later finds one below N.
    SQLite has one writer at a time, so there is nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        lock_users(session, user_ids=user_ids)


def _owe(
    session: Session,
    row: ServiceRequest,
    user: PartyUser,
    code: str,
    now: datetime,
    xml: bytes,
    kind: str = "response",
    device_id: str | None = None,
    recipient_role: str | None = None,
) -> OutboundMessage:
    """Owe ``user`` a message (its id is the user's polling cursor: see ``lock_cursors``);
    ``recipient_role`` when it is addressed to the user in another role than the request's."""
    lock_cursors(session, [user.id])
    has_callback = session.get(Callback, user.id) is not None
    message = OutboundMessage(
        user_id=user.id,
        party_id=user.party_id,
        kind=kind,
        service_request_id=row.id,
        request_id=row.request_id,
        code=code,
        device_id=device_id or row.device_id,
        created_at=now,
        xml=xml.decode(),
        push_state="pending" if has_callback else "none",
        next_attempt_at=now if has_callback else None,
        recipient_role=recipient_role,
    )
    session.add(message)
    return message


#: DCC alerts that follow a request but are addressed to the meter point's network operator,
#: as the simulated network addresses them: MP176 reports N42 within 7 days of N16 to network
#: operators, split by the supplier whose request raised the N16.
NETWORK_OPERATOR_ALERTS = frozenset({"N16", "N42"})


def network_operator_recipient(
    session: Session, device: DeviceAttributes | None, day: date
) -> UserInRole | None:
    """The user (first active one, by id) of the network operator registered on ``day`` to the
    device's meter point, in role ``ED`` (``GT`` for gas); ``None`` when the device has no
    registered meter point or the operator no such user."""
    if device is None or device.mpxn is None:
        return None
    parties = registered_parties_on(session, mpxn=device.mpxn, day=day)
    if parties is None:
        return None
    fuel = fuel_of_device_type(device.device_type)
    if fuel is None:  # a hub or a display: the meter point's own fuel, as registration records it
        point = meter_point(session, mpxn=device.mpxn)
        fuel = Fuel(point.fuel) if point is not None else fuel_of_mpxn(device.mpxn)
    role = Role.GAS_TRANSPORTER if fuel is Fuel.GAS else Role.ELECTRICITY_DISTRIBUTOR
    return first_active_user(session, party_id=parties.network_operator_party_id, role=role.value)


def release_due(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Turn the device network's answers that have fallen due into owed responses and alerts.

    Idempotent and crash-safe: a request moves from ``queued`` to ``responded`` in the same
    transaction that creates its messages."""
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.state == "queued", ServiceRequest.due_at <= now)
        .order_by(ServiceRequest.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    released = 0
    for row in session.scalars(stmt):
        # A user acts for one party for good, so the request's own ids are the sender's.
        user = _Sender(id=row.user_id, party_id=row.party_id)
        plan = row.planned
        code = str(plan["response_code"])
        assert row.due_at is not None
        at = row.due_at
        row.state = "responded"
        row.response_code = code
        row.responded_at = at
        row.rtt_ms = int(plan["rtt_ms"])
        row.failure_reason = plan.get("failure_reason")
        _owe(session, row, user, code, at, _response_xml(row, code, at, None, from_device=True))
        alerts = plan.get("alerts", [])
        device = (
            device_attributes(session, device_id=row.device_id)
            if alerts and row.device_id
            else None
        )
        for alert in alerts:
            code = str(alert)
            xml = _alert_xml(row, device, code, at)
            # N16/N42 go to the network operator; with none to receive them, to the sender.
            operator = (
                network_operator_recipient(session, device, at.date())
                if code in NETWORK_OPERATOR_ALERTS
                else None
            )
            if operator is None:
                _owe(session, row, user, code, at, xml, kind="alert")
            else:
                _owe(
                    session,
                    row,
                    operator,
                    code,
                    at,
                    xml,
                    kind="alert",
                    recipient_role=operator.role,
                )
        released += 1
    session.flush()
    return released


def _ack_xml(request: DuisRequest, srv: Srv, now: datetime) -> bytes:
    from meterhub.gateway import messages

    return messages.acknowledgement(request, srv.srv, srv.service_reference, now)


def _error_xml(request: DuisRequest, code: str, now: datetime) -> bytes:
    from meterhub.gateway import messages

    return messages.error_response(
        request.request_id, request.srv, request.service_reference, code, now
    )


def _response_xml(
    row: ServiceRequest, code: str, at: datetime, body: Any, *, from_device: bool = False
) -> bytes:
    from meterhub.gateway import messages

    return messages.service_response(
        row.request_id,
        row.srv or "",
        row.service_reference or "",
        code,
        at,
        body,
        from_device=from_device,
    )


def _alert_xml(
    row: ServiceRequest, device: DeviceAttributes | None, alert: str, at: datetime
) -> bytes:
    """The DCC alert a device request's outcome raised (N13 no response, N16, N42, N55)."""
    import hashlib as _h

    from meterhub.gateway import messages

    mpxn = device.mpxn if device is not None else None
    return messages.dcc_alert(
        alert,
        row.device_id or "",
        at,
        mpxn=mpxn or "0000000000000",
        command_request_id=row.request_id,
        certificates=[("DigitalSigning", _h.sha256(row.request_id.encode()).digest())],
        s1sp_alert_code="S1SP validation failure",
    )


def rejected_submission(
    session: Session, *, user: PartyUser, rejected: DuisRejected, raw: bytes, now: datetime
) -> Submission:
    """Store a request refused before it could be parsed (malformed, XML attack, schema).

    What was sent is kept as evidence, whatever it was: undecodable bytes and NULs (which no
    PostgreSQL text column holds) become U+FFFD."""
    row = ServiceRequest(
        request_id=rejected.request_id or "",
        party_id=user.party_id,
        user_id=user.id,
        received_at=now,
        ack_code=rejected.response_code,
        refusal_reason=_storable(rejected.message[:2000]),
        state="refused",
        raw=_storable(raw[:4096].decode("utf-8", "replace")),
    )
    session.add(row)
    session.flush()
    from meterhub.gateway import messages

    xml = messages.error_response(rejected.request_id, None, None, rejected.response_code, now)
    return Submission(request=row, accepted=False, code=rejected.response_code, reply_xml=xml)


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


HTTP_STATUS = {
    ResponseCode.FAILED_VALIDATION: 400,
    ResponseCode.INVALID_USER: 403,
    ResponseCode.ROLE_NOT_PERMITTED_FOR_SRV: 403,
    ResponseCode.USER_STATUS_NOT_PERMITTED: 403,
    ResponseCode.NOT_AUTHORISED_FOR_DEVICE: 403,
    ResponseCode.DEVICE_UNKNOWN: 404,
    ResponseCode.DEVICE_STATUS_INCOMPATIBLE: 409,
}


def http_status_for(code: str) -> int:
    """The HTTP status a refusal travels with (the DUIS code is in the body and a header)."""
    try:
        return HTTP_STATUS.get(ResponseCode(code), 422)
    except ValueError:
        return 422
