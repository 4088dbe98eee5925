"""The contact pages through the app (no browser): queues, the form, a contact's page, steps,
notes, attachments, and every page's answer to a party not on the contact."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.contacts import service as contacts
from tests.contacts.conftest import NOW, GasWorld, gas, tog_values  # noqa: F401  (fixture)
from tests.factories import Login, make_login
from tests.portal.conftest import csrf_from, log_in


@pytest.fixture
def logins(session: Session, gas: GasWorld) -> dict[str, Login]:  # noqa: F811
    made = {
        "dn": make_login(session, party=gas.dn),
        "shipper": make_login(session, party=gas.shipper_a),
        "colleague": make_login(session, party=gas.shipper_a),
        "other": make_login(session, party=gas.shipper_b),
    }
    session.commit()
    return made


def form_values(**overrides: str) -> dict[str, str]:
    return {f"f_{k}": str(v) for k, v in tog_values(**overrides).items()}


def raise_in_portal(client: TestClient, intent: str = "submit", **overrides: str) -> str:
    page = client.get("/portal/contacts/new?type=TOG")
    assert page.status_code == 200
    answer = client.post(
        "/portal/contacts/new",
        data={
            "csrf_token": csrf_from(page.text),
            "contact_type": "TOG",
            "intent": intent,
            **form_values(**overrides),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


class TestContactPages:
    def test_the_network_raises_and_the_shipper_accepts(
        self, client: TestClient, logins: dict[str, Login]
    ) -> None:
        log_in(client, logins["dn"])
        url = raise_in_portal(client)
        page = client.get(url)
        assert "Theft of Gas TOG-000001" in page.text
        assert "Awaiting the shipper&#39;s acceptance" in page.text
        client.cookies.clear()

        log_in(client, logins["shipper"])
        queue = client.get("/portal/contacts?queue=new")
        assert "TOG-000001" in queue.text and "nobody yet" in queue.text
        contact_id = url.rsplit("/", 1)[1]
        client.post(
            f"/portal/contacts/{contact_id}/pick-up",
            data={"csrf_token": csrf_from(queue.text), "back": "/portal/contacts?queue=new"},
        )
        mine = client.get("/portal/contacts?queue=awaiting_us")
        assert logins["shipper"].user.username in mine.text
        page = client.get(url)
        involvement = re.search(r'name="involvement_id" value="(\d+)"', page.text)
        assert involvement
        done = client.post(
            f"/portal/contacts/{contact_id}/act",
            data={
                "csrf_token": csrf_from(page.text),
                "action": "accept",
                "involvement_id": involvement.group(1),
                "reason": "",
            },
        )
        assert done.status_code == 200
        assert "Under investigation by the shipper" in done.text

    def test_a_refused_submit_keeps_the_draft_and_says_why(
        self, client: TestClient, logins: dict[str, Login]
    ) -> None:
        log_in(client, logins["dn"])
        page = client.get("/portal/contacts/new?type=TOG")
        answer = client.post(
            "/portal/contacts/new",
            data={
                "csrf_token": csrf_from(page.text),
                "contact_type": "TOG",
                "intent": "submit",
                **form_values(site_address="", mprn="12"),
            },
        )
        assert answer.status_code == 422
        assert 'data-field="mprn"' in answer.text  # the shape is wrong: nothing saved
        answer = client.post(
            "/portal/contacts/new",
            data={
                "csrf_token": csrf_from(page.text),
                "contact_type": "TOG",
                "intent": "submit",
                **form_values(site_address=""),
            },
        )
        assert answer.status_code == 422
        assert "Site address is required" in answer.text and "Your draft is saved" in answer.text
        drafts = client.get("/portal/contacts?queue=drafts")
        assert drafts.text.count('href="/portal/contacts/1"') == 1

    def test_notes_and_attachments(self, client: TestClient, logins: dict[str, Login]) -> None:
        log_in(client, logins["dn"])
        url = raise_in_portal(client)
        page = client.get(url)
        token = csrf_from(page.text)
        client.post(f"{url}/notes", data={"csrf_token": token, "text": "Photos attached."})
        added = client.post(
            f"{url}/attachments",
            data={"csrf_token": token},
            files={"file": ("meter.png", b"\x89PNG\r\n\x1a\n...", "image/png")},
        )
        assert added.status_code == 200
        assert "Photos attached." in added.text and "meter.png" in added.text
        link = re.search(r'href="(/portal/contacts/attachments/\d+)"', added.text)
        assert link
        assert client.get(link.group(1)).content.startswith(b"\x89PNG")


class TestContactPagesAreScoped:
    def test_another_partys_contact_is_the_404_page(
        self,
        client: TestClient,
        logins: dict[str, Login],
        session: Session,
        gas: GasWorld,  # noqa: F811
    ) -> None:
        actor = gas.actor(gas.dn_login)
        draft = contacts.save_draft(
            session, actor=actor, contact_type_code="TOG", values=tog_values(), now=NOW
        )
        contact = contacts.submit(session, actor=actor, contact_id=draft.id, now=NOW)
        contacts.add_attachment(
            session,
            actor=actor,
            contact_id=contact.id,
            filename="a.txt",
            content_type="text/plain",
            data=b"evidence",
            now=NOW,
        )
        session.commit()
        log_in(client, logins["other"])
        token = csrf_from(client.get("/portal/contacts").text)
        base = f"/portal/contacts/{contact.id}"
        for method, url, data in [
            ("GET", base, None),
            ("GET", f"{base}/edit", None),
            ("GET", "/portal/contacts/attachments/1", None),
            ("POST", f"{base}/act", {"action": "accept"}),
            ("POST", f"{base}/pick-up", {}),
            ("POST", f"{base}/notes", {"text": "hi"}),
            ("POST", f"{base}/submit", {}),
            ("POST", f"{base}/edit", {"contact_type": "TOG", **form_values()}),
            ("POST", "/portal/contacts/99999999999999999999", {}),
        ]:
            answer = client.request(
                method, url, data={"csrf_token": token, **data} if data is not None else None
            )
            assert answer.status_code in (404, 405), (method, url, answer.status_code)
            if answer.status_code == 404:
                assert "404" in answer.text
        assert "TOG-000001" not in client.get("/portal/contacts?queue=all").text
