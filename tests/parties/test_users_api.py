"""``/api/v1/users``: a party's Local Security Officer runs its users over the API; another
party's user is a 404, a user who is no officer a 403 ``not_security_officer``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.kit.clock import utcnow
from meterhub.parties import service
from tests.factories import SYSTEM, Login, make_api_login, make_party


@dataclass
class Two:
    officer: Login  # ALPHA's Local Security Officer
    clerk: Login  # an ALPHA user
    other: Login  # a BRAVO user
    operator: Login


@pytest.fixture
def two(session: Session) -> Two:
    alpha = make_party(session, code="ALPHA", roles=("GS", "SHIPPER"))
    bravo = make_party(session, code="BRAVO", roles=("GS",))
    officer = make_api_login(session, party=alpha, username="lso@alpha")
    service.set_user_permissions(
        session, actor=SYSTEM, user=officer.user, local_security_officer=True, now=utcnow()
    )
    dcc = make_party(session, code="DCC", roles=("OPERATOR",))
    found = Two(
        officer=officer,
        clerk=make_api_login(session, party=alpha, username="clerk@alpha"),
        other=make_api_login(session, party=bravo, username="other@bravo"),
        operator=make_api_login(session, party=dcc, username="ops@dcc"),
    )
    session.commit()
    return found


NEW = {"username": "dee@alpha", "email": "dee@alpha.example", "roles": ["GS"]}


class TestAsTheOfficer:
    def test_lists_its_partys_users(self, client: TestClient, two: Two) -> None:
        answer = client.get("/api/v1/users", headers=two.officer.headers)
        assert answer.status_code == 200, answer.text
        names = [u["username"] for u in answer.json()["items"]]
        assert names == ["clerk@alpha", "lso@alpha"]
        officer = answer.json()["items"][1]
        assert officer["local_security_officer"] is True and officer["active"] is True

    def test_pages_with_a_cursor(self, client: TestClient, two: Two) -> None:
        first = client.get("/api/v1/users?limit=1", headers=two.officer.headers).json()
        assert [u["username"] for u in first["items"]] == ["clerk@alpha"]
        second = client.get(
            f"/api/v1/users?limit=1&cursor={first['next_cursor']}", headers=two.officer.headers
        ).json()
        assert [u["username"] for u in second["items"]] == ["lso@alpha"]
        assert second["next_cursor"] is None

    def test_creates_a_user_whose_temporary_password_is_in_the_answer(
        self, client: TestClient, two: Two, session: Session
    ) -> None:
        answer = client.post("/api/v1/users", json=NEW, headers=two.officer.headers)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["user"]["party"] == "ALPHA"
        assert body["user"]["password_change_required"] is True
        assert len(body["temporary_password"]) >= 12
        entry = entries_for(session, object_type="user", object_id="dee@alpha")[-1]
        assert (entry.action, entry.actor, entry.interface) == ("user.created", "lso@alpha", "api")

    def test_a_role_its_party_lacks_is_refused(self, client: TestClient, two: Two) -> None:
        answer = client.post(
            "/api/v1/users", json={**NEW, "roles": ["IS"]}, headers=two.officer.headers
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "role_not_held"

    def test_disabling_revokes_the_users_token(self, client: TestClient, two: Two) -> None:
        assert client.get("/api/v1/me", headers=two.clerk.headers).status_code == 200
        answer = client.post("/api/v1/users/clerk@alpha/disable", headers=two.officer.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] is False
        assert client.get("/api/v1/me", headers=two.clerk.headers).status_code == 401

    def test_a_reset_revokes_the_token_and_returns_a_temporary_password(
        self, client: TestClient, two: Two
    ) -> None:
        answer = client.post(
            "/api/v1/users/clerk@alpha/password-reset", headers=two.officer.headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["username"] == "clerk@alpha"
        assert client.get("/api/v1/me", headers=two.clerk.headers).status_code == 401

    def test_sets_permissions(self, client: TestClient, two: Two) -> None:
        answer = client.put(
            "/api/v1/users/clerk@alpha/permissions",
            json={"roles": ["SHIPPER"], "local_security_officer": True},
            headers=two.officer.headers,
        )
        assert answer.status_code == 200, answer.text
        assert [r["role"] for r in answer.json()["roles"]] == ["SHIPPER"]
        assert answer.json()["local_security_officer"] is True

    def test_guard_rails_are_conflicts_with_their_codes(self, client: TestClient, two: Two) -> None:
        me = two.officer.headers
        answer = client.post("/api/v1/users/lso@alpha/disable", headers=me)
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "cannot_disable_self")
        answer = client.put(
            "/api/v1/users/lso@alpha/permissions",
            json={"local_security_officer": False},
            headers=me,
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            409,
            "last_security_officer",
        )


class TestScoping:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/v1/users/other@bravo", None),
            ("PUT", "/api/v1/users/other@bravo/permissions", {"roles": []}),
            ("POST", "/api/v1/users/other@bravo/disable", None),
            ("POST", "/api/v1/users/other@bravo/enable", None),
            ("POST", "/api/v1/users/other@bravo/password-reset", None),
            ("GET", "/api/v1/users?party=BRAVO", None),
            ("POST", "/api/v1/users", {**NEW, "party": "BRAVO", "username": "spy@bravo"}),
        ],
    )
    def test_another_partys_user_is_not_found(
        self, client: TestClient, two: Two, method: str, path: str, body: object
    ) -> None:
        answer = client.request(method, path, json=body, headers=two.officer.headers)
        assert answer.status_code == 404, answer.text
        assert client.get("/api/v1/me", headers=two.other.headers).status_code == 200

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/users/lso@alpha"),
            ("POST", "/api/v1/users/lso@alpha/disable"),
            ("POST", "/api/v1/users/other@bravo/disable"),
        ],
    )
    def test_a_user_who_is_no_officer_is_refused(
        self, client: TestClient, two: Two, method: str, path: str
    ) -> None:
        answer = client.request(method, path, headers=two.clerk.headers)
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "not_security_officer"

    def test_the_operator_runs_any_partys_users(self, client: TestClient, two: Two) -> None:
        me = two.operator.headers
        listed = client.get("/api/v1/users?party=BRAVO", headers=me).json()
        assert [u["username"] for u in listed["items"]] == ["other@bravo"]
        answer = client.post("/api/v1/users/other@bravo/disable", headers=me)
        assert answer.status_code == 200
        assert client.get("/api/v1/me", headers=two.other.headers).status_code == 401
