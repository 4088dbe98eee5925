"""What the SRVs whose effect lives in the hub do, and their status and body rules.

* 8.14.1 Install Success ("install and commission"): the hub is Commissioned at the MPxN named
  in the body, straight from stock: the workflow's 8.14.1 row.
* 8.14.2 Install No SM WAN ("install and leave"): the hub is InstalledNotCommissioned at the MPxN.
* 8.14.3 Fault Return / 8.14.4 No Fault Return: the hub goes back to the DCC, its holder is
  charged (``comms_hubs.service.record_return``). Only the holder, or an RSA it appointed, may ask.
* 8.2 Read Inventory: answers from SMI.
* 8.3 Decommission Device: the device leaves service.
* 8.4 Update Inventory: one change to a device's SMI record: its status (Pending or
  InstalledNotCommissioned; for a hub Commissioned, Withdrawn or InstalledNotCommissioned), its
  details (make, model, SMETS/CHTS version, firmware), its MPxN, or deletion of a device never
  installed. Status changes follow the inventory's workflow.

Which status a device may be in for each of these, and where it goes, is the inventory's
workflow table (``inventory.catalogue.WORKFLOW``), never a rule of the gateway's own: the
gateway asks ``inventory.service.check_transition`` while it validates, and turns a refusal
into DUIS's E5 (device status disallows the request).
* 11.1 Update Firmware: the delivery is recorded to be tracked (11.3 activates it later).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.comms_hubs.service import record_return
from meterhub.errors import InvalidInput, InvalidTransition
from meterhub.gateway.codes import DuisRejected, ValidationStage
from meterhub.gateway.messages import InventoryRow
from meterhub.gateway.xml import DuisRequest
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, StatusEvent
from meterhub.inventory.catalogue import parse_enum as _parse_enum
from meterhub.kit.ids import normalise_mpxn
from meterhub.registration import service as registration

if TYPE_CHECKING:
    from meterhub.inventory.models import Device

RETURN_SRVS = frozenset({"8.14.3", "8.14.4"})
INSTALL_SRVS = frozenset({"8.14.1", "8.14.2"})
HUB_SRVS = RETURN_SRVS | INSTALL_SRVS | {"8.2", "8.3", "8.4", "11.1"}

#: The workflow event each SRV with a status move of its own records.
SRV_EVENTS = {
    "8.14.1": StatusEvent.INSTALL_AND_COMMISSION,
    "8.14.2": StatusEvent.INSTALL_AND_LEAVE,
    "8.14.3": StatusEvent.FAULT_RETURN,
    "8.14.4": StatusEvent.NO_FAULT_RETURN,
    "8.3": StatusEvent.DECOMMISSIONED,
}


def _refuse(stage: ValidationStage, reason: str) -> DuisRejected:
    return DuisRejected.at_stage(stage, reason)


def parse_status(value: str) -> DeviceStatus:
    try:
        return _parse_enum(DeviceStatus, value, "status")
    except InvalidInput as exc:
        raise _refuse(ValidationStage.BODY_RULE_FAILED, exc.message) from None


def _check_move(device: Device, event: StatusEvent, to: DeviceStatus | None = None) -> None:
    """The inventory's workflow decides; its refusal is DUIS's E5."""
    try:
        inventory.check_transition(device, event=event, to=to)
    except InvalidTransition as exc:
        raise _refuse(ValidationStage.DEVICE_STATUS_DISALLOWS, exc.message) from None


def check_hub_status(srv: str, device: Device) -> None:
    if (srv in INSTALL_SRVS or srv in RETURN_SRVS) and device.device_type != "CHF":
        raise _refuse(
            ValidationStage.BODY_RULE_FAILED, f"{device.device_id} is not a communications hub"
        )
    if srv in SRV_EVENTS:
        _check_move(device, SRV_EVENTS[srv])


def inventory_update(request: DuisRequest, device: Device) -> tuple[str, Any]:
    """What an 8.4 asks for, as (field, value), after its body and workflow rules."""
    body = request.body
    if "UpdateDeviceStatusCH" in body or "UpdateDeviceStatusExceptCH" in body:
        for_hub = "UpdateDeviceStatusCH" in body
        if for_hub != (device.device_type == "CHF"):
            kind = "a communications hub" if for_hub else "a device other than a hub"
            raise _refuse(
                ValidationStage.BODY_RULE_FAILED,
                f"that status update is for {kind}; {device.device_id} is a {device.device_type}",
            )
        status = str(body["UpdateDeviceStatusCH" if for_hub else "UpdateDeviceStatusExceptCH"])
        target = parse_status(status)
        _check_move(device, StatusEvent.UPDATE_INVENTORY, target)
        return "status", target.value
    if "UpdateDeviceDetails" in body:
        details = body["UpdateDeviceDetails"]
        if not isinstance(details, dict) or not details:
            raise _refuse(ValidationStage.BODY_RULE_FAILED, "UpdateDeviceDetails names nothing")
        return "details", details
    if "UpdateMPxN" in body:
        target_mpxn = body["UpdateMPxN"]
        value = target_mpxn.get("ImportMPxN") if isinstance(target_mpxn, dict) else None
        if not isinstance(value, str):
            raise _refuse(ValidationStage.BODY_RULE_FAILED, "only the import MPxN is recorded")
        try:
            return "mpxn", normalise_mpxn(value)
        except InvalidInput as exc:
            raise _refuse(ValidationStage.BODY_RULE_FAILED, exc.message) from None
    if "DeleteDevice" in body:
        _check_move(device, StatusEvent.DELETE_FROM_INVENTORY)
        return "delete", None
    raise _refuse(ValidationStage.BODY_RULE_FAILED, "8.4 names no change")


def check_body(srv: str, request: DuisRequest, devices: list[Device]) -> None:
    if not devices and srv != "8.2":
        raise _refuse(ValidationStage.BODY_RULE_FAILED, f"SRV {srv} names no device")
    if srv == "8.4":
        for device in devices:
            inventory_update(request, device)
    if srv in INSTALL_SRVS:
        mpxn = request.body.get("MPxN")
        if not isinstance(mpxn, str):
            raise _refuse(ValidationStage.BODY_RULE_FAILED, "the install names no MPxN")
        try:
            normalise_mpxn(mpxn)
        except InvalidInput as exc:
            raise _refuse(ValidationStage.BODY_RULE_FAILED, exc.message) from None


def apply(
    session: Session,
    *,
    actor: Actor,
    request: DuisRequest,
    srv: str,
    devices: list[Device],
    now: datetime,
    dcc_party_id: int | None,
) -> Any:
    """Take the effect; return what the response body should carry (8.2 rows), else None."""
    reason = f"{srv} {request.request_id}"
    if srv in RETURN_SRVS:
        kind = "fault" if srv == "8.14.3" else "no_fault"
        detail = (
            request.body.get("CHFFaultReason") or request.body.get("CHFNoFaultReturnReason") or ""
        )
        for device in devices:
            record_return(
                session,
                actor=actor,
                device=device,
                kind=kind,
                reason=str(detail),
                request_id=request.request_id,
                dcc_party_id=dcc_party_id,
                now=now,
            )
        return None
    if srv in INSTALL_SRVS:
        mpxn = normalise_mpxn(str(request.body.get("MPxN")))
        known = mpxn if _meter_point_known(session, mpxn) else None
        for device in devices:
            inventory.install_hub(
                session,
                actor=actor,
                device=device,
                event=SRV_EVENTS[srv],
                mpxn=known,
                reason=reason,
                now=now,
            )
        return None
    if srv == "8.3":
        for device in devices:
            inventory.decommission(session, actor=actor, device=device, reason=reason, now=now)
        return None
    if srv == "8.2":
        return [_inventory_row(d) for d in devices]
    if srv == "8.4":
        for device in devices:
            field, value = inventory_update(request, device)
            inventory.update_from_duis(
                session,
                actor=actor,
                device=device,
                field=field,
                value=value,
                reason=reason,
                now=now,
            )
        return None
    if srv == "11.1":
        from meterhub.gateway.models import FirmwareDelivery

        version = str(request.body.get("FirmwareVersion") or "")
        for device in devices:
            session.add(
                FirmwareDelivery(
                    request_id=request.request_id,
                    device_id=device.device_id,
                    firmware_version=version,
                    requested_at=now,
                    party_id=actor.party_id,
                    state="delivering",
                )
            )
        return None
    return None


def _meter_point_known(session: Session, mpxn: str) -> bool:
    return registration.meter_point(session, mpxn=mpxn) is not None


def _inventory_row(device: Device) -> InventoryRow:
    return InventoryRow(
        device_id=device.device_id,
        device_type=device.device_type,
        manufacturer=device.manufacturer,
        model=device.model,
        status=device.status,
        smets_chts_version=device.smets_version,
        firmware_version=device.firmware_version,
        import_mpxn=device.mpxn,
        csp_region=device.csp_region,
    )
