"""Supplier Theft of Gas through ``/api/v1/contacts``: RECCo logs a claim, the shippers answer,
the operator resolves a dispute; a party not on the claim gets 404 on every route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.settlement import service as settlement
from tests.contacts.conftest import MPRN, TheftWorld
from tests.contacts.sut_world import sut_values
from tests.factories import Login


def logged(client: TestClient, theft: TheftWorld, **overrides: Any) -> dict[str, Any]:
    headers = theft.recco_login.headers
    draft = client.post(
        "/api/v1/contacts",
        json={"contact_type": "SUT", "values": sut_values(**overrides)},
        headers=headers,
    )
    assert draft.status_code == 201, draft.text
    submitted = client.post(f"/api/v1/contacts/{draft.json()['id']}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return dict(submitted.json())


def ledger(session: Session, theft: TheftWorld) -> list[tuple[str, int]]:
    operator = theft.actor(theft.gas.operator_login)
    return [
        (a.posting_key, a.energy_wh) for a in settlement.ledger(session, actor=operator, mprn=MPRN)
    ]


class TestSupplierTheftApi:
    def test_a_refused_claim_names_each_field(self, client: TestClient, theft: TheftWorld) -> None:
        headers = theft.recco_login.headers
        draft = client.post(
            "/api/v1/contacts",
            json={
                "contact_type": "SUT",
                "values": sut_values(estimated_kwh=10_000_000, theft_to="2099-01-01"),
            },
            headers=headers,
        ).json()
        refused = client.post(f"/api/v1/contacts/{draft['id']}/submit", headers=headers)
        assert refused.status_code == 422
        assert set(refused.json()["error"]["details"]) == {"theft_to"}

    def test_shippers_answer_and_the_operator_amends_a_dispute(
        self, client: TestClient, theft: TheftWorld, session: Session
    ) -> None:
        contact = logged(client, theft)
        assert contact["reference"] == "SUT-000001"
        shares = {p["party"]: p["share"]["energy_wh"] for p in contact["parts"]}
        assert shares == {"SHPA": 3_000_000, "SHPB": 3_100_000}
        url = f"/api/v1/contacts/{contact['id']}/actions"
        accepted = client.post(
            url, json={"action": "accept"}, headers=theft.gas.shipper_a_login.headers
        )
        assert accepted.status_code == 200, accepted.text
        disputed = client.post(
            url,
            json={"action": "dispute", "reason": "Meter was sealed in July"},
            headers=theft.gas.shipper_b_login.headers,
        ).json()
        [b] = [p for p in disputed["parts"] if p["party"] == "SHPB"]
        assert b["awaiting"] == "operator"
        operator = theft.gas.operator_login.headers
        offered = client.get(f"/api/v1/contacts/{contact['id']}", headers=operator).json()
        assert {(a["action"], tuple(a["takes"])) for a in offered["actions"]} == {
            ("uphold", ()),
            ("amend", ("amended_kwh",)),
            ("withdraw", ()),
        }
        bad = client.post(
            url,
            json={"action": "amend", "reason": "Agreed", "values": {"amended_kwh": "lots"}},
            headers=operator,
        )
        assert bad.status_code == 422 and bad.json()["error"]["details"] == {
            "amended_kwh": "must be a whole number"
        }
        done = client.post(
            url,
            json={"action": "amend", "reason": "Agreed with both", "values": {"amended_kwh": 900}},
            headers=operator,
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "closed"
        assert sorted(ledger(session, theft)) == [
            ("SUT-000001/SHPA", 3_000_000),
            ("SUT-000001/SHPB", 900_000),
        ]

    def test_the_contact_type_describes_the_steps_inputs(
        self, client: TestClient, theft: TheftWorld
    ) -> None:
        types = client.get("/api/v1/contact-types", headers=theft.recco_login.headers).json()
        [sut] = [t for t in types if t["code"] == "SUT"]
        assert sut["raised_by"] == ["RECCO"] and sut["windows"] == {"response": 10}
        [amend] = [s for s in sut["workflow"] if s["action"] == "amend"]
        assert [f["name"] for f in amend["inputs"]] == ["amended_kwh"]


class TestSupplierTheftScoping:
    @pytest.mark.parametrize("who", ["outsider", "shipper_a", "dn"])
    def test_a_claim_is_a_404_to_a_party_not_on_it(
        self, client: TestClient, theft: TheftWorld, who: str
    ) -> None:
        contact = logged(client, theft, theft_from="2024-07-01")  # SHPB's alone
        login: Login = getattr(theft.gas, f"{who}_login")
        base = f"/api/v1/contacts/{contact['id']}"
        for method, url, body in (
            ("GET", base, None),
            ("POST", f"{base}/actions", {"action": "accept"}),
            ("POST", f"{base}/actions", {"action": "withdraw", "reason": "x"}),
            ("POST", f"{base}/notes", {"text": "hello"}),
        ):
            answer = client.request(method, url, json=body, headers=login.headers)
            assert answer.status_code == 404, (who, method, url, answer.text)
        listed = client.get("/api/v1/contacts", params={"type": "SUT"}, headers=login.headers)
        assert listed.json()["items"] == []

    def test_the_operator_sees_every_claim(self, client: TestClient, theft: TheftWorld) -> None:
        contact = logged(client, theft)
        seen = client.get(
            f"/api/v1/contacts/{contact['id']}", headers=theft.gas.operator_login.headers
        )
        assert seen.status_code == 200
