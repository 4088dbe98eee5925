"""``/api/v1/me``, ``/parties`` and ``/appointments`` over HTTP."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.kit.clock import today
from meterhub.parties.models import AgentAppointment, ApiToken, Party
from tests.factories import Login, make_api_login, make_appointment, make_party

D = date(2025, 3, 10)


def _operator(session: Session) -> Login:
    return make_api_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))


def _count(session: Session, model: type[object]) -> int:
    """Rows now committed (ending this session's read snapshot first)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


class TestAuthentication:
    def test_no_token_is_missing_token(self, session: Session, client: TestClient) -> None:
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_token"
        assert response.headers["www-authenticate"] == "Bearer"

    def test_wrong_scheme_is_missing_token(self, session: Session, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_token"
        response = client.get("/api/v1/me", headers={"Authorization": "Bearer   "})
        assert response.json()["error"]["code"] == "missing_token"

    def test_unknown_token_is_bad_token(self, session: Session, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers={"Authorization": "Bearer mh_made_up"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_token"

    def test_revoked_token_is_bad_token(self, session: Session, client: TestClient) -> None:
        login = make_api_login(session, party=make_party(session))
        session.commit()
        assert client.get("/api/v1/me", headers=login.headers).status_code == 200
        for row in session.scalars(select(ApiToken)):
            row.revoked_at = row.created_at
        session.commit()
        response = client.get("/api/v1/me", headers=login.headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_token"

    def test_deactivated_user_is_refused(self, session: Session, client: TestClient) -> None:
        login = make_api_login(session, party=make_party(session))
        login.user.active = False
        session.commit()
        response = client.get("/api/v1/me", headers=login.headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_token"


class TestMe:
    def test_me_shows_user_party_roles(self, session: Session, client: TestClient) -> None:
        party = make_party(session, code="OVO", roles=("IS", "GS"), name="OVO Energy")
        login = make_api_login(session, party=party, username="ann@ovo")
        session.commit()
        body = client.get("/api/v1/me", headers=login.headers).json()
        assert body["username"] == "ann@ovo"
        assert body["party"] == {
            "code": "OVO",
            "name": "OVO Energy",
            "kind": "supplier",
            "roles": ["GS", "IS"],
        }
        assert sorted(r["role"] for r in body["roles"]) == ["GS", "IS"]
        assert all(len(r["duis_user_id"]) == 23 for r in body["roles"])
        assert body["is_operator"] is False

    def test_operator_is_flagged(self, session: Session, client: TestClient) -> None:
        login = _operator(session)
        session.commit()
        assert client.get("/api/v1/me", headers=login.headers).json()["is_operator"] is True


class TestParties:
    def test_operator_creates_a_party(self, session: Session, client: TestClient) -> None:
        login = _operator(session)
        session.commit()
        body = {"code": "eon", "name": "E.ON", "kind": "supplier", "roles": ["IS", "ES"]}
        response = client.post("/api/v1/parties", json=body, headers=login.headers)
        assert response.status_code == 201
        assert response.json() == {
            "code": "EON",
            "name": "E.ON",
            "kind": "supplier",
            "roles": ["ES", "IS"],
        }
        assert client.get("/api/v1/parties/EON", headers=login.headers).status_code == 200

    def test_duplicate_party_is_409(self, session: Session, client: TestClient) -> None:
        login = _operator(session)
        make_party(session, code="EON")
        session.commit()
        body = {"code": "EON", "name": "E.ON", "kind": "supplier", "roles": ["IS"]}
        response = client.post("/api/v1/parties", json=body, headers=login.headers)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "party_exists"

    def test_bad_role_and_kind_are_422(self, session: Session, client: TestClient) -> None:
        login = _operator(session)
        session.commit()
        before = _count(session, Party)
        for body, code in (
            ({"code": "X", "name": "X", "kind": "supplier", "roles": ["NOPE"]}, "bad_role"),
            ({"code": "X", "name": "X", "kind": "bank", "roles": ["IS"]}, "bad_kind"),
            ({"code": "X", "name": "X", "kind": "supplier", "roles": []}, "invalid_input"),
        ):
            response = client.post("/api/v1/parties", json=body, headers=login.headers)
            assert response.status_code == 422
            assert response.json()["error"]["code"] == code
        assert _count(session, Party) == before

    def test_non_operator_is_refused(self, session: Session, client: TestClient) -> None:
        login = make_api_login(session, party=make_party(session))
        session.commit()
        body = {"code": "NEW", "name": "New", "kind": "supplier", "roles": ["IS"]}
        response = client.post("/api/v1/parties", json=body, headers=login.headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        session.rollback()  # end this session's snapshot to see what requests committed
        session.expire_all()
        assert session.scalar(select(Party).where(Party.code == "NEW")) is None

    def test_party_sees_only_itself(self, session: Session, client: TestClient) -> None:
        mine = make_party(session, code="MINE")
        make_party(session, code="THEIRS")
        login = make_api_login(session, party=mine)
        session.commit()
        listed = client.get("/api/v1/parties", headers=login.headers).json()
        assert [p["code"] for p in listed] == ["MINE"]
        response = client.get("/api/v1/parties/THEIRS", headers=login.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_operator_lists_every_party(self, session: Session, client: TestClient) -> None:
        login = _operator(session)
        make_party(session, code="AAA")
        session.commit()
        listed = client.get("/api/v1/parties", headers=login.headers).json()
        assert [p["code"] for p in listed] == ["AAA", "DCC"]


class TestAppointments:
    def _pair(self, session: Session) -> tuple[Party, Party, Login, Login]:
        supplier = make_party(session, code="SUPP", roles=("IS",))
        agent = make_party(session, code="AGNT", roles=("RSA",))
        return (
            supplier,
            agent,
            make_api_login(session, party=supplier),
            make_api_login(session, party=agent),
        )

    def test_supplier_appoints_an_agent(self, session: Session, client: TestClient) -> None:
        _, _, supplier_login, agent_login = self._pair(session)
        session.commit()
        body = {"supplier": "SUPP", "agent": "agnt", "valid_from": "2025-03-10"}
        response = client.post("/api/v1/appointments", json=body, headers=supplier_login.headers)
        assert response.status_code == 201
        created = response.json()
        assert created == {
            "id": created["id"],
            "supplier": "SUPP",
            "agent": "AGNT",
            "valid_from": "2025-03-10",
            "valid_to": None,
        }
        seen = client.get(f"/api/v1/appointments/{created['id']}", headers=agent_login.headers)
        assert seen.json() == created

    def test_supplier_may_not_appoint_for_another(
        self, session: Session, client: TestClient
    ) -> None:
        _, _, _, agent_login = self._pair(session)
        other = make_party(session, code="OTHR", roles=("IS",))
        other_login = make_api_login(session, party=other)
        session.commit()
        body = {"supplier": "SUPP", "agent": "AGNT", "valid_from": "2025-03-10"}
        for login in (other_login, agent_login):
            response = client.post("/api/v1/appointments", json=body, headers=login.headers)
            assert response.status_code == 404
        assert _count(session, AgentAppointment) == 0

    def test_only_rsa_agents(self, session: Session, client: TestClient) -> None:
        _, _, supplier_login, _ = self._pair(session)
        make_party(session, code="DNO", roles=("ED",))
        session.commit()
        body = {"supplier": "SUPP", "agent": "DNO", "valid_from": "2025-03-10"}
        response = client.post("/api/v1/appointments", json=body, headers=supplier_login.headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "not_an_agent"

    def test_overlap_is_409_and_bad_period_422(self, session: Session, client: TestClient) -> None:
        supplier, agent, supplier_login, _ = self._pair(session)
        existing = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=9)
        )
        session.commit()
        overlap = {"supplier": "SUPP", "agent": "AGNT", "valid_from": "2025-03-19"}
        response = client.post("/api/v1/appointments", json=overlap, headers=supplier_login.headers)
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "overlapping_period"
        assert error["details"] == {"appointment_id": existing.id}
        backwards = {
            "supplier": "SUPP",
            "agent": "AGNT",
            "valid_from": "2026-03-10",
            "valid_to": "2026-03-09",
        }
        response = client.post(
            "/api/v1/appointments", json=backwards, headers=supplier_login.headers
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "bad_period"
        assert _count(session, AgentAppointment) == 1

    def test_supplier_ends_an_appointment(self, session: Session, client: TestClient) -> None:
        supplier, agent, supplier_login, agent_login = self._pair(session)
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        session.commit()
        url = f"/api/v1/appointments/{row.id}/end"
        refused = client.post(url, json={"valid_to": "2025-04-01"}, headers=agent_login.headers)
        assert refused.status_code == 403
        ended = client.post(url, json={"valid_to": "2025-04-01"}, headers=supplier_login.headers)
        assert ended.status_code == 200
        assert ended.json()["valid_to"] == "2025-04-01"
        session.rollback()  # end this session's snapshot to see what requests committed
        session.expire_all()
        assert session.get(AgentAppointment, row.id).valid_to == date(2025, 4, 1)  # type: ignore[union-attr]

    def test_third_party_sees_none_and_gets_404(self, session: Session, client: TestClient) -> None:
        supplier, agent, supplier_login, agent_login = self._pair(session)
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        outsider = make_api_login(session, party=make_party(session, roles=("IS",)))
        session.commit()
        assert client.get("/api/v1/appointments", headers=outsider.headers).json() == []
        for login in (supplier_login, agent_login):
            listed = client.get("/api/v1/appointments", headers=login.headers).json()
            assert [a["id"] for a in listed] == [row.id]
        for method, url, body in (
            ("GET", f"/api/v1/appointments/{row.id}", None),
            ("POST", f"/api/v1/appointments/{row.id}/end", {"valid_to": "2025-04-01"}),
        ):
            response = client.request(method, url, json=body, headers=outsider.headers)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
        session.rollback()  # end this session's snapshot to see what requests committed
        session.expire_all()
        assert session.get(AgentAppointment, row.id).valid_to is None  # type: ignore[union-attr]

    def test_list_on_day(self, session: Session, client: TestClient) -> None:
        supplier, agent, supplier_login, _ = self._pair(session)
        row = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=1)
        )
        session.commit()

        def on(day: str) -> list[int]:
            response = client.get(
                "/api/v1/appointments", params={"on": day}, headers=supplier_login.headers
            )
            return [a["id"] for a in response.json()]

        assert on("2025-03-09") == []
        assert on("2025-03-11") == [row.id]
        assert on("2025-03-12") == []

    def test_check_on_boundary_days(self, session: Session, client: TestClient) -> None:
        supplier, agent, supplier_login, agent_login = self._pair(session)
        make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=9)
        )
        session.commit()
        expected = {
            "2025-03-09": False,
            "2025-03-10": True,
            "2025-03-19": True,
            "2025-03-20": False,
        }
        for day, may in expected.items():
            for login in (supplier_login, agent_login):
                response = client.get(
                    "/api/v1/appointments/check",
                    params={"supplier": "supp", "agent": "AGNT", "day": day},
                    headers=login.headers,
                )
                assert response.status_code == 200
                assert response.json() == {
                    "supplier": "SUPP",
                    "agent": "AGNT",
                    "day": day,
                    "may_act": may,
                }

    def test_check_defaults_to_today_and_open_ended(
        self, session: Session, client: TestClient
    ) -> None:
        supplier, agent, supplier_login, _ = self._pair(session)
        make_appointment(session, supplier=supplier, agent=agent, valid_from=today())
        session.commit()
        response = client.get(
            "/api/v1/appointments/check",
            params={"supplier": "SUPP", "agent": "AGNT"},
            headers=supplier_login.headers,
        )
        assert response.json()["day"] == today().isoformat()
        assert response.json()["may_act"] is True

    def test_check_by_a_third_party_or_unknown_party_is_404(
        self, session: Session, client: TestClient
    ) -> None:
        supplier, agent, supplier_login, _ = self._pair(session)
        make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        outsider = make_api_login(session, party=make_party(session, roles=("IS",)))
        session.commit()
        params = {"supplier": "SUPP", "agent": "AGNT", "day": "2025-03-10"}
        response = client.get("/api/v1/appointments/check", params=params, headers=outsider.headers)
        assert response.status_code == 404
        params = {"supplier": "SUPP", "agent": "NOBODY", "day": "2025-03-10"}
        response = client.get(
            "/api/v1/appointments/check", params=params, headers=supplier_login.headers
        )
        assert response.status_code == 404
