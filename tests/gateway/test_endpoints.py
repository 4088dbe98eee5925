"""The DUIS API's side routes: the JSON form and batches (stored by the same intake as the XML,
answered after the commit), and the callback URL (the portal's rules, audited). And all three
ways of sending at once to a real ``meterhub serve``: no stall, nothing lost, no replay run."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.gateway import intake as intake_module
from meterhub.gateway.models import Callback, ServiceRequest
from meterhub.gateway.runtime import GatewayRuntime
from meterhub.gateway.service import Submission
from meterhub.gateway.xml import parse_request
from tests.factories import (
    Login,
    make_api_login,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)
from tests.gateway.duis_factories import DCC_TARGET, build_estate, duis_id, read_registers
from tests.gateway.test_durability import HubProcess

UNKNOWN_DEVICE = "00-DB-FF-FF-FF-FF-FF-FF"


def json_read(login: Login, device_id: str, counter: int) -> dict[str, Any]:
    """4.1.1 Read Instantaneous Import Registers in the JSON form."""
    return {
        "request_id": f"{duis_id(login)}:{device_id}:{counter}",
        "srv": "4.1.1",
        "service_reference": "4.1",
        "command_variant": 1,
        "body_name": "ReadInstantaneousImportRegisters",
        "body": {},
    }


def json_hub_return(login: Login, hub_id: str, counter: int) -> dict[str, Any]:
    """8.14.3 Communications Hub Status Update (fault return) in the JSON form."""
    return {
        "request_id": f"{duis_id(login)}:{DCC_TARGET}:{counter}",
        "srv": "8.14.3",
        "service_reference": "8.14",
        "command_variant": 8,
        "body_name": "CHFFaultReturn",
        "body": {
            "DeviceID": hub_id,
            "CHFFaultReturnType": "Fault identified prior to installation",
            "CHFConnectionMethod": "Hot-shoe",
            "CHFFaultReason": "Damaged case",
        },
    }


def stored(session: Session) -> list[tuple[str, str]]:
    """Every stored request as (RequestID, acknowledgement or refusal code), in order."""
    session.rollback()  # a fresh snapshot: the app committed since
    rows = session.execute(
        select(ServiceRequest.request_id, ServiceRequest.ack_code).order_by(ServiceRequest.id)
    )
    return [(r[0], r[1]) for r in rows]


class TestJsonForm:
    def test_a_read_is_acknowledged_and_stored_as_the_request_its_xml_would_be(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        sent = json_read(e.supplier_login, e.esme_id, 1)
        r = client.post("/api/v1/duis/json", json=sent, headers=e.supplier_login.headers)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert (answer["accepted"], answer["response_code"], answer["reason"]) == (
            True,
            "I99",
            None,
        )
        assert answer["request_id"] == sent["request_id"]
        assert "<sr:ResponseCode>I99</sr:ResponseCode>" in answer["xml"]
        assert stored(session) == [(sent["request_id"], "I99")]
        row = session.scalars(select(ServiceRequest)).one()
        as_json = parse_request(row.raw.encode())
        as_xml = parse_request(read_registers(duis_id(e.supplier_login), e.esme_id, 1))
        for name in ("request_id", "srv", "service_reference", "command_variant", "body"):
            assert getattr(as_json, name) == getattr(as_xml, name), name
        assert row.state == "queued"  # sent to the device, as the XML would be

    def test_a_counter_past_signed_64_bits_is_accepted(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        sent = json_read(e.supplier_login, e.esme_id, 2**64 - 1)
        r = client.post("/api/v1/duis/json", json=sent, headers=e.supplier_login.headers)
        assert (r.status_code, r.json()["response_code"]) == (200, "I99")
        assert stored(session) == [(sent["request_id"], "I99")]

    def test_a_hub_return_takes_effect_at_once(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        sent = json_hub_return(e.supplier_login, e.hub_id, 1)
        r = client.post("/api/v1/duis/json", json=sent, headers=e.supplier_login.headers)
        assert (r.status_code, r.json()["response_code"]) == (200, "I99")
        status = client.get(
            f"/api/v1/duis/requests/{sent['request_id']}", headers=e.supplier_login.headers
        ).json()
        assert (status["state"], status["response_code"]) == ("responded", "I0")

    def test_a_replay_is_refused_and_the_request_id_still_finds_the_accepted_one(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        sent = json_read(e.supplier_login, e.esme_id, 7)
        first = client.post("/api/v1/duis/json", json=sent, headers=e.supplier_login.headers)
        again = client.post("/api/v1/duis/json", json=sent, headers=e.supplier_login.headers)
        assert first.json()["accepted"] is True
        replay = again.json()
        assert (again.status_code, replay["accepted"], replay["response_code"]) == (
            200,
            False,
            "E65",
        )
        assert "not above" in replay["reason"]
        assert stored(session) == [(sent["request_id"], "I99"), (sent["request_id"], "E65")]
        status = client.get(
            f"/api/v1/duis/requests/{sent['request_id']}", headers=e.supplier_login.headers
        ).json()
        assert (status["acknowledgement"], status["state"]) == ("I99", "queued")

    @pytest.mark.parametrize(
        ("case", "code"),
        [
            ("unknown device", "E19"),
            ("role not eligible", "E2"),
            ("another supplier's meter", "E4"),
            ("originator not the user's", "E1"),
            ("no XML for it", "E65"),
        ],
    )
    def test_a_refusal_is_answered_with_its_code_and_stored(
        self, session: Session, client: TestClient, case: str, code: str
    ) -> None:
        e = build_estate(session)
        login = e.supplier_login
        sent = {
            "unknown device": json_read(login, UNKNOWN_DEVICE, 1),
            "role not eligible": json_hub_return(e.dno_login, e.hub_id, 1),
            "another supplier's meter": json_read(login, e.other_esme_id, 1),
            "originator not the user's": json_read(e.other_login, e.esme_id, 1),
            "no XML for it": {**json_read(login, e.esme_id, 1), "body_name": "Not an element"},
        }[case]
        sender = e.dno_login if case == "role not eligible" else login
        r = client.post("/api/v1/duis/json", json=sent, headers=sender.headers)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert (answer["accepted"], answer["response_code"]) == (False, code)
        assert answer["reason"]
        assert f"<sr:ResponseCode>{code}</sr:ResponseCode>" in answer["xml"]
        assert stored(session) == [(sent["request_id"], code)]

    def test_without_a_known_token_nothing_is_stored(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        sent = json_read(e.supplier_login, e.esme_id, 1)
        missing = client.post("/api/v1/duis/json", json=sent)
        unknown = client.post(
            "/api/v1/duis/json", json=sent, headers={"Authorization": "Bearer not-a-token"}
        )
        assert (missing.status_code, missing.json()["error"]["code"]) == (401, "missing_token")
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "bad_token")
        assert stored(session) == []


class TestBatch:
    def test_every_item_is_answered_in_order_and_the_valid_ones_stored(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        login = e.supplier_login
        items = [
            json_read(login, e.esme_id, 1),
            json_read(login, e.esme_id, 1),  # the same counter again: a replay
            json_read(login, UNKNOWN_DEVICE, 2),
            json_hub_return(login, e.hub_id, 3),
            json_read(login, e.other_esme_id, 4),
            json_read(login, e.esme_id, 5),
        ]
        r = client.post("/api/v1/duis/batch", json={"requests": items}, headers=login.headers)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        codes = ["I99", "E65", "E19", "I99", "E4", "I99"]
        assert [(a["request_id"], a["response_code"]) for a in results] == [
            (item["request_id"], code) for item, code in zip(items, codes, strict=True)
        ]
        assert [a["accepted"] for a in results] == [c == "I99" for c in codes]
        assert stored(session) == [
            (item["request_id"], code) for item, code in zip(items, codes, strict=True)
        ]

    def test_counters_past_signed_64_bits_are_answered_item_by_item(
        self, session: Session, client: TestClient
    ) -> None:
        """Counters up to 2^64-1 are stored like any other; one past the schema is that item's
        own E65, and costs the others nothing."""
        e = build_estate(session)
        login = e.supplier_login
        items = [
            json_read(login, e.esme_id, 2**63),
            json_read(login, e.esme_id, 2**64),  # past the schema's RequestIDType
            json_read(login, e.esme_id, 2**63),  # a replay
            json_hub_return(login, e.hub_id, 2**64 - 1),
        ]
        r = client.post("/api/v1/duis/batch", json={"requests": items}, headers=login.headers)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [a["response_code"] for a in results] == ["I99", "E65", "E65", "I99"]
        assert [a for a, _ in stored(session) if a] == [
            items[0]["request_id"],
            items[2]["request_id"],
            items[3]["request_id"],
        ]

    def test_a_request_the_hub_cannot_store_costs_the_others_nothing(
        self, session: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        e = build_estate(session)
        real_store = intake_module.store

        def store(
            session: Session, runtime: GatewayRuntime, user: Any, raw: bytes, parsed: Any
        ) -> Submission:
            if getattr(parsed, "counter", None) == 2:
                raise RuntimeError("a bug in one submission")
            return real_store(session, runtime, user, raw, parsed)

        monkeypatch.setattr(intake_module, "store", store)
        items = [json_read(e.supplier_login, e.esme_id, n) for n in (1, 2, 3)]
        r = client.post(
            "/api/v1/duis/batch", json={"requests": items}, headers=e.supplier_login.headers
        )
        assert r.status_code == 500
        error = r.json()["error"]
        assert "2 of the batch's 3 requests were stored" in error["message"]
        results = error["details"]["results"]
        assert [a and (a["request_id"], a["response_code"]) for a in results] == [
            (items[0]["request_id"], "I99"),
            None,
            (items[2]["request_id"], "I99"),
        ]
        assert stored(session) == [(items[0]["request_id"], "I99"), (items[2]["request_id"], "I99")]

    def test_an_unknown_token_stores_nothing(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        items = [json_read(e.supplier_login, e.esme_id, n) for n in (1, 2)]
        r = client.post(
            "/api/v1/duis/batch",
            json={"requests": items},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (401, "bad_token")
        assert stored(session) == []


def callback_of(session: Session, login: Login) -> str | None:
    session.rollback()  # a fresh snapshot: the app committed since
    found = session.get(Callback, login.user.id)
    return found.url if found else None


def callback_audit(session: Session, login: Login) -> list[tuple[str, str, Any]]:
    session.rollback()
    stmt = (
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "duis_callback", AuditEntry.object_id == str(login.user.id)
        )
        .order_by(AuditEntry.id)
    )
    return [(e.action, e.interface, e.changes["url"]) for e in session.scalars(stmt)]


class TestCallback:
    def test_set_change_and_clear_are_audited(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        headers = e.supplier_login.headers
        first, second = "https://duis.example/cb", "http://10.0.0.5:8080/cb"
        for url in (first, first, second):  # the same URL again changes nothing
            r = client.put("/api/v1/duis/callback", json={"url": url}, headers=headers)
            assert r.json() == {"url": url}
        assert client.get("/api/v1/duis/callback", headers=headers).json() == {"url": second}
        assert client.delete("/api/v1/duis/callback", headers=headers).json() == {"url": None}
        assert callback_of(session, e.supplier_login) is None
        assert callback_audit(session, e.supplier_login) == [
            ("callback.set", "api", [None, first]),
            ("callback.set", "api", [first, second]),
            ("callback.cleared", "api", [second, None]),
        ]

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("https://user:secret@example.com/cb", "may not carry a user name or password"),
            ("https://exa mple.com/cb", "may not contain spaces"),
            ("https:///nohost", "must name a host"),
            ("https://example.com:99999/cb", "is not a valid URL"),
        ],
    )
    def test_the_api_refuses_what_the_portal_refuses(
        self, session: Session, client: TestClient, url: str, message: str
    ) -> None:
        e = build_estate(session)
        headers = e.supplier_login.headers
        good = "https://duis.example/cb"
        client.put("/api/v1/duis/callback", json={"url": good}, headers=headers)
        r = client.put("/api/v1/duis/callback", json={"url": url}, headers=headers)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "bad_callback_url"
        assert message in r.json()["error"]["message"]
        assert callback_of(session, e.supplier_login) == good
        assert len(callback_audit(session, e.supplier_login)) == 1


# ---------------------------------------------------------------- mixed load on a real hub

SENDERS = 4
ROUNDS = 24
#: Well under SQLite's busy_timeout (10 s): a request stuck behind a lock-order stall times out.
ANSWER_WITHIN = 8.0


@dataclass
class MixedSender:
    """One system of the supplier: its own originator, sending XML, JSON and batches in turn,
    with now and then a request it already had acknowledged, sent again in another form."""

    login: Login
    device_id: str
    seed: int
    counter: int = 0
    acknowledged: list[int] = field(default_factory=list)
    replayed: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def request_id(self, counter: int) -> str:
        return f"{duis_id(self.login)}:{self.device_id}:{counter}"

    def send(self, client: httpx.Client, form: str, counters: list[int]) -> list[tuple[int, str]]:
        """Send ``counters`` in ``form``; (counter, DUIS code) for each, or record what is wrong."""
        headers = self.login.headers
        try:
            if form == "xml":
                (counter,) = counters
                body = read_registers(duis_id(self.login), self.device_id, counter)
                r = client.post(
                    "/api/v1/duis",
                    content=body,
                    headers={**headers, "Content-Type": "application/xml"},
                )
                code = r.headers.get("x-duis-response-code", f"HTTP {r.status_code}")
                return [(counter, code)]
            items = [json_read(self.login, self.device_id, c) for c in counters]
            if form == "json":
                r = client.post("/api/v1/duis/json", json=items[0], headers=headers)
                answers = [r.json()] if r.status_code == 200 else []
            else:
                r = client.post("/api/v1/duis/batch", json={"requests": items}, headers=headers)
                answers = r.json()["results"] if r.status_code == 200 else []
        except httpx.TimeoutException:
            self.wrong.append(f"{form} {counters}: no answer within {ANSWER_WITHIN} s")
            return []
        if r.status_code != 200:
            self.wrong.append(f"{form} {counters}: HTTP {r.status_code} {r.text[:200]}")
            return []
        return [(c, a["response_code"]) for c, a in zip(counters, answers, strict=True)]

    def run(self, base_url: str) -> None:
        pick = random.Random(self.seed)
        with httpx.Client(base_url=base_url, timeout=ANSWER_WITHIN) as client:
            for round_ in range(ROUNDS):
                form = ("xml", "json", "batch")[(round_ + self.seed) % 3]
                fresh = [self.counter + n for n in range(1, 4 if form == "batch" else 2)]
                self.counter = fresh[-1]
                for counter, code in self.send(client, form, fresh):
                    if code == "I99":
                        self.acknowledged.append(counter)
                    else:
                        self.wrong.append(f"fresh {form} {counter}: {code}")
                if round_ % 3 == 2 and self.acknowledged:
                    again = pick.choice(self.acknowledged)
                    form = pick.choice(("xml", "json", "batch"))
                    for counter, code in self.send(client, form, [again]):
                        self.replayed[counter] += 1
                        if code != "E65":
                            self.wrong.append(f"replayed {form} {counter}: {code}")


@pytest.mark.integration
def test_mixed_xml_json_and_batch_load_neither_stalls_nor_loses_nor_repeats(
    session: Session, tmp_path: Path
) -> None:
    """Several systems of one supplier send XML, JSON and batches at once to ``meterhub
    serve``: every answer comes within a bound, every acknowledged request is stored exactly
    once, and every replay is refused (and stored as that refusal)."""
    supplier = make_party(session, roles=("IS",))
    dno = make_party(session, roles=("ED",))
    mpxn = make_mpan_for(8800)
    make_registration(session, mpxn=mpxn, supplier=supplier, network=dno)
    meter = make_device(session, mpxn=mpxn)
    senders = [
        MixedSender(make_api_login(session, party=supplier), meter.device_id, seed=n)
        for n in range(SENDERS)
    ]
    session.commit()
    hub = HubProcess(tmp_path, dict(os.environ))
    hub.start()
    try:
        threads = [threading.Thread(target=s.run, args=(hub.url,), daemon=True) for s in senders]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, started + 240 - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "a sender is still waiting"
        took = time.monotonic() - started
    finally:
        hub.stop()

    assert [w for s in senders for w in s.wrong] == []
    assert took < 60, f"the load took {took:.1f} s"
    session.rollback()
    rows = Counter(
        (r[0], r[1])
        for r in session.execute(select(ServiceRequest.request_id, ServiceRequest.ack_code))
    )
    expected: Counter[tuple[str, str]] = Counter()
    for s in senders:
        assert len(s.acknowledged) == s.counter  # every fresh request was acknowledged
        expected.update((s.request_id(c), "I99") for c in s.acknowledged)
        expected.update({(s.request_id(c), "E65"): n for c, n in s.replayed.items()})
    assert sum(s.replayed.total() for s in senders) >= SENDERS * 4
    assert rows == expected
