"""``/portal/charges``: a party's statement by month with its CSV and PDF; another party's is
the 404 page; the operator picks any party."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.comms_hubs.charges_world import Estate, estate
from tests.factories import make_login, make_party
from tests.portal.conftest import log_in

__all__ = ["estate"]


def test_a_party_reads_its_months_statement_and_downloads_it(
    session: Session, client: TestClient, estate: Estate
) -> None:
    login = make_login(session, party=estate.a)
    session.commit()
    log_in(client, login)
    page = client.get("/portal/charges?month=2026-10")
    assert page.status_code == 200
    assert 'data-total="total"><strong>£7.10</strong>' in page.text
    assert 'data-total="hub-days">36<' in page.text
    assert 'href="/portal/charges/SUPA/2026-10.csv"' in page.text
    csv = client.get("/portal/charges/SUPA/2026-10.csv")
    assert csv.status_code == 200 and csv.text.startswith("section,date,description")
    again = client.get("/portal/charges/SUPA/2026-10.csv")
    assert again.content == csv.content
    pdf = client.get("/portal/charges/SUPA/2026-10.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_another_partys_statement_is_the_404_page(
    session: Session, client: TestClient, estate: Estate
) -> None:
    login = make_login(session, party=estate.b)
    session.commit()
    log_in(client, login)
    for path in (
        "/portal/charges?month=2026-10&party=SUPA",
        "/portal/charges/SUPA/2026-10.csv",
        "/portal/charges/SUPA/2026-10.pdf",
    ):
        r = client.get(path)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path
    own = client.get("/portal/charges?month=2026-10")
    assert 'data-total="hub-days">22<' in own.text


def test_the_operator_picks_any_party_and_an_unfinished_month_is_refused(
    session: Session, client: TestClient, estate: Estate
) -> None:
    login = make_login(session, party=make_party(session, roles=("OPERATOR",)))
    session.commit()
    log_in(client, login)
    page = client.get("/portal/charges?month=2026-10&party=SUPB")
    assert page.status_code == 200 and '<option value="SUPB" selected>' in page.text
    refused = client.get("/portal/charges?month=2999-01&party=SUPB")
    assert refused.status_code == 422 and "month_not_ended" in refused.text
