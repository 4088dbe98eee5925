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

from meterhub.parties.service import may_act_for
from meterhub.registration.service import RegisteredParties, registered_parties_on

SUPPLIER_FUEL = {"IS": "electricity", "ES": "electricity", "GS": "gas"}


class DeviceFacts(Protocol):
    """What entitlement reads of a device (an ORM ``Device`` or a row of the same columns)."""

    @property
    def owner_party_id(self) -> int | None: ...
    @property
    def mpxn(self) -> str | None: ...


def _fuel(mpxn: str) -> str:
    return "electricity" if len(mpxn) == 13 else "gas"


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

    ``holder_only`` narrows supplier-side entitlement to the party holding the device (hub returns).
    """
    if role == "OU":
        return not holder_only
    if holder_only:
        holders = {device.owner_party_id} if device.owner_party_id is not None else set()
        reg = None
    else:
        holders, reg = responsible_suppliers(session, device, day)
    if role in SUPPLIER_FUEL:
        if party_id not in holders:
            return False
        if (
            reg is not None
            and party_id == reg.supplier_party_id
            and party_id != device.owner_party_id
        ):
            return SUPPLIER_FUEL[role] == _fuel(reg.mpxn)
        return True
    if role in ("ED", "GT"):
        if holder_only:
            return False
        reg = reg or (
            registered_parties_on(session, mpxn=device.mpxn, day=day) if device.mpxn else None
        )
        if reg is None or reg.network_operator_party_id != party_id:
            return False
        return (role == "ED") == (_fuel(reg.mpxn) == "electricity")
    if role == "RSA":
        return any(
            may_act_for(session, agent_party_id=party_id, supplier_party_id=s, day=day)
            for s in holders
        )
    return False
