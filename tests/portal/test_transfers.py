"""The stock transfer pages in the portal (TestClient): the list, a transfer's page with its
timeline, dispatch and receipt by pasted list and by file, a refused receipt's lines, disputes,
and another party's transfer as the 404 page."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.inventory.models import Device
from tests.factories import Login, make_login
from tests.hub_market.transfer_world import TransferWorld, make_transfer_world
from tests.portal.conftest import csrf_from, log_in


@dataclass
class PortalTransfer:
    world: TransferWorld
    sender: Login
    receiver: Login
    third: Login
    operator: Login


@pytest.fixture
def pt(session: Session) -> PortalTransfer:
    world = make_transfer_world(session)
    made = PortalTransfer(
        world=world,
        sender=make_login(session, party=world.sender),
        receiver=make_login(session, party=world.receiver),
        third=make_login(session, party=world.third),
        operator=make_login(session, party=world.operator),
    )
    session.commit()
    return made


def page_of(client: TestClient, pt: PortalTransfer) -> str:
    r = client.get(f"/portal/transfers/{pt.world.transfer.id}")
    assert r.status_code == 200, r.text
    return r.text


def post(client: TestClient, path: str, data: dict[str, str], **kwargs: object) -> object:
    token = csrf_from(client.get("/portal/transfers").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def owners(session: Session, pt: PortalTransfer) -> set[int | None]:
    session.expire_all()
    ids = [h.device_id for h in pt.world.hubs]
    return set(session.scalars(select(Device.owner_party_id).where(Device.device_id.in_(ids))))


def dispatch(client: TestClient, pt: PortalTransfer) -> None:
    r = post(client, f"/portal/transfers/{pt.world.transfer.id}/dispatch", {"note": "pallet 7"})
    assert r.status_code == 303  # type: ignore[attr-defined]


class TestTransferPages:
    def test_the_list_and_the_page_show_the_transfer(
        self, client: TestClient, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        listing = client.get("/portal/transfers")
        assert "TR-000001" in listing.text and 'href="/portal/transfers"' in listing.text
        html = page_of(client, pt)
        assert "Confirm dispatch" in html and "Allocated" in html
        assert "Confirm receipt" not in html

    def test_dispatch_then_receipt_by_pasted_list(
        self, client: TestClient, session: Session, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        client.cookies.clear()
        log_in(client, pt.receiver)
        assert "Confirm receipt" in page_of(client, pt)
        guids = "\n".join(h.device_id for h in pt.world.hubs)
        r = post(client, f"/portal/transfers/{pt.world.transfer.id}/receipt", {"guids": guids})
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert owners(session, pt) == {pt.world.receiver.id}
        html = page_of(client, pt)
        assert "Received: ownership moved" in html and 'id="transfer-status">received' in html

    def test_a_refused_receipt_lists_its_lines_and_moves_nothing(
        self, client: TestClient, session: Session, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        client.cookies.clear()
        log_in(client, pt.receiver)
        guids = f"{pt.world.hubs[0].device_id}\nnot-a-hub\n"
        r = post(client, f"/portal/transfers/{pt.world.transfer.id}/receipt", {"guids": guids})
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert owners(session, pt) == {pt.world.sender.id}
        html = page_of(client, pt)
        assert "Receipt refused: nothing moved" in html
        assert "not_a_guid" in html and "not-a-hub" in html
        assert "Confirm receipt" in html  # the corrected list can be sent
        step = client.get("/portal/transfer-steps/2")
        assert step.status_code == 200
        assert "not-a-hub" in step.text and "Receipt refused" in step.text

    def test_receipt_by_file_upload(
        self, client: TestClient, session: Session, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        client.cookies.clear()
        log_in(client, pt.receiver)
        csv = "hub_id,receiving_party\n" + "".join(f"{h.device_id},RECV\n" for h in pt.world.hubs)
        r = post(
            client,
            f"/portal/transfers/{pt.world.transfer.id}/receipt-file",
            {},
            files={"file": ("transfer.csv", csv.encode(), "text/csv")},
        )
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert owners(session, pt) == {pt.world.receiver.id}

    def test_a_file_in_the_wrong_shape_is_an_error_page_naming_the_line(
        self, client: TestClient, session: Session, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        client.cookies.clear()
        log_in(client, pt.receiver)
        r = post(
            client,
            f"/portal/transfers/{pt.world.transfer.id}/receipt-file",
            {},
            files={"file": ("transfer.csv", b"guid\n00DB120000000001\n", "text/csv")},
        )
        assert r.status_code == 422  # type: ignore[attr-defined]
        assert "line 1" in r.text and "bad_transfer_file" in r.text  # type: ignore[attr-defined]
        assert owners(session, pt) == {pt.world.sender.id}

    def test_dispute_raised_answered_resolved(
        self, client: TestClient, session: Session, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        client.cookies.clear()
        log_in(client, pt.receiver)
        r = post(
            client,
            f"/portal/transfers/{pt.world.transfer.id}/disputes",
            {"kind": "quantity", "statement": "Nothing arrived"},
        )
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert "DS-000001" in page_of(client, pt)
        client.cookies.clear()
        log_in(client, pt.sender)
        assert "Your answer to DS-000001" in page_of(client, pt)
        post(client, "/portal/disputes/1/answer", {"answer": "It left on Tuesday"})
        client.cookies.clear()
        log_in(client, pt.operator)
        assert "DS-000001" in client.get("/portal/disputes").text
        r = post(
            client,
            "/portal/disputes/1/resolve",
            {"outcome": "rejected", "resolution": "The carrier confirms delivery"},
        )
        assert r.status_code == 303  # type: ignore[attr-defined]
        html = page_of(client, pt)
        assert "The carrier confirms delivery" in html and 'id="transfer-status">dispatched' in html


class TestScoping:
    def test_another_partys_transfer_is_the_404_page(
        self, client: TestClient, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)  # step 1
        assert client.get("/portal/transfer-steps/1").status_code == 200
        client.cookies.clear()
        log_in(client, pt.third)
        t = pt.world.transfer.id
        for path in (f"/portal/transfers/{t}", "/portal/transfer-steps/1"):
            r = client.get(path)
            assert r.status_code == 404 and "404" in r.text
        for path, data in (
            (f"/portal/transfers/{t}/dispatch", {}),
            (f"/portal/transfers/{t}/receipt", {"guids": pt.world.hubs[0].device_id}),
            (f"/portal/transfers/{t}/disputes", {"kind": "model", "statement": "x"}),
        ):
            r = post(client, path, data)
            assert r.status_code == 404, path  # type: ignore[attr-defined]
        r = post(
            client,
            f"/portal/transfers/{t}/receipt-file",
            {},
            files={"file": ("t.csv", b"hub_id,receiving_party\n", "text/csv")},
        )
        assert r.status_code == 404  # type: ignore[attr-defined]
        assert "TR-000001" not in client.get("/portal/transfers").text

    def test_another_partys_dispute_is_the_404_page(
        self, client: TestClient, pt: PortalTransfer
    ) -> None:
        log_in(client, pt.sender)
        dispatch(client, pt)
        post(
            client,
            f"/portal/transfers/{pt.world.transfer.id}/disputes",
            {"kind": "model", "statement": "x"},
        )
        client.cookies.clear()
        log_in(client, pt.third)
        for path, data in (
            ("/portal/disputes/1/answer", {"answer": "x"}),
            ("/portal/disputes/1/resolve", {"outcome": "rejected", "resolution": "x"}),
        ):
            r = post(client, path, data)
            assert r.status_code == 404, path  # type: ignore[attr-defined]
        assert "DS-000001" not in client.get("/portal/disputes").text
