"""The DUIS endpoint: validation in DOMAIN.md's order, durable acknowledgement, replay refusal,
hub returns under SECMP0039, and responses released by the device network."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.comms_hubs.models import HubReturn
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import ServiceRequest
from meterhub.gateway.service import release_due
from meterhub.inventory.models import Device
from meterhub.kit.clock import utcnow
from meterhub.parties.service import appoint_agent
from tests.factories import SYSTEM
from tests.gateway.duis_factories import (
    Estate,
    build_estate,
    duis_id,
    hub_return,
    read_registers,
    update_inventory,
)

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
XML = {"Content-Type": "application/xml"}


def code_of(xml: bytes) -> str:
    root = etree.fromstring(xml)
    found = root.find(f"{SR}Header/{SR}ResponseCode")
    assert found is not None and found.text
    return found.text


def send(client: TestClient, login_headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/duis", content=body, headers={**login_headers, **XML})


class TestAcknowledgement:
    def test_registered_supplier_gets_i99_and_the_request_is_stored(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            read_registers(duis_id(e.supplier_login), e.esme_id, 1),
        )
        assert r.status_code == 200, r.text
        assert code_of(r.content) == "I99"
        assert r.headers["x-duis-response-code"] == "I99"
        stored = session.scalars(select(ServiceRequest)).all()
        assert [(s.srv, s.ack_code, s.state) for s in stored] == [("4.1.1", "I99", "queued")]

    def test_response_released_when_due_and_polled_once(
        self, session: Session, client: TestClient, settings: Settings
    ) -> None:
        e = build_estate(session)
        originator = duis_id(e.supplier_login)
        send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 7))
        with session_scope(settings.database_url) as s:
            assert release_due(s, now=utcnow() + timedelta(hours=1)) == 1
        with session_scope(settings.database_url) as s:
            assert release_due(s, now=utcnow() + timedelta(hours=2)) == 0
        polled = client.get("/api/v1/duis/messages", headers=e.supplier_login.headers).json()
        responses = [m for m in polled["items"] if m["kind"] == "response"]
        assert len(responses) == 1
        assert responses[0]["request_id"] == f"{originator}:{e.esme_id}:7"
        again = client.get(
            f"/api/v1/duis/messages?after={polled['next_cursor']}", headers=e.supplier_login.headers
        ).json()
        assert again["items"] == []
        status = client.get(
            f"/api/v1/duis/requests/{originator}:{e.esme_id}:7", headers=e.supplier_login.headers
        ).json()
        assert status["state"] == "responded"
        assert status["rtt_ms"] is not None

    def test_another_party_cannot_poll_or_see_the_request(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        originator = duis_id(e.supplier_login)
        send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 1))
        r = client.get(
            f"/api/v1/duis/requests/{originator}:{e.esme_id}:1", headers=e.other_login.headers
        )
        assert r.status_code == 404
        assert (
            client.get("/api/v1/duis/messages", headers=e.other_login.headers).json()["items"] == []
        )


class TestValidationOrder:
    def test_originator_not_the_users_is_e1(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        r = send(
            client, e.supplier_login.headers, read_registers(duis_id(e.other_login), e.esme_id, 1)
        )
        assert (r.status_code, code_of(r.content)) == (403, "E1")

    def test_role_not_eligible_is_e2(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        body = hub_return(duis_id(e.dno_login), e.hub_id, 1)
        r = send(client, e.dno_login.headers, body)
        assert (r.status_code, code_of(r.content)) == (403, "E2")

    def test_another_suppliers_meter_is_e4(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            read_registers(duis_id(e.supplier_login), e.other_esme_id, 1),
        )
        assert (r.status_code, code_of(r.content)) == (403, "E4")

    def test_unknown_device_is_e19(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            read_registers(duis_id(e.supplier_login), "00-DB-FF-FF-FF-FF-FF-FF", 1),
        )
        assert (r.status_code, code_of(r.content)) == (404, "E19")

    def test_device_status_is_e5(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        device = session.get(Device, e.esme_id)
        assert device is not None
        device.status = "Suspended"
        session.commit()
        r = send(
            client,
            e.supplier_login.headers,
            read_registers(duis_id(e.supplier_login), e.esme_id, 1),
        )
        assert (r.status_code, code_of(r.content)) == (409, "E5")

    def test_malformed_xml_is_e65_and_stored_as_refused(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(client, e.supplier_login.headers, b"<sr:Request><unclosed>")
        assert (r.status_code, code_of(r.content)) == (400, "E65")
        assert (
            session.scalar(
                select(func.count())
                .select_from(ServiceRequest)
                .where(ServiceRequest.ack_code == "E65")
            )
            == 1
        )

    def test_external_entity_is_refused_and_no_file_is_read(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        evil = (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&x;</sr:Request>'
        )
        r = send(client, e.supplier_login.headers, evil)
        assert code_of(r.content) == "E65"
        assert b"root:" not in r.content

    def test_no_token_is_401(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        r = client.post(
            "/api/v1/duis",
            content=read_registers(duis_id(e.supplier_login), e.esme_id, 1),
            headers=XML,
        )
        assert r.status_code == 401


class TestCounters:
    def test_replay_and_lower_counter_are_refused_and_processed_once(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        originator = duis_id(e.supplier_login)
        first = send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 10))
        replay = send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 10))
        lower = send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 9))
        higher = send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, 11))
        assert [code_of(x.content) for x in (first, replay, lower, higher)] == [
            "I99",
            "E65",
            "E65",
            "I99",
        ]
        accepted = session.scalars(
            select(ServiceRequest.counter)
            .where(ServiceRequest.ack_code == "I99")
            .order_by(ServiceRequest.id)
        ).all()
        assert accepted == [10, 11]
        status = client.get(
            f"/api/v1/duis/requests/{originator}:{e.esme_id}:10", headers=e.supplier_login.headers
        ).json()
        assert status["acknowledgement"] == "I99"

    def test_every_counter_the_schema_allows_is_accepted_and_still_must_rise(
        self, session: Session, client: TestClient
    ) -> None:
        """Counters up to 2^64-1, past the signed 64-bit integers both databases stop at."""
        e = build_estate(session)
        originator = duis_id(e.supplier_login)
        counters = [2**63 - 1, 2**63, 2**64 - 2, 2**63 + 5, 2**64 - 1, 2**64 - 1]
        answers = [
            send(client, e.supplier_login.headers, read_registers(originator, e.esme_id, n))
            for n in counters
        ]
        assert [(a.status_code, code_of(a.content)) for a in answers] == [
            (200, "I99"),
            (200, "I99"),
            (200, "I99"),
            (400, "E65"),  # lower than 2^64-2: the numbers compare, not their first digits
            (200, "I99"),
            (400, "E65"),  # a replay of the highest counter there is
        ]
        assert (
            answers[3]
            .headers["x-duis-reason"]
            .startswith(f"counter {2**63 + 5} is not above {2**64 - 2},")
        )
        session.rollback()
        accepted = session.scalars(
            select(ServiceRequest.counter)
            .where(ServiceRequest.ack_code == "I99")
            .order_by(ServiceRequest.id)
        ).all()
        assert accepted == [2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
        status = client.get(
            f"/api/v1/duis/requests/{originator}:{e.esme_id}:{2**64 - 1}",
            headers=e.supplier_login.headers,
        )
        assert (status.status_code, status.json()["acknowledgement"]) == (200, "I99")

    def test_a_counter_past_the_schema_is_refused_as_malformed(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            read_registers(duis_id(e.supplier_login), e.esme_id, 2**64),
        )
        assert (r.status_code, code_of(r.content)) == (400, "E65")


class TestHubReturns:
    def _appoint(self, session: Session, e: Estate, *, start: date) -> None:
        appoint_agent(
            session,
            actor=SYSTEM,
            supplier_code=e.supplier.code,
            agent_code=e.agent.code,
            valid_from=start,
            now=utcnow(),
        )
        session.commit()

    def test_holder_returns_its_hub_charge_and_custody_move(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client, e.supplier_login.headers, hub_return(duis_id(e.supplier_login), e.hub_id, 1)
        )
        assert code_of(r.content) == "I99", r.text
        session.expire_all()
        hub = session.get(Device, e.hub_id)
        assert hub is not None and hub.status == "Withdrawn" and hub.owner_party_id == e.dcc.id
        charge = session.scalars(select(HubReturn)).one()
        assert (charge.holder_party_id, charge.kind, charge.charge_pence) == (
            e.supplier.id,
            "fault",
            670,
        )

    def test_rsa_not_appointed_is_refused(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.agent_login.headers,
            hub_return(duis_id(e.agent_login), e.hub_id, 1, fault=False),
        )
        assert code_of(r.content) == "E4"
        session.expire_all()
        hub = session.get(Device, e.hub_id)
        assert hub is not None and hub.status == "Pending"

    def test_rsa_appointed_by_the_holder_is_accepted(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        self._appoint(session, e, start=date.today() - timedelta(days=1))
        r = send(
            client,
            e.agent_login.headers,
            hub_return(duis_id(e.agent_login), e.hub_id, 1, fault=False),
        )
        assert code_of(r.content) == "I99", r.text
        charge = session.scalars(select(HubReturn)).one()
        assert (charge.holder_party_id, charge.requested_by_party_id) == (e.supplier.id, e.agent.id)

    def test_rsa_whose_appointment_starts_tomorrow_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        self._appoint(session, e, start=date.today() + timedelta(days=1))
        r = send(
            client,
            e.agent_login.headers,
            hub_return(duis_id(e.agent_login), e.hub_id, 1, fault=False),
        )
        assert code_of(r.content) == "E4"

    def test_hub_cannot_be_returned_twice(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        send(client, e.supplier_login.headers, hub_return(duis_id(e.supplier_login), e.hub_id, 1))
        r = send(
            client, e.supplier_login.headers, hub_return(duis_id(e.supplier_login), e.hub_id, 2)
        )
        assert code_of(r.content) in {"E4", "E5"}
        assert session.scalar(select(func.count()).select_from(HubReturn)) == 1


class TestUpdateInventory:
    def test_firmware_detail_is_updated_with_history(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        change = (
            "<sr:UpdateDeviceDetails><sr:FirmwareVersion>2.0.1</sr:FirmwareVersion>"
            "</sr:UpdateDeviceDetails>"
        )
        r = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.esme_id, 1, change),
        )
        assert code_of(r.content) == "I99", r.text
        session.expire_all()
        device = session.get(Device, e.esme_id)
        assert device is not None and device.firmware_version == "2.0.1"
        history = client.get(
            f"/api/v1/devices/{e.esme_id}/history", headers=e.supplier_login.headers
        ).json()
        assert history[-1]["field"] == "firmware_version" and history[-1]["new_value"] == "2.0.1"

    def test_hub_status_element_for_a_meter_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        change = "<sr:UpdateDeviceStatusCH>Withdrawn</sr:UpdateDeviceStatusCH>"
        r = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.esme_id, 1, change),
        )
        assert code_of(r.content) == "E65"

    def test_status_outside_the_workflow_is_e5_and_changes_nothing(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        change = "<sr:UpdateDeviceStatusExceptCH>Pending</sr:UpdateDeviceStatusExceptCH>"
        r = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.esme_id, 1, change),
        )
        assert code_of(r.content) == "E5"
        session.expire_all()
        device = session.get(Device, e.esme_id)
        assert device is not None and device.status == "Commissioned"

    def test_stock_hub_can_be_deleted_but_not_another_partys(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        delete = "<sr:DeleteDevice/>"
        other = send(
            client,
            e.other_login.headers,
            update_inventory(duis_id(e.other_login), e.hub_id, 1, delete),
        )
        assert code_of(other.content) == "E4"
        own = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.hub_id, 1, delete),
        )
        assert code_of(own.content) == "I99", own.text
        session.expire_all()
        hub = session.get(Device, e.hub_id)
        assert hub is not None and hub.status == "Withdrawn"
