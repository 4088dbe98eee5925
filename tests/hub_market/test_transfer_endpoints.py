"""``/api/v1/hub-transfers`` and ``/api/v1/hub-disputes``: each step through the API, the refused
receipt's 422 naming its lines, the stock transfer file, and every route a 404 to a third
party (and to a party on another party's transfer)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.inventory.models import Device
from tests.hub_market.transfer_world import (
    TransferWorld,
    make_allocated_transfer,
    make_transfer_world,
)

BASE = "/api/v1/hub-transfers"


@pytest.fixture
def world(session: Session) -> TransferWorld:
    return make_transfer_world(session)


def owners(session: Session, world: TransferWorld) -> set[int | None]:
    session.expire_all()
    ids = [h.device_id for h in world.hubs]
    return set(session.scalars(select(Device.owner_party_id).where(Device.device_id.in_(ids))))


def dispatch(client: TestClient, world: TransferWorld) -> None:
    r = client.post(
        f"{BASE}/{world.transfer.id}/dispatch",
        json={"note": "pallet 7"},
        headers=world.sender_login.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched"


class TestSteps:
    def test_dispatch_then_receipt_by_guid_list(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt",
            json={"guids": [h.device_id for h in world.hubs]},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["moved"] == 4
        assert r.json()["transfer"]["status"] == "received"
        assert owners(session, world) == {world.receiver.id}
        page = client.get(f"{BASE}/{world.transfer.id}", headers=world.sender_login.headers)
        assert [s["kind"] for s in page.json()["steps"]] == ["dispatched", "received"]
        step = page.json()["steps"][1]
        lines = client.get(
            f"/api/v1/hub-transfer-steps/{step['id']}/lines",
            headers=world.receiver_login.headers,
        ).json()
        assert [x["outcome"] for x in lines["items"]] == ["accepted"] * 4
        assert lines["next_cursor"] is None

    def test_a_receipt_before_dispatch_is_a_409(
        self, client: TestClient, world: TransferWorld
    ) -> None:
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt",
            json={"guids": [world.hubs[0].device_id]},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_dispatched"

    def test_a_refused_receipt_names_its_lines_and_is_kept(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        guids = [world.hubs[0].device_id, "00-DB-12-FF-FF-FF-FF-01", world.hubs[0].device_id]
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt",
            json={"guids": guids},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["code"] == "receipt_refused"
        assert [(x["line"], x["reason"]) for x in error["details"]["refused"]] == [
            (2, "unknown_guid"),
            (3, "duplicate"),
        ]
        assert owners(session, world) == {world.sender.id}
        page = client.get(f"{BASE}/{world.transfer.id}", headers=world.sender_login.headers)
        assert page.json()["status"] == "dispatched"
        assert page.json()["steps"][-1]["kind"] == "receipt_refused"
        assert page.json()["steps"][-1]["refused"] == 2

    def test_receipt_by_stock_transfer_file(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        csv = "hub_id,receiving_party\n" + "".join(f"{h.device_id},RECV\n" for h in world.hubs)
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt-file",
            files={"file": ("transfer.csv", csv.encode(), "text/csv")},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 200, r.text
        assert owners(session, world) == {world.receiver.id}

    def test_a_file_in_the_wrong_shape_names_its_lines(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        csv = f"hub_id,receiving_party\n{world.hubs[0].device_id},RECV,extra\n"
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt-file",
            files={"file": ("transfer.csv", csv.encode(), "text/csv")},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "bad_transfer_file"
        assert r.json()["error"]["details"]["lines"][0]["line"] == 2
        assert owners(session, world) == {world.sender.id}

    def test_a_file_with_a_duplicate_moves_nothing(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        h = world.hubs[0].device_id
        csv = f"hub_id,receiving_party\n{h},RECV\n{h},RECV\n"
        r = client.post(
            f"{BASE}/{world.transfer.id}/receipt-file",
            files={"file": ("transfer.csv", csv.encode(), "text/csv")},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 422
        assert r.json()["error"]["details"]["refused"] == [
            {"line": 3, "guid": h, "reason": "duplicate", "detail": "also on line 2"}
        ]
        assert owners(session, world) == {world.sender.id}

    def test_dispute_raised_answered_and_resolved(
        self, client: TestClient, session: Session, world: TransferWorld
    ) -> None:
        dispatch(client, world)
        client.post(
            f"{BASE}/{world.transfer.id}/receipt",
            json={"guids": [h.device_id for h in world.hubs[:3]]},
            headers=world.receiver_login.headers,
        )
        r = client.post(
            f"{BASE}/{world.transfer.id}/disputes",
            json={"kind": "quantity", "statement": "Only 3 of 4 arrived"},
            headers=world.receiver_login.headers,
        )
        assert r.status_code == 201, r.text
        dispute = r.json()
        assert dispute["reference"].startswith("DS-")
        queue = client.get("/api/v1/hub-disputes", headers=world.operator_login.headers).json()
        assert [d["id"] for d in queue] == [dispute["id"]]
        r = client.post(
            f"/api/v1/hub-disputes/{dispute['id']}/answer",
            json={"answer": "Four were on the pallet"},
            headers=world.sender_login.headers,
        )
        assert r.status_code == 200 and r.json()["status"] == "answered"
        r = client.post(
            f"/api/v1/hub-disputes/{dispute['id']}/resolve",
            json={
                "outcome": "upheld",
                "resolution": "Three arrived; the sender is credited nothing, the hubs go back",
                "return_hubs": [world.hubs[0].device_id],
            },
            headers=world.operator_login.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["hubs_returned"] == 1
        session.expire_all()
        assert session.get(Device, world.hubs[0].device_id).owner_party_id == world.sender.id


def routes(world: TransferWorld, dispute_id: int, step_id: int) -> list[tuple[str, str, dict]]:
    t = world.transfer.id
    return [
        ("GET", f"{BASE}/{t}", {}),
        ("POST", f"{BASE}/{t}/dispatch", {"json": {}}),
        ("POST", f"{BASE}/{t}/receipt", {"json": {"guids": [world.hubs[0].device_id]}}),
        (
            "POST",
            f"{BASE}/{t}/receipt-file",
            {"files": {"file": ("t.csv", b"hub_id,receiving_party\n", "text/csv")}},
        ),
        ("GET", f"/api/v1/hub-transfer-steps/{step_id}/lines", {}),
        ("POST", f"{BASE}/{t}/disputes", {"json": {"kind": "model", "statement": "x"}}),
        ("GET", f"/api/v1/hub-disputes/{dispute_id}", {}),
        ("POST", f"/api/v1/hub-disputes/{dispute_id}/answer", {"json": {"answer": "x"}}),
        (
            "POST",
            f"/api/v1/hub-disputes/{dispute_id}/resolve",
            {"json": {"outcome": "rejected", "resolution": "x"}},
        ),
    ]


class TestScoping:
    @pytest.fixture
    def disputed(self, client: TestClient, world: TransferWorld) -> tuple[int, int]:
        dispatch(client, world)
        page = client.get(f"{BASE}/{world.transfer.id}", headers=world.sender_login.headers)
        step_id = page.json()["steps"][0]["id"]
        r = client.post(
            f"{BASE}/{world.transfer.id}/disputes",
            json={"kind": "quantity", "statement": "Nothing arrived"},
            headers=world.receiver_login.headers,
        )
        return r.json()["id"], step_id

    def test_every_route_is_a_404_to_a_third_party(
        self, client: TestClient, world: TransferWorld, disputed: tuple[int, int]
    ) -> None:
        for method, path, kwargs in routes(world, *disputed):
            r = client.request(method, path, headers=world.third_login.headers, **kwargs)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["error"]["code"] == "not_found"

    def test_every_route_is_a_404_on_another_partys_transfer(
        self, client: TestClient, session: Session, world: TransferWorld, disputed: tuple[int, int]
    ) -> None:
        # The receiver of this transfer has nothing to do with a transfer between two others.
        other = make_allocated_transfer(
            session, sender=world.third, receiver=world.operator, quantity=1, reference="TR-000002"
        )
        session.commit()
        for method, path, kwargs in routes(world, *disputed):
            path = path.replace(f"/{world.transfer.id}", f"/{other.id}", 1)
            if "hub-disputes" in path or "hub-transfer-steps" in path:
                continue  # the dispute and the step are on this party's own transfer
            r = client.request(method, path, headers=world.receiver_login.headers, **kwargs)
            assert r.status_code == 404, (method, path, r.text)

    def test_the_list_shows_only_your_transfers(
        self, client: TestClient, world: TransferWorld
    ) -> None:
        mine = client.get(BASE, headers=world.receiver_login.headers).json()["items"]
        assert [t["reference"] for t in mine] == ["TR-000001"]
        assert client.get(BASE, headers=world.third_login.headers).json()["items"] == []
        everyone = client.get(BASE, headers=world.operator_login.headers).json()["items"]
        assert len(everyone) == 1

    def test_an_unknown_dispute_and_transfer_are_404(
        self, client: TestClient, world: TransferWorld
    ) -> None:
        for path in (f"{BASE}/99999", "/api/v1/hub-disputes/99999"):
            assert client.get(path, headers=world.operator_login.headers).status_code == 404
