"""Logging in and out of the portal: the form, the cookie, CSRF, the throttle, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.audit.service import entries_for
from meterhub.config import Settings
from meterhub.errors import LoginFailed, TooManyAttempts
from meterhub.parties.service import user_by_username
from meterhub.portal import login
from meterhub.portal.throttle import ThrottlePolicy
from meterhub.portal.web import safe_next
from tests.factories import Login, make_login, make_party
from tests.portal.conftest import csrf_from, log_in, login_form_token, post_login

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(failures_before_delay=3, max_delay_seconds=30.0)


@pytest.fixture
def ann(session: Session) -> Login:
    party = make_party(session, roles=("IS",), name="Alpha Energy")
    found = make_login(session, party=party, username="ann@alpha")
    session.commit()
    return found


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client: TestClient) -> Clock:
    fixed = Clock()
    client.app.state.portal_clock = fixed  # type: ignore[attr-defined]
    return fixed


def alert_text(html: str) -> str:
    start = html.index('<p class="alert" role="alert">') + len('<p class="alert" role="alert">')
    return html[start : html.index("</p>", start)]


class TestAuthenticate:
    def test_right_password_returns_the_user_and_audits_the_login(
        self, session: Session, ann: Login
    ) -> None:
        user = login.authenticate(
            session,
            username="Ann@Alpha",
            password=ann.password,
            address="10.0.0.1",
            policy=POLICY,
            now=T0,
        )
        assert user.username == "ann@alpha"
        actions = [
            e.action for e in entries_for(session, object_type="user", object_id="ann@alpha")
        ]
        assert actions[-1] == "user.logged_in"

    @pytest.mark.parametrize(
        ("username", "password"),
        [("ann@alpha", "wrong password!"), ("nobody@alpha", "correct horse battery"), ("", "")],
    )
    def test_every_wrong_login_reads_the_same(
        self, session: Session, ann: Login, username: str, password: str
    ) -> None:
        with pytest.raises(LoginFailed) as refused:
            login.authenticate(
                session,
                username=username,
                password=password,
                address="10.0.0.1",
                policy=POLICY,
                now=T0,
            )
        assert refused.value.message == "username or password is wrong"

    def test_inactive_user_is_refused_with_the_same_message(
        self, session: Session, ann: Login
    ) -> None:
        ann.user.active = False
        session.flush()
        with pytest.raises(LoginFailed, match=r"^username or password is wrong$"):
            login.authenticate(
                session,
                username="ann@alpha",
                password=ann.password,
                address="10.0.0.1",
                policy=POLICY,
                now=T0,
            )

    def test_while_throttled_even_the_right_password_is_refused(
        self, session: Session, ann: Login
    ) -> None:
        for _ in range(3):
            with pytest.raises(LoginFailed):
                login.authenticate(
                    session,
                    username="ann@alpha",
                    password="guess guess guess",
                    address="10.0.0.1",
                    policy=POLICY,
                    now=T0,
                )
        with pytest.raises(TooManyAttempts):
            login.authenticate(
                session,
                username="ann@alpha",
                password=ann.password,
                address="10.0.0.2",
                policy=POLICY,
                now=T0 + timedelta(seconds=0.5),
            )
        user = login.authenticate(
            session,
            username="ann@alpha",
            password=ann.password,
            address="10.0.0.2",
            policy=POLICY,
            now=T0 + timedelta(seconds=1),
        )
        assert user.username == "ann@alpha"


class TestLoginPage:
    def test_login_sets_a_hardened_session_cookie_and_goes_home(
        self, client: TestClient, ann: Login
    ) -> None:
        response = post_login(client, "ann@alpha", ann.password)
        assert response.status_code == 303
        assert response.headers["location"] == "/portal/"
        cookie = response.headers["set-cookie"]
        assert "meterhub_portal=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
        assert "Path=/portal" in cookie
        assert "Secure" not in cookie
        home = client.get("/portal/")
        assert home.status_code == 200
        assert "Alpha Energy" in home.text

    def test_cookie_is_secure_when_configured(self, settings: Settings, ann: Login) -> None:
        secure = settings.model_copy(update={"cookie_secure": True})
        with TestClient(create_app(secure), base_url="https://testserver") as c:
            response = post_login(c, "ann@alpha", ann.password)
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]

    def test_wrong_password_and_unknown_user_look_identical(
        self, client: TestClient, ann: Login
    ) -> None:
        wrong = post_login(client, "ann@alpha", "not the password")
        unknown = post_login(client, "nobody@alpha", ann.password)
        assert wrong.status_code == unknown.status_code == 401
        assert alert_text(wrong.text) == alert_text(unknown.text) == "username or password is wrong"
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_tampered_cookie_is_not_a_session(self, client: TestClient, ann: Login) -> None:
        log_in(client, ann)
        value = client.cookies.get("meterhub_portal")
        assert value
        client.cookies.clear()
        client.cookies.set("meterhub_portal", value[:-2] + "xx", path="/portal")
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_session_expires_after_its_max_age(
        self, client: TestClient, ann: Login, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import time
        from types import SimpleNamespace

        import itsdangerous.timed

        log_in(client, ann)
        assert client.get("/portal/", follow_redirects=False).status_code == 200
        later = time.time() + settings.session_max_age_seconds + 5
        monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: later))
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_deactivated_user_is_sent_back_to_login(
        self, client: TestClient, session: Session, ann: Login
    ) -> None:
        log_in(client, ann)
        user = user_by_username(session, "ann@alpha")
        assert user is not None
        user.active = False
        session.commit()
        assert client.get("/portal/", follow_redirects=False).status_code == 303


class TestLoginThrottlePage:
    def test_fourth_failure_in_a_row_is_a_429_page(
        self, client: TestClient, ann: Login, clock: Clock
    ) -> None:
        for _ in range(3):
            assert post_login(client, "ann@alpha", "guessing again").status_code == 401
        refused = post_login(client, "ann@alpha", ann.password)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert alert_text(refused.text) == "too many attempts, try again in 1 second"
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_window_passes_and_success_resets_the_users_count(
        self, settings: Settings, ann: Login
    ) -> None:
        clock = Clock()
        app = create_app(settings)
        app.state.portal_clock = clock
        addresses = (f"192.0.2.{n}" for n in range(1, 100))

        def attempt(password: str) -> int:
            # A new address each time, so only the username's counter is in play.
            with TestClient(app, client=(next(addresses), 5000)) as c:
                return post_login(c, "ann@alpha", password).status_code

        assert [attempt("guessing again") for _ in range(3)] == [401, 401, 401]
        assert attempt(ann.password) == 429
        clock.now += timedelta(seconds=1)
        assert attempt(ann.password) == 303
        assert [attempt("guessing again") for _ in range(3)] == [401, 401, 401]
        assert attempt("guessing again") == 429

    def test_one_address_guessing_many_users_is_slowed(
        self, settings: Settings, session: Session, ann: Login
    ) -> None:
        other = make_login(session, party=ann.user.party, username="bob@alpha")
        session.commit()
        app = create_app(settings)
        app.state.portal_clock = lambda: T0
        with TestClient(app, client=("203.0.113.9", 5000)) as attacker:
            for name in ("x@alpha", "y@alpha", "z@alpha"):
                assert post_login(attacker, name, "guessing").status_code == 401
            assert post_login(attacker, "bob@alpha", other.password).status_code == 429
        with TestClient(app, client=("198.51.100.4", 5000)) as colleague:
            assert post_login(colleague, "bob@alpha", other.password).status_code == 303


class TestCsrf:
    def test_login_without_token_is_403_and_logs_nobody_in(
        self, client: TestClient, ann: Login
    ) -> None:
        login_form_token(client)
        response = client.post(
            "/portal/login",
            data={"username": "ann@alpha", "password": ann.password},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "csrf_failed" in response.text
        assert client.get("/portal/", follow_redirects=False).status_code == 303

    def test_token_of_another_session_is_refused(self, client: TestClient, ann: Login) -> None:
        other_token = login_form_token(client)
        client.cookies.clear()
        login_form_token(client)
        response = client.post(
            "/portal/login",
            data={"username": "ann@alpha", "password": ann.password, "csrf_token": other_token},
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "csrf_failed" in response.text

    def test_post_without_any_session_cookie_is_refused(
        self, client: TestClient, ann: Login
    ) -> None:
        token = login_form_token(client)
        client.cookies.clear()
        response = client.post(
            "/portal/login",
            data={"username": "ann@alpha", "password": ann.password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 403

    def test_logout_without_token_keeps_the_session(self, client: TestClient, ann: Login) -> None:
        log_in(client, ann)
        response = client.post("/portal/logout", data={}, follow_redirects=False)
        assert response.status_code == 403
        assert "csrf_failed" in response.text
        assert client.get("/portal/").status_code == 200

    def test_the_token_changes_at_login(self, client: TestClient, ann: Login) -> None:
        before = login_form_token(client)
        log_in(client, ann)
        after = csrf_from(client.get("/portal/").text)
        assert before != after


class TestLogout:
    def test_logout_ends_the_session_and_is_audited(
        self, client: TestClient, session: Session, ann: Login
    ) -> None:
        log_in(client, ann)
        token = csrf_from(client.get("/portal/").text)
        response = client.post("/portal/logout", data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/portal/login"
        assert client.get("/portal/", follow_redirects=False).status_code == 303
        actions = [
            e.action for e in entries_for(session, object_type="user", object_id="ann@alpha")
        ]
        assert actions[-2:] == ["user.logged_in", "user.logged_out"]


class TestRedirectToLogin:
    def test_pages_send_strangers_to_login_with_next(self, client: TestClient) -> None:
        response = client.get("/portal/inventory?status=Commissioned", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == (
            "/portal/login?next=%2Fportal%2Finventory%3Fstatus%3DCommissioned"
        )

    def test_login_returns_to_the_page_asked_for(self, client: TestClient, ann: Login) -> None:
        page = client.get("/portal/login?next=/portal/inventory%3Fstatus%3DCommissioned")
        assert 'name="next" value="/portal/inventory?status=Commissioned"' in page.text
        response = post_login(
            client, "ann@alpha", ann.password, next_path="/portal/inventory?status=Commissioned"
        )
        assert response.headers["location"] == "/portal/inventory?status=Commissioned"

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example/portal/",
            "//evil.example/portal/",
            "/\\evil.example/portal/",
            "javascript:alert(1)",
            "/api/v1/devices",
            "/portal/../api/v1/devices",
            "/portal/%2e%2e/api/v1/devices",
            "/portal/login",
            "portal/inventory",
            "/portal/\r\nSet-Cookie: x=1",
        ],
    )
    def test_next_never_leaves_the_portal(self, target: str) -> None:
        assert safe_next(target) == "/portal/"

    def test_login_form_ignores_a_foreign_next(self, client: TestClient, ann: Login) -> None:
        page = client.get("/portal/login?next=https://evil.example/")
        assert 'name="next" value="/portal/"' in page.text
        response = post_login(client, "ann@alpha", ann.password, next_path="//evil.example/")
        assert response.headers["location"] == "/portal/"
