"""Hub returns. A returned hub leaves its holder's stock: it is withdrawn and the DCC holds it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs.models import HubReturn
from meterhub.errors import InvalidInput
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import StatusEvent

if TYPE_CHECKING:
    from meterhub.inventory.models import Device

PALLET_CHARGE_PENCE = 600_000
HUBS_PER_PALLET = 896
RETURN_CHARGE_PENCE = round(PALLET_CHARGE_PENCE / HUBS_PER_PALLET)
RETURN_EVENTS = {"fault": StatusEvent.FAULT_RETURN, "no_fault": StatusEvent.NO_FAULT_RETURN}


def record_return(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    kind: str,
    reason: str,
    request_id: str | None,
    dcc_party_id: int | None,
    now: datetime,
) -> HubReturn:
    """Return ``device`` to the DCC: charge its holder, withdraw it, pass custody to the DCC.

    ``kind`` is ``fault`` (8.14.3) or ``no_fault`` (8.14.4); the withdrawal is that SRV's row of
    the inventory's workflow, so a hub already withdrawn is refused before anything is charged."""
    assert device.owner_party_id is not None and actor.party_id is not None
    event = RETURN_EVENTS.get(kind)
    if event is None:
        raise InvalidInput(f"no hub return of kind {kind!r}", code="bad_return_kind")
    inventory.check_transition(device, event=event)
    hub_return = HubReturn(
        device_id=device.device_id,
        holder_party_id=device.owner_party_id,
        requested_by_party_id=actor.party_id,
        kind=kind,
        reason=reason,
        request_id=request_id,
        charge_pence=RETURN_CHARGE_PENCE,
        created_at=now,
    )
    session.add(hub_return)
    inventory.withdraw_returned(
        session,
        actor=actor,
        device=device,
        event=event,
        dcc_party_id=dcc_party_id,
        reason=f"{kind.replace('_', '-')} return: {reason}".strip(": "),
        now=now,
    )
    record(
        session,
        actor=actor,
        action="hub.returned",
        object_type="device",
        object_id=device.device_id,
        changes={"kind": kind, "charge_pence": RETURN_CHARGE_PENCE, "request_id": request_id},
        now=now,
    )
    return hub_return
