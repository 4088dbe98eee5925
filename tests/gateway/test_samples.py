"""Every real DUIS 5.4 request sample, sent to an estate that holds its devices, is acknowledged
or refused with a specific DUIS code (never a 500), and everything the hub sends back for it
validates against the DUIS 5.4 schema."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.catalogue import load_catalogue
from meterhub.gateway.models import OutboundMessage
from meterhub.gateway.service import release_due
from meterhub.gateway.xml import XsdValidator, parse_request
from meterhub.kit.clock import utcnow
from meterhub.kit.ids import is_eui64
from meterhub.parties import service as parties
from tests.factories import SYSTEM, make_device, make_mpan_for, make_party, make_registration
from tests.gateway.conftest import duis_files

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
ROLE_PREFERENCE = ("IS", "GS", "ED", "GT", "RSA", "ES", "OU")
INSTALL_SRVS = {"8.14.1", "8.14.2", "8.14.3", "8.14.4"}
GAS_MPRN = "1234567890"


def _code(xml: bytes) -> str:
    found = etree.fromstring(xml).find(f"{SR}Header/{SR}ResponseCode")
    assert found is not None and found.text
    return found.text


def _estate_for(session: Session, raw: bytes) -> tuple[str, str]:
    """Parties, registration and devices so that the sample's sender may send it; returns the
    sender's token and the role it sends as."""
    request = parse_request(raw)
    catalogue = load_catalogue()
    srv = catalogue.get(request.srv)
    eligible = catalogue.eligible_roles(request.srv, date.today()) if srv else frozenset()
    role = next((r for r in ROLE_PREFERENCE if r in eligible), "IS")
    make_party(session, code="DCC", roles=("OPERATOR",), kind="operator")
    sender = make_party(session, roles=(role,))
    gas = role in ("GS", "GT")
    supplier = (
        sender
        if role in ("IS", "ES", "GS")
        else make_party(session, roles=("GS" if gas else "IS",))
    )
    network = (
        sender if role in ("ED", "GT") else make_party(session, roles=("GT" if gas else "ED",))
    )
    if role == "RSA":
        parties.appoint_agent(
            session,
            actor=SYSTEM,
            supplier_code=supplier.code,
            agent_code=sender.code,
            valid_from=date.today() - timedelta(days=30),
            now=utcnow(),
        )
    mpxn = GAS_MPRN if gas else make_mpan_for(4242)
    make_registration(
        session,
        mpxn=mpxn,
        supplier=supplier,
        network=network,
        shipper=make_party(session, roles=("SHIPPER",)) if gas else None,
    )
    ids = set()
    if srv is not None and not srv.non_device:
        ids.add(request.target)
    for key in ("DeviceID", "DeviceIDList"):
        value = request.body.get(key)
        values = value if isinstance(value, list) else str(value or "").split()
        ids.update(v for v in map(str, values) if is_eui64(v))
    for device_id in sorted(ids):
        if request.srv in INSTALL_SRVS:
            make_device(
                session,
                device_id=device_id,
                device_type="CHF",
                owner=supplier,
                status="Pending",
                smets_version="CHTS",
            )
        else:
            make_device(
                session, device_id=device_id, device_type="GSME" if gas else "ESME", mpxn=mpxn
            )
    user = parties.create_user(
        session,
        actor=SYSTEM,
        party=sender,
        username="sender",
        display_name="Sender",
        password=None,
        roles={role: request.originator},
        now=utcnow(),
    )
    token = parties.issue_api_token(session, actor=SYSTEM, user=user, now=utcnow())
    session.commit()
    return token, role


SAMPLES = duis_files("requests")


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_is_answered_with_a_specific_duis_code(
    path: Path, session: Session, client: TestClient, settings: Settings, xsd: XsdValidator
) -> None:
    raw = path.read_bytes()
    token, role = _estate_for(session, raw)
    reply = client.post(
        "/api/v1/duis",
        content=raw,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )
    assert reply.status_code < 500
    code = _code(reply.content)
    srv = load_catalogue().get(parse_request(raw).srv)
    eligible = srv is not None and role in load_catalogue().eligible_roles(srv.srv, date.today())
    if eligible:
        assert code == "I99", (
            f"{path.name}: {reply.headers.get('x-duis-response-code')} {reply.text[:300]}"
        )
    else:
        assert code == "E2"  # SRVs only the DCC itself sends (no eligible user role)
    xsd.validate(reply.content)
    with session_scope(settings.database_url) as s:
        release_due(s, now=utcnow() + timedelta(days=1))
    for message in session.scalars(select(OutboundMessage)):
        xsd.validate(message.xml.encode())
