"""The test world every database test starts from, built through the real services.

Suppliers sharing one network operator, optionally the DCC's operator party and a registered
supplier agent (appointed by the first supplier or not), meters on meter points registered to a
supplier, Communications Hubs a supplier holds, and users with DUIS user IDs and API tokens
(``tests/factories.py`` makes each piece). The gateway, worker, CLI, portal and audit tests
describe their estates in these words, so a new rule about who may see or send what is set up
the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from meterhub.inventory.models import Device
from meterhub.parties.models import AgentAppointment, Party
from tests.factories import (
    make_appointment,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)


@dataclass(frozen=True)
class World:
    """The parties of a test: ``suppliers`` in the order asked for, their network operator,
    and, when asked for, the DCC, an agent and the first supplier's appointment of it."""

    suppliers: tuple[Party, ...]
    network: Party
    dcc: Party | None = None
    agent: Party | None = None
    appointment: AgentAppointment | None = None


def make_world(
    session: Session,
    *,
    suppliers: int | Sequence[str] = 2,
    supplier_names: Sequence[str] = (),
    network: str | None = None,
    dcc: bool = False,
    agent: bool | str = False,
    agent_name: str | None = None,
    appointed_from: date | None = None,
    appointed_to: date | None = None,
) -> World:
    """Parties in their roles: electricity suppliers (IS), given by count or by code, one
    network operator (ED), the DCC (OPERATOR, code ``DCC``) if ``dcc``, and a supplier agent
    (RSA; ``agent`` may name its code) that the first supplier appoints from
    ``appointed_from`` if given. Nothing is committed: the caller adds its meters and users."""
    if isinstance(suppliers, str):
        raise TypeError("suppliers is a count or a sequence of codes, not one code")
    dcc_party = make_party(session, code="DCC", roles=("OPERATOR",)) if dcc else None
    codes: Sequence[str | None] = [None] * suppliers if isinstance(suppliers, int) else suppliers
    made = tuple(
        make_party(
            session,
            code=code,
            roles=("IS",),
            name=supplier_names[i] if i < len(supplier_names) else None,
        )
        for i, code in enumerate(codes)
    )
    network_party = make_party(session, code=network, roles=("ED",))
    agent_party = None
    if agent:
        agent_party = make_party(
            session,
            code=agent if isinstance(agent, str) else None,
            roles=("RSA",),
            name=agent_name,
        )
    appointment = None
    if appointed_from is not None:
        if agent_party is None:
            raise ValueError("an appointment needs an agent: pass agent=True")
        appointment = make_appointment(
            session,
            supplier=made[0],
            agent=agent_party,
            valid_from=appointed_from,
            valid_to=appointed_to,
        )
    return World(
        suppliers=made,
        network=network_party,
        dcc=dcc_party,
        agent=agent_party,
        appointment=appointment,
    )


def make_supplied_meter(
    session: Session,
    *,
    supplier: Party,
    network: Party,
    mpan_number: int,
    device_type: str = "ESME",
    model: str = "ACME-1",
    manufacturer: str = "Acme",
    firmware_version: str = "1.0.0",
    smets_version: str = "SMETS2",
    csp_region: str = "North",
    status: str = "Commissioned",
) -> Device:
    """An electricity meter on the MPAN numbered ``mpan_number``, registered to ``supplier``
    with ``network`` as its distributor: what a supplier's user may read and command."""
    mpxn = make_mpan_for(mpan_number)
    make_registration(session, mpxn=mpxn, supplier=supplier, network=network)
    return make_device(
        session,
        device_type=device_type,
        mpxn=mpxn,
        model=model,
        manufacturer=manufacturer,
        firmware_version=firmware_version,
        smets_version=smets_version,
        csp_region=csp_region,
        status=status,
    )


def make_held_hub(
    session: Session,
    *,
    owner: Party,
    status: str = "Pending",
    smets_version: str = "CHTS",
    csp_region: str = "North",
) -> Device:
    """A Communications Hub Function a supplier holds, not yet installed at any meter point."""
    return make_device(
        session,
        device_type="CHF",
        owner=owner,
        status=status,
        smets_version=smets_version,
        csp_region=csp_region,
    )
