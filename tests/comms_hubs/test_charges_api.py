"""/api/v1/hubs custody, holdings, tariffs and statements: each party reads its own (another
party's hub, holdings or statement is a 404), the operator reads any, and the files are the
statement's, the same bytes each time."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.comms_hubs import service as hubs
from tests.comms_hubs.charges_world import Estate, at, estate
from tests.factories import SYSTEM, Login, make_api_login, make_party

__all__ = ["estate"]


@pytest.fixture
def logins(session: Session, estate: Estate) -> dict[str, Login]:
    made = {
        "a": make_api_login(session, party=estate.a),
        "b": make_api_login(session, party=estate.b),
        "operator": make_api_login(session, party=make_party(session, roles=("OPERATOR",))),
    }
    session.commit()
    return made


def test_a_party_reads_its_hubs_chain_and_holder_but_not_another_partys(
    client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    h1, h2, _ = (h.device_id for h in estate.hubs)
    r = client.get(f"/api/v1/hubs/custody/{h1}", headers=logins["b"].headers)
    assert r.status_code == 200, r.text
    assert [(s["kind"], s["party"]) for s in r.json()] == [
        ("delivery", "SUPA"),
        ("transfer", "SUPB"),
    ]
    r = client.get(
        f"/api/v1/hubs/custody/{h1}/holder",
        params={"day": "2026-10-10"},
        headers=logins["a"].headers,
    )
    assert r.status_code == 200 and r.json()["party"] == "SUPB"
    for path in (f"/api/v1/hubs/custody/{h2}", f"/api/v1/hubs/custody/{h2}/holder?day=2026-10-10"):
        r = client.get(path, headers=logins["b"].headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_holdings_are_the_partys_own_and_page_by_cursor(
    client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    h1, h2, h3 = (h.device_id for h in estate.hubs)
    url = "/api/v1/hubs/holdings/SUPA"
    first = client.get(url, params={"day": "2026-10-09", "limit": 2}, headers=logins["a"].headers)
    assert first.status_code == 200, first.text
    assert [h["device_id"] for h in first.json()["items"]] == [h1, h2]
    rest = client.get(
        url,
        params={"day": "2026-10-09", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=logins["a"].headers,
    )
    assert [h["device_id"] for h in rest.json()["items"]] == [h3]
    assert rest.json()["next_cursor"] is None
    assert (
        client.get(url, params={"day": "2026-10-09"}, headers=logins["b"].headers).status_code
        == 404
    )
    r = client.get(url, params={"day": "2026-10-09"}, headers=logins["operator"].headers)
    assert len(r.json()["items"]) == 3


def test_statement_json_csv_and_pdf_for_the_party_and_the_operator_only(
    client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    base = "/api/v1/hubs/charges/SUPA/2026-10"
    r = client.get(base, headers=logins["a"].headers)
    assert r.status_code == 200, r.text
    assert r.json()["total_pence"] == 40 + 670
    csv = client.get(f"{base}/csv", headers=logins["a"].headers)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[-1].startswith("total,,SUPA 2026-10,,,710")
    pdf = client.get(f"{base}/pdf", headers=logins["operator"].headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert client.get(f"{base}/pdf", headers=logins["a"].headers).content == pdf.content
    for path in (base, f"{base}/csv", f"{base}/pdf"):
        refused = client.get(path, headers=logins["b"].headers)
        assert refused.status_code == 404, path


def test_an_adjustment_after_the_month_is_in_the_next_statement_only(
    session: Session, client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    before = client.get("/api/v1/hubs/charges/SUPA/2026-10/csv", headers=logins["a"].headers)
    hubs.record_charge_adjustment(
        session,
        party_id=estate.a.id,
        amount_pence=-670,
        reason="dispute upheld",
        reference="DSP-7",
        actor=SYSTEM,
        now=at(3, month=11),
    )
    session.commit()
    after = client.get("/api/v1/hubs/charges/SUPA/2026-10/csv", headers=logins["a"].headers)
    assert after.content == before.content
    nov = client.get("/api/v1/hubs/charges/SUPA/2026-11", headers=logins["a"].headers).json()
    assert [(li["section"], li["amount_pence"], li["reference"]) for li in nov["lines"]][-1] == (
        "adjustment",
        -670,
        "DSP-7",
    )


def test_a_bad_or_unfinished_month_is_refused(
    client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    r = client.get("/api/v1/hubs/charges/SUPA/2026-13", headers=logins["a"].headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_month"
    r = client.get("/api/v1/hubs/charges/SUPA/2999-01", headers=logins["a"].headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "month_not_ended"


def test_the_tariff_is_readable_by_every_party(
    client: TestClient, estate: Estate, logins: dict[str, Login]
) -> None:
    r = client.get("/api/v1/hubs/tariffs", headers=logins["b"].headers)
    assert r.status_code == 200
    figures = {(t["kind"], t["effective_from"]): t["pence"] for t in r.json()}
    assert figures[("no_fault_return", "2000-01-01")] == "669.643"
    assert figures[("stock", "2026-10-16")] == "2.000"
