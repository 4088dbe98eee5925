"""The gateway's portal pages in a real browser (Chromium, JavaScript off) against a real
``meterhub serve``: requests go in through the DUIS API with a user's token, the server's own
worker releases the device network's answers, and the user follows them in the portal.

Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.messages import dcc_alert
from meterhub.gateway.models import OutboundMessage
from meterhub.inventory.models import Device
from meterhub.kit.clock import utcnow
from tests.factories import Login
from tests.gateway.duis_factories import duis_id, hub_return, read_registers
from tests.portal.conftest import TwoSuppliers
from tests.portal.test_browser import page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def seeded(world: TwoSuppliers) -> TwoSuppliers:
    """The two suppliers as they are: the server fixture starts on this."""
    return world


def call(base: str, login: Login, method: str, path: str, body: bytes | None = None) -> Any:
    """One DUIS API call with the user's token; returns (status, body)."""
    request = urllib.request.Request(
        f"{base}{path}",
        data=body,
        method=method,
        headers={**login.headers, "Content-Type": "application/xml"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def wait_for_response(base: str, login: Login, request_id: str) -> dict[str, Any]:
    """Poll the request's status until the server's worker has released its response."""
    deadline = time.monotonic() + 120
    while True:
        status, body = call(base, login, "GET", f"/api/v1/duis/requests/{request_id}")
        assert status == 200, body
        found: dict[str, Any] = json.loads(body)
        if found["state"] == "responded":
            return found
        assert time.monotonic() < deadline, f"no response to {request_id} in 120 s"
        time.sleep(0.5)


def owe_power_outage_alert(settings: Settings, login: Login, meter: Device) -> int:
    """An AD1 the hub owes the user: power went off at the meter's hub (outages are not
    something a service request can cause, so the test puts the alert in the hub's outbox)."""
    at = utcnow()
    hub = meter.comms_hub_id or meter.device_id
    with session_scope(settings.database_url) as s:
        message = OutboundMessage(
            user_id=login.user.id,
            party_id=login.user.party_id,
            kind="alert",
            code="AD1",
            device_id=hub,
            created_at=at,
            xml=dcc_alert("AD1", hub, at, mpxn=meter.mpxn).decode(),
        )
        s.add(message)
        s.flush()
        return message.id


def request_ids_shown(p: Page) -> list[str]:
    return [t.strip() for t in p.locator("table.requests td.request-id code").all_inner_texts()]


class TestGatewayPagesInABrowser:
    def test_send_requests_then_follow_them_in_the_portal(
        self,
        server: str,  # noqa: F811
        page: Page,  # noqa: F811
        seeded: TwoSuppliers,
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        p, w = page, seeded
        me = duis_id(w.login_a)
        meters = [d.device_id for d in w.devices_a[:3]]  # commissioned ESMEs
        reads = []
        for n, meter in enumerate(meters, start=1):
            status, _ = call(
                server, w.login_a, "POST", "/api/v1/duis", read_registers(me, meter, n)
            )
            assert status == 200
            reads.append(f"{me}:{meter}:{n}")
        other_meter = w.devices_b[0].device_id
        status, _ = call(
            server, w.login_a, "POST", "/api/v1/duis", read_registers(me, other_meter, 4)
        )
        assert status == 403  # E4: not A's meter
        refused = f"{me}:{other_meter}:4"
        status, _ = call(
            server, w.login_a, "POST", "/api/v1/duis", hub_return(me, w.devices_a[-1].device_id, 5)
        )
        assert status == 200
        b_me = duis_id(w.login_b)
        b_read = f"{b_me}:{w.devices_b[1].device_id}:1"
        status, _ = call(
            server,
            w.login_b,
            "POST",
            "/api/v1/duis",
            read_registers(b_me, w.devices_b[1].device_id, 1),
        )
        assert status == 200
        answered = [wait_for_response(server, w.login_a, r) for r in reads]
        outage = owe_power_outage_alert(settings, w.login_a, w.devices_a[0])

        # Log in on the way to My requests.
        p.goto(f"{server}/portal/requests")
        assert "/portal/login?next=%2Fportal%2Frequests" in p.url
        p.fill("#username", w.login_a.user.username)
        p.fill("#password", w.login_a.password)
        p.click("button:has-text('Log in')")
        expect(p.locator("h1")).to_have_text("My requests")
        shown = request_ids_shown(p)
        assert len(shown) == 5
        assert shown[0].endswith(":5") and set(reads) | {refused} <= set(shown)
        assert b_read not in shown
        expect(p.locator("table.requests")).to_contain_text("Read Instantaneous Import Registers")
        p.screenshot(path=tmp_path / "requests.png", full_page=True)

        # Filter: the reads only, then only the refused one.
        p.select_option("select[name=srv]", "4.1.1")
        p.click("button:has-text('Show requests')")
        assert "srv=4.1.1" in p.url
        assert request_ids_shown(p) == [refused, *reversed(reads)]  # the E4 was a 4.1.1 too
        p.select_option("select[name=outcome]", "refused")
        p.click("button:has-text('Show requests')")
        assert request_ids_shown(p) == [refused]
        expect(p.locator("table.requests")).to_contain_text("E4")
        p.screenshot(path=tmp_path / "requests-refused.png")
        p.fill("input[name=device_id]", "not a device")
        p.click("button:has-text('Show requests')")
        expect(p.locator(".alert")).to_contain_text("is not an EUI-64")
        p.click("a:has-text('Clear filters')")
        assert len(request_ids_shown(p)) == 5

        # The first read's timeline: received, acknowledged, sent, response, and its XML.
        p.click(f"a:has-text('{reads[0]}')")
        expect(p.locator("h1")).to_contain_text(reads[0])
        steps = p.locator("ol.timeline li")
        expect(steps.nth(0)).to_contain_text("Received from")
        expect(steps.nth(1)).to_contain_text("Acknowledged")
        expect(steps.nth(2)).to_contain_text("over the SM WAN")
        expect(steps.nth(3)).to_contain_text(answered[0]["response_code"])
        expect(steps.nth(3)).to_contain_text("round trip")
        expect(p.locator("pre.xml").first).to_contain_text("<sr:Request")
        p.screenshot(path=tmp_path / "timeline.png", full_page=True)

        # The refused one says why, and what E4 means.
        p.goto(f"{server}/portal/requests/{refused}")
        expect(p.locator("ol.timeline")).to_contain_text("is not entitled to")
        expect(p.locator("ol.timeline")).to_contain_text("not entitled to this device at the date")
        p.screenshot(path=tmp_path / "timeline-refused.png", full_page=True)

        # Supplier B's request is not there for A.
        answer = p.goto(f"{server}/portal/requests/{b_read}")
        assert answer is not None and answer.status == 404

        # Alerts and the callback URL.
        p.click("nav a:has-text('Alerts')")
        expect(p.locator("h1")).to_have_text("Alerts")
        expect(p.locator("table.alerts tbody tr")).to_have_count(1)
        expect(p.locator("table.alerts")).to_contain_text("Power outage")
        p.screenshot(path=tmp_path / "alerts.png")
        p.click("table.alerts a:has-text('AD1')")
        assert p.url.endswith(f"/portal/alerts/{outage}")
        expect(p.locator("pre.xml")).to_contain_text("<sr:DCCAlertCode>AD1</sr:DCCAlertCode>")
        p.screenshot(path=tmp_path / "alert.png", full_page=True)
        p.click("nav a:has-text('Callback URL')")
        p.fill("#callback-url", "ftp://nope.example/cb")
        p.click("button:has-text('Save callback URL')")
        expect(p.locator(".alert")).to_contain_text("must start with https:// or http://")
        p.screenshot(path=tmp_path / "callback-error.png")
        p.fill("#callback-url", "https://duis.alpha.example/callback")
        p.click("button:has-text('Save callback URL')")
        expect(p.locator(".notice")).to_contain_text("Callback URL saved")
        expect(p.locator("#current-callback")).to_have_text("https://duis.alpha.example/callback")
        p.screenshot(path=tmp_path / "callback.png", full_page=True)
        status, body = call(server, w.login_a, "GET", "/api/v1/duis/callback")
        assert json.loads(body)["url"] == "https://duis.alpha.example/callback"
        p.click("button:has-text('Remove callback URL')")
        expect(p.locator(".notice")).to_contain_text("Callback URL removed")
