"""Builders for DUIS request XML and for an estate the gateway tests send to."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from meterhub.parties.models import Party
from tests.factories import Login, make_login
from tests.worlds import make_held_hub, make_supplied_meter, make_world

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
DCC_TARGET = "90-B3-D5-1F-30-00-00-02"
_n = itertools.count(1)


def duis_xml(
    *,
    originator: str,
    target: str,
    counter: int,
    srv: str,
    service_reference: str,
    body: str,
    command_variant: int = 1,
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="{SR}" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>{originator}:{target}:{counter}</sr:RequestID>
    <sr:CommandVariant>{command_variant}</sr:CommandVariant>
    <sr:ServiceReference>{service_reference}</sr:ServiceReference>
    <sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>{body}</sr:Body>
</sr:Request>""".encode()


def read_registers(originator: str, device_id: str, counter: int) -> bytes:
    """4.1.1 Read Instantaneous Import Registers, sent to an ESME."""
    return duis_xml(
        originator=originator,
        target=device_id,
        counter=counter,
        srv="4.1.1",
        service_reference="4.1",
        body="<sr:ReadInstantaneousImportRegisters/>",
    )


def hub_return(originator: str, hub_id: str, counter: int, *, fault: bool = True) -> bytes:
    if fault:
        body = (
            "<sr:CHFFaultReturn>"
            f"<sr:DeviceID>{hub_id}</sr:DeviceID>"
            "<sr:CHFFaultReturnType>Fault identified prior to installation</sr:CHFFaultReturnType>"
            "<sr:CHFConnectionMethod>Hot-shoe</sr:CHFConnectionMethod>"
            "<sr:CHFFaultReason>Damaged case</sr:CHFFaultReason>"
            "</sr:CHFFaultReturn>"
        )
    else:
        body = (
            "<sr:CHFNoFaultReturn>"
            f"<sr:DeviceID>{hub_id}</sr:DeviceID>"
            "<sr:CHFNoFaultReturnType>No Fault Return (general)</sr:CHFNoFaultReturnType>"
            "</sr:CHFNoFaultReturn>"
        )
    return duis_xml(
        originator=originator,
        target=DCC_TARGET,
        counter=counter,
        srv="8.14.3" if fault else "8.14.4",
        service_reference="8.14",
        body=body,
        command_variant=8,
    )


@dataclass
class Estate:
    dcc: Party
    supplier: Party
    other_supplier: Party
    dno: Party
    agent: Party
    supplier_login: Login
    other_login: Login
    dno_login: Login
    agent_login: Login
    esme_id: str
    other_esme_id: str
    hub_id: str


def build_estate(session: Session) -> Estate:
    world = make_world(session, suppliers=2, dcc=True, agent=True)
    supplier, other = world.suppliers
    assert world.dcc is not None and world.agent is not None
    esme, other_esme = (
        make_supplied_meter(session, supplier=party, network=world.network, mpan_number=n)
        for party, n in ((supplier, next(_n) + 500), (other, next(_n) + 500))
    )
    hub = make_held_hub(session, owner=supplier)
    estate = Estate(
        dcc=world.dcc,
        supplier=supplier,
        other_supplier=other,
        dno=world.network,
        agent=world.agent,
        supplier_login=make_login(session, party=supplier),
        other_login=make_login(session, party=other),
        dno_login=make_login(session, party=world.network),
        agent_login=make_login(session, party=world.agent),
        esme_id=esme.device_id,
        other_esme_id=other_esme.device_id,
        hub_id=hub.device_id,
    )
    session.commit()
    return estate


def duis_id(login: Login) -> str:
    role = login.user.roles[0]
    assert role.duis_user_id is not None
    return role.duis_user_id


def update_inventory(originator: str, device_id: str, counter: int, change: str) -> bytes:
    """8.4 Update Inventory with one change element, e.g. ``<sr:DeleteDevice/>``."""
    return duis_xml(
        originator=originator,
        target=DCC_TARGET,
        counter=counter,
        srv="8.4",
        service_reference="8.4",
        command_variant=8,
        body=f"<sr:UpdateInventory><sr:DeviceID>{device_id}</sr:DeviceID>{change}</sr:UpdateInventory>",
    )
