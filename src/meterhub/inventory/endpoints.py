"""``/api/v1/devices``: the Smart Metering Inventory, scoped to the caller's party."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from meterhub.api.deps import CurrentActor, DbSession
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.inventory import service
from meterhub.inventory.models import Device
from meterhub.inventory.schemas import (
    DeviceIn,
    DeviceOut,
    DevicePageOut,
    HistoryOut,
    OwnerChange,
    StatusChange,
)
from meterhub.kit.clock import utcnow
from meterhub.parties.service import party_codes

router = APIRouter(tags=["inventory"])


def devices_out(session: Session, devices: list[Device]) -> list[DeviceOut]:
    owner_ids = {d.owner_party_id for d in devices if d.owner_party_id is not None}
    codes = party_codes(session, ids=owner_ids) if owner_ids else {}
    return [
        DeviceOut(
            device_id=d.device_id,
            device_type=d.device_type,
            manufacturer=d.manufacturer,
            model=d.model,
            firmware_version=d.firmware_version,
            smets_version=d.smets_version,
            csp_region=d.csp_region,
            status=d.status,
            owner=codes.get(d.owner_party_id) if d.owner_party_id is not None else None,
            mpxn=d.mpxn,
            comms_hub_id=d.comms_hub_id,
            updated_at=d.updated_at,
        )
        for d in devices
    ]


def device_filter(
    device_type: str | None = Query(default=None, description="CHF, ESME, GSME, GPF, PPMID, ..."),
    manufacturer: str | None = None,
    model: str | None = None,
    firmware_version: str | None = None,
    status: str | None = Query(default=None, description="Pending, Commissioned, ..."),
    csp_region: str | None = Query(default=None, description="North, Central, South, North4G, ..."),
    smets_version: str | None = None,
    mpxn: str | None = None,
    owner: str | None = Query(default=None, description="Party code holding the device"),
) -> service.DeviceFilter:
    return service.DeviceFilter(
        device_type=device_type,
        manufacturer=manufacturer,
        model=model,
        firmware_version=firmware_version,
        status=status,
        csp_region=csp_region,
        smets_version=smets_version,
        mpxn=mpxn,
        owner=owner,
    )


@router.get("/devices", response_model=DevicePageOut)
def list_devices(
    session: DbSession,
    actor: CurrentActor,
    flt: Annotated[service.DeviceFilter, Depends(device_filter)],
    sort: str = Query(default="device_id", description="A column, '-' first for descending"),
    limit: int = Query(default=50, ge=1, le=1000),
    cursor: str | None = None,
) -> DevicePageOut:
    """Devices your party may see, filtered and sorted, a page at a time."""
    page = service.list_devices(
        session, actor=actor, flt=flt, sort=sort, limit=limit, cursor=cursor
    )
    return DevicePageOut(items=devices_out(session, page.items), next_cursor=page.next_cursor)


@router.post(
    "/devices",
    response_model=DeviceOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(409)},
)
def add_device(body: DeviceIn, session: DbSession, actor: CurrentActor) -> DeviceOut:
    device = service.add_device(session, actor=actor, **body.model_dump(), now=utcnow())
    return devices_out(session, [device])[0]


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=refusals(404))
def get_device(device_id: str, session: DbSession, actor: CurrentActor) -> DeviceOut:
    return devices_out(session, [service.get_device(session, actor=actor, device_id=device_id)])[0]


@router.get(
    "/devices/{device_id}/history", response_model=list[HistoryOut], responses=refusals(404)
)
def device_history(device_id: str, session: DbSession, actor: CurrentActor) -> list[HistoryOut]:
    """Every change of status, owner or link, oldest first."""
    rows = service.device_history(session, actor=actor, device_id=device_id)
    return [HistoryOut.model_validate(r) for r in rows]


@router.post(
    "/devices/{device_id}/status",
    response_model=DeviceOut,
    responses={**JSON_BODY, **refusals(404, 409)},
)
def change_status(
    device_id: str, body: StatusChange, session: DbSession, actor: CurrentActor
) -> DeviceOut:
    """Move the device along the status workflow; a disallowed step is 409 invalid_transition."""
    device = service.change_status(
        session,
        actor=actor,
        device_id=device_id,
        status=body.status,
        reason=body.reason,
        now=utcnow(),
    )
    return devices_out(session, [device])[0]


@router.post(
    "/devices/{device_id}/owner",
    response_model=DeviceOut,
    responses={**JSON_BODY, **refusals(403, 404)},
)
def change_owner(
    device_id: str, body: OwnerChange, session: DbSession, actor: CurrentActor
) -> DeviceOut:
    """Pass a device you hold to another party."""
    device = service.change_owner(
        session,
        actor=actor,
        device_id=device_id,
        owner=body.owner,
        reason=body.reason,
        now=utcnow(),
    )
    return devices_out(session, [device])[0]
