"""``/api/v1/inbox``: each user's own entries, newest first, paged; another's is a 404."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.notifications import service as notifications
from tests.factories import Login, make_api_login, make_party

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _world(session: Session) -> tuple[Login, Login, Login, list[int]]:
    alpha, bravo = make_party(session), make_party(session)
    me, colleague = make_api_login(session, party=alpha), make_api_login(session, party=alpha)
    stranger = make_api_login(session, party=bravo)
    session.commit()
    ids = []
    for n in range(3):
        for entry in notifications.notify(
            session,
            party_id=alpha.id,
            kind="hub.returned",
            subject=f"Step {n}",
            body=f"Body {n}",
            link="/portal/inventory",
            now=NOW,
        ):
            if entry.user_id == me.user.id:
                ids.append(entry.id)
    session.commit()
    return me, colleague, stranger, ids


class TestInboxApi:
    def test_lists_newest_first_in_pages_with_the_unread_count(
        self, session: Session, client: TestClient
    ) -> None:
        me, _, _, ids = _world(session)
        first = client.get("/api/v1/inbox?limit=2", headers=me.headers)
        assert first.status_code == 200
        body = first.json()
        assert [i["subject"] for i in body["items"]] == ["Step 2", "Step 1"]
        assert body["unread"] == 3 and body["next_before"] == ids[1]
        assert body["items"][0]["link"] == "/portal/inventory"
        rest = client.get(f"/api/v1/inbox?limit=2&before={ids[1]}", headers=me.headers).json()
        assert [i["subject"] for i in rest["items"]] == ["Step 0"]
        assert rest["next_before"] is None

    def test_mark_read_and_mark_all(self, session: Session, client: TestClient) -> None:
        me, colleague, _, ids = _world(session)
        r = client.post(f"/api/v1/inbox/entries/{ids[0]}/read", headers=me.headers)
        assert r.status_code == 200 and r.json()["read_at"] is not None
        unread = client.get("/api/v1/inbox?unread=true", headers=me.headers).json()
        assert [i["id"] for i in unread["items"]] == [ids[2], ids[1]]
        assert unread["unread"] == 2
        assert client.post("/api/v1/inbox/read", headers=me.headers).json() == {"marked": 2}
        assert client.get("/api/v1/inbox", headers=me.headers).json()["unread"] == 0
        # The colleague's inbox is its own.
        assert client.get("/api/v1/inbox", headers=colleague.headers).json()["unread"] == 3

    def test_another_users_entry_is_404_to_read_and_to_mark(
        self, session: Session, client: TestClient
    ) -> None:
        me, colleague, stranger, ids = _world(session)
        for other in (colleague, stranger):
            got = client.get(f"/api/v1/inbox/entries/{ids[0]}", headers=other.headers)
            assert got.status_code == 404 and got.json()["error"]["code"] == "not_found"
            marked = client.post(f"/api/v1/inbox/entries/{ids[0]}/read", headers=other.headers)
            assert marked.status_code == 404
        assert client.get("/api/v1/inbox", headers=stranger.headers).json()["items"] == []
        assert (
            client.get(f"/api/v1/inbox/entries/{ids[0]}", headers=me.headers).json()["read_at"]
            is None
        )

    def test_an_id_beyond_64_bits_is_not_found_and_a_cursor_beyond_is_malformed(
        self, session: Session, client: TestClient
    ) -> None:
        me, _, _, _ = _world(session)
        huge = 2**63
        assert client.get(f"/api/v1/inbox/entries/{huge}", headers=me.headers).status_code == 404
        assert (
            client.post(f"/api/v1/inbox/entries/{huge}/read", headers=me.headers).status_code == 404
        )
        page = client.get(f"/api/v1/inbox?before={huge}", headers=me.headers)
        assert page.status_code == 422

    def test_needs_a_token(self, client: TestClient) -> None:
        assert client.get("/api/v1/inbox").status_code == 401

    def test_is_in_the_openapi_document(self, client: TestClient) -> None:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert {
            "/api/v1/inbox",
            "/api/v1/inbox/entries/{notification_id}/read",
            "/api/v1/inbox/read",
        } <= (set(paths))
