"""Every change made through the API leaves one audit entry naming who, how, what and the change;
a refused change leaves none."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.audit.service import Actor, entries_for, record, record_many
from meterhub.kit.clock import utcnow
from tests.factories import (
    Login,
    make_api_login,
    make_mpan_for,
)
from tests.worlds import make_held_hub, make_world


def _new_entries(session: Session, after: int) -> list[AuditEntry]:
    session.rollback()  # end this session's snapshot to see what requests committed
    session.expire_all()
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id))
    )


def _last_id(session: Session) -> int:
    session.rollback()
    return max(session.scalars(select(AuditEntry.id)), default=0)


class World:
    def __init__(self, session: Session) -> None:
        parties = make_world(
            session,
            suppliers=("SUPP", "TAKER"),
            network="DNO",
            dcc=True,
            agent="AGNT",
            appointed_from=date(2020, 1, 1),
            appointed_to=date(2025, 12, 31),
        )
        assert parties.dcc is not None and parties.agent is not None
        assert parties.appointment is not None
        self.supplier = parties.suppliers[0]
        self.agent = parties.agent
        self.op: Login = make_api_login(session, party=parties.dcc, username="ops@dcc")
        self.sup: Login = make_api_login(session, party=self.supplier, username="ann@supp")
        self.appointment = parties.appointment
        self.hub = make_held_hub(session, owner=self.supplier)
        session.commit()


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def _cases(w: World) -> list[tuple[str, str, Any, str, str, str, dict[str, Any]]]:
    """(login, path, body, action, object_type, object_id, expected subset of changes)."""
    mpan = make_mpan_for(42)
    return [
        (
            "op",
            "/api/v1/parties",
            {"code": "NEWCO", "name": "New Co", "kind": "supplier", "roles": ["IS"]},
            "party.created",
            "party",
            "NEWCO",
            {"kind": "supplier", "roles": ["IS"]},
        ),
        (
            "sup",
            "/api/v1/appointments",
            {"supplier": "SUPP", "agent": "AGNT", "valid_from": "2030-01-01"},
            "appointment.created",
            "appointment",
            "*",
            {"agent": "AGNT", "valid_to": None},
        ),
        (
            "sup",
            f"/api/v1/appointments/{w.appointment.id}/end",
            {"valid_to": "2025-06-30"},
            "appointment.ended",
            "appointment",
            str(w.appointment.id),
            {"valid_to": ["2025-12-31", "2025-06-30"]},
        ),
        (
            "op",
            "/api/v1/registrations",
            {
                "mpxn": mpan,
                "supplier": "SUPP",
                "network_operator": "DNO",
                "effective_from": "2020-01-01",
            },
            "registration.created",
            "meter_point",
            mpan,
            {"supplier": "SUPP", "shipper": None},
        ),
        (
            "sup",
            "/api/v1/devices",
            {
                "device_id": "00-DB-AA-00-00-00-00-01",
                "device_type": "CHF",
                "manufacturer": "Hubco",
                "model": "H1",
                "firmware_version": "5.0",
                "smets_version": "CHTS",
                "csp_region": "North",
            },
            "device.added",
            "device",
            "00-DB-AA-00-00-00-00-01",
            {"status": "Pending", "owner": "SUPP"},
        ),
        (
            "sup",
            f"/api/v1/devices/{w.hub.device_id}/status",
            {"status": "Whitelisted", "reason": "whitelist for install"},
            "device.status_changed",
            "device",
            w.hub.device_id,
            {"status": ["Pending", "Whitelisted"], "reason": "whitelist for install"},
        ),
        (
            "sup",
            f"/api/v1/devices/{w.hub.device_id}/owner",
            {"owner": "TAKER", "reason": "stock transfer"},
            "device.owner_changed",
            "device",
            w.hub.device_id,
            {"owner": ["SUPP", "TAKER"], "reason": "stock transfer"},
        ),
    ]


class TestApiChangesAreAudited:
    def test_each_change_leaves_one_entry(
        self, session: Session, client: TestClient, world: World
    ) -> None:
        for who, path, body, action, object_type, object_id, changes in _cases(world):
            login = world.op if who == "op" else world.sup
            before = _last_id(session)
            response = client.post(path, json=body, headers=login.headers)
            assert response.status_code in (200, 201), (path, response.text)
            entries = _new_entries(session, before)
            assert len(entries) == 1, path
            entry = entries[0]
            assert entry.actor == login.user.username
            assert entry.actor_party_id == login.user.party_id
            assert entry.interface == "api"
            assert entry.action == action
            assert entry.object_type == object_type
            if object_id != "*":
                assert entry.object_id == object_id
            else:
                assert entry.object_id == str(response.json()["id"])
            assert changes.items() <= entry.changes.items(), (action, entry.changes)
            assert entry.at.tzinfo is not None

    def test_refused_changes_leave_no_entry(
        self, session: Session, client: TestClient, world: World
    ) -> None:
        before = _last_id(session)
        refusals = [
            (
                "sup",
                "/api/v1/parties",
                {"code": "X", "name": "X", "kind": "supplier", "roles": ["IS"]},
                403,
            ),
            (
                "op",
                "/api/v1/parties",
                {"code": "SUPP", "name": "X", "kind": "supplier", "roles": ["IS"]},
                409,
            ),
            (
                "sup",
                "/api/v1/appointments",
                {"supplier": "SUPP", "agent": "AGNT", "valid_from": "2021-01-01"},
                409,
            ),
            (
                "sup",
                f"/api/v1/devices/{world.hub.device_id}/status",
                {"status": "Commissioned", "reason": "skip"},
                409,
            ),
            (
                "sup",
                f"/api/v1/devices/{world.hub.device_id}/owner",
                {"owner": "NOBODY", "reason": "x"},
                422,
            ),
        ]
        for who, path, body, status in refusals:
            login = world.op if who == "op" else world.sup
            response = client.post(path, json=body, headers=login.headers)
            assert response.status_code == status, (path, response.text)
        assert _new_entries(session, before) == []


class TestRecord:
    def test_entries_for_lists_one_objects_entries_oldest_first(self, session: Session) -> None:
        actor = Actor(name="cli-user", party_id=None, interface="cli")
        record(
            session,
            actor=actor,
            action="a.first",
            object_type="thing",
            object_id="1",
            changes={"n": 1},
            now=utcnow(),
        )
        record(
            session,
            actor=actor,
            action="a.other",
            object_type="thing",
            object_id="2",
            changes={},
            now=utcnow(),
        )
        record(
            session,
            actor=actor,
            action="a.second",
            object_type="thing",
            object_id="1",
            changes={"n": 2},
            now=utcnow(),
        )
        session.commit()
        entries = entries_for(session, object_type="thing", object_id="1")
        assert [(e.action, e.changes) for e in entries] == [
            ("a.first", {"n": 1}),
            ("a.second", {"n": 2}),
        ]
        assert {e.interface for e in entries} == {"cli"}

    def test_system_actor_is_an_operator(self) -> None:
        actor = Actor.system("import")
        assert (actor.name, actor.interface, actor.is_operator) == ("system", "import", True)


class TestRecordMany:
    def test_a_bulk_step_reads_back_as_one_entry_per_object(self, session: Session) -> None:
        actor = Actor(name="stock@recv", party_id=None, interface="portal")
        now = utcnow()
        shared = {"owner": ["SEND", "RECV"], "reason": "TR-000001"}
        written = record_many(
            session,
            actor=actor,
            action="device.owner_changed",
            object_type="device",
            entries=[
                ("00-DB-12-00-00-00-00-01", shared),
                ("00-DB-12-00-00-00-00-02", shared),
                ("00-DB-12-00-00-00-00-03", {"owner": ["SEND", None]}),
            ],
            now=now,
        )
        session.commit()
        assert written == 3
        got = [
            (e.object_id, e.changes, e.at, e.actor, e.interface)
            for d in ("01", "02", "03")
            for e in entries_for(
                session, object_type="device", object_id=f"00-DB-12-00-00-00-00-{d}"
            )
        ]
        assert got == [
            ("00-DB-12-00-00-00-00-01", shared, now, "stock@recv", "portal"),
            ("00-DB-12-00-00-00-00-02", shared, now, "stock@recv", "portal"),
            ("00-DB-12-00-00-00-00-03", {"owner": ["SEND", None]}, now, "stock@recv", "portal"),
        ]
