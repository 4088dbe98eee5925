"""The gateway's portal pages: My requests (filters, pages, CSV), a request's timeline, the
alerts inbox, the callback URL form; and that one party never sees another's."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import Callback, OutboundMessage, ServiceRequest
from meterhub.gateway.service import release_due
from meterhub.kit.clock import utcnow
from meterhub.network.model import Delivery
from tests.factories import Login, make_login
from tests.gateway.duis_factories import duis_id, hub_return, read_registers
from tests.portal.conftest import TwoSuppliers, csrf_from, log_in

XML = {"Content-Type": "application/xml"}
LATER = timedelta(hours=2)  # later than any answer the device network can owe a read
_ROW_LINK = re.compile(r'<td class="request-id"><a href="/portal/requests/(\d+)">')
_ALERT_LINK = re.compile(r'<td class="when"><a href="/portal/alerts/(\d+)">')

SUCCESS = Delivery(outcome="success", response_code="I0", rtt_ms=3200.0, alerts=())
SILENT = Delivery(outcome="no_response", response_code="E21", rtt_ms=61000.0, alerts=("N13",))
OFFLINE = Delivery(outcome="hub_offline", response_code="E20", rtt_ms=30000.0, alerts=("N13",))


@dataclass
class ScriptedNetwork:
    """The device network, answering each device as the test says (success by default)."""

    answers: dict[str, Delivery] = field(default_factory=dict)

    def deliver(self, device: Any, srv: str, rng: Any, **_: Any) -> Delivery:
        return self.answers.get(device.device_id, SUCCESS)


@dataclass
class Sender:
    """A user sending 4.1.1 reads through the DUIS API, with its own rising counter."""

    client: TestClient
    login: Login
    counter: int = 0

    def read(self, device_id: str) -> str:
        self.counter += 1
        body = read_registers(duis_id(self.login), device_id, self.counter)
        r = self.client.post("/api/v1/duis", content=body, headers={**self.login.headers, **XML})
        assert r.status_code in (200, 403), r.text
        return f"{duis_id(self.login)}:{device_id}:{self.counter}"

    def hub_return(self, hub_id: str) -> str:
        self.counter += 1
        body = hub_return(duis_id(self.login), hub_id, self.counter)
        r = self.client.post("/api/v1/duis", content=body, headers={**self.login.headers, **XML})
        assert r.status_code == 200, r.text
        return r.text


def scripted(client: TestClient, answers: dict[str, Delivery] | None = None) -> ScriptedNetwork:
    network = ScriptedNetwork(answers or {})
    client.app.state.gateway.network = network  # type: ignore[attr-defined]
    return network


def release(settings: Settings) -> None:
    with session_scope(settings.database_url) as s:
        release_due(s, now=utcnow() + LATER)


def row_ids(page: str) -> list[int]:
    return [int(i) for i in _ROW_LINK.findall(page)]


def alert_ids(page: str) -> list[int]:
    return [int(i) for i in _ALERT_LINK.findall(page)]


def unbroken(page: str) -> str:
    """The page without the line-break hints the list puts in long RequestIDs."""
    return page.replace("<wbr>", "")


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def request_rows(session: Session, party_id: int) -> list[ServiceRequest]:
    """The party's requests as the database holds them, newest first."""
    session.rollback()  # a fresh snapshot: the app committed since
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.party_id == party_id)
        .order_by(ServiceRequest.received_at.desc(), ServiceRequest.id.desc())
    )
    return list(session.scalars(stmt))


def set_received(session: Session, row_id: int, at: datetime) -> None:
    session.execute(
        update(ServiceRequest).where(ServiceRequest.id == row_id).values(received_at=at)
    )
    session.commit()


@dataclass
class Traffic:
    """Supplier A's users sent a mix of requests; supplier B sent one of its own."""

    world: TwoSuppliers
    a1: Sender
    a2: Sender
    b: Sender
    ok: str  # A1 read, answered I0
    silent: str  # A1 read, no answer: E21 and an N13 alert
    queued: str  # A2 read, not yet answered
    refused: str  # A1 read of B's meter: E4
    hub: str  # A2's 8.14.3 fault return of A's hub: I0 at once
    b_read: str  # B's read of its own meter, answered I0

    def row(self, session: Session, request_id: str) -> ServiceRequest:
        session.rollback()  # a fresh snapshot: the app committed since
        found = session.scalars(
            select(ServiceRequest).where(ServiceRequest.request_id == request_id)
        ).first()
        assert found is not None
        return found


@pytest.fixture
def traffic(
    client: TestClient, world: TwoSuppliers, session: Session, settings: Settings
) -> Traffic:
    a2_login = make_login(session, party=world.a)
    session.commit()
    a1, a2, b = (
        Sender(client, world.login_a),
        Sender(client, a2_login),
        Sender(client, world.login_b),
    )
    meter_ok, meter_silent, meter_queued = (d.device_id for d in world.devices_a[:3])
    scripted(client, {meter_silent: SILENT})
    ok = a1.read(meter_ok)
    silent = a1.read(meter_silent)
    refused = a1.read(world.devices_b[0].device_id)
    b_read = b.read(world.devices_b[1].device_id)
    a2.hub_return(world.devices_a[-1].device_id)
    hub = f"{duis_id(a2_login)}:90-B3-D5-1F-30-00-00-02:{a2.counter}"
    release(settings)
    queued = a2.read(meter_queued)
    return Traffic(world, a1, a2, b, ok, silent, queued, refused, hub, b_read)


class TestMyRequests:
    def test_lists_every_request_of_the_party_newest_first(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get("/portal/requests")
        assert page.status_code == 200
        expected = [r.id for r in request_rows(session, traffic.world.a.id)]
        assert len(expected) == 5
        assert row_ids(page.text) == expected  # both of A's users, newest first
        assert traffic.b_read not in unbroken(page.text)
        assert "Read Instantaneous Import Registers" in page.text
        assert "Communications Hub Status Update" in page.text  # 8.14.3's name
        assert 'aria-current="page">My requests' in page.text

    def test_a_row_shows_ack_state_response_and_rtt(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.silent)
        page = unbroken(client.get(f"/portal/requests?device_id={row.device_id}").text)
        assert row_ids(page) == [row.id]
        assert traffic.silent in page
        assert "Responded: failure" in page
        assert ">I99<" in page and ">E21<" in page
        assert "1 min 1 s" in page
        refused = client.get("/portal/requests?outcome=refused").text
        assert row_ids(refused) == [traffic.row(session, traffic.refused).id]
        assert ">E4<" in refused and "Refused" in refused

    @pytest.mark.parametrize(
        ("query", "wanted"),
        [
            ("outcome=acknowledged", ("ok", "silent", "queued", "hub")),
            ("outcome=refused", ("refused",)),
            ("outcome=queued", ("queued",)),
            ("outcome=responded-success", ("ok", "hub")),
            ("outcome=responded-failure", ("silent",)),
            ("response_code=E21", ("silent",)),
            ("response_code=e4", ("refused",)),
            ("response_code=I0", ("ok", "hub")),
            ("srv=8.14.3", ("hub",)),
            ("srv=4.1.1&outcome=responded-success", ("ok",)),
        ],
    )
    def test_each_filter_narrows_the_list(
        self,
        client: TestClient,
        traffic: Traffic,
        session: Session,
        query: str,
        wanted: tuple[str, ...],
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get(f"/portal/requests?{query}")
        assert page.status_code == 200
        ids = {traffic.row(session, getattr(traffic, name)).id for name in wanted}
        assert sorted(row_ids(page.text)) == sorted(ids), query

    def test_srv_choices_are_the_ones_the_party_used(
        self, client: TestClient, traffic: Traffic
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get("/portal/requests?srv=8.14.3").text
        assert '<option value="8.14.3" selected>8.14.3 Communications Hub Status Update' in page
        assert '<option value="4.1.1">' in page
        assert '<option value="1.1.1">' not in page  # never sent by A

    def test_device_filter_accepts_any_spelling_of_the_eui64(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.ok)
        assert row.device_id
        loose = row.device_id.replace("-", "").lower()
        assert row_ids(client.get(f"/portal/requests?device_id={loose}").text) == [row.id]

    def test_day_range_is_inclusive_and_in_utc(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        ok, silent = traffic.row(session, traffic.ok), traffic.row(session, traffic.silent)
        set_received(session, ok.id, datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))
        set_received(session, silent.id, datetime(2026, 3, 3, 0, 0, 0, tzinfo=UTC))
        log_in(client, traffic.world.login_a)
        cases = {
            "received_from=2026-03-01&received_to=2026-03-01": [ok.id],
            "received_from=2026-03-02&received_to=2026-03-03": [silent.id],
            "received_from=2026-03-01&received_to=2026-03-03": [silent.id, ok.id],
            "received_to=2026-03-02": [ok.id],
        }
        for query, wanted in cases.items():
            assert row_ids(client.get(f"/portal/requests?{query}").text) == wanted, query

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("device_id=not-a-device", "is not an EUI-64"),
            ("received_from=2026-03-05&received_to=2026-03-01", "is after the"),
            ("received_from=yesterday", "is not a date"),
            ("outcome=exploded", "unknown outcome"),
            ("srv=99.9", "there is no SRV"),
            ("response_code=%3Cscript%3E", "is not a response code"),
        ],
    )
    def test_a_bad_filter_shows_the_form_again_with_the_reason(
        self, client: TestClient, traffic: Traffic, query: str, message: str
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get(f"/portal/requests?{query}")
        assert page.status_code == 422
        assert message in html.unescape(page.text)
        assert 'role="alert"' in page.text
        assert row_ids(page.text) == []
        assert "<script>" not in page.text
        assert client.get(f"/portal/requests.csv?{query}").status_code == 422

    def test_pages_forward_and_back_are_exact(
        self, client: TestClient, world: TwoSuppliers, session: Session, settings: Settings
    ) -> None:
        scripted(client)
        sender = Sender(client, world.login_a)
        for _ in range(8):
            sender.read(world.devices_a[0].device_id)
        # Two requests in the same microsecond: the id breaks the tie.
        rows = request_rows(session, world.a.id)
        set_received(session, rows[3].id, rows[4].received_at)
        expected = [r.id for r in request_rows(session, world.a.id)]
        log_in(client, world.login_a)
        first = client.get("/portal/requests?size=3").text
        assert row_ids(first) == expected[:3]
        assert link(first, "prev") is None
        seen, page = row_ids(first), first
        while (following := link(page, "next")) is not None:
            page = client.get(following).text
            seen += row_ids(page)
        assert seen == expected
        assert row_ids(page) == expected[6:]
        back = client.get(link(page, "prev") or "").text
        assert row_ids(back) == expected[3:6]
        back = client.get(link(back, "prev") or "").text
        assert row_ids(back) == expected[:3]
        assert link(back, "prev") is None
        assert row_ids(client.get(link(page, "first") or "").text) == expected[:3]

    def test_a_forged_cursor_is_refused(self, client: TestClient, traffic: Traffic) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get("/portal/requests?after=bm9wZQ")
        assert page.status_code == 422
        assert "cursor is not one this hub issued" in page.text

    def test_csv_holds_every_filtered_request_not_only_the_page(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get("/portal/requests?srv=4.1.1&size=1").text
        match = re.search(r'href="(/portal/requests\.csv\?[^"]+)"', page)
        assert match
        csv_url = html.unescape(match.group(1))
        assert "after=" not in csv_url
        response = client.get(csv_url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        expected = [r for r in request_rows(session, traffic.world.a.id) if r.srv == "4.1.1"]
        assert [r["RequestID"] for r in rows] == [r.request_id for r in expected]
        silent = next(r for r in rows if r["RequestID"] == traffic.silent)
        assert silent["SRV name"] == "Read Instantaneous Import Registers"
        assert (silent["Acknowledgement"], silent["Response code"]) == ("I99", "E21")
        assert (silent["State"], silent["RTT (ms)"]) == ("responded-failure", "61000")
        assert silent["Failure reason"] == "no response"
        refused = next(r for r in rows if r["RequestID"] == traffic.refused)
        assert refused["Acknowledgement"] == "E4"
        assert "not entitled" in refused["Refusal reason"]


class TestTimeline:
    def test_a_failed_read_from_receipt_to_alert(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.silent)
        page = client.get(f"/portal/requests/{row.id}")
        assert page.status_code == 200
        text = html.unescape(page.text)
        steps = re.findall(r'<li class="step step-(\w+)">', page.text)
        assert steps == ["received", "acknowledged", "sent", "response", "alert"]
        assert f"Received from {duis_id(traffic.world.login_a)} as IS" in text
        assert "Acknowledgement: the request passed access control" in text  # I99's meaning
        assert f"Sent to device {row.device_id} over the SM WAN" in text
        assert "round trip 1 min 1 s; failure: no response" in text
        assert "The device did not answer" in text  # E21's meaning
        assert "Failure to receive a response from the device." in text  # N13
        assert traffic.world.login_a.user.username in text

    def test_request_and_messages_are_shown_as_escaped_xml(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.silent)
        page = client.get(f"/portal/requests/{row.id}").text
        pres = re.findall(r'<pre class="xml">(.*?)</pre>', page, re.S)
        assert len(pres) == 3  # the request, the E21 response, the N13 alert
        assert "&lt;sr:Request" in pres[0] and "<sr:" not in pres[0]
        assert traffic.silent in html.unescape(pres[0])
        assert "E21" in html.unescape(pres[1])
        assert "N13" in html.unescape(pres[2])
        assert page.count('class="push push-none"') == 2
        assert "Not pushed: no callback URL was set" in page

    def test_a_refused_request_shows_the_reason_and_the_codes_meaning(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.refused)
        page = html.unescape(client.get(f"/portal/requests/{row.id}").text)
        assert re.findall(r'<li class="step step-(\w+)">', page) == ["received", "refused"]
        assert "is not entitled to" in page
        assert "not entitled to this device at the date and time" in page  # E4's meaning
        assert "nothing more is owed" in page

    def test_a_hub_return_is_answered_at_once_by_dcc_systems(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.hub)
        page = client.get(f"/portal/requests/{row.id}").text
        assert "Carried out by DCC systems" in page
        assert "round trip 0 ms" in page
        assert re.findall(r'<li class="step step-(\w+)">', page)[-1] == "response"

    def test_a_queued_request_is_waiting_for_its_response(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        row = traffic.row(session, traffic.queued)
        page = client.get(f"/portal/requests/{row.id}").text
        assert "Waiting for the device&#39;s response" in page
        assert "Nothing owed yet" in page

    def test_found_by_its_request_id_too(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get(f"/portal/requests/{traffic.ok}")
        assert page.status_code == 200
        assert traffic.ok in page.text and ">I0<" in page.text

    def test_push_state_follows_the_callback(
        self, client: TestClient, world: TwoSuppliers, session: Session, settings: Settings
    ) -> None:
        scripted(client)
        r = client.put(
            "/api/v1/duis/callback",
            json={"url": "http://127.0.0.1:9/cb"},
            headers=world.login_a.headers,
        )
        assert r.status_code == 200
        request_id = Sender(client, world.login_a).read(world.devices_a[0].device_id)
        release(settings)
        log_in(client, world.login_a)
        page = client.get(f"/portal/requests/{request_id}").text
        assert 'class="push push-pending"' in page
        assert "Waiting to be pushed to the callback URL" in page


class TestAlerts:
    def test_the_inbox_holds_the_partys_alerts_newest_first(
        self, client: TestClient, world: TwoSuppliers, session: Session, settings: Settings
    ) -> None:
        a2_login = make_login(session, party=world.a)
        session.commit()
        meters = [d.device_id for d in world.devices_a[:4]]
        scripted(client, {meters[0]: SILENT, meters[1]: OFFLINE, meters[2]: SILENT})
        a1, a2 = Sender(client, world.login_a), Sender(client, a2_login)
        a1.read(meters[0])
        a2.read(meters[1])
        a1.read(meters[2])
        a1.read(meters[3])  # succeeds: no alert
        release(settings)
        session.rollback()  # a fresh snapshot: the app committed since
        alerts = list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.kind == "alert")
                .order_by(OutboundMessage.id.desc())
            )
        )
        assert len(alerts) == 3
        log_in(client, world.login_a)
        page = client.get("/portal/alerts")
        assert page.status_code == 200
        assert alert_ids(page.text) == [m.id for m in alerts]
        assert a2_login.user.username in page.text  # whom each was owed to
        assert "Failure to receive a response from the device." in page.text
        by_device = client.get(f"/portal/alerts?device_id={meters[1]}").text
        assert alert_ids(by_device) == [m.id for m in alerts if m.device_id == meters[1]]
        assert alert_ids(client.get("/portal/alerts?code=N13").text) == [m.id for m in alerts]
        assert alert_ids(client.get("/portal/alerts?code=AD1").text) == []
        first = client.get("/portal/alerts?size=2").text
        assert alert_ids(first) == [alerts[0].id, alerts[1].id]
        second = client.get(link(first, "next") or "").text
        assert alert_ids(second) == [alerts[2].id]
        assert link(second, "next") is None
        assert alert_ids(client.get(link(second, "prev") or "").text) == [
            alerts[0].id,
            alerts[1].id,
        ]

    def test_the_alert_page_shows_its_meaning_request_and_xml(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        session.rollback()  # a fresh snapshot: the app committed since
        alert = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "alert")
        ).one()
        log_in(client, traffic.world.login_a)
        page = client.get(f"/portal/alerts/{alert.id}")
        assert page.status_code == 200
        assert "Failure to receive a response from the device." in page.text
        assert f'href="/portal/requests/{alert.service_request_id}"' in page.text
        assert "&lt;sr:DCCAlertMessage&gt;" in page.text or "&lt;sr:DCCAlertMessage" in page.text
        assert "<sr:DCCAlertMessage" not in page.text

    def test_a_bad_filter_shows_the_form_again(self, client: TestClient, traffic: Traffic) -> None:
        log_in(client, traffic.world.login_a)
        page = client.get("/portal/alerts?device_id=nope")
        assert page.status_code == 422
        assert "is not an EUI-64" in html.unescape(page.text)


class TestScoping:
    def test_another_party_sees_none_of_As_requests(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        log_in(client, traffic.world.login_b)
        listed = unbroken(client.get("/portal/requests").text)
        assert row_ids(listed) == [traffic.row(session, traffic.b_read).id]
        for name in ("ok", "silent", "queued", "refused", "hub"):
            request_id = getattr(traffic, name)
            assert request_id not in listed
            row = traffic.row(session, request_id)
            for ref in (str(row.id), request_id):
                page = client.get(f"/portal/requests/{ref}")
                assert page.status_code == 404, (name, ref)
                assert "not_found" in page.text
                assert "<pre" not in page.text and "Timeline" not in page.text
        as_csv = client.get("/portal/requests.csv").text
        assert traffic.silent not in as_csv and traffic.b_read in as_csv
        # Filtering on A's meter finds nothing, rather than telling B anything about it.
        a_meter = traffic.row(session, traffic.silent).device_id
        assert row_ids(client.get(f"/portal/requests?device_id={a_meter}").text) == []

    def test_another_party_sees_none_of_As_alerts(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        session.rollback()  # a fresh snapshot: the app committed since
        alert = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "alert")
        ).one()
        log_in(client, traffic.world.login_b)
        assert alert_ids(client.get("/portal/alerts").text) == []
        assert client.get(f"/portal/alerts/{alert.id}").status_code == 404
        assert client.get("/portal/alerts?code=N13").text.count("N13") == 0

    def test_a_response_is_not_an_alert(
        self, client: TestClient, traffic: Traffic, session: Session
    ) -> None:
        session.rollback()  # a fresh snapshot: the app committed since
        response = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "response")
        ).first()
        assert response is not None
        log_in(client, traffic.world.login_a)
        assert client.get(f"/portal/alerts/{response.id}").status_code == 404

    def test_pages_need_a_login(self, client: TestClient, traffic: Traffic) -> None:
        for path in (
            "/portal/requests",
            "/portal/requests/1",
            "/portal/alerts",
            "/portal/alerts/1",
            "/portal/settings/callback",
            "/portal/requests.csv",
        ):
            r = client.get(path, follow_redirects=False)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/portal/login")


def callback_of(session: Session, login: Login) -> str | None:
    session.rollback()  # a fresh snapshot: the app committed since
    found = session.get(Callback, login.user.id)
    return found.url if found else None


def callback_audit(session: Session, login: Login) -> list[tuple[str, Any]]:
    session.rollback()  # a fresh snapshot: the app committed since
    stmt = (
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "duis_callback", AuditEntry.object_id == str(login.user.id)
        )
        .order_by(AuditEntry.id)
    )
    return [(e.action, e.changes["url"]) for e in session.scalars(stmt)]


class TestCallbackSettings:
    def test_set_change_and_clear_with_audit(
        self, client: TestClient, world: TwoSuppliers, session: Session
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/settings/callback").text
        assert "No callback URL" in page
        token = csrf_from(page)
        url = "https://duis.alpha.example/callback?x=1&y=2"
        r = client.post(
            "/portal/settings/callback",
            data={"url": f"  {url} ", "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "Callback URL saved" in page
        assert html.escape(url) in page
        assert callback_of(session, world.login_a) == url
        # The DUIS API sees the same URL: pushes go there.
        api = client.get("/api/v1/duis/callback", headers=world.login_a.headers).json()
        assert api["url"] == url
        client.post(
            "/portal/settings/callback",
            data={"url": "http://10.0.0.5:8080/cb", "csrf_token": token},
        )
        assert callback_of(session, world.login_a) == "http://10.0.0.5:8080/cb"
        r = client.post(
            "/portal/settings/callback/clear", data={"csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "Callback URL removed" in page
        assert "No callback URL" in page
        assert callback_of(session, world.login_a) is None
        assert callback_audit(session, world.login_a) == [
            ("callback.set", [None, url]),
            ("callback.set", [url, "http://10.0.0.5:8080/cb"]),
            ("callback.cleared", ["http://10.0.0.5:8080/cb", None]),
        ]
        assert "Recent changes" in page and page.count("<td>Set</td>") == 2

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("", "enter a URL"),
            ("ftp://files.example/cb", "must start with https:// or http://"),
            ("javascript:alert(1)", "must start with https:// or http://"),
            ("duis.example.com/cb", "must start with https:// or http://"),
            ("https:///nohost", "must name a host"),
            ("https://exa mple.com/cb", "may not contain spaces"),
            ("https://user:secret@example.com/cb", "may not carry a user name or password"),
            ("https://example.com:99999/cb", "is not a valid URL"),
            ("https://example.com/" + "a" * 481, "at most 500 are allowed"),
        ],
    )
    def test_a_bad_url_is_the_form_again_and_nothing_changes(
        self, client: TestClient, world: TwoSuppliers, session: Session, url: str, message: str
    ) -> None:
        log_in(client, world.login_a)
        token = csrf_from(client.get("/portal/settings/callback").text)
        good = "https://duis.alpha.example/cb"
        client.post("/portal/settings/callback", data={"url": good, "csrf_token": token})
        r = client.post("/portal/settings/callback", data={"url": url, "csrf_token": token})
        assert r.status_code == 422
        assert message in html.unescape(r.text)
        assert 'aria-invalid="true"' in r.text
        assert f'value="{html.escape(url)}"' in r.text  # what was typed, to correct it
        assert callback_of(session, world.login_a) == good
        assert len(callback_audit(session, world.login_a)) == 1

    def test_exactly_500_characters_is_allowed(
        self, client: TestClient, world: TwoSuppliers, session: Session
    ) -> None:
        log_in(client, world.login_a)
        token = csrf_from(client.get("/portal/settings/callback").text)
        url = "https://example.com/" + "a" * 480
        assert len(url) == 500
        client.post("/portal/settings/callback", data={"url": url, "csrf_token": token})
        assert callback_of(session, world.login_a) == url

    @pytest.mark.parametrize(
        "path", ["/portal/settings/callback", "/portal/settings/callback/clear"]
    )
    def test_a_form_without_the_csrf_token_changes_nothing(
        self, client: TestClient, world: TwoSuppliers, session: Session, path: str
    ) -> None:
        log_in(client, world.login_a)
        token = csrf_from(client.get("/portal/settings/callback").text)
        client.post(
            "/portal/settings/callback", data={"url": "https://a.example/cb", "csrf_token": token}
        )
        for forged in ({}, {"csrf_token": "forged"}):
            r = client.post(path, data={"url": "https://evil.example/cb", **forged})
            assert r.status_code == 403
            assert "csrf_failed" in r.text
        assert callback_of(session, world.login_a) == "https://a.example/cb"
        assert len(callback_audit(session, world.login_a)) == 1

    def test_the_url_is_each_users_own(
        self, client: TestClient, world: TwoSuppliers, session: Session
    ) -> None:
        colleague = make_login(session, party=world.a)
        session.commit()
        log_in(client, world.login_a)
        token = csrf_from(client.get("/portal/settings/callback").text)
        client.post(
            "/portal/settings/callback", data={"url": "https://a.example/cb", "csrf_token": token}
        )
        client.post("/portal/logout", data={"csrf_token": token})
        log_in(client, colleague)
        page = client.get("/portal/settings/callback").text
        assert "No callback URL" in page
        assert "https://a.example/cb" not in page
        token = csrf_from(page)
        client.post("/portal/settings/callback/clear", data={"csrf_token": token})
        assert callback_of(session, world.login_a) == "https://a.example/cb"
        assert callback_of(session, colleague) is None
