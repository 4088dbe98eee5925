"""Hub returns through the API and the portal's service: by the holder, or by an RSA the holder
appointed on that day (SECMP0039); anyone else gets the validation failure with its reason,
and nothing is charged. The rule is the one the DUIS gateway asks (``may_return``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.comms_hubs import service
from meterhub.inventory import service as inventory
from meterhub.kit.clock import utcnow
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from tests.comms_hubs.conftest import HubsWorld
from tests.factories import SYSTEM, Login, make_appointment
from tests.worlds import make_held_hub


def send_return(
    client: TestClient, login: Login, hub: str, kind: str = "fault", reason: str = ""
) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = client.post(
        "/api/v1/hubs/returns",
        json={"device_id": hub, "kind": kind, "reason": reason},
        headers=login.headers,
    )
    return r.status_code, r.json()


class TestMayReturn:
    """The one rule, as a table: who may return a hub party A holds, on a day."""

    def test_the_rule(self, session: Session, hubs: HubsWorld) -> None:
        today = date.today()

        def may(party_id: int, role: str, day: date = today) -> bool:
            return service.may_return(
                session, party_id=party_id, role=role, holder_party_id=hubs.a.id, day=day
            )

        assert may(hubs.a.id, "IS") and may(hubs.a.id, "GS")
        assert not may(hubs.b.id, "IS")
        assert may(hubs.agent.id, "RSA")  # appointed by A from 2020
        assert not may(hubs.agent.id, "RSA", date(2019, 12, 31))  # the day before the appointment
        assert not may(hubs.stranger_agent.id, "RSA")
        assert not may(hubs.a.id, "ED") and not may(hubs.a.id, "OU")
        assert not service.may_return(
            session, party_id=hubs.a.id, role="IS", holder_party_id=None, day=today
        )


class TestReturnsThroughTheApi:
    def test_the_holder_returns_its_hub_and_is_charged(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        hub = make_held_hub(session, owner=hubs.a)
        session.commit()
        status, body = send_return(client, hubs.a_login, hub.device_id, "no_fault", "surplus stock")
        assert status == 201, body
        assert (body["holder"], body["requested_by"], body["kind"]) == ("SUPA", "SUPA", "no_fault")
        # The default tariff's no-fault return: about £6,000 a pallet of 896 hubs, billed in pence.
        assert body["charge_pence"] == 670
        session.expire_all()
        device = inventory.device_by_id(session, device_id=hub.device_id)
        assert (
            device is not None
            and device.status == "Withdrawn"
            and device.owner_party_id == hubs.dcc.id
        )
        [told] = notifications.inbox(session, actor=hubs.actor(hubs.a_login))
        assert told.kind == "hub.returned" and "surplus stock" in told.body

    def test_an_appointed_rsa_returns_the_suppliers_hub_and_both_are_told(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        hub = make_held_hub(session, owner=hubs.a)
        session.commit()
        status, body = send_return(client, hubs.agent_login, hub.device_id, "fault", "no SM WAN")
        assert status == 201, body
        assert (body["holder"], body["requested_by"]) == ("SUPA", "AGENT")
        session.expire_all()
        [holder_told] = notifications.inbox(session, actor=hubs.actor(hubs.a_login))
        assert "on behalf of SUPA" in holder_told.body
        [agent_told] = notifications.inbox(session, actor=hubs.actor(hubs.agent_login))
        assert agent_told.kind == "hub.return_accepted" and hub.device_id in agent_told.subject

    def test_an_rsa_the_supplier_did_not_appoint_is_refused_with_the_reason(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        hub = make_held_hub(session, owner=hubs.a)
        session.commit()
        status, body = send_return(client, hubs.stranger_login, hub.device_id)
        assert status == 404
        assert body["error"]["code"] == "hub_not_returnable"
        assert "appointed STRANGER as its agent (RSA) on that day" in body["error"]["message"]
        assert "SUPA" not in body["error"]["message"]  # whose hub it is is not told
        session.expire_all()
        assert inventory.device_by_id(session, device_id=hub.device_id).status == "Pending"  # type: ignore[union-attr]
        assert notifications.unread_count(session, actor=hubs.actor(hubs.a_login)) == 0

    def test_an_rsa_appointed_from_today_is_accepted_and_one_whose_appointment_ended_is_not(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        today = date.today()
        hub_b = make_held_hub(session, owner=hubs.b)
        make_appointment(session, supplier=hubs.b, agent=hubs.stranger_agent, valid_from=today)
        hub_a = make_held_hub(session, owner=hubs.a)
        [appointment] = parties.list_appointments(session, actor=SYSTEM, on_day=today)[:1]
        assert appointment.agent_party_id == hubs.agent.id
        parties.end_appointment(
            session,
            actor=SYSTEM,
            appointment_id=appointment.id,
            valid_to=today - timedelta(days=1),
            now=utcnow(),
        )
        session.commit()
        assert send_return(client, hubs.stranger_login, hub_b.device_id)[0] == 201
        assert send_return(client, hubs.agent_login, hub_a.device_id)[0] == 404

    def test_a_hub_already_returned_is_the_workflows_refusal(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        hub = make_held_hub(session, owner=hubs.a, status="Withdrawn")
        session.commit()
        status, body = send_return(client, hubs.a_login, hub.device_id)
        assert status == 409 and body["error"]["code"] == "invalid_transition"

    @pytest.mark.parametrize(
        ("device", "kind", "status", "code"),
        [
            ("00-DB-12-FF-FF-FF-FF-FF", "fault", 404, "hub_not_returnable"),
            ("hub", "broken", 422, "bad_return_kind"),
            ("not a guid", "fault", 422, None),
        ],
    )
    def test_unknown_hubs_and_bad_kinds(
        self,
        client: TestClient,
        session: Session,
        hubs: HubsWorld,
        device: str,
        kind: str,
        status: int,
        code: str | None,
    ) -> None:
        hub = make_held_hub(session, owner=hubs.a)
        session.commit()
        got, body = send_return(
            client, hubs.a_login, hub.device_id if device == "hub" else device, kind
        )
        assert got == status, body
        if code:
            assert body["error"]["code"] == code

    def test_a_meter_is_not_a_hub(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        from tests.factories import make_device

        meter = make_device(session, device_type="ESME", owner=hubs.a, status="Pending")
        session.commit()
        assert (
            send_return(client, hubs.a_login, meter.device_id)[1]["error"]["code"]
            == "hub_not_returnable"
        )
