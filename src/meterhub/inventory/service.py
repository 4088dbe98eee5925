"""Smart Metering Inventory rules.

Who sees a device: the party holding it (``owner_party_id``, set for Communications Hubs), the
supplier, shipper and network operator registered to its meter point today, and agents those
suppliers appoint today. The hub operator sees all. Anything else is a 404, never a 403, so a
party cannot learn that another party's device exists.

Every change of status, owner or link appends a ``DeviceHistory`` row and an audit entry,
stamped with the ``now`` the caller took once at the edge (the gateway passes its request's own),
so one request's history and audit entries carry one time. Every status move is a row of the
workflow (``catalogue.WORKFLOW``) and goes through ``transition``, whoever asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from meterhub.audit.service import Actor, record, record_many
from meterhub.db import bulk
from meterhub.db.base import text_length
from meterhub.db.direct import Direct
from meterhub.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from meterhub.inventory.catalogue import (
    BEFORE_INSTALLATION,
    LIFECYCLE_EVENTS,
    SMETS_VERSIONS,
    CspRegion,
    DeviceStatus,
    DeviceType,
    StatusEvent,
    Transition,
    find_transition,
    fuel_of_device_type,
    parse_enum,
    statuses_after,
)
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.kit.clock import today
from meterhub.kit.ids import normalise_eui64, normalise_mpxn
from meterhub.kit.pagination import decode_cursor, encode_cursor
from meterhub.parties.service import party_by_code, party_by_id, party_codes_query
from meterhub.registration import service as registration

SORTABLE = (
    "device_id",
    "device_type",
    "model",
    "manufacturer",
    "firmware_version",
    "status",
    "csp_region",
    "updated_at",
)


@dataclass(frozen=True)
class DeviceFilter:
    device_type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    status: str | None = None
    csp_region: str | None = None
    smets_version: str | None = None
    mpxn: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class DevicePage:
    items: list[Device]
    next_cursor: str | None


def visible_clause(
    session: Session, actor: Actor, on_day: date | None = None
) -> ColumnElement[bool]:
    """SQL condition: the actor may see the device (see the module docstring)."""
    if actor.is_operator:
        return true()
    if actor.party_id is None:
        return false()
    party = actor.party_id
    registered = registration.held_by_clause(
        session, Device.mpxn, party_id=party, day=on_day or today()
    )
    return or_(Device.owner_party_id == party, registered)


def get_device(session: Session, *, actor: Actor, device_id: str) -> Device:
    device_id = normalise_eui64(device_id)
    stmt = select(Device).where(Device.device_id == device_id, visible_clause(session, actor))
    device = session.scalar(stmt)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def _filtered(session: Session, actor: Actor, flt: DeviceFilter) -> Select[Device]:
    stmt = select(Device).where(visible_clause(session, actor))
    if flt.device_type:
        stmt = stmt.where(
            Device.device_type == parse_enum(DeviceType, flt.device_type, "device type").value
        )
    if flt.status:
        stmt = stmt.where(Device.status == parse_enum(DeviceStatus, flt.status, "status").value)
    if flt.csp_region:
        stmt = stmt.where(
            Device.csp_region == parse_enum(CspRegion, flt.csp_region, "region").value
        )
    if flt.manufacturer:
        stmt = stmt.where(Device.manufacturer == flt.manufacturer)
    if flt.model:
        stmt = stmt.where(Device.model == flt.model)
    if flt.firmware_version:
        stmt = stmt.where(Device.firmware_version == flt.firmware_version)
    if flt.smets_version:
        if flt.smets_version not in SMETS_VERSIONS:
            raise InvalidInput(
                f"unknown SMETS/CHTS version {flt.smets_version!r};"
                f" one of {', '.join(SMETS_VERSIONS)}",
                code="bad_smets_version",
            )
        stmt = stmt.where(Device.smets_version == flt.smets_version)
    if flt.mpxn:
        stmt = stmt.where(Device.mpxn == normalise_mpxn(flt.mpxn))
    if flt.owner:
        owner = party_by_code(session, flt.owner)
        stmt = stmt.where(Device.owner_party_id == (owner.id if owner else -1))
    return stmt


def list_devices(
    session: Session,
    *,
    actor: Actor,
    flt: DeviceFilter,
    sort: str = "device_id",
    limit: int = 50,
    cursor: str | None = None,
) -> DevicePage:
    """One page of the devices the actor may see, filtered and sorted, with a keyset cursor."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTABLE:
        raise InvalidInput(f"cannot sort by {key!r}; one of {', '.join(SORTABLE)}", code="bad_sort")
    if not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be between 1 and 10000", code="bad_limit")
    column = getattr(Device, key)
    stmt = _filtered(session, actor, flt)
    if cursor:
        values = decode_cursor(cursor)
        bad_cursor = InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        if len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise bad_cursor
        last_key: Any = values[0]
        if key == "updated_at":
            try:
                last_key = datetime.fromisoformat(values[0])
            except ValueError:
                raise bad_cursor from None
            if last_key.tzinfo is None:
                raise bad_cursor
        if key == "device_id":
            cond = Device.device_id < values[1] if descending else Device.device_id > values[1]
        elif descending:
            cond = or_(column < last_key, and_(column == last_key, Device.device_id < values[1]))
        else:
            cond = or_(column > last_key, and_(column == last_key, Device.device_id > values[1]))
        stmt = stmt.where(cond)
    order = [column.desc(), Device.device_id.desc()] if descending else [column, Device.device_id]
    if key == "device_id":
        order = order[:1]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        sort_value = getattr(last, key)
        next_cursor = encode_cursor(
            [
                sort_value.isoformat() if hasattr(sort_value, "isoformat") else sort_value,
                last.device_id,
            ]
        )
    return DevicePage(items=rows, next_cursor=next_cursor)


def facet_values(session: Session, *, actor: Actor, column: str) -> list[str]:
    """Distinct values of ``column`` among the devices the actor sees (for filter drop-downs)."""
    if column not in ("manufacturer", "model", "firmware_version", "smets_version"):
        raise InvalidInput(f"no facet {column}", code="bad_facet")
    col = getattr(Device, column)
    stmt = select(col).where(visible_clause(session, actor)).distinct().order_by(col).limit(500)
    return [v for v in session.scalars(stmt) if v is not None]


def _may_link_meter_point(session: Session, actor: Actor, mpxn: str) -> bool:
    if registration.meter_point(session, mpxn=mpxn) is None:
        return False
    if actor.is_operator:
        return True
    return registration.holds(session, mpxn=mpxn, party_id=actor.party_id or -1, day=today())


#: The most characters each descriptive field of a device holds (its column's length): what
#: ``add_device`` accepts and ``meterhub import columns devices`` documents.
TEXT_LIMITS: Final = {
    name: text_length(Device.__table__.c[name])
    for name in ("manufacturer", "model", "firmware_version", "smets_version")
}


def add_device(
    session: Session,
    *,
    actor: Actor,
    device_id: str,
    device_type: str,
    manufacturer: str,
    model: str,
    firmware_version: str,
    smets_version: str,
    csp_region: str,
    status: str = DeviceStatus.PENDING.value,
    owner: str | None = None,
    mpxn: str | None = None,
    comms_hub_id: str | None = None,
    reason: str = "added to inventory",
    now: datetime,
) -> Device:
    """Add a device to SMI. The operator adds any; a party adds devices it will hold."""
    device_id = normalise_eui64(device_id)
    dtype = parse_enum(DeviceType, device_type, "device type")
    dstatus = parse_enum(DeviceStatus, status, "status")
    region = parse_enum(CspRegion, csp_region, "region")
    if smets_version not in SMETS_VERSIONS:
        raise InvalidInput(
            f"unknown SMETS/CHTS version {smets_version!r}; one of {', '.join(SMETS_VERSIONS)}",
            code="bad_smets_version",
        )
    for name, value in (
        ("manufacturer", manufacturer),
        ("model", model),
        ("firmware_version", firmware_version),
    ):
        limit = TEXT_LIMITS[name]
        if not value or not value.strip() or len(value) > limit:
            raise InvalidInput(f"{name} must be 1-{limit} characters", code=f"bad_{name}")
    owner_id: int | None = None
    if owner:
        owner_party = party_by_code(session, owner)
        if owner_party is None:
            raise InvalidInput(f"no party {owner} to hold the device", code="unknown_party")
        owner_id = owner_party.id
    if not actor.is_operator:
        if owner_id is None:
            owner_id = actor.party_id
        if owner_id != actor.party_id:
            raise InvalidInput("a party adds devices it holds itself", code="not_your_device")
    # A party links only to meter points it holds today and hubs it can see: anything else
    # looks exactly like one that does not exist.
    mp = normalise_mpxn(mpxn) if mpxn else None
    if mp is not None and not _may_link_meter_point(session, actor, mp):
        raise InvalidInput(f"no meter point {mp} is registered", code="unknown_mpxn")
    hub = normalise_eui64(comms_hub_id, field="comms_hub_id") if comms_hub_id else None
    if hub is not None:
        hub_row = session.scalar(
            select(Device).where(Device.device_id == hub, visible_clause(session, actor))
        )
        if hub_row is None or hub_row.device_type != DeviceType.CHF:
            raise InvalidInput(f"no communications hub {hub}", code="unknown_comms_hub")
    if session.get(Device, device_id) is not None:
        raise Conflict(f"device {device_id} is already in the inventory", code="device_exists")
    device = Device(
        device_id=device_id,
        device_type=dtype.value,
        manufacturer=manufacturer.strip(),
        model=model.strip(),
        firmware_version=firmware_version.strip(),
        smets_version=smets_version,
        csp_region=region.value,
        status=dstatus.value,
        owner_party_id=owner_id,
        mpxn=mp,
        comms_hub_id=hub,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    session.add(
        DeviceHistory(
            device_id=device_id,
            at=now,
            field="status",
            old_value=None,
            new_value=dstatus.value,
            actor=actor.name,
            reason=reason,
        )
    )
    record(
        session,
        actor=actor,
        action="device.added",
        object_type="device",
        object_id=device_id,
        changes={
            "device_type": dtype.value,
            "model": device.model,
            "status": dstatus.value,
            "owner": party_by_code_for_id(session, owner_id),
            "mpxn": mp,
        },
        now=now,
    )
    session.flush()
    return device


def _history(
    session: Session,
    device: Device,
    actor: Actor,
    field: str,
    old: str | None,
    new: str | None,
    reason: str,
    now: datetime,
    event: StatusEvent | None = None,
) -> None:
    session.add(
        DeviceHistory(
            device_id=device.device_id,
            at=now,
            field=field,
            old_value=old,
            new_value=new,
            actor=actor.name,
            reason=reason,
        )
    )
    record(
        session,
        actor=actor,
        action=f"device.{field}_changed",
        object_type="device",
        object_id=device.device_id,
        changes={field: [old, new], "reason": reason}
        | ({"event": event.value} if event is not None else {}),
        now=now,
    )
    device.updated_at = now


def _workflow_row(
    device: Device, events: frozenset[StatusEvent], to: DeviceStatus | None
) -> Transition:
    current = DeviceStatus(device.status)
    row = find_transition(events, current, to)
    if row is None:
        by = "" if events == LIFECYCLE_EVENTS else " by " + ", ".join(sorted(events))
        allowed = ", ".join(sorted(statuses_after(events, current))) or "none"
        target = f" to {to.value}" if to is not None else ""
        raise InvalidTransition(
            f"{device.device_id} cannot go from {current.value}{target}{by} (allowed: {allowed})",
            details={
                "event": sorted(events),
                "from": current.value,
                "to": to.value if to else None,
            },
        )
    return row


def check_transition(
    device: Device, *, event: StatusEvent, to: DeviceStatus | None = None
) -> Transition:
    """The workflow row ``event`` would move ``device`` by, or InvalidTransition: what the
    gateway asks while it validates a request, before anything changes."""
    return _workflow_row(device, frozenset({event}), to)


def _move(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    events: frozenset[StatusEvent],
    to: DeviceStatus | None,
    reason: str,
    now: datetime,
) -> Transition:
    row = _workflow_row(device, events, to)
    if row.to.value != device.status:
        old = device.status
        device.status = row.to.value
        _history(session, device, actor, "status", old, row.to.value, reason, now, row.event)
    return row


def transition(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    event: StatusEvent,
    reason: str,
    now: datetime,
    to: DeviceStatus | None = None,
) -> Transition:
    """The one entrance for a status move: find the workflow row by which ``event`` moves the
    device from its status (to ``to``, for an event such as 8.4 that may lead to several), or
    refuse with InvalidTransition and change nothing; then change the status and write the
    device history and the audit entry, both at ``now``.

    A row that leaves the status as it is (8.14.2 reported again for a hub still waiting for
    its SM WAN) is allowed and writes nothing."""
    return _move(
        session,
        actor=actor,
        device=device,
        events=frozenset({event}),
        to=to,
        reason=reason,
        now=now,
    )


def change_status(
    session: Session, *, actor: Actor, device_id: str, status: str, reason: str, now: datetime
) -> Device:
    """A person moves a device along its lifecycle (the API's and the portal's status change)
    by naming the status it goes to; the move must be a lifecycle row of the workflow."""
    device = get_device(session, actor=actor, device_id=device_id)
    new = parse_enum(DeviceStatus, status, "status")
    _workflow_row(device, LIFECYCLE_EVENTS, new)
    if not reason.strip():
        raise InvalidInput("a status change needs a reason", code="reason_required")
    _move(
        session,
        actor=actor,
        device=device,
        events=LIFECYCLE_EVENTS,
        to=new,
        reason=reason.strip(),
        now=now,
    )
    return device


def change_owner(
    session: Session, *, actor: Actor, device_id: str, owner: str, reason: str, now: datetime
) -> Device:
    """Pass a Communications Hub to another party (stock transfer, return to the DCC)."""
    device = get_device(session, actor=actor, device_id=device_id)
    if not actor.is_operator and device.owner_party_id != actor.party_id:
        raise PermissionDenied(f"only the party holding {device.device_id} passes it on")
    new_owner = party_by_code(session, owner)
    if new_owner is None:
        raise InvalidInput(f"no party {owner}", code="unknown_party")
    if not reason.strip():
        raise InvalidInput("an owner change needs a reason", code="reason_required")
    old_owner = party_by_code_for_id(session, device.owner_party_id)
    device.owner_party_id = new_owner.id
    _history(session, device, actor, "owner", old_owner, new_owner.code, reason.strip(), now)
    return device


def party_by_code_for_id(session: Session, party_id: int | None) -> str | None:
    if party_id is None:
        return None
    party = party_by_id(session, party_id)
    return party.code if party else None


def device_history(session: Session, *, actor: Actor, device_id: str) -> Sequence[DeviceHistory]:
    device = get_device(session, actor=actor, device_id=device_id)
    stmt = (
        select(DeviceHistory)
        .where(DeviceHistory.device_id == device.device_id)
        .order_by(DeviceHistory.id)
    )
    return session.scalars(stmt).all()


def status_counts(session: Session, *, actor: Actor) -> dict[tuple[str, str], int]:
    """How many devices the actor sees per (device type, status): the portal's home summary."""
    stmt = (
        select(Device.device_type, Device.status, func.count())
        .where(visible_clause(session, actor))
        .group_by(Device.device_type, Device.status)
    )
    return {(dtype, status): n for dtype, status, n in session.execute(stmt)}


def cursor_at(device: Device, *, sort: str) -> str:
    """The keyset cursor just past ``device`` in ``sort`` order (as ``next_cursor`` is).

    Listing with the reversed sort from this cursor walks backwards, which is how the portal
    offers a "Previous" link on keyset pages.
    """
    key = sort.lstrip("-")
    if key not in SORTABLE:
        raise InvalidInput(f"cannot sort by {key!r}; one of {', '.join(SORTABLE)}", code="bad_sort")
    value = getattr(device, key)
    return encode_cursor(
        [value.isoformat() if hasattr(value, "isoformat") else value, device.device_id]
    )


def withdraw_returned(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    event: StatusEvent,
    dcc_party_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    """A hub returned to the DCC (8.14.3 fault, 8.14.4 no fault) is withdrawn from service, and
    the DCC holds it from now on."""
    if event not in (StatusEvent.FAULT_RETURN, StatusEvent.NO_FAULT_RETURN):
        raise InvalidInput(f"{event.value} is not a hub return", code="not_a_return")
    transition(session, actor=actor, device=device, event=event, reason=reason, now=now)
    if dcc_party_id is not None and device.owner_party_id != dcc_party_id:
        old_owner = party_by_code_for_id(session, device.owner_party_id)
        device.owner_party_id = dcc_party_id
        _history(
            session,
            device,
            actor,
            "owner",
            old_owner,
            party_by_code_for_id(session, dcc_party_id),
            reason,
            now,
        )


def existing_device_ids(session: Session, *, device_ids: Iterable[str]) -> set[str]:
    """Which of these Device IDs the inventory already holds, in one query per thousand: an
    advance shipment notice is checked against SMI before any of its hubs is accepted. Not
    checked for visibility: a GUID is either free or not, whoever holds it."""
    ids = sorted(set(device_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(session.scalars(select(Device.device_id).where(Device.device_id.in_(chunk))))
    return found


def receive_hubs(
    session: Session,
    *,
    actor: Actor,
    device_ids: Sequence[str],
    owner_party_id: int,
    manufacturer: str,
    model: str,
    firmware_version: str,
    smets_version: str,
    csp_region: str,
    reason: str,
    now: datetime,
) -> list[Device]:
    """Communications Hubs a party accepted from a delivery enter SMI as ``Pending`` stock it
    holds, all of one variant and region: every one or none. A Device ID the inventory already
    holds refuses the whole set, naming each such ID, before anything is written. Each hub
    gets its first history row and an audit entry, as ``add_device`` writes them."""
    region = parse_enum(CspRegion, csp_region, "region")
    if smets_version not in SMETS_VERSIONS:
        raise InvalidInput(
            f"unknown SMETS/CHTS version {smets_version!r}", code="bad_smets_version"
        )
    ids = [normalise_eui64(d) for d in device_ids]
    taken = existing_device_ids(session, device_ids=ids)
    if taken:
        shown = ", ".join(sorted(taken)[:20])
        raise Conflict(
            f"{len(taken)} of these hubs are already in the inventory: {shown}",
            code="device_exists",
            details={"device_ids": sorted(taken)},
        )
    owner_code = party_by_code_for_id(session, owner_party_id)
    devices = []
    for device_id in ids:
        device = Device(
            device_id=device_id,
            device_type=DeviceType.CHF.value,
            manufacturer=manufacturer,
            model=model,
            firmware_version=firmware_version,
            smets_version=smets_version,
            csp_region=region.value,
            status=DeviceStatus.PENDING.value,
            owner_party_id=owner_party_id,
            created_at=now,
            updated_at=now,
        )
        devices.append(device)
        session.add(device)
        session.add(
            DeviceHistory(
                device_id=device_id,
                at=now,
                field="status",
                old_value=None,
                new_value=DeviceStatus.PENDING.value,
                actor=actor.name,
                reason=reason,
            )
        )
        record(
            session,
            actor=actor,
            action="device.added",
            object_type="device",
            object_id=device_id,
            changes={
                "device_type": DeviceType.CHF.value,
                "model": model,
                "status": DeviceStatus.PENDING.value,
                "owner": owner_code,
                "reason": reason,
            },
            now=now,
        )
    session.flush()
    return devices


def install_hub(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    event: StatusEvent,
    mpxn: str | None,
    reason: str,
    now: datetime,
) -> None:
    """8.14.1 install and commission, 8.14.2 install and leave: the hub is in service at a
    meter point. The status move is checked first, so a refused install links nothing."""
    if event not in (StatusEvent.INSTALL_AND_COMMISSION, StatusEvent.INSTALL_AND_LEAVE):
        raise InvalidInput(f"{event.value} is not a hub install", code="not_an_install")
    check_transition(device, event=event)
    if mpxn and device.mpxn != mpxn:
        old = device.mpxn
        device.mpxn = mpxn
        _history(session, device, actor, "mpxn", old, mpxn, reason, now)
    transition(session, actor=actor, device=device, event=event, reason=reason, now=now)


def decommission(
    session: Session, *, actor: Actor, device: Device, reason: str, now: datetime
) -> None:
    """8.3 Decommission Device: the device leaves service."""
    transition(
        session,
        actor=actor,
        device=device,
        event=StatusEvent.DECOMMISSIONED,
        reason=reason,
        now=now,
    )


_DUIS_DETAIL_FIELDS = {
    "DeviceManufacturer": "manufacturer",
    "DeviceModel": "model",
    "SMETSCHTSVersion": "smets_version",
    "FirmwareVersion": "firmware_version",
}


def update_from_duis(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    field: str,
    value: Any,
    reason: str,
    now: datetime,
) -> None:
    """8.4 Update Inventory: one change to the device's record, already checked by the gateway;
    a status change or a deletion is a move of the workflow like any other."""
    if field == "status":
        to = parse_enum(DeviceStatus, str(value), "status")
        transition(
            session,
            actor=actor,
            device=device,
            event=StatusEvent.UPDATE_INVENTORY,
            to=to,
            reason=reason,
            now=now,
        )
    elif field == "mpxn":
        old_mpxn = device.mpxn
        registration.ensure_meter_point(
            session, mpxn=value, fuel=fuel_of_device_type(device.device_type)
        )
        device.mpxn = str(value)
        _history(session, device, actor, "mpxn", old_mpxn, device.mpxn, reason, now)
    elif field == "delete":
        transition(
            session,
            actor=actor,
            device=device,
            event=StatusEvent.DELETE_FROM_INVENTORY,
            reason=f"deleted: {reason}",
            now=now,
        )
    elif field == "details":
        for duis_name, column in _DUIS_DETAIL_FIELDS.items():
            if duis_name in value and value[duis_name] not in (None, ""):
                new = str(value[duis_name])[: TEXT_LIMITS[column]]
                old = getattr(device, column)
                if new != old:
                    setattr(device, column, new)
                    _history(session, device, actor, column, old, new, reason, now)


# --- devices as the gateway and the event lake read them -------------------------------------


class DeviceAttributes(NamedTuple):
    """A device's SMI record without its history or links: what DUIS checks read of it (status,
    holder, meter point), what the device network model reads (region, SMETS version, model,
    firmware) and what the event lake records of it."""

    device_id: str
    device_type: str
    status: str
    owner_party_id: int | None
    mpxn: str | None
    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    smets_version: str


_ATTRIBUTE_COLUMNS = (
    Device.device_id,
    Device.device_type,
    Device.status,
    Device.owner_party_id,
    Device.mpxn,
    Device.manufacturer,
    Device.model,
    Device.firmware_version,
    Device.csp_region,
    Device.smets_version,
)
# Run on the driver (``db.direct``): the DUIS gateway reads one per device request.
_ATTRIBUTES_OF = Direct(
    select(*_ATTRIBUTE_COLUMNS).where(Device.device_id == bindparam("device_id")),
    row=DeviceAttributes,
)


def device_attributes(session: Session, *, device_id: str) -> DeviceAttributes | None:
    """The device's attributes, or None when SMI has no such device. Not checked for
    visibility: the gateway decides entitlement itself (``gateway.entitlement``). Read on the
    driver, so it does not see changes the session has not flushed."""
    found: DeviceAttributes | None = _ATTRIBUTES_OF.first(session, {"device_id": device_id})
    return found


def device_attributes_by_id(
    session: Session, *, device_ids: Iterable[str]
) -> dict[str, DeviceAttributes]:
    """The attributes of each of these devices SMI holds, by device ID, in one query (an event
    lake batch describes thousands of requests' devices at once)."""
    ids = sorted(set(device_ids))
    if len(ids) <= _IN_SLICE:
        rows = session.execute(select(*_ATTRIBUTE_COLUMNS).where(Device.device_id.in_(ids)))
        return {row[0]: DeviceAttributes._make(row) for row in rows} if ids else {}
    # Many (a stock transfer receipt names 100,000): joined from a table of the IDs.
    with bulk.key_table(session, ids) as keys:
        rows = session.execute(
            select(*_ATTRIBUTE_COLUMNS).join(keys, keys.c.key == Device.device_id)
        )
        return {row[0]: DeviceAttributes._make(row) for row in rows}


#: Device IDs bound in one statement's IN list; more are joined from a temporary table.
_IN_SLICE = 1_000


def move_hubs(
    session: Session,
    *,
    actor: Actor,
    device_ids: Sequence[str],
    from_party_id: int,
    to_party_id: int,
    reason: str,
    now: datetime,
) -> int:
    """Pass a set of ``Pending`` Communications Hubs from one holder to another in a few
    statements, however many there are: an MP140 stock transfer's receipt (tens of thousands of
    hubs in one file), or a dispute's outcome sending them back. Only hubs in SMI status
    ``Pending`` change owner (MP140: the DSP enforces it), so the UPDATE itself requires that
    status and the old holder: if any hub no longer matches (it was installed or passed on
    since the caller checked), InvalidTransition is raised and the caller's transaction must
    roll back, so a set never half-moves.

    Each hub gets a ``DeviceHistory`` row (field ``owner``, old and new holder as party codes,
    at ``now``, ``reason`` naming the transfer) and an audit entry, as ``change_owner`` writes
    one by one; the custody ledger and the stock charge read the new holder from ``now``'s day.
    Returns how many hubs moved."""
    ids = sorted(set(device_ids))
    if len(ids) != len(device_ids):
        raise InvalidInput("a hub is named twice in one move", code="duplicate_device")
    if not reason.strip():
        raise InvalidInput("an owner change needs a reason", code="reason_required")
    if not ids:
        return 0
    old_code = party_by_code_for_id(session, from_party_id)
    new_code = party_by_code_for_id(session, to_party_id)
    if old_code is None or new_code is None:
        raise InvalidInput("both holders must be parties", code="unknown_party")
    session.flush()
    with bulk.key_table(session, ids) as keys:
        result = session.execute(
            update(Device)
            .where(
                Device.device_id.in_(select(keys.c.key)),
                Device.owner_party_id == from_party_id,
                Device.status == DeviceStatus.PENDING.value,
                Device.device_type == DeviceType.CHF.value,
            )
            .values(owner_party_id=to_party_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        moved = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if moved != len(ids):
        raise InvalidTransition(
            f"{len(ids) - moved} of {len(ids)} hubs are no longer Pending hubs held by"
            f" {old_code}; nothing moved",
            code="hubs_changed",
        )
    reason = reason.strip()
    _, stamp = bulk.encoders(session)
    at = stamp(now)
    bulk.write_rows(
        session,
        DeviceHistory.__table__,  # type: ignore[arg-type]
        DEVICE_HISTORY_COLUMNS,
        [(d, at, "owner", old_code, new_code, actor.name, reason) for d in ids],
    )
    changes = {"owner": [old_code, new_code], "reason": reason}
    record_many(
        session,
        actor=actor,
        action="device.owner_changed",
        object_type="device",
        entries=((d, changes) for d in ids),
        now=now,
    )
    # A moved device already loaded in the session is stale now that the UPDATE went past it.
    moved_ids = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Device) and obj.device_id in moved_ids:
            session.expire(obj)
    return moved


def device_by_id(session: Session, *, device_id: str) -> Device | None:
    """The device's record, to hand back to this service's changes (the hub's own SRVs: 8.14.x,
    8.3, 8.4), or None. Not checked for visibility: the gateway decides entitlement itself."""
    return session.get(Device, device_id)


class PremisesOnSupply(NamedTuple):
    """A premises as the electricity supply reaches it: its comms hub and the electricity meter
    joined to that hub, which reports the supply back, at its MPAN."""

    comms_hub_id: str
    meter_id: str
    mpxn: str


def premises_run(
    session: Session, *, csp_region: str, position: float, length: int
) -> list[PremisesOnSupply]:
    """A run of neighbouring premises in one CSP region, as a power outage hits them: of the
    commissioned comms hubs with a commissioned electricity meter joined to them, in the MPAN
    order of their meters (MPANs of one area are handed out in runs), up to ``length`` meters
    starting at ``position`` (a share, in [0, 1), of the region's such meters). One row per
    premises, however many meters it has."""
    hub = aliased(Device)
    meter = aliased(Device)
    premises = (
        select(hub.device_id, meter.device_id, meter.mpxn)
        .join(meter, meter.comms_hub_id == hub.device_id)
        .where(
            hub.device_type == DeviceType.CHF.value,
            hub.status == DeviceStatus.COMMISSIONED.value,
            hub.csp_region == csp_region,
            meter.device_type == DeviceType.ESME.value,
            meter.status == DeviceStatus.COMMISSIONED.value,
            meter.mpxn.is_not(None),
        )
    )
    count = session.scalar(select(func.count()).select_from(premises.subquery())) or 0
    if count == 0:
        return []
    first = min(int(position * count), count - 1)
    rows = session.execute(
        premises.order_by(meter.mpxn, meter.device_id).offset(first).limit(length)
    ).all()
    seen: set[str] = set()
    run = []
    for hub_id, meter_id, mpxn in rows:
        if hub_id not in seen and mpxn is not None:
            seen.add(hub_id)
            run.append(PremisesOnSupply(comms_hub_id=hub_id, meter_id=meter_id, mpxn=mpxn))
    return run


# ---- for other domains: the inventory in bulk (the lake, the reports, the demo estate) ------

#: The device columns another domain may export (everything but the bookkeeping stamps).
EXPORTABLE_COLUMNS: Final = (
    "device_id",
    "device_type",
    "manufacturer",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "status",
    "mpxn",
    "comms_hub_id",
    "owner_party_id",
)


def device_export_query(
    *,
    columns: Sequence[str],
    excluding_statuses: Iterable[str] = (),
    by_device_id: bool = False,
) -> Select[*tuple[Any, ...]]:
    """Every device's ``columns`` (from ``EXPORTABLE_COLUMNS``), without those in
    ``excluding_statuses``, ordered by Device ID when ``by_device_id`` (else in table order,
    which reads a million rows faster): the statement, for the lake simulator and the report
    snapshot to run their own fast way or join into one query."""
    unknown = [c for c in columns if c not in EXPORTABLE_COLUMNS]
    if unknown:
        raise InvalidInput(f"no device column {', '.join(unknown)} to export", code="bad_column")
    stmt = select(*(getattr(Device, c) for c in columns))
    excluded = list(excluding_statuses)
    if excluded:
        stmt = stmt.where(Device.status.not_in(excluded))
    if by_device_id:
        stmt = stmt.order_by(Device.device_id)
    return stmt


#: The device history fields that make a hub's custody: its status and its holder.
CUSTODY_FIELDS: Final = ("status", "owner")


def hub_custody_query(
    *, device_id: str | None = None, party_code: str | None = None
) -> Select[*tuple[Any, ...]]:
    """The custody history of Communications Hubs: every status and owner row of every hub (or
    of ``device_id``, or of the hubs ``party_code`` holds now or once held), as ``device_id,
    at, id, field, old_value, new_value, actor, reason, holder_now`` (the code of the party
    holding the hub now: a hub that never changed hands was held by it from the start). Owner
    values are party codes. The statement, for the custody ledger to read through its own
    window over the rows, in one pass (``comms_hubs.ledger``)."""
    holders = party_codes_query().subquery()
    stmt = (
        select(
            DeviceHistory.device_id,
            DeviceHistory.at,
            DeviceHistory.id,
            DeviceHistory.field,
            DeviceHistory.old_value,
            DeviceHistory.new_value,
            DeviceHistory.actor,
            DeviceHistory.reason,
            holders.c.code.label("holder_now"),
        )
        .join(Device, Device.device_id == DeviceHistory.device_id)
        .outerjoin(holders, holders.c.id == Device.owner_party_id)
        .where(
            Device.device_type == DeviceType.CHF.value,
            DeviceHistory.field.in_(CUSTODY_FIELDS),
        )
    )
    if device_id is not None:
        stmt = stmt.where(DeviceHistory.device_id == device_id)
    if party_code is not None:
        once_held = select(DeviceHistory.device_id).where(
            DeviceHistory.field == "owner",
            or_(DeviceHistory.old_value == party_code, DeviceHistory.new_value == party_code),
        )
        stmt = stmt.where(or_(holders.c.code == party_code, DeviceHistory.device_id.in_(once_held)))
    return stmt


#: A party as the custody statements name it: its id (the holder now) and code (history values).
PartyKey = tuple[int, str]


def _moving_hubs(since: datetime, party: PartyKey | None) -> Any:
    """The hubs whose custody may have moved since ``since``: those in stock now and those
    changed since (``updated_at`` is the time of a device's latest change; a day's margin
    covers a change stamped with a request's time a little before one already made). Any
    other hub has been in its present state, not stock, since before ``since``. With
    ``party``, only the hubs it holds now or that an owner row names it for."""
    stmt = select(Device.device_id, Device.owner_party_id).where(
        Device.device_type == DeviceType.CHF.value,
        or_(
            Device.status.in_([s.value for s in BEFORE_INSTALLATION]),
            Device.updated_at >= since - timedelta(days=1),
        ),
    )
    if party is not None:
        party_id, code = party
        named = select(DeviceHistory.device_id).where(
            DeviceHistory.field == "owner",
            or_(DeviceHistory.old_value == code, DeviceHistory.new_value == code),
        )
        stmt = stmt.where(or_(Device.owner_party_id == party_id, Device.device_id.in_(named)))
    return stmt.subquery("hub")


def _hub_rows(
    field: str, *, since: datetime, before: datetime, party: PartyKey | None = None
) -> Select[*tuple[Any, ...]]:
    hub = _moving_hubs(since, party)
    return (
        select(
            DeviceHistory.device_id,
            DeviceHistory.at,
            DeviceHistory.id,
            DeviceHistory.old_value,
            DeviceHistory.new_value,
            hub.c.owner_party_id.label("holder_id_now"),
        )
        .join(hub, hub.c.device_id == DeviceHistory.device_id)
        .where(DeviceHistory.field == field, DeviceHistory.at < before)
    )


def hub_status_rows_query(
    *, since: datetime, before: datetime, party: PartyKey | None = None
) -> Select[*tuple[Any, ...]]:
    """The status rows before ``before`` of every Communications Hub whose custody may have
    moved since ``since`` (in stock now, or changed since): ``device_id, at, id, old_value,
    new_value, holder_id_now, holder_then``. ``holder_id_now`` is the id of the party holding
    the hub now; ``holder_then`` the code of the party that held it at that row when that was
    another (the party the next owner row took it from), else None. The statement, for the
    custody ledger's estate-wide aggregates (``comms_hubs.ledger``); with ``party`` (id,
    code), of only the hubs it holds now or once held."""
    rows = _hub_rows("status", since=since, before=before, party=party).subquery("status_row")
    later = aliased(DeviceHistory)
    holder_then = (
        select(later.old_value)
        .where(
            later.device_id == rows.c.device_id,
            later.field == "owner",
            or_(later.at > rows.c.at, and_(later.at == rows.c.at, later.id > rows.c.id)),
        )
        .order_by(later.at, later.id)
        .limit(1)
        .correlate(rows)
        .scalar_subquery()
    )
    return select(*rows.c, holder_then.label("holder_then"))


def _earlier(later: Any) -> ColumnElement[bool]:
    """SQL: this history row comes before row ``later`` of the same device (by time, then id)."""
    return and_(
        DeviceHistory.device_id == later.c.device_id,
        or_(
            DeviceHistory.at < later.c.at,
            and_(DeviceHistory.at == later.c.at, DeviceHistory.id < later.c.id),
        ),
    )


def hub_owner_rows_query(
    *, since: datetime, before: datetime, party: PartyKey | None = None
) -> Select[*tuple[Any, ...]]:
    """The owner rows (old and new holder as party codes) of the same hubs as
    ``hub_status_rows_query``, each with ``status_then``: the hub's status when it changed
    hands (the latest status row before it)."""
    rows = _hub_rows("owner", since=since, before=before, party=party).subquery("owner_row")
    status_then = (
        select(DeviceHistory.new_value)
        .where(_earlier(rows), DeviceHistory.field == "status")
        .order_by(DeviceHistory.at.desc(), DeviceHistory.id.desc())
        .limit(1)
        .correlate(rows)
        .scalar_subquery()
    )
    return select(*rows.c, status_then.label("status_then"))


def device_count(session: Session) -> int:
    """How many devices the inventory holds (a fresh database holds none)."""
    return session.scalar(select(func.count()).select_from(Device)) or 0


class HubStock(NamedTuple):
    """How many Communications Hubs of one make, model, firmware and CSP region a party holds
    in status ``Pending`` (delivered, not installed): the stock it may offer for transfer."""

    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    hubs: int


def _pending_hubs_of(party_id: int) -> list[ColumnElement[bool]]:
    return [
        Device.owner_party_id == party_id,
        Device.device_type == DeviceType.CHF.value,
        Device.status == DeviceStatus.PENDING.value,
    ]


def pending_hubs_held(
    session: Session,
    *,
    party_id: int,
    manufacturer: str,
    model: str,
    firmware_version: str,
    csp_region: str,
) -> int:
    """How many ``Pending`` hubs of exactly this make, model, firmware and region the party
    holds. Only these may change owner under MP140, so a listing can never offer more."""
    stmt = (
        select(func.count())
        .select_from(Device)
        .where(
            *_pending_hubs_of(party_id),
            Device.manufacturer == manufacturer,
            Device.model == model,
            Device.firmware_version == firmware_version,
            Device.csp_region == csp_region,
        )
    )
    return session.scalar(stmt) or 0


def pending_hub_stock(session: Session, *, party_id: int) -> list[HubStock]:
    """The party's ``Pending`` hubs counted by make, model, firmware and region (one query)."""
    key = (Device.manufacturer, Device.model, Device.firmware_version, Device.csp_region)
    stmt = (
        select(*key, func.count()).where(*_pending_hubs_of(party_id)).group_by(*key).order_by(*key)
    )
    return [HubStock(*row) for row in session.execute(stmt)]


#: The columns of a bulk-loaded device row, and of its first history row.
DEVICE_COLUMNS: Final = (
    "device_id",
    "device_type",
    "manufacturer",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "status",
    "owner_party_id",
    "mpxn",
    "comms_hub_id",
    "created_at",
    "updated_at",
)
DEVICE_HISTORY_COLUMNS: Final = (
    "device_id",
    "at",
    "field",
    "old_value",
    "new_value",
    "actor",
    "reason",
)


def load_devices(
    session: Session, *, devices: Sequence[bulk.Row], history: Sequence[bulk.Row]
) -> None:
    """Bulk-load devices and their history rows (tuples in ``DEVICE_COLUMNS`` and
    ``DEVICE_HISTORY_COLUMNS`` order, each hub before its meters, timestamps encoded by
    ``db.bulk.encoders``) past ``add_device``'s checks and audit, for the demo estate: rows
    correct by construction, the database still checking every key
    (docs/decisions/0010-demo-estate-bulk-load.md)."""
    bulk.write_rows(session, Device.__table__, DEVICE_COLUMNS, devices)  # type: ignore[arg-type]
    bulk.write_rows(session, DeviceHistory.__table__, DEVICE_HISTORY_COLUMNS, history)  # type: ignore[arg-type]
