"""``/api/v1/registrations`` and ``/api/v1/meter-points/{mpxn}/...``, scoped to the caller."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.kit.clock import today
from meterhub.registration.models import Registration
from tests.factories import Login, make_api_login, make_mpan_for, make_party, make_registration

MPRN = "7512345678"


def _count(session: Session, model: type[object]) -> int:
    """Rows now committed (ending this session's read snapshot first)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _operator(session: Session) -> Login:
    return make_api_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))


class TestCreateRegistration:
    def test_operator_loads_a_change_of_supplier(
        self, session: Session, client: TestClient
    ) -> None:
        op = _operator(session)
        make_party(session, code="OLD", roles=("IS",))
        make_party(session, code="NEW", roles=("IS",))
        make_party(session, code="DNO", roles=("ED",))
        session.commit()
        mpan = make_mpan_for(1)
        first = {
            "mpxn": mpan,
            "supplier": "OLD",
            "network_operator": "DNO",
            "effective_from": "2020-01-01",
        }
        response = client.post("/api/v1/registrations", json=first, headers=op.headers)
        assert response.status_code == 201
        old_id = response.json()["id"]
        gain = {**first, "supplier": "NEW", "effective_from": "2024-06-01"}
        response = client.post("/api/v1/registrations", json=gain, headers=op.headers)
        assert response.status_code == 201
        assert response.json() == {
            "id": response.json()["id"],
            "mpxn": mpan,
            "supplier": "NEW",
            "shipper": None,
            "network_operator": "DNO",
            "effective_from": "2024-06-01",
            "effective_to": None,
        }
        history = client.get(f"/api/v1/meter-points/{mpan}/registrations", headers=op.headers)
        periods = [(r["id"], r["effective_to"]) for r in history.json()]
        assert periods == [(old_id, "2024-05-31"), (response.json()["id"], None)]

    def test_non_operator_is_refused(self, session: Session, client: TestClient) -> None:
        supplier = make_party(session, code="SUP", roles=("IS",))
        make_party(session, code="DNO", roles=("ED",))
        login = make_api_login(session, party=supplier)
        session.commit()
        body = {
            "mpxn": make_mpan_for(1),
            "supplier": "SUP",
            "network_operator": "DNO",
            "effective_from": "2020-01-01",
        }
        response = client.post("/api/v1/registrations", json=body, headers=login.headers)
        assert response.status_code == 403
        assert _count(session, Registration) == 0

    def test_overlap_is_409_and_writes_nothing(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        a, b = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        mpan = make_mpan_for(1)
        existing = make_registration(
            session,
            mpxn=mpan,
            supplier=a,
            network=dno,
            effective_from=date(2020, 1, 1),
            effective_to=date(2020, 12, 31),
        )
        session.commit()
        body = {
            "mpxn": mpan,
            "supplier": b.code,
            "network_operator": dno.code,
            "effective_from": "2020-12-31",
        }
        response = client.post("/api/v1/registrations", json=body, headers=op.headers)
        assert response.status_code == 409
        assert response.json()["error"] == {
            "code": "overlapping_period",
            "message": response.json()["error"]["message"],
            "details": {"registration_id": existing.id},
        }
        assert _count(session, Registration) == 1

    def test_gas_without_shipper_and_electricity_with_one(
        self, session: Session, client: TestClient
    ) -> None:
        op = _operator(session)
        make_party(session, code="GSUP", roles=("GS",))
        make_party(session, code="GT", roles=("GT",))
        make_party(session, code="SHIP", roles=("SHIPPER",))
        session.commit()
        gas = {
            "mpxn": MPRN,
            "supplier": "GSUP",
            "network_operator": "GT",
            "effective_from": "2020-01-01",
        }
        response = client.post("/api/v1/registrations", json=gas, headers=op.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (
            422,
            "shipper_required",
        )
        elec = {**gas, "mpxn": make_mpan_for(1), "shipper": "SHIP"}
        response = client.post("/api/v1/registrations", json=elec, headers=op.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (422, "no_shipper")
        assert _count(session, Registration) == 0


class TestMeterPointReads:
    def _history(self, session: Session) -> dict[str, Login]:
        """OLD held the MPRN in 2020, NEW from 2021; STRANGER never did."""
        old = make_party(session, code="OLD", roles=("GS",))
        new = make_party(session, code="NEW", roles=("GS",))
        gt = make_party(session, code="GT", roles=("GT",))
        s1 = make_party(session, code="SHIPA", roles=("SHIPPER",))
        s2 = make_party(session, code="SHIPB", roles=("SHIPPER",))
        stranger = make_party(session, code="STRANGER", roles=("GS",))
        make_registration(
            session,
            mpxn=MPRN,
            supplier=old,
            network=gt,
            shipper=s1,
            effective_from=date(2020, 1, 1),
        )
        make_registration(
            session,
            mpxn=MPRN,
            supplier=new,
            network=gt,
            shipper=s2,
            effective_from=date(2021, 1, 1),
        )
        logins = {p.code: make_api_login(session, party=p) for p in (old, new, gt, s1, stranger)}
        logins["DCC"] = _operator(session)
        session.commit()
        return logins

    def test_a_party_that_never_held_it_gets_404_everywhere(
        self, session: Session, client: TestClient
    ) -> None:
        logins = self._history(session)
        headers = logins["STRANGER"].headers
        for url, params in (
            (f"/api/v1/meter-points/{MPRN}/registrations", {}),
            (f"/api/v1/meter-points/{MPRN}/held-on", {"day": "2020-06-01"}),
            (f"/api/v1/meter-points/{MPRN}/shippers", {"from": "2020-01-01", "to": "2021-12-31"}),
        ):
            response = client.get(url, params=params, headers=headers)
            assert response.status_code == 404, url
            assert response.json()["error"]["code"] == "not_found"

    def test_unknown_meter_point_is_404_and_bad_one_422(
        self, session: Session, client: TestClient
    ) -> None:
        logins = self._history(session)
        response = client.get(
            "/api/v1/meter-points/123456/registrations", headers=logins["DCC"].headers
        )
        assert response.status_code == 404
        response = client.get(
            "/api/v1/meter-points/12ab/registrations", headers=logins["DCC"].headers
        )
        assert (response.status_code, response.json()["error"]["code"]) == (422, "bad_mpxn")

    def test_each_party_sees_only_its_own_periods(
        self, session: Session, client: TestClient
    ) -> None:
        logins = self._history(session)

        def suppliers(code: str) -> list[str]:
            response = client.get(
                f"/api/v1/meter-points/{MPRN}/registrations", headers=logins[code].headers
            )
            assert response.status_code == 200
            return [r["supplier"] for r in response.json()]

        assert suppliers("OLD") == ["OLD"]
        assert suppliers("NEW") == ["NEW"]
        assert suppliers("SHIPA") == ["OLD"]
        assert suppliers("GT") == ["OLD", "NEW"]
        assert suppliers("DCC") == ["OLD", "NEW"]

    def test_held_on(self, session: Session, client: TestClient) -> None:
        logins = self._history(session)
        url = f"/api/v1/meter-points/{MPRN}/held-on"

        def held(code: str, day: str) -> tuple[int, str | None]:
            response = client.get(url, params={"day": day}, headers=logins[code].headers)
            if response.status_code != 200:
                return response.status_code, None
            registration = response.json()["registration"]
            return 200, registration["supplier"] if registration else None

        assert held("OLD", "2020-12-31") == (200, "OLD")
        assert held("OLD", "2021-01-01") == (404, None)  # someone else's period
        assert held("NEW", "2020-12-31") == (404, None)
        assert held("NEW", "2021-01-01") == (200, "NEW")
        assert held("GT", "2019-12-31") == (200, None)
        assert held("DCC", "2020-01-01") == (200, "OLD")

    def test_held_on_defaults_to_today(self, session: Session, client: TestClient) -> None:
        logins = self._history(session)
        response = client.get(f"/api/v1/meter-points/{MPRN}/held-on", headers=logins["NEW"].headers)
        assert response.status_code == 200
        assert response.json()["day"] == today().isoformat()
        assert response.json()["registration"]["shipper"] == "SHIPB"

    def test_shippers(self, session: Session, client: TestClient) -> None:
        logins = self._history(session)
        response = client.get(
            f"/api/v1/meter-points/{MPRN}/shippers",
            params={"from": "2020-12-01", "to": "2021-01-31"},
            headers=logins["NEW"].headers,
        )
        assert response.status_code == 200
        assert response.json() == {
            "mpxn": MPRN,
            "start": "2020-12-01",
            "end": "2021-01-31",
            "shippers": [
                {
                    "shipper": "SHIPA",
                    "first_day": "2020-12-01",
                    "last_day": "2020-12-31",
                    "days": 31,
                },
                {
                    "shipper": "SHIPB",
                    "first_day": "2021-01-01",
                    "last_day": "2021-01-31",
                    "days": 31,
                },
            ],
        }

    def test_shippers_needs_a_sane_period(self, session: Session, client: TestClient) -> None:
        logins = self._history(session)
        url = f"/api/v1/meter-points/{MPRN}/shippers"
        headers = logins["DCC"].headers
        missing = client.get(url, params={"from": "2020-01-01"}, headers=headers)
        assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid_input")
        backwards = client.get(
            url, params={"from": "2020-02-01", "to": "2020-01-01"}, headers=headers
        )
        assert (backwards.status_code, backwards.json()["error"]["code"]) == (422, "bad_period")
        day = today() + timedelta(days=1)
        future = client.get(
            url, params={"from": day.isoformat(), "to": day.isoformat()}, headers=headers
        )
        assert [s["shipper"] for s in future.json()["shippers"]] == ["SHIPB"]
