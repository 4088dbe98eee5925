"""Portal sessions held on the server: logout, a password change and idleness end them, and the
account page shows a user their own sessions, and only theirs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.config import Settings
from meterhub.errors import InvalidInput, PermissionDenied
from meterhub.parties.service import actor_for, change_password, user_by_username
from meterhub.portal.sessions import COOKIE_NAME
from tests.factories import Login, make_login, make_party
from tests.portal.conftest import csrf_from, log_in, post_login

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "a much longer new passphrase"
_END_FORMS = re.compile(r'action="/portal/account/sessions/(\d+)/end"')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client: TestClient) -> Clock:
    fixed = Clock()
    client.app.state.portal_clock = fixed
    return fixed


@pytest.fixture
def ann(session: Session) -> Login:
    party = make_party(session, roles=("IS",), name="Alpha Energy")
    found = make_login(session, party=party, username="ann@alpha")
    session.commit()
    return found


@pytest.fixture
def bob(session: Session) -> Login:
    party = make_party(session, roles=("IS",), name="Bravo Power")
    found = make_login(session, party=party, username="bob@bravo")
    session.commit()
    return found


@pytest.fixture
def browsers(client: TestClient) -> Iterator[list[TestClient]]:
    """Three more browsers on the same hub, each with its own cookie jar."""
    opened = [TestClient(client.app) for _ in range(3)]
    yield opened
    for other in opened:
        other.close()


def cookie_of(client: TestClient) -> str:
    value = client.cookies.get(COOKIE_NAME)
    assert value
    return value


def with_copied_cookie(client: TestClient, value: str, path: str = "/portal/") -> int:
    """What a thief holding a copy of the cookie gets for ``path``."""
    answer = client.get(path, headers={"cookie": f"{COOKIE_NAME}={value}"}, follow_redirects=False)
    return answer.status_code


def csrf(client: TestClient) -> str:
    return csrf_from(client.get("/portal/account").text)


def change(client: TestClient, current: str, new: str, again: str | None = None) -> httpx.Response:
    return client.post(
        "/portal/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
            "csrf_token": csrf(client),
        },
        follow_redirects=False,
    )


def actions(session: Session, username: str) -> list[str]:
    session.expire_all()
    return [e.action for e in entries_for(session, object_type="user", object_id=username)]


class TestLogoutRevokes:
    def test_a_copied_cookie_stops_working_after_logout(
        self, client: TestClient, browsers: list[TestClient], ann: Login
    ) -> None:
        log_in(client, ann)
        stolen = cookie_of(client)
        thief = browsers[0]
        assert with_copied_cookie(thief, stolen) == 200
        token = csrf_from(client.get("/portal/").text)
        assert client.post("/portal/logout", data={"csrf_token": token}).status_code == 200
        assert with_copied_cookie(thief, stolen) == 303
        assert with_copied_cookie(thief, stolen, "/portal/account") == 303

    def test_logging_out_one_browser_leaves_the_others_logged_in(
        self, client: TestClient, browsers: list[TestClient], ann: Login
    ) -> None:
        log_in(client, ann)
        log_in(browsers[0], ann)
        token = csrf_from(client.get("/portal/").text)
        client.post("/portal/logout", data={"csrf_token": token})
        assert browsers[0].get("/portal/", follow_redirects=False).status_code == 200


class TestPasswordChange:
    def test_other_sessions_and_copies_end_and_this_browser_stays(
        self,
        client: TestClient,
        browsers: list[TestClient],
        session: Session,
        ann: Login,
    ) -> None:
        log_in(client, ann)
        copy_of_this = cookie_of(client)
        elsewhere = browsers[0]
        log_in(elsewhere, ann)
        copy_of_elsewhere = cookie_of(elsewhere)

        answer = change(client, ann.password, NEW_PASSWORD)
        assert answer.status_code == 303
        page = client.get(answer.headers["location"])
        assert page.status_code == 200
        assert "Password changed" in page.text

        assert elsewhere.get("/portal/", follow_redirects=False).status_code == 303
        assert with_copied_cookie(browsers[1], copy_of_elsewhere) == 303
        # The changing browser got a new session: a copy taken before the change is dead too.
        assert with_copied_cookie(browsers[1], copy_of_this) == 303
        assert len(_END_FORMS.findall(page.text)) == 0

        assert post_login(browsers[2], "ann@alpha", ann.password).status_code == 401
        assert post_login(browsers[2], "ann@alpha", NEW_PASSWORD).status_code == 303
        assert "user.password_changed" in actions(session, "ann@alpha")

    @pytest.mark.parametrize(
        ("current", "new", "again", "message"),
        [
            ("not the password", NEW_PASSWORD, None, "the current password is wrong"),
            (None, "too short", None, "password must be at least 12 characters"),
            (None, NEW_PASSWORD, NEW_PASSWORD + "!", "the two new passwords differ"),
            (None, None, None, "the new password must differ from the current one"),
            (None, "x" * 1025, None, "password must be at most 1024 characters"),
        ],
    )
    def test_a_refused_change_says_why_and_changes_nothing(
        self,
        client: TestClient,
        browsers: list[TestClient],
        ann: Login,
        current: str | None,
        new: str | None,
        again: str | None,
        message: str,
    ) -> None:
        log_in(client, ann)
        log_in(browsers[0], ann)
        answer = change(client, current or ann.password, new or ann.password, again)
        assert answer.status_code == 422
        assert f'<p class="alert" role="alert">{message}</p>' in answer.text
        assert browsers[0].get("/portal/", follow_redirects=False).status_code == 200
        assert post_login(browsers[1], "ann@alpha", ann.password).status_code == 303

    def test_guessing_the_current_password_is_throttled_like_a_login(
        self, client: TestClient, ann: Login, clock: Clock
    ) -> None:
        log_in(client, ann)
        for _ in range(3):
            assert change(client, "guess guess guess", NEW_PASSWORD).status_code == 422
        refused = change(client, ann.password, NEW_PASSWORD)
        assert refused.status_code == 429
        assert "try again in 1 second" in refused.text
        clock.now += timedelta(seconds=2)
        assert change(client, ann.password, NEW_PASSWORD).status_code == 303

    def test_the_form_needs_its_csrf_token(self, client: TestClient, ann: Login) -> None:
        log_in(client, ann)
        answer = client.post(
            "/portal/account/password",
            data={
                "current_password": ann.password,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        )
        assert answer.status_code == 403
        assert post_login(client, "ann@alpha", ann.password).status_code == 303


class TestChangePasswordService:
    def test_only_the_user_changes_their_own_password(
        self, session: Session, ann: Login, bob: Login
    ) -> None:
        with pytest.raises(PermissionDenied):
            change_password(
                session,
                actor=actor_for(bob.user, "portal"),
                user=ann.user,
                current_password=ann.password,
                new_password=NEW_PASSWORD,
                now=T0,
            )

    def test_an_overlong_current_password_is_wrong_without_being_hashed(
        self, session: Session, ann: Login
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            change_password(
                session,
                actor=actor_for(ann.user, "portal"),
                user=ann.user,
                current_password="x" * 1_000_000,
                new_password=NEW_PASSWORD,
                now=T0,
            )
        assert refused.value.code == "wrong_password"


class TestIdleAndAge:
    def test_an_idle_session_ends_and_use_keeps_it_alive(
        self, client: TestClient, settings: Settings, ann: Login, clock: Clock
    ) -> None:
        idle = timedelta(seconds=settings.session_idle_timeout_seconds)
        log_in(client, ann)
        for _ in range(3):  # used just inside the timeout, again and again: still logged in
            clock.now += idle - timedelta(minutes=2)
            assert client.get("/portal/", follow_redirects=False).status_code == 200
        clock.now += idle
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_the_idle_timeout_is_a_setting(
        self, client: TestClient, ann: Login, clock: Clock
    ) -> None:
        client.app.state.settings = client.app.state.settings.model_copy(
            update={"session_idle_timeout_seconds": 120}
        )
        log_in(client, ann)
        clock.now += timedelta(seconds=100)
        assert client.get("/portal/", follow_redirects=False).status_code == 200
        clock.now += timedelta(seconds=121)
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_a_busy_session_still_ends_at_its_maximum_age(
        self, client: TestClient, settings: Settings, ann: Login, clock: Clock
    ) -> None:
        log_in(client, ann)
        end = T0 + timedelta(seconds=settings.session_max_age_seconds)
        while clock.now + timedelta(minutes=20) < end:
            clock.now += timedelta(minutes=20)
            assert client.get("/portal/", follow_redirects=False).status_code == 200
        clock.now = end
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_the_default_idle_timeout_is_half_an_hour(self, settings: Settings) -> None:
        assert settings.session_idle_timeout_seconds == 30 * 60
        assert settings.session_max_age_seconds == 8 * 3600


class TestSessionsPage:
    def test_lists_the_users_sessions_with_this_one_marked(
        self, client: TestClient, browsers: list[TestClient], ann: Login
    ) -> None:
        client.headers["user-agent"] = "Firefox/128.0 (the desk)"
        browsers[0].headers["user-agent"] = "Safari/17 (the phone)"
        log_in(client, ann)
        log_in(browsers[0], ann)
        page = client.get("/portal/account").text
        assert "Firefox/128.0 (the desk)" in page
        assert "Safari/17 (the phone)" in page
        assert page.count('class="current-session"') == 1
        current = page.index('class="current-session"')
        assert "Firefox/128.0" in page[current : current + 600]
        assert len(_END_FORMS.findall(page)) == 1  # every session but this one can be ended

    def test_ending_another_session_logs_that_browser_out_and_is_audited(
        self, client: TestClient, browsers: list[TestClient], session: Session, ann: Login
    ) -> None:
        log_in(client, ann)
        log_in(browsers[0], ann)
        page = client.get("/portal/account").text
        (other,) = _END_FORMS.findall(page)
        answer = client.post(
            f"/portal/account/sessions/{other}/end",
            data={"csrf_token": csrf_from(page)},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert "Session ended" in client.get(answer.headers["location"]).text
        assert browsers[0].get("/portal/", follow_redirects=False).status_code == 303
        assert client.get("/portal/", follow_redirects=False).status_code == 200
        assert actions(session, "ann@alpha")[-1] == "user.session_ended"

    @pytest.mark.parametrize("same_party", [False, True])
    def test_another_users_sessions_are_not_shown_and_cannot_be_ended(
        self,
        client: TestClient,
        browsers: list[TestClient],
        session: Session,
        ann: Login,
        bob: Login,
        same_party: bool,
    ) -> None:
        other = (
            make_login(session, party=ann.user.party, username="cat@alpha") if same_party else bob
        )
        session.commit()
        browsers[0].headers["user-agent"] = "the other user's browser"
        log_in(browsers[0], other)
        log_in(browsers[1], other)  # a second session of theirs, so one has an End form
        (theirs,) = _END_FORMS.findall(browsers[0].get("/portal/account").text)

        log_in(client, ann)
        page = client.get("/portal/account").text
        assert "the other user's browser" not in page
        answer = client.post(
            f"/portal/account/sessions/{theirs}/end", data={"csrf_token": csrf_from(page)}
        )
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert browsers[0].get("/portal/", follow_redirects=False).status_code == 200
        assert "user.session_ended" not in actions(session, other.user.username)

    @pytest.mark.parametrize("session_id", ["abc", "0", "99999", "9" * 30, "-1"])
    def test_no_such_session_is_a_404_page(
        self, client: TestClient, ann: Login, session_id: str
    ) -> None:
        log_in(client, ann)
        answer = client.post(
            f"/portal/account/sessions/{session_id}/end", data={"csrf_token": csrf(client)}
        )
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")

    def test_strangers_are_sent_to_log_in(self, client: TestClient) -> None:
        answer = client.get("/portal/account", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/login?next=%2Fportal%2Faccount"

    def test_the_header_links_to_the_account_page(self, client: TestClient, ann: Login) -> None:
        log_in(client, ann)
        assert 'href="/portal/account"' in client.get("/portal/").text


def test_deactivating_a_user_ends_their_sessions_at_once(
    client: TestClient, session: Session, ann: Login
) -> None:
    log_in(client, ann)
    user = user_by_username(session, "ann@alpha")
    assert user is not None
    user.active = False
    session.commit()
    assert client.get("/portal/account", follow_redirects=False).status_code == 303
