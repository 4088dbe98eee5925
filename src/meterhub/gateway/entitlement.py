"""Is the sender entitled to act on this device on this day?

* A supplier role (IS, ES, GS) acts on devices at meter points it is the registered supplier of
  that day, of the right fuel (GS for gas meter points, IS/ES for electricity), and on
  Communications Hubs it holds.
* A network role (ED, GT) acts on devices at meter points it serves that day.
* An RSA acts for a supplier that appointed it that day, on what that supplier could act on.
  For the hub returns 8.14.3 and 8.14.4 this is SECMP0039: only for the supplier that holds the hub.
* OU (Other User) acts on a device only through SRVs open to OU; its right to a premises comes
  from the consumer's consent, which the hub does not hold, so an eligible OU request is entitled.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from meterhub.comms_hubs.service import may_return
from meterhub.parties.roles import NETWORK_ROLES, Role
from meterhub.parties.service import may_act_for
from meterhub.registration.fuels import Fuel, fuel_of_mpxn
from meterhub.registration.service import RegisteredParties, registered_parties_on

#: The fuel of the meter points each supplier role acts on.
SUPPLIER_FUEL = {
    Role.IMPORT_SUPPLIER.value: Fuel.ELECTRICITY,
    Role.EXPORT_SUPPLIER.value: Fuel.ELECTRICITY,
    Role.GAS_SUPPLIER.value: Fuel.GAS,
}
#: The network role that serves a meter point of each fuel.
NETWORK_ROLE_OF_FUEL = {
    Fuel.ELECTRICITY: Role.ELECTRICITY_DISTRIBUTOR.value,
    Fuel.GAS: Role.GAS_TRANSPORTER.value,
}


class DeviceFacts(Protocol):
    """What entitlement reads of a device (an ORM ``Device`` or a row of the same columns)."""

    @property
    def owner_party_id(self) -> int | None: ...
    @property
    def mpxn(self) -> str | None: ...


def responsible_suppliers(
    session: Session, device: DeviceFacts, day: date
) -> tuple[set[int], RegisteredParties | None]:
    """Supplier-side senders allowed for the device: the hub holder and the registered supplier."""
    parties: set[int] = set()
    if device.owner_party_id is not None:
        parties.add(device.owner_party_id)
    reg = registered_parties_on(session, mpxn=device.mpxn, day=day) if device.mpxn else None
    if reg is not None:
        parties.add(reg.supplier_party_id)
    return parties, reg


def entitled(
    session: Session,
    *,
    party_id: int,
    role: str,
    device: DeviceFacts,
    day: date,
    holder_only: bool = False,
) -> bool:
    """May ``party_id`` acting as ``role`` send a request about ``device`` on ``day``?

    ``holder_only`` is for the hub returns: the comms hubs' one rule of who may return a hub
    (``comms_hubs.service.may_return``), which the API and the portal ask too.
    """
    if holder_only:
        return may_return(
            session, party_id=party_id, role=role, holder_party_id=device.owner_party_id, day=day
        )
    if role == "OU":
        return True
    holders, reg = responsible_suppliers(session, device, day)
    if role in SUPPLIER_FUEL:
        if party_id not in holders:
            return False
        if (
            reg is not None
            and party_id == reg.supplier_party_id
            and party_id != device.owner_party_id
        ):
            return SUPPLIER_FUEL[role] is fuel_of_mpxn(reg.mpxn)
        return True
    if role in NETWORK_ROLES:
        reg = reg or (
            registered_parties_on(session, mpxn=device.mpxn, day=day) if device.mpxn else None
        )
        if reg is None or reg.network_operator_party_id != party_id:
            return False
        return role == NETWORK_ROLE_OF_FUEL[fuel_of_mpxn(reg.mpxn)]
    if role == "RSA":
        return any(
            may_act_for(session, agent_party_id=party_id, supplier_party_id=s, day=day)
            for s in holders
        )
    return False
