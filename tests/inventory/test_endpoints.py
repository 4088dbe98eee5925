"""``/api/v1/devices``: listing, filtering, sorting, paging, adding and changing devices."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.inventory.service import SORTABLE
from meterhub.kit.clock import today
from meterhub.kit.pagination import encode_cursor
from tests.factories import (
    Login,
    make_api_login,
    make_appointment,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)

MPRN = "7512345678"


def _count(session: Session, model: type[object]) -> int:
    """Rows now committed (ending this session's read snapshot first)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _operator(session: Session) -> Login:
    return make_api_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["device_id"] for d in response.json()["items"]]


class Estate:
    """A supplier with meters on two MPANs and a gas MPRN, hubs it holds, and an outsider."""

    def __init__(self, session: Session) -> None:
        self.supplier = make_party(session, code="SUPP", roles=("IS", "GS"))
        self.other = make_party(session, code="OTHER", roles=("IS",))
        dno = make_party(session, code="DNO", roles=("ED",))
        gt = make_party(session, code="GT", roles=("GT",))
        shipper = make_party(session, code="SHIP", roles=("SHIPPER",))
        self.mpan1, self.mpan2, self.other_mpan = (make_mpan_for(n) for n in (1, 2, 3))
        for mpxn in (self.mpan1, self.mpan2):
            make_registration(session, mpxn=mpxn, supplier=self.supplier, network=dno)
        make_registration(session, mpxn=self.other_mpan, supplier=self.other, network=dno)
        make_registration(session, mpxn=MPRN, supplier=self.supplier, network=gt, shipper=shipper)
        specs: list[dict[str, Any]] = [
            dict(
                device_type="ESME",
                mpxn=self.mpan1,
                model="E1",
                manufacturer="Acme",
                firmware_version="1.0",
                csp_region="North",
                status="Commissioned",
            ),
            dict(
                device_type="ESME",
                mpxn=self.mpan2,
                model="E2",
                manufacturer="Bolt",
                firmware_version="2.0",
                csp_region="Central",
                status="Suspended",
            ),
            dict(
                device_type="GSME",
                mpxn=MPRN,
                model="G1",
                manufacturer="Acme",
                firmware_version="1.0",
                csp_region="South",
                status="Commissioned",
            ),
            dict(
                device_type="GPF",
                mpxn=MPRN,
                model="G1",
                manufacturer="Acme",
                firmware_version="1.1",
                csp_region="South",
                status="Commissioned",
                smets_version="SMETS1",
            ),
            dict(
                device_type="IHD",
                mpxn=self.mpan1,
                model="D9",
                manufacturer="Cog",
                firmware_version="0.9",
                csp_region="North4G",
                status="Pending",
            ),
            dict(
                device_type="PPMID",
                mpxn=self.mpan2,
                model="P1",
                manufacturer="Bolt",
                firmware_version="3.0",
                csp_region="Central4G",
                status="Whitelisted",
            ),
        ]
        specs += [
            dict(
                device_type="CHF",
                owner=self.supplier,
                model=f"H{n % 3}",
                manufacturer="Hubco",
                firmware_version=f"5.{n % 2}",
                csp_region="South4G",
                status="Pending",
                smets_version="CHTS",
            )
            for n in range(8)
        ]
        self.visible = [make_device(session, **spec) for spec in specs]
        self.hidden = [
            make_device(session, mpxn=self.other_mpan, model="E1"),
            make_device(
                session, device_type="CHF", owner=self.other, status="Pending", smets_version="CHTS"
            ),
        ]
        self.login = make_api_login(session, party=self.supplier)
        self.other_login = make_api_login(session, party=self.other)
        session.commit()

    def ids(self, **attrs: str) -> list[str]:
        return sorted(
            d.device_id for d in self.visible if all(getattr(d, k) == v for k, v in attrs.items())
        )


@pytest.fixture
def estate(session: Session) -> Estate:
    return Estate(session)


class TestListDevices:
    def test_lists_only_visible_devices_by_device_id(
        self, estate: Estate, client: TestClient
    ) -> None:
        listed = client.get("/api/v1/devices", headers=estate.login.headers)
        assert _ids(listed) == estate.ids()
        assert listed.json()["next_cursor"] is None

    @pytest.mark.parametrize(
        ("param", "value", "attr"),
        [
            ("device_type", "ESME", "device_type"),
            ("manufacturer", "Acme", "manufacturer"),
            ("model", "G1", "model"),
            ("firmware_version", "1.0", "firmware_version"),
            ("status", "Pending", "status"),
            ("csp_region", "Central4G", "csp_region"),
            ("smets_version", "SMETS1", "smets_version"),
        ],
    )
    def test_each_filter(
        self, estate: Estate, client: TestClient, param: str, value: str, attr: str
    ) -> None:
        response = client.get(
            "/api/v1/devices", params={param: value, "limit": 1000}, headers=estate.login.headers
        )
        expected = estate.ids(**{attr: value})
        assert expected, "the estate should have a match"
        assert _ids(response) == expected

    def test_mpxn_and_owner_filters(self, estate: Estate, client: TestClient) -> None:
        headers = estate.login.headers
        by_mpxn = client.get("/api/v1/devices", params={"mpxn": estate.mpan1}, headers=headers)
        assert _ids(by_mpxn) == estate.ids(mpxn=estate.mpan1)
        by_owner = client.get("/api/v1/devices", params={"owner": "supp"}, headers=headers)
        assert _ids(by_owner) == estate.ids(device_type="CHF")
        other_owner = client.get("/api/v1/devices", params={"owner": "OTHER"}, headers=headers)
        assert _ids(other_owner) == []
        nobody = client.get("/api/v1/devices", params={"owner": "NOBODY"}, headers=headers)
        assert _ids(nobody) == []
        theirs = client.get("/api/v1/devices", params={"mpxn": estate.other_mpan}, headers=headers)
        assert _ids(theirs) == []

    def test_filters_combine(self, estate: Estate, client: TestClient) -> None:
        response = client.get(
            "/api/v1/devices",
            params={"manufacturer": "Acme", "firmware_version": "1.0", "device_type": "GSME"},
            headers=estate.login.headers,
        )
        assert _ids(response) == estate.ids(device_type="GSME")

    @pytest.mark.parametrize(
        ("params", "status", "code"),
        [
            ({"device_type": "TOASTER"}, 422, "bad_device_type"),
            ({"status": "Lost"}, 422, "bad_status"),
            ({"csp_region": "Wales"}, 422, "bad_region"),
            ({"smets_version": "SMETS9"}, 422, "bad_smets_version"),
            ({"mpxn": "12ab"}, 422, "bad_mpxn"),
            ({"sort": "owner_party_id"}, 422, "bad_sort"),
            ({"sort": "-nothing"}, 422, "bad_sort"),
            ({"limit": 0}, 422, "invalid_input"),
            ({"limit": 1001}, 422, "invalid_input"),
            ({"limit": "many"}, 422, "invalid_input"),
            ({"cursor": "garbage!"}, 422, "bad_cursor"),
            ({"cursor": encode_cursor(["a", "b", "c"])}, 422, "bad_cursor"),
            ({"cursor": encode_cursor([1, 2])}, 422, "bad_cursor"),
            ({"cursor": encode_cursor([{"x": 1}, "00-DB"])}, 422, "bad_cursor"),
            (
                {"cursor": encode_cursor(["yesterday", "00-DB"]), "sort": "updated_at"},
                422,
                "bad_cursor",
            ),
            (
                {"cursor": encode_cursor(["2026-01-01T00:00:00", "00-DB"]), "sort": "updated_at"},
                422,
                "bad_cursor",
            ),
            (
                {"cursor": base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode()},
                422,
                "bad_cursor",
            ),
        ],
    )
    def test_bad_query_is_refused(
        self, estate: Estate, client: TestClient, params: dict[str, Any], status: int, code: str
    ) -> None:
        response = client.get("/api/v1/devices", params=params, headers=estate.login.headers)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code

    @pytest.mark.parametrize("key", ["device_type", "model", "manufacturer", "status"])
    def test_sort_ascending_and_descending(
        self, estate: Estate, client: TestClient, key: str
    ) -> None:
        rows = {d.device_id: d for d in estate.visible}
        for sort, reverse in ((key, False), (f"-{key}", True)):
            response = client.get(
                "/api/v1/devices", params={"sort": sort}, headers=estate.login.headers
            )
            ids = _ids(response)
            expected = sorted(rows, key=lambda i: (getattr(rows[i], key), i), reverse=reverse)
            assert ids == expected

    @pytest.mark.parametrize("sort", [s for key in SORTABLE for s in (key, f"-{key}")])
    def test_cursor_walk_visits_every_visible_device_once(
        self, session: Session, estate: Estate, client: TestClient, sort: str
    ) -> None:
        if sort.lstrip("-") == "updated_at":
            # Ties on the sort key must be broken by device_id, page boundary or not.
            tied = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
            for device in estate.visible[::2]:
                session.get(Device, device.device_id).updated_at = tied  # type: ignore[union-attr]
            session.commit()
        headers = estate.login.headers
        whole = _ids(
            client.get("/api/v1/devices", params={"sort": sort, "limit": 1000}, headers=headers)
        )
        assert sorted(whole) == estate.ids()
        for limit in (1, 5, 7):
            walked: list[str] = []
            cursor: str | None = None
            for _ in range(len(whole) + 2):
                params: dict[str, Any] = {"sort": sort, "limit": limit}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/api/v1/devices", params=params, headers=headers)
                assert len(page.json()["items"]) <= limit
                walked += _ids(page)
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
            assert walked == whole, f"limit={limit}"

    def test_updated_at_sort_follows_changes(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        newest = estate.visible[3]
        session.get(Device, newest.device_id).updated_at = datetime.now(UTC) + timedelta(  # type: ignore[union-attr]
            days=1
        )
        session.commit()
        response = client.get(
            "/api/v1/devices",
            params={"sort": "-updated_at", "limit": 1},
            headers=estate.login.headers,
        )
        assert _ids(response) == [newest.device_id]


class TestVisibilityOverHttp:
    def test_previous_supplier_and_agents(self, session: Session, client: TestClient) -> None:
        old, new = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        agent, ended = make_party(session, roles=("RSA",)), make_party(session, roles=("RSA",))
        mpan = make_mpan_for(7)
        make_registration(
            session,
            mpxn=mpan,
            supplier=old,
            network=dno,
            effective_from=today() - timedelta(days=100),
        )
        make_registration(session, mpxn=mpan, supplier=new, network=dno, effective_from=today())
        make_appointment(session, supplier=new, agent=agent, valid_from=today())
        make_appointment(
            session,
            supplier=new,
            agent=ended,
            valid_from=today() - timedelta(days=9),
            valid_to=today() - timedelta(days=1),
        )
        meter = make_device(session, mpxn=mpan)
        logins = {p.code: make_api_login(session, party=p) for p in (old, new, dno, agent, ended)}
        session.commit()
        seen = {
            p.code: client.get(
                f"/api/v1/devices/{meter.device_id}", headers=logins[p.code].headers
            ).status_code
            for p in (old, new, dno, agent, ended)
        }
        assert seen == {
            old.code: 404,
            new.code: 200,
            dno.code: 200,
            agent.code: 200,
            ended.code: 404,
        }
        listed = {
            code: _ids(client.get("/api/v1/devices", headers=login.headers))
            for code, login in logins.items()
        }
        assert listed == {
            old.code: [],
            new.code: [meter.device_id],
            dno.code: [meter.device_id],
            agent.code: [meter.device_id],
            ended.code: [],
        }


class TestAnotherPartysDevice:
    def test_every_endpoint_answers_404_and_changes_nothing(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        target = estate.visible[-1]  # a hub SUPP holds
        headers = estate.other_login.headers
        history_before = _count(session, DeviceHistory)
        for form in (target.device_id, target.device_id.lower().replace("-", "")):
            for method, path, body in (
                ("GET", "", None),
                ("GET", "/history", None),
                ("POST", "/status", {"status": "Withdrawn", "reason": "mine"}),
                ("POST", "/owner", {"owner": "OTHER", "reason": "mine"}),
            ):
                response = client.request(
                    method, f"/api/v1/devices/{form}{path}", json=body, headers=headers
                )
                assert response.status_code == 404, (method, path)
                assert response.json()["error"]["code"] == "not_found"
        session.rollback()  # end this session's snapshot to see what requests committed
        session.expire_all()
        row = session.get(Device, target.device_id)
        assert row is not None
        assert (row.status, row.owner_party_id) == ("Pending", estate.supplier.id)
        assert _count(session, DeviceHistory) == history_before

    def test_a_device_that_does_not_exist_looks_the_same(
        self, estate: Estate, client: TestClient
    ) -> None:
        missing = client.get(
            "/api/v1/devices/00-00-00-00-00-00-00-01", headers=estate.other_login.headers
        )
        hidden = client.get(
            f"/api/v1/devices/{estate.visible[0].device_id}", headers=estate.other_login.headers
        )
        assert missing.status_code == hidden.status_code == 404
        assert missing.json()["error"]["code"] == hidden.json()["error"]["code"]


class TestAddDevice:
    def _body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "device_id": "00-DB-12-34-56-78-90-A2",
            "device_type": "CHF",
            "manufacturer": "Hubco",
            "model": "H1",
            "firmware_version": "5.0",
            "smets_version": "CHTS",
            "csp_region": "North",
        }
        return {**body, **overrides}

    def test_a_party_adds_a_hub_it_then_holds(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        response = client.post("/api/v1/devices", json=self._body(), headers=estate.login.headers)
        assert response.status_code == 201
        assert response.json()["owner"] == "SUPP"
        assert response.json()["status"] == "Pending"
        fetched = client.get("/api/v1/devices/00db1234567890a2", headers=estate.login.headers)
        assert fetched.json()["device_id"] == "00-DB-12-34-56-78-90-A2"

    @pytest.mark.parametrize(
        ("overrides", "status", "code"),
        [
            ({"device_id": "00-DB-12"}, 422, "bad_eui64"),
            ({"device_type": "TOASTER"}, 422, "bad_device_type"),
            ({"status": "Broken"}, 422, "bad_status"),
            ({"csp_region": "Wales"}, 422, "bad_region"),
            ({"smets_version": "SMETS9"}, 422, "bad_smets_version"),
            ({"mpxn": "7500000001"}, 422, "unknown_mpxn"),
            ({"comms_hub_id": "00-DB-FF-FF-FF-FF-FF-FF"}, 422, "unknown_comms_hub"),
            ({"owner": "OTHER"}, 422, "not_your_device"),
            ({"serial": "x"}, 422, "unknown_field"),
            ({"device_type": 7}, 422, "invalid_input"),
        ],
    )
    def test_validation_codes(
        self,
        session: Session,
        estate: Estate,
        client: TestClient,
        overrides: dict[str, Any],
        status: int,
        code: str,
    ) -> None:
        before = _count(session, Device)
        response = client.post(
            "/api/v1/devices", json=self._body(**overrides), headers=estate.login.headers
        )
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
        assert _count(session, Device) == before

    def test_another_partys_meter_point_and_hub_look_unknown(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        their_hub = estate.hidden[1].device_id
        for overrides, code in (
            (
                {"mpxn": estate.other_mpan, "device_type": "ESME", "smets_version": "SMETS2"},
                "unknown_mpxn",
            ),
            (
                {"comms_hub_id": their_hub, "device_type": "IHD", "smets_version": "SMETS2"},
                "unknown_comms_hub",
            ),
        ):
            response = client.post(
                "/api/v1/devices", json=self._body(**overrides), headers=estate.login.headers
            )
            assert (response.status_code, response.json()["error"]["code"]) == (422, code)

    def test_existing_device_is_409(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        existing = estate.hidden[0].device_id
        response = client.post(
            "/api/v1/devices", json=self._body(device_id=existing), headers=estate.login.headers
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "device_exists"

    def test_operator_adds_for_any_party(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        op = _operator(session)
        session.commit()
        response = client.post(
            "/api/v1/devices",
            json=self._body(owner="OTHER", mpxn=estate.other_mpan),
            headers=op.headers,
        )
        assert response.status_code == 201
        assert response.json()["owner"] == "OTHER"


class TestStatusAndOwner:
    def test_status_change_moves_and_records(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        hub = estate.visible[-1].device_id
        response = client.post(
            f"/api/v1/devices/{hub}/status",
            json={"status": "InstalledNotCommissioned", "reason": "installed at site"},
            headers=estate.login.headers,
        )
        assert response.status_code == 200
        assert response.json()["status"] == "InstalledNotCommissioned"
        history = client.get(f"/api/v1/devices/{hub}/history", headers=estate.login.headers)
        rows = history.json()
        assert [(r["field"], r["old_value"], r["new_value"]) for r in rows] == [
            ("status", None, "Pending"),
            ("status", "Pending", "InstalledNotCommissioned"),
        ]
        assert rows[-1]["reason"] == "installed at site"
        assert rows[-1]["actor"] == estate.login.user.username
        assert datetime.fromisoformat(rows[-1]["at"]).tzinfo is not None

    def test_disallowed_step_is_409_and_changes_nothing(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        hub = estate.visible[-1].device_id
        before = _count(session, DeviceHistory), _count(session, AuditEntry)
        response = client.post(
            f"/api/v1/devices/{hub}/status",
            json={"status": "Commissioned", "reason": "skip ahead"},
            headers=estate.login.headers,
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_transition"
        assert "Pending" in response.json()["error"]["message"]
        assert (_count(session, DeviceHistory), _count(session, AuditEntry)) == before
        fetched = client.get(f"/api/v1/devices/{hub}", headers=estate.login.headers)
        assert fetched.json()["status"] == "Pending"

    def test_empty_reason_is_refused(self, estate: Estate, client: TestClient) -> None:
        hub = estate.visible[-1].device_id
        response = client.post(
            f"/api/v1/devices/{hub}/status",
            json={"status": "Whitelisted", "reason": ""},
            headers=estate.login.headers,
        )
        assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")

    def test_owner_change_hands_the_hub_over(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        hub = estate.visible[-1].device_id
        response = client.post(
            f"/api/v1/devices/{hub}/owner",
            json={"owner": "OTHER", "reason": "stock transfer"},
            headers=estate.login.headers,
        )
        assert response.status_code == 200
        assert response.json()["owner"] == "OTHER"
        assert client.get(f"/api/v1/devices/{hub}", headers=estate.login.headers).status_code == 404
        history = client.get(f"/api/v1/devices/{hub}/history", headers=estate.other_login.headers)
        assert [(r["field"], r["old_value"], r["new_value"]) for r in history.json()][-1] == (
            "owner",
            "SUPP",
            "OTHER",
        )

    def test_owner_change_of_a_meter_seen_but_not_held_is_403(
        self, session: Session, estate: Estate, client: TestClient
    ) -> None:
        meter = estate.visible[0].device_id
        response = client.post(
            f"/api/v1/devices/{meter}/owner",
            json={"owner": "SUPP", "reason": "claim"},
            headers=estate.login.headers,
        )
        assert response.status_code == 403
        assert (
            client.get(f"/api/v1/devices/{meter}", headers=estate.login.headers).json()["owner"]
            is None
        )
