"""``/portal/users``: the Local Security Officer's pages. Creating a user shows its temporary
password once and the user must choose its own at the first login; disabling a user or
resetting its password logs it out at once (through the portal or the API); another party's
user is the portal's 404 page; every form needs its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.kit.clock import utcnow
from meterhub.parties import service
from tests.factories import SYSTEM, Login, make_api_login, make_login, make_party
from tests.portal.conftest import csrf_from, log_in, post_login

NEW_PASSWORD = "my very own passphrase"
_TEMPORARY = re.compile(r'<code id="temporary-password">([^<]+)</code>')


@dataclass
class Org:
    officer: Login
    clerk: Login
    other: Login  # BRAVO's user


@pytest.fixture
def org(session: Session) -> Org:
    alpha = make_party(session, code="ALPHA", name="Alpha Gas", roles=("GS", "SHIPPER"))
    bravo = make_party(session, code="BRAVO", name="Bravo Gas", roles=("GS",))
    officer = make_login(session, party=alpha, username="lso@alpha")
    service.set_user_permissions(
        session, actor=SYSTEM, user=officer.user, local_security_officer=True, now=utcnow()
    )
    found = Org(
        officer=officer,
        clerk=make_login(session, party=alpha, username="clerk@alpha"),
        other=make_api_login(session, party=bravo, username="other@bravo"),
    )
    session.commit()
    return found


@pytest.fixture
def officer(client: TestClient, org: Org) -> TestClient:
    log_in(client, org.officer)
    return client


@pytest.fixture
def second(client: TestClient) -> Iterator[TestClient]:
    """Another browser on the same hub."""
    with TestClient(client.app) as other:
        yield other


def form_post(client: TestClient, page: str, action: str, **data: object) -> httpx.Response:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def logged_in(client: TestClient) -> bool:
    """Does the browser still have a session? (The account page opens even to a user whose
    password is a temporary one; without a session it sends the browser to log in.)"""
    answer = client.get("/portal/account", follow_redirects=False)
    assert answer.status_code == 200 or answer.headers["location"].startswith("/portal/login")
    return answer.status_code == 200


class TestTheUsersPage:
    def test_the_officer_sees_its_partys_users_and_the_nav_link(
        self, officer: TestClient, org: Org
    ) -> None:
        page = officer.get("/portal/users")
        assert page.status_code == 200
        assert 'href="/portal/users"' in page.text
        assert "clerk@alpha" in page.text and "lso@alpha" in page.text
        assert "other@bravo" not in page.text

    def test_a_user_who_is_no_officer_has_no_link_and_is_refused(
        self, client: TestClient, org: Org
    ) -> None:
        log_in(client, org.clerk)
        assert 'href="/portal/users"' not in client.get("/portal/").text
        page = client.get("/portal/users")
        assert page.status_code == 403
        assert "not_security_officer" in page.text

    @pytest.mark.parametrize("step", ["", "/permissions", "/disable", "/enable", "/password"])
    def test_another_partys_user_is_the_404_page(
        self, officer: TestClient, org: Org, step: str
    ) -> None:
        path = f"/portal/users/{org.other.user.id}{step}"
        if step:
            token = csrf_from(officer.get("/portal/users").text)
            answer = officer.post(path, data={"csrf_token": token, "roles": []})
        else:
            answer = officer.get(path)
        assert answer.status_code == 404
        assert "text/html" in answer.headers["content-type"]

    def test_another_party_by_its_code_is_the_404_page(self, officer: TestClient) -> None:
        assert officer.get("/portal/users?party=BRAVO").status_code == 404
        assert officer.get("/portal/users/new?party=BRAVO").status_code == 404

    def test_a_form_without_its_csrf_token_changes_nothing(
        self, officer: TestClient, org: Org, session: Session
    ) -> None:
        answer = officer.post(f"/portal/users/{org.clerk.user.id}/disable", data={})
        assert answer.status_code == 403 and "csrf_failed" in answer.text
        session.rollback()
        clerk = service.user_by_username(session, "clerk@alpha")
        assert clerk is not None and clerk.active


class TestCreatingAUser:
    def test_the_new_user_logs_in_with_the_temporary_password_and_must_change_it(
        self, officer: TestClient, second: TestClient, session: Session
    ) -> None:
        answer = form_post(
            officer,
            "/portal/users/new",
            "/portal/users",
            party="ALPHA",
            username="dee@alpha",
            display_name="Dee",
            email="dee@alpha.example",
            roles=["GS"],
        )
        assert answer.status_code == 200, answer.text
        found = _TEMPORARY.search(answer.text)
        assert found is not None
        temporary = found.group(1)
        entry = entries_for(session, object_type="user", object_id="dee@alpha")[-1]
        assert (entry.action, entry.actor) == ("user.created", "lso@alpha")

        assert post_login(second, "dee@alpha", temporary).status_code == 303
        # Anything but the account page leads to the account page, until the password changes.
        inventory = second.get("/portal/inventory", follow_redirects=False)
        assert inventory.status_code == 303
        assert inventory.headers["location"] == "/portal/account"
        account = second.get("/portal/account")
        assert 'id="change-required"' in account.text
        changed = second.post(
            "/portal/account/password",
            data={
                "current_password": temporary,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
                "csrf_token": csrf_from(account.text),
            },
            follow_redirects=False,
        )
        assert changed.status_code == 303
        assert second.get("/portal/inventory").status_code == 200
        # The officer's list shows when the new user last logged in.
        row = re.search(
            r'data-username="dee@alpha">(.*?)</tr>', officer.get("/portal/users").text, re.S
        )
        assert row is not None and "never" not in row.group(1)

    def test_a_refused_form_is_shown_again_with_the_reason(self, officer: TestClient) -> None:
        answer = form_post(
            officer,
            "/portal/users/new",
            "/portal/users",
            party="ALPHA",
            username="bad name",
            email="x@alpha.example",
        )
        assert answer.status_code == 422
        assert "username must be" in answer.text
        assert 'value="x@alpha.example"' in answer.text


class TestLoggingOut:
    def test_disabling_a_user_logs_it_out_at_once(
        self, officer: TestClient, second: TestClient, org: Org, session: Session
    ) -> None:
        log_in(second, org.clerk)
        assert logged_in(second)
        page = f"/portal/users/{org.clerk.user.id}"
        answer = form_post(officer, page, f"{page}/disable")
        assert answer.status_code == 303
        assert not logged_in(second)
        assert post_login(second, "clerk@alpha", org.clerk.password).status_code == 401
        assert "Disabled" in officer.get(page).text
        assert entries_for(session, object_type="user", object_id="clerk@alpha")[-1].action == (
            "user.disabled"
        )
        form_post(officer, page, f"{page}/enable")
        assert post_login(second, "clerk@alpha", org.clerk.password).status_code == 303

    def test_a_reset_logs_the_user_out_and_the_old_password_no_longer_works(
        self, officer: TestClient, second: TestClient, org: Org
    ) -> None:
        log_in(second, org.clerk)
        page = f"/portal/users/{org.clerk.user.id}"
        answer = form_post(officer, page, f"{page}/password")
        found = _TEMPORARY.search(answer.text)
        assert found is not None
        assert not logged_in(second)
        assert post_login(second, "clerk@alpha", org.clerk.password).status_code == 401
        assert post_login(second, "clerk@alpha", found.group(1)).status_code == 303

    def test_a_reset_through_the_api_ends_the_portal_sessions_too(
        self, client: TestClient, second: TestClient, org: Org, session: Session
    ) -> None:
        log_in(second, org.clerk)
        token = service.issue_api_token(
            session, actor=SYSTEM, user=org.officer.user, label="lso", now=utcnow()
        )
        session.commit()
        answer = client.post(
            "/api/v1/users/clerk@alpha/password-reset",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
        assert not logged_in(second)

    def test_the_officer_cannot_disable_itself(self, officer: TestClient, org: Org) -> None:
        page = f"/portal/users/{org.officer.user.id}"
        assert "Disable user" not in officer.get(page).text
        answer = form_post(officer, page, f"{page}/disable")
        assert answer.status_code == 409
        assert logged_in(officer)

    def test_the_last_officer_cannot_drop_its_own_permission(
        self, officer: TestClient, org: Org
    ) -> None:
        page = f"/portal/users/{org.officer.user.id}"
        answer = form_post(officer, page, f"{page}/permissions", roles=["GS"])
        assert answer.status_code == 409
        assert "last active Local Security Officer" in answer.text
        assert officer.get("/portal/users").status_code == 200
