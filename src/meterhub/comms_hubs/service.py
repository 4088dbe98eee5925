"""Hub returns. A returned hub leaves its holder's stock: it is withdrawn and the DCC holds it,
and the holder's users are told (inbox and e-mail), since the holder is charged for it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs.models import HubReturn
from meterhub.errors import InvalidInput
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import StatusEvent
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties

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
    the inventory's workflow, so a hub already withdrawn is refused before anything is charged.
    The holder's users are notified in the same transaction: under SECMP0039 an RSA may return
    a supplier's hub, and the supplier pays for it, so it learns of the return when it happens,
    not from next month's charges."""
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
    _tell_holder(session, hub_return=hub_return, now=now)
    return hub_return


def _tell_holder(session: Session, *, hub_return: HubReturn, now: datetime) -> None:
    codes = parties.party_codes(
        session, ids={hub_return.holder_party_id, hub_return.requested_by_party_id}
    )
    by = codes.get(hub_return.requested_by_party_id, "?")
    holder = codes.get(hub_return.holder_party_id, "?")
    what = "fault" if hub_return.kind == "fault" else "no-fault"
    srv = "8.14.3" if hub_return.kind == "fault" else "8.14.4"
    on_behalf = "" if by == holder else f" on behalf of {holder}"
    lines = [
        f"Communications Hub {hub_return.device_id} was returned to the DCC ({what} return,"
        f" SRV {srv}) by {by}{on_behalf} at {now:%Y-%m-%d %H:%M} UTC.",
        f"{holder} is charged £{hub_return.charge_pence / 100:.2f} for it (an explicit charge).",
    ]
    if hub_return.reason:
        lines.append(f"Reason given: {hub_return.reason}")
    if hub_return.request_id:
        lines.append(f"RequestID: {hub_return.request_id}")
    notifications.notify(
        session,
        party_id=hub_return.holder_party_id,
        kind="hub.returned",
        subject=f"Hub {hub_return.device_id} returned ({what}) by {by}",
        body="\n".join(lines),
        now=now,
    )
