"""What the gateway hands the event lake: its finished requests and the alerts it owed, not yet
exported, and the mark that they are.

A request is finished once refused or responded; it travels with the alerts it raised (N13,
N16, N42, N55). Alerts no request raised (AD1 when a street loses power, 0x8F35 when it comes
back) travel on their own as soon as they are owed. The exporter reads a batch, writes it, then
marks it in the same transaction (``mark_exported``); a crash in between hands the same batch
over again. Plain rows of the columns the lake records, one query each per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meterhub.gateway.models import OutboundMessage, ServiceRequest


class FinishedRequest(NamedTuple):
    """A refused or responded service request, as the lake records its life."""

    id: int
    party_id: int
    role: str | None
    srv: str | None
    device_id: str | None
    state: str  # refused | responded
    received_at: datetime
    ack_code: str
    response_code: str | None
    responded_at: datetime | None
    rtt_ms: int | None
    failure_reason: str | None


class OwedAlert(NamedTuple):
    """An alert the gateway owed a party: to the role it was addressed in (``recipient_role``,
    None when to the sender in the request's role), naming ``device_id``."""

    id: int
    service_request_id: int | None
    party_id: int
    recipient_role: str | None
    code: str
    device_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class ExportBatch:
    """The next batch for the lake: finished requests in id order with the alerts they raised,
    and alerts no request raised, in id order."""

    requests: list[FinishedRequest]
    request_alerts: list[OwedAlert]
    alerts: list[OwedAlert]


_REQUEST_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.party_id,
    ServiceRequest.role,
    ServiceRequest.srv,
    ServiceRequest.device_id,
    ServiceRequest.state,
    ServiceRequest.received_at,
    ServiceRequest.ack_code,
    ServiceRequest.response_code,
    ServiceRequest.responded_at,
    ServiceRequest.rtt_ms,
    ServiceRequest.failure_reason,
)
_ALERT_COLUMNS = (
    OutboundMessage.id,
    OutboundMessage.service_request_id,
    OutboundMessage.party_id,
    OutboundMessage.recipient_role,
    OutboundMessage.code,
    OutboundMessage.device_id,
    OutboundMessage.created_at,
)


def unexported(session: Session, *, limit: int) -> ExportBatch:
    """Up to ``limit`` finished requests not yet exported (with every alert they raised), and
    up to ``limit`` alerts no request raised not yet exported."""
    requests = [
        FinishedRequest._make(row)
        for row in session.execute(
            select(*_REQUEST_COLUMNS)
            .where(
                ServiceRequest.exported_at.is_(None),
                ServiceRequest.state.in_(("refused", "responded")),
            )
            .order_by(ServiceRequest.id)
            .limit(limit)
        )
    ]
    request_alerts = (
        [
            OwedAlert._make(row)
            for row in session.execute(
                select(*_ALERT_COLUMNS)
                .where(
                    OutboundMessage.kind == "alert",
                    OutboundMessage.service_request_id.in_([r.id for r in requests]),
                )
                .order_by(OutboundMessage.id)
            )
        ]
        if requests
        else []
    )
    alerts = [
        OwedAlert._make(row)
        for row in session.execute(
            select(*_ALERT_COLUMNS)
            .where(
                OutboundMessage.kind == "alert",
                OutboundMessage.service_request_id.is_(None),
                OutboundMessage.exported_at.is_(None),
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    ]
    return ExportBatch(requests=requests, request_alerts=request_alerts, alerts=alerts)


def mark_exported(session: Session, *, batch: ExportBatch, now: datetime) -> None:
    """Mark the batch's requests and alerts no request raised as in the lake from ``now``, so
    they are not handed over again (a request's own alerts go with it)."""
    if batch.requests:
        session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id.in_([r.id for r in batch.requests]))
            .values(exported_at=now)
        )
    if batch.alerts:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_([a.id for a in batch.alerts]))
            .values(exported_at=now)
        )
