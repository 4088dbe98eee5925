"""``/api/v1/forecasts``: submit, list and read, scoped to the caller's supplier."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.forecasts.models import InstallForecast
from meterhub.kit.clock import today
from tests.factories import Login, make_api_login, make_appointment, make_party


def month_after(day: date, months: int = 1) -> str:
    n = day.year * 12 + day.month - 1 + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


NEXT = month_after(today())


def _count(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(InstallForecast)) or 0


def body(**kw: object) -> dict[str, object]:
    return {"role": "IS", "month": NEXT, "csp_region": "North", "installs": 1500, **kw}


@pytest.fixture
def esup(session: Session) -> Login:
    login = make_api_login(session, party=make_party(session, code="ESUP", roles=("IS", "GS")))
    session.commit()
    return login


@pytest.fixture
def other(session: Session) -> Login:
    login = make_api_login(session, party=make_party(session, code="OTHER", roles=("IS",)))
    session.commit()
    return login


class TestSubmit:
    def test_a_supplier_submits_then_revises_and_sees_both_in_the_history(
        self, client: TestClient, esup: Login
    ) -> None:
        first = client.post("/api/v1/forecasts", json=body(), headers=esup.headers)
        assert first.status_code == 201
        assert {k: first.json()[k] for k in ("supplier", "role", "month", "installs")} == {
            "supplier": "ESUP",
            "role": "IS",
            "month": NEXT,
            "installs": 1500,
        }
        assert first.json()["submitted_by"] == "ESUP" and first.json()["in_force"] is True
        second = client.post("/api/v1/forecasts", json=body(installs=1800), headers=esup.headers)
        assert second.status_code == 201 and second.json()["supersedes"] == first.json()["id"]

        listed = client.get("/api/v1/forecasts", headers=esup.headers).json()
        assert [(f["installs"], f["in_force"]) for f in listed] == [(1800, True)]
        history = client.get("/api/v1/forecasts?history=true", headers=esup.headers).json()
        assert [(f["installs"], f["in_force"]) for f in history] == [(1800, True), (1500, False)]
        old = client.get(f"/api/v1/forecasts/{first.json()['id']}", headers=esup.headers).json()
        assert old["in_force"] is False and old["superseded_at"] is not None

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"month": month_after(today(), 0)}, "month_started"),
            ({"month": "2026/12"}, "bad_month"),
            ({"role": "ED"}, "bad_role"),
            ({"role": "ES"}, "role_not_held"),
            ({"csp_region": "Atlantis"}, "bad_region"),
            ({"installs": -5}, "bad_installs"),
        ],
    )
    def test_bad_input_is_a_422_with_a_stable_code_and_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        esup: Login,
        changes: dict[str, object],
        code: str,
    ) -> None:
        response = client.post("/api/v1/forecasts", json=body(**changes), headers=esup.headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code
        assert _count(session) == 0

    def test_a_body_of_the_wrong_shape_is_refused(self, client: TestClient, esup: Login) -> None:
        response = client.post(
            "/api/v1/forecasts", json=body(installs="lots", extra=1), headers=esup.headers
        )
        assert response.status_code == 422
        assert "code" in response.json()["error"]

    def test_forecasting_for_another_supplier_is_a_404(
        self, client: TestClient, session: Session, esup: Login, other: Login
    ) -> None:
        response = client.post(
            "/api/v1/forecasts", json=body(supplier="ESUP"), headers=other.headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert _count(session) == 0

    def test_an_agent_forecasts_for_the_supplier_that_appoints_it(
        self, client: TestClient, session: Session, esup: Login
    ) -> None:
        agent_party = make_party(session, code="MOPCO", roles=("RSA",))
        make_appointment(session, supplier=esup.user.party, agent=agent_party)
        agent = make_api_login(session, party=agent_party)
        session.commit()
        response = client.post(
            "/api/v1/forecasts", json=body(supplier="ESUP"), headers=agent.headers
        )
        assert response.status_code == 201
        assert response.json()["supplier"] == "ESUP"
        assert response.json()["submitted_by"] == "MOPCO"
        seen = client.get("/api/v1/forecasts?supplier=ESUP", headers=agent.headers).json()
        assert [f["id"] for f in seen] == [response.json()["id"]]
        # the supplier sees its agent's forecast too
        assert len(client.get("/api/v1/forecasts", headers=esup.headers).json()) == 1


class TestScope:
    def test_another_partys_forecast_is_a_404_and_never_listed(
        self, client: TestClient, esup: Login, other: Login
    ) -> None:
        theirs = client.post("/api/v1/forecasts", json=body(), headers=other.headers).json()
        mine = client.post("/api/v1/forecasts", json=body(), headers=esup.headers).json()
        response = client.get(f"/api/v1/forecasts/{theirs['id']}", headers=esup.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert client.get("/api/v1/forecasts/999999", headers=esup.headers).status_code == 404
        listed = client.get("/api/v1/forecasts?history=true", headers=esup.headers).json()
        assert [f["id"] for f in listed] == [mine["id"]]
        asked = client.get("/api/v1/forecasts?supplier=OTHER", headers=esup.headers)
        assert asked.status_code == 404

    def test_an_id_beyond_any_row_is_a_404(self, client: TestClient, esup: Login) -> None:
        answer = client.get("/api/v1/forecasts/99999999999999999999", headers=esup.headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"

    def test_filters_narrow_the_list(self, client: TestClient, esup: Login) -> None:
        later = month_after(today(), 2)
        client.post("/api/v1/forecasts", json=body(), headers=esup.headers)
        client.post("/api/v1/forecasts", json=body(month=later), headers=esup.headers)
        client.post("/api/v1/forecasts", json=body(role="GS"), headers=esup.headers)
        got = client.get(f"/api/v1/forecasts?month={later}", headers=esup.headers).json()
        assert [(f["month"], f["role"]) for f in got] == [(later, "IS")]
        got = client.get("/api/v1/forecasts?role=GS", headers=esup.headers).json()
        assert [(f["month"], f["role"]) for f in got] == [(NEXT, "GS")]
        bad = client.get("/api/v1/forecasts?month=soon", headers=esup.headers)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_month"

    def test_without_a_token_nothing_is_shown(self, client: TestClient) -> None:
        assert client.get("/api/v1/forecasts").status_code == 401
        assert client.post("/api/v1/forecasts", json=body()).status_code == 401
