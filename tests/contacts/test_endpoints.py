"""``/api/v1/contacts`` end to end, and every route's answer to a party not on the contact."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.contacts import attachments
from tests.contacts.conftest import GasWorld, tog_values
from tests.factories import Login

PDF = b"%PDF-1.4\n% site visit report\n"


def raised(client: TestClient, gas: GasWorld, **overrides: Any) -> dict[str, Any]:
    """A TOG the DN saved and submitted through the API."""
    draft = client.post(
        "/api/v1/contacts",
        json={"contact_type": "TOG", "values": tog_values(**overrides)},
        headers=gas.dn_login.headers,
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["reference"] is None
    submitted = client.post(
        f"/api/v1/contacts/{draft.json()['id']}/submit", headers=gas.dn_login.headers
    )
    assert submitted.status_code == 200, submitted.text
    return dict(submitted.json())


class TestContactsApi:
    def test_raise_pick_up_and_accept(self, client: TestClient, gas: GasWorld) -> None:
        contact = raised(client, gas)
        assert contact["reference"] == "TOG-000001"
        assert contact["status_words"] == "Awaiting the shipper's acceptance"
        shipper = gas.shipper_a_login.headers
        queue = client.get("/api/v1/contacts", params={"queue": "new"}, headers=shipper).json()
        assert [r["reference"] for r in queue["items"]] == ["TOG-000001"]
        picked = client.post(f"/api/v1/contacts/{contact['id']}/pick-up", headers=shipper).json()
        assert picked["handlers"] == {"SHPA": gas.shipper_a_login.user.username}
        assert {a["action"] for a in picked["actions"]} == {"accept", "decline"}
        done = client.post(
            f"/api/v1/contacts/{contact['id']}/actions", json={"action": "accept"}, headers=shipper
        )
        assert done.status_code == 200, done.text
        assert done.json()["status_words"] == "Under investigation by the shipper"
        assert [e["action"] for e in done.json()["history"]] == [
            "saved",
            "submitted",
            "picked_up",
            "accept",
        ]
        counts = client.get("/api/v1/contact-queues", headers=gas.dn_login.headers).json()
        assert counts["counts"]["awaiting_others"] == 1

    def test_a_refused_submit_names_each_field(self, client: TestClient, gas: GasWorld) -> None:
        draft = client.post(
            "/api/v1/contacts",
            json={"contact_type": "TOG", "values": {"mprn": "1234567"}},
            headers=gas.dn_login.headers,
        ).json()
        refused = client.post(
            f"/api/v1/contacts/{draft['id']}/submit", headers=gas.dn_login.headers
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["details"]["site_address"] == "is required"

    def test_a_shipper_may_not_raise_a_theft_of_gas(
        self, client: TestClient, gas: GasWorld
    ) -> None:
        refused = client.post(
            "/api/v1/contacts",
            json={"contact_type": "TOG", "values": tog_values()},
            headers=gas.shipper_a_login.headers,
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "may_not_raise"

    def test_attachments_upload_and_download(self, client: TestClient, gas: GasWorld) -> None:
        contact = raised(client, gas)
        url = f"/api/v1/contacts/{contact['id']}/attachments"
        added = client.post(
            url,
            params={"filename": "report.pdf", "content_type": "application/pdf"},
            content=PDF,
            headers=gas.dn_login.headers,
        )
        assert added.status_code == 201, added.text
        got = client.get(f"{url}/{added.json()['id']}", headers=gas.shipper_a_login.headers)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/octet-stream"
        assert "report.pdf" in got.headers["content-disposition"]
        fake = client.post(
            url,
            params={"filename": "x.pdf", "content_type": "application/pdf"},
            content=b"<html></html>",
            headers=gas.dn_login.headers,
        )
        assert fake.status_code == 422
        assert fake.json()["error"]["code"] == "attachment_content_mismatch"
        big = client.post(
            url,
            params={"filename": "big.pdf", "content_type": "application/pdf"},
            content=PDF + b"0" * attachments.MAX_BYTES,
            headers=gas.dn_login.headers,
        )
        assert big.status_code == 413

    def test_contact_types_describe_the_workflow(self, client: TestClient, gas: GasWorld) -> None:
        types = client.get("/api/v1/contact-types", headers=gas.dn_login.headers).json()
        [tog] = [t for t in types if t["code"] == "TOG"]
        assert tog["code"] == "TOG" and tog["raised_by"] == ["DN", "IGT"]
        assert tog["windows"]["acceptance"] == 5
        assert tog["on_expiry"] == {"awaiting_acceptance": "accept"}


def every_route(contact_id: int, attachment_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/v1/contacts/{contact_id}"
    return [
        ("GET", base, {}),
        ("PUT", base, {"json": {"values": tog_values()}}),
        ("POST", f"{base}/submit", {}),
        ("POST", f"{base}/actions", {"json": {"action": "accept"}}),
        ("POST", f"{base}/pick-up", {}),
        ("POST", f"{base}/notes", {"json": {"text": "hello"}}),
        (
            "POST",
            f"{base}/attachments",
            {"params": {"filename": "a.txt", "content_type": "text/plain"}, "content": b"hi"},
        ),
        ("GET", f"{base}/attachments/{attachment_id}", {}),
    ]


class TestScoping:
    @pytest.mark.parametrize(
        "who", ["shipper_b_login", "outsider_login", "igt_login", "supplier_login"]
    )
    def test_a_contact_another_party_is_not_part_of_is_a_404_everywhere(
        self, client: TestClient, gas: GasWorld, session: Session, who: str
    ) -> None:
        contact = raised(client, gas)
        added = client.post(
            f"/api/v1/contacts/{contact['id']}/attachments",
            params={"filename": "r.pdf", "content_type": "application/pdf"},
            content=PDF,
            headers=gas.dn_login.headers,
        ).json()
        login: Login = getattr(gas, who)
        for method, url, kwargs in every_route(contact["id"], added["id"]):
            answer = client.request(method, url, headers=login.headers, **kwargs)
            assert answer.status_code == 404, (method, url, answer.text)
        for queue in ("all", "new", "closed", "overdue"):
            listed = client.get("/api/v1/contacts", params={"queue": queue}, headers=login.headers)
            assert listed.json()["items"] == []

    def test_a_draft_is_a_404_to_the_shipper_it_will_go_to(
        self, client: TestClient, gas: GasWorld
    ) -> None:
        draft = client.post(
            "/api/v1/contacts",
            json={"contact_type": "TOG", "values": tog_values()},
            headers=gas.dn_login.headers,
        ).json()
        for method, url, kwargs in every_route(draft["id"], 1):
            for login in (gas.shipper_a_login, gas.operator_login):
                answer = client.request(method, url, headers=login.headers, **kwargs)
                assert answer.status_code == 404, (method, url, answer.text)
