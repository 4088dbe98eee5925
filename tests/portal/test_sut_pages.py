"""Supplier Theft of Gas pages through the app (no browser): RECCo logs a claim in the form, a
shipper disputes its share, the operator amends it in the contact's page; a party not on the
claim gets the 404 page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.settlement import service as settlement
from tests.contacts.conftest import (  # noqa: F401  (fixtures)
    MPRN,
    GasWorld,
    TheftWorld,
    gas,
    theft,
)
from tests.contacts.sut_world import sut_values
from tests.factories import Login, make_login
from tests.portal.conftest import csrf_from, log_in


@pytest.fixture
def desks(session: Session, theft: TheftWorld) -> dict[str, Login]:  # noqa: F811
    made = {
        "recco": make_login(session, party=theft.recco),
        "shipper_b": make_login(session, party=theft.gas.shipper_b),
        "operator": make_login(session, party=theft.gas.operator),
        "outsider": make_login(session, party=theft.gas.outsider),
    }
    session.commit()
    return made


def log_claim_in_portal(client: TestClient, **overrides: object) -> str:
    page = client.get("/portal/contacts/new?type=SUT")
    assert page.status_code == 200 and "Reporting supplier" in page.text
    answer = client.post(
        "/portal/contacts/new",
        data={
            "csrf_token": csrf_from(page.text),
            "contact_type": "SUT",
            "intent": "submit",
            **{f"f_{k}": str(v) for k, v in sut_values(**overrides).items()},
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def step_form(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form for ``action``."""
    found = re.search(
        rf'name="action" value="{action}">\s*<input type="hidden" name="involvement_id"'
        r' value="(\d+)"',
        page,
    )
    assert found, f"no {action} form"
    return {"csrf_token": csrf_from(page), "action": action, "involvement_id": found.group(1)}


class TestSupplierTheftPages:
    def test_recco_logs_the_shipper_disputes_the_operator_amends(
        self,
        client: TestClient,
        desks: dict[str, Login],
        theft: TheftWorld,  # noqa: F811
        session: Session,
    ) -> None:
        log_in(client, desks["recco"])
        refused = client.post(
            "/portal/contacts/new",
            data={
                "csrf_token": csrf_from(client.get("/portal/contacts/new?type=SUT").text),
                "contact_type": "SUT",
                "intent": "submit",
                **{f"f_{k}": str(v) for k, v in sut_values(estimated_kwh=90_000).items()},
            },
        )
        assert refused.status_code == 422
        assert "not plausible: more than 1,000 kWh a day over 61 days" in refused.text
        url = log_claim_in_portal(client, theft_from="2024-07-01", theft_to="2024-07-31")
        page = client.get(url)
        assert "Supplier Theft of Gas SUT-000001" in page.text
        assert "31 days (2024-07-01 to 2024-07-31), 6,100.000 kWh" in page.text
        client.cookies.clear()

        log_in(client, desks["shipper_b"])
        page = client.get(url)
        disputed = client.post(
            f"{url}/act",
            data={**step_form(page.text, "dispute"), "reason": "The meter was sealed in July."},
        )
        assert "Disputed by the shipper: awaiting the operator" in disputed.text
        assert 'value="amend"' not in disputed.text  # the operator's step, not the shipper's
        client.cookies.clear()

        log_in(client, desks["operator"])
        assert "SUT-000001" in client.get("/portal/contacts?queue=new").text  # not picked up yet
        page = client.get(url)
        assert 'name="f_amended_kwh"' in page.text
        amended = client.post(
            f"{url}/act",
            data={
                **step_form(page.text, "amend"),
                "reason": "Agreed at 2,000 kWh after the site review.",
                "f_amended_kwh": "2,000",
            },
        )
        assert amended.status_code == 200
        assert "Dispute resolved: share amended and posted" in amended.text
        assert "amended to 2,000.000 kWh" in amended.text
        operator = theft.actor(theft.gas.operator_login)
        assert [
            (a.posting_key, a.energy_wh)
            for a in settlement.ledger(session, actor=operator, mprn=MPRN)
        ] == [("SUT-000001/SHPB", 2_000_000)]

    def test_a_claim_is_the_404_page_to_a_party_not_on_it(
        self,
        client: TestClient,
        desks: dict[str, Login],
    ) -> None:
        log_in(client, desks["recco"])
        url = log_claim_in_portal(client, theft_from="2024-07-01")
        client.cookies.clear()
        log_in(client, desks["outsider"])
        token = csrf_from(client.get("/portal/contacts").text)
        assert client.get(url).status_code == 404
        for action in ("accept", "withdraw"):
            answer = client.post(
                f"{url}/act", data={"csrf_token": token, "action": action, "reason": "x"}
            )
            assert answer.status_code == 404
        assert "SUT-000001" not in client.get("/portal/contacts?queue=all").text
