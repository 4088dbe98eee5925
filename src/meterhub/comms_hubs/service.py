"""Hub returns, and who may ask for one. A returned hub leaves its holder's stock: it is
withdrawn and the DCC holds it, and the holder's users are told (inbox and e-mail), since the
holder is charged for it. ``may_return`` is the one rule of who may return a hub (SECMP0039),
asked by the gateway for DUIS and by ``return_hub`` for the API and the portal."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs.models import HubReturn
from meterhub.errors import InvalidInput, NotFound, PermissionDenied
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceType, StatusEvent
from meterhub.kit.ids import normalise_eui64
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from meterhub.parties.roles import SUPPLIER_ROLES, Role

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


# ---------------------------------------------------------------- who may return a hub


def may_return(
    session: Session, *, party_id: int, role: str, holder_party_id: int | None, day: date
) -> bool:
    """May ``party_id``, acting in ``role``, return the hub ``holder_party_id`` holds on ``day``?

    The one rule for 8.14.3 and 8.14.4, whichever way the return comes (DUIS, the API, the
    portal): a supplier role returns only hubs its own party holds; an RSA returns hubs its
    own party holds, or hubs of a supplier that appointed it on that day (SECMP0039: "the RSA
    was submitting a request on behalf of a Supplier for which it was confirmed they were
    working for"). No other role returns hubs. Which roles may send the SRV on a day at all
    (SECMP0039's dated overlay) is the DUIS catalogue's question, asked by the gateway first."""
    if holder_party_id is None:
        return False
    if role in SUPPLIER_ROLES:
        return party_id == holder_party_id
    if role == Role.REGISTERED_SUPPLIER_AGENT.value:
        return parties.may_act_for(
            session, agent_party_id=party_id, supplier_party_id=holder_party_id, day=day
        )
    return False


def return_hub(
    session: Session,
    *,
    actor: Actor,
    device_id: str,
    kind: str,
    reason: str,
    dcc_party_code: str | None,
    now: datetime,
) -> HubReturn:
    """A fault (8.14.3) or no-fault (8.14.4) return asked through the API or the portal, by a
    user of the holder or of an RSA the holder appointed that day, in any role the user acts in.

    The answer is the acceptance (the return, its explicit charge) or a validation failure with
    its reason: an unknown hub and a hub the requester may not return are the same 404, naming
    the rule but not the holder, so a party cannot learn whose a hub is; a hub whose status
    does not allow a return is the workflow's refusal. The holder is told as for a DUIS return;
    an agent's users are told their return was accepted."""
    if kind not in RETURN_EVENTS:
        allowed = ", ".join(RETURN_EVENTS)
        raise InvalidInput(
            f"no hub return of kind {kind!r}; one of {allowed}", code="bad_return_kind"
        )
    text = reason.strip()
    if len(text) > RETURN_REASON_LENGTH or any(ord(c) < 32 for c in text):
        raise InvalidInput(
            f"a return's reason is one line of at most {RETURN_REASON_LENGTH} characters",
            code="bad_reason",
        )
    guid = normalise_eui64(device_id)
    if actor.party_id is None or actor.user_id is None:
        raise PermissionDenied("a hub is returned by a user of a party")
    day = now.date()
    device = inventory.device_by_id(session, device_id=guid)
    user = parties.user_by_id(session, actor.user_id)
    roles = sorted({r.role for r in user.roles}) if user is not None else []
    if (
        device is None
        or device.device_type != DeviceType.CHF.value
        or not any(
            may_return(
                session,
                party_id=actor.party_id,
                role=role,
                holder_party_id=device.owner_party_id,
                day=day,
            )
            for role in roles
        )
    ):
        code = parties.party_codes(session, ids={actor.party_id}).get(actor.party_id, "?")
        raise NotFound(
            f"{code} may not return {guid} on {day}: no Communications Hub by that ID is held by"
            f" {code}, or by a supplier that appointed {code} as its agent (RSA) on that day",
            code="hub_not_returnable",
        )
    dcc = parties.party_by_code(session, dcc_party_code) if dcc_party_code else None
    hub_return = record_return(
        session,
        actor=actor,
        device=device,
        kind=kind,
        reason=text,
        request_id=None,
        dcc_party_id=dcc.id if dcc is not None else None,
        now=now,
    )
    if hub_return.requested_by_party_id != hub_return.holder_party_id:
        _tell_requester(session, hub_return=hub_return, now=now)
    return hub_return


RETURN_REASON_LENGTH = 500


def _tell_requester(session: Session, *, hub_return: HubReturn, now: datetime) -> None:
    codes = parties.party_codes(
        session, ids={hub_return.holder_party_id, hub_return.requested_by_party_id}
    )
    holder = codes.get(hub_return.holder_party_id, "?")
    what = "fault" if hub_return.kind == "fault" else "no-fault"
    notifications.notify(
        session,
        party_id=hub_return.requested_by_party_id,
        kind="hub.return_accepted",
        subject=f"Return of hub {hub_return.device_id} accepted ({what})",
        body=(
            f"Your {what} return of Communications Hub {hub_return.device_id} on behalf of"
            f" {holder} was accepted at {now:%Y-%m-%d %H:%M} UTC. {holder} is charged for it."
        ),
        now=now,
    )
