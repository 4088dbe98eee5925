"""The exporter: copies each finished service request's life from the live database into the
event lake, in the same schema the traffic simulator writes.

A request is exported once it is finished (refused, or responded), with the alerts it raised.
Alerts no request raised (power outages: AD1, and 0x8F35 when the supply is back) are exported
on their own, one row each, as soon as they are owed. The gateway hands each batch over and
marks it (``gateway.export``); this module only turns it into events.
Each batch is written as one atomically renamed file per day (``part-live-<first>-<last>``) and
then marked exported in the database. A crash between the two re-exports the batch next time:
``event_id`` is derived from the hub's own ids (request id and message id), so a duplicate row is
recognisable and readers may de-duplicate on it.

Device attributes (type, model, firmware, ...) are those in the inventory at export time; the
exporter runs every few seconds inside the worker, so they are the attributes of the moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from meterhub.gateway.export import FinishedRequest, OwedAlert, mark_exported, unexported
from meterhub.inventory.service import DeviceAttributes, device_attributes_by_id
from meterhub.lake.schema import EVENT_SCHEMA, KINDS, process_of, service_reference
from meterhub.lake.writer import EventLakeWriter
from meterhub.parties.service import party_codes_by_id

LIVE_BIT = 1 << 61
ALERT_BIT = 1 << 60


@dataclass(frozen=True)
class ExportResult:
    requests: int
    events: int
    files: list[Path]
    alerts: int = 0  # alerts no request raised (AD1, 0x8F35)


def _event_id(request_pk: int, kind: str) -> int:
    return LIVE_BIT | (request_pk * 8 + KINDS.index(kind))


def export_pending(
    session: Session, *, writer: EventLakeWriter, now: datetime, limit: int = 50_000
) -> ExportResult:
    """Write the next batch of finished, not yet exported requests, and of alerts no request
    raised; the caller commits."""
    batch = unexported(session, limit=limit)
    if not batch.requests and not batch.alerts:
        return ExportResult(requests=0, events=0, files=[])
    party_codes = party_codes_by_id(session)
    # One device query per half of the batch, each as large as the batch at most.
    events, files = _export_requests(
        writer,
        batch.requests,
        batch.request_alerts,
        party_codes,
        device_attributes_by_id(
            session, device_ids=(r.device_id for r in batch.requests if r.device_id)
        ),
    )
    alert_events, alert_files = _export_spontaneous_alerts(
        writer,
        batch.alerts,
        party_codes,
        device_attributes_by_id(
            session, device_ids=(a.device_id for a in batch.alerts if a.device_id)
        ),
    )
    mark_exported(session, batch=batch, now=now)
    return ExportResult(
        requests=len(batch.requests),
        events=events + alert_events,
        files=files + alert_files,
        alerts=len(batch.alerts),
    )


def _device_columns(device: DeviceAttributes | None) -> dict[str, Any]:
    """An event's columns describing its device (all None for an unknown one)."""
    return {
        "device_type": device.device_type if device else None,
        "manufacturer": device.manufacturer if device else None,
        "model": device.model if device else None,
        "firmware_version": device.firmware_version if device else None,
        "smets_version": device.smets_version if device else None,
        "csp_region": device.csp_region if device else None,
        "mpxn": device.mpxn if device else None,
    }


def _export_requests(
    writer: EventLakeWriter,
    rows: list[FinishedRequest],
    alerts: list[OwedAlert],
    party_codes: dict[int, str],
    devices: dict[str, DeviceAttributes],
) -> tuple[int, list[Path]]:
    if not rows:
        return 0, []
    by_pk = {r.id: r for r in rows}

    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}

    def add(row: FinishedRequest, kind: str, at: datetime, event_id: int, **values: Any) -> None:
        device = devices.get(row.device_id or "")
        srv = row.srv
        base: dict[str, Any] = {
            "event_id": event_id,
            "event_time": at,
            "kind": kind,
            "request_id": row.id,
            "originator_party": party_codes.get(row.party_id),
            "originator_role": row.role,
            "srv": srv if kind != "alert" else None,
            "service_reference": service_reference(srv) if srv and kind != "alert" else None,
            "process": process_of(srv) if srv and kind != "alert" else None,
            "device_id": row.device_id,
            **_device_columns(device),
            "response_code": None,
            "rtt_ms": None,
            "failure_reason": None,
            "alert_code": None,
            "category": None,
        }
        base.update(values)
        for name in EVENT_SCHEMA.names:
            columns[name].append(base[name])

    for row in rows:
        at = row.received_at
        add(row, "received", at, _event_id(row.id, "received"))
        if row.state == "refused":
            add(row, "refused", at, _event_id(row.id, "refused"), response_code=row.ack_code)
            continue
        add(row, "acknowledged", at, _event_id(row.id, "acknowledged"), response_code="I99")
        add(row, "sent", at, _event_id(row.id, "sent"))
        add(
            row,
            "response",
            row.responded_at or at,
            _event_id(row.id, "response"),
            response_code=row.response_code,
            rtt_ms=row.rtt_ms,
            failure_reason=row.failure_reason,
        )
    for message in alerts:
        assert message.service_request_id is not None
        request = by_pk[message.service_request_id]
        add(
            request,
            "alert",
            message.created_at,
            LIVE_BIT | ALERT_BIT | message.id,
            # Owned by the party it was owed to, in the role it was addressed to (an N16 or
            # N42 reaches the network operator as ED or GT), else the request's.
            originator_party=party_codes.get(message.party_id),
            originator_role=message.recipient_role or request.role,
            alert_code=message.code,
        )
    files = writer.write(columns, part=f"live-{rows[0].id}-{rows[-1].id}")
    return len(columns["event_id"]), files


def _export_spontaneous_alerts(
    writer: EventLakeWriter,
    messages: list[OwedAlert],
    party_codes: dict[int, str],
    devices: dict[str, DeviceAttributes],
) -> tuple[int, list[Path]]:
    """AD1 and 0x8F35 rows: ``request_id`` null, addressed to the party and role that received
    them, with the device they name (the premises' electricity meter)."""
    if not messages:
        return 0, []
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    for message in messages:
        device = devices.get(message.device_id or "")
        row: dict[str, Any] = {
            "event_id": LIVE_BIT | ALERT_BIT | message.id,
            "event_time": message.created_at,
            "kind": "alert",
            "request_id": None,
            "originator_party": party_codes.get(message.party_id),
            "originator_role": message.recipient_role,
            "srv": None,
            "service_reference": None,
            "process": None,
            "device_id": message.device_id,
            **_device_columns(device),
            "response_code": None,
            "rtt_ms": None,
            "failure_reason": None,
            "alert_code": message.code,
            "category": None,
        }
        for name in EVENT_SCHEMA.names:
            columns[name].append(row[name])
    files = writer.write(columns, part=f"live-alerts-{messages[0].id}-{messages[-1].id}")
    return len(messages), files
