"""``/portal/inbox``: the user's own entries, the unread count in the navigation, marking read
with plain forms; another user's entry is the portal's 404 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.notifications import service as notifications
from tests.factories import make_login
from tests.notifications.helpers import user_actor
from tests.portal.conftest import TwoSuppliers, csrf_from, log_in

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
_UNREAD = re.compile(
    r'href="/portal/inbox"[^>]*>Inbox(?: <span class="count" title="unread">(\d+)</span>)?</a>'
)


def _unread_in_nav(html: str) -> int:
    found = _UNREAD.search(html)
    assert found, "no Inbox link in the navigation"
    return int(found.group(1) or 0)


def _tell_a(session: Session, world: TwoSuppliers, n: int = 2) -> list[int]:
    ids = []
    for i in range(n):
        for entry in notifications.notify(
            session,
            party_id=world.a.id,
            kind="hub.returned",
            subject=f"Hub {i} returned",
            body=f"Line one {i}\nLine two <b>{i}</b>",
            link="/portal/inventory",
            now=NOW,
        ):
            if entry.user_id == world.login_a.user.id:
                ids.append(entry.id)
    session.commit()
    return ids


class TestInboxPage:
    def test_lists_entries_with_the_unread_count_and_marks_one_read(
        self, session: Session, client: TestClient, world: TwoSuppliers
    ) -> None:
        ids = _tell_a(session, world)
        log_in(client, world.login_a)

        page = client.get("/portal/inbox")
        assert page.status_code == 200
        assert _unread_in_nav(page.text) == 2
        assert page.text.index("Hub 1 returned") < page.text.index("Hub 0 returned")

        done = client.post(
            f"/portal/inbox/{ids[1]}/read",
            data={"csrf_token": csrf_from(page.text), "back": "all"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/portal/inbox"
        after = client.get("/portal/inbox")
        assert _unread_in_nav(after.text) == 1
        unread = client.get("/portal/inbox?unread=1")
        assert "Hub 0 returned" in unread.text and "Hub 1 returned" not in unread.text

        client.post("/portal/inbox/read", data={"csrf_token": csrf_from(after.text)})
        assert _unread_in_nav(client.get("/portal/").text) == 0

    def test_an_entry_page_shows_the_body_escaped_and_its_link(
        self, session: Session, client: TestClient, world: TwoSuppliers
    ) -> None:
        ids = _tell_a(session, world, 1)
        log_in(client, world.login_a)
        page = client.get(f"/portal/inbox/{ids[0]}")
        assert page.status_code == 200
        assert "Line two &lt;b&gt;0&lt;/b&gt;" in page.text
        assert 'href="/portal/inventory"' in page.text

    def test_marking_read_needs_the_csrf_token(
        self, session: Session, client: TestClient, world: TwoSuppliers
    ) -> None:
        ids = _tell_a(session, world, 1)
        log_in(client, world.login_a)
        refused = client.post(f"/portal/inbox/{ids[0]}/read", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        assert _unread_in_nav(client.get("/portal/inbox").text) == 1

    def test_another_users_entry_is_the_404_page(
        self, session: Session, client: TestClient, world: TwoSuppliers
    ) -> None:
        colleague = make_login(session, party=world.a)
        session.commit()
        ids = _tell_a(session, world, 1)
        for other in (world.login_b, colleague):
            client.cookies.clear()
            log_in(client, other)
            token = csrf_from(client.get("/portal/inbox").text)
            page = client.get(f"/portal/inbox/{ids[0]}")
            assert page.status_code == 404 and "text/html" in page.headers["content-type"]
            marked = client.post(f"/portal/inbox/{ids[0]}/read", data={"csrf_token": token})
            assert marked.status_code == 404
        session.rollback()
        assert notifications.unread_count(session, actor=user_actor(world.login_a)) == 1

    def test_a_page_cursor_that_is_not_a_number_is_refused_with_a_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        for bad in ("abc", "\u00b2", "-1"):
            page = client.get("/portal/inbox", params={"before": bad})
            assert page.status_code == 422 and "bad_cursor" in page.text

    def test_needs_a_login(self, client: TestClient) -> None:
        r = client.get("/portal/inbox", follow_redirects=False)
        assert r.status_code == 303 and "/portal/login" in r.headers["location"]
