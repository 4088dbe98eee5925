"""Every main page fits the window, on a laptop (1366 px) and on a phone (390 px), as each kind
of party: a real ``meterhub serve`` with inventory, DUIS traffic, alerts and report data, and
Chromium (Playwright) taking a full-page screenshot of each page and measuring it. Nothing may
be wider than the window: neither the document (``scrollWidth``) nor any element's right edge.
On a laptop every table fits its card; on a phone a wide table scrolls sideways inside its own
box, which is allowed: what is inside a scrolling box is not beyond the window.

The pages are the ones a user reaches: every link of the header and main navigation (so a page
added there is checked too), each section of the report page, a device, a request and an alert,
and the hub return form. Screenshots are left in the test's tmp dir, named
``<party>-<width>-<page>.png``, to be looked at."""

from __future__ import annotations

import contextlib
import re
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.config import Settings
from meterhub.contacts import service as contacts
from meterhub.hub_market import service as market
from meterhub.hub_market import transfers
from meterhub.kit.clock import today, utcnow
from meterhub.parties import service as parties
from meterhub.parties.service import actor_for
from tests.factories import SYSTEM, Login, make_api_login, make_login, make_party, make_registration
from tests.gateway.duis_factories import duis_id, read_registers
from tests.hub_market.conftest import hold_hubs
from tests.hub_market.transfer_world import make_allocated_transfer, make_hubs
from tests.portal.reports_world import SECRET, report_files
from tests.portal.test_browser import CHROMIUM, CHROMIUM_ARGS, served_hub
from tests.reporting.explore_lake import GAS_SUPPLIERS, NETWORK, SUPPLIERS
from tests.worlds import make_held_hub, make_supplied_meter, make_world

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

__all__ = ["report_files"]

LAPTOP, PHONE = 1366, 390
WIDTHS = (LAPTOP, PHONE)

#: Elements whose right edge lies beyond the window, skipping what is inside a box that
#: scrolls or clips on its own (a wide table in its ``.scroll`` box); and the boxes whose
#: content is wider than they are (a table to scroll sideways: allowed on a phone only).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const inside = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== 'visible') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 && !inside(el)) {
      const cls = typeof el.className === 'string' ? el.className : '';
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (cls ? '.' + cls.split(' ').join('.') : '');
      out.push(name + ' right=' + Math.round(box.right));
    }
  }
  const clipped = [];
  for (const el of document.body.querySelectorAll('*')) {
    const s = getComputedStyle(el);
    if (s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
      clipped.push(el.tagName.toLowerCase() + '.' + el.className + ' ' +
        el.scrollWidth + '>' + el.clientWidth);
    }
  }
  return {scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth,
          out: out.slice(0, 10), clipped: clipped.slice(0, 10)};
}"""


@dataclass
class Kind:
    """A kind of party and a portal login of it."""

    name: str
    party: str
    login: Login
    devices: tuple[str, ...] = ()


@pytest.fixture
def kinds(session: Session) -> list[Kind]:
    """The report lake's parties (electricity and gas suppliers, the network operator) with an
    agent the first supplier appoints and the hub operator, a few meters and a held hub of the
    first supplier, and a portal login for one party of each kind."""
    world = make_world(
        session,
        suppliers=SUPPLIERS,
        network=NETWORK,
        dcc=True,
        agent="RSA1",
        agent_name="Registered Supplier Agent Number One Limited",
        appointed_from=date(2024, 1, 1),
    )
    assert world.dcc is not None and world.agent is not None
    supplier = world.suppliers[0]
    gas = [make_party(session, code=code, roles=("GS",)) for code in GAS_SUPPLIERS]
    meters = [
        make_supplied_meter(
            session,
            supplier=supplier,
            network=world.network,
            mpan_number=700 + i,
            model=("ACME-SMART-ELECTRICITY-METER-2000", "ACME-1")[i % 2],
            manufacturer="Acme Smart Metering Manufacturing Ltd",
            firmware_version="4.12.0-build.20240601.long",
            csp_region=("North", "Central", "South")[i % 3],
            status=("Commissioned", "InstalledNotCommissioned", "Suspended")[i % 3],
        )
        for i in range(12)
    ]
    make_held_hub(session, owner=supplier)
    supplier_login = make_login(session, party=supplier)
    # The supplier's login is its Local Security Officer: its Users pages are checked too.
    parties.set_user_permissions(
        session, actor=SYSTEM, user=supplier_login.user, local_security_officer=True, now=utcnow()
    )
    # A listing on the marketplace, with long names, part of it requested by the gas supplier.
    long_kind = {
        "manufacturer": "Acme Smart Metering Manufacturing Ltd",
        "model": "ACME-COMMS-HUB-4G-DUAL-BAND-2000",
        "firmware_version": "4.12.0-build.20240601.long",
        "csp_region": "Central4G",
    }
    hold_hubs(session, owner=supplier, count=3, **long_kind)
    listing = market.create_listing(
        session,
        actor=actor_for(make_api_login(session, party=supplier).user, "api"),
        quantity=3,
        location="Unit 12, Long Industrial Estate Road, Wakefield WF1 1AA",
        available_from=today(),
        now=utcnow(),
        **long_kind,
    )
    market.request_units(
        session,
        actor=actor_for(make_api_login(session, party=gas[0]).user, "api"),
        listing_id=listing.id,
        quantity=1,
        now=utcnow(),
    )
    # A stock transfer the supplier receives, dispatched, with a refused receipt on its page.
    sender = world.suppliers[1]
    make_hubs(session, owner=sender, count=2)
    transfer = make_allocated_transfer(session, sender=sender, receiver=supplier, quantity=2)
    now = utcnow()
    transfers.dispatch(
        session,
        actor=Actor(name="stock@sender", party_id=sender.id, interface="test"),
        transfer_id=transfer.id,
        note="Pallet 7 of 12, carrier XPO Logistics, collection reference XPO-2024-000123456",
        now=now,
    )
    transfers.receive(
        session,
        actor=Actor(name="stock@receiver", party_id=supplier.id, interface="test"),
        transfer_id=transfer.id,
        lines=transfers.parse_guid_list("00-DB-12-FF-FF-FF-FF-01\nnot-a-hub-guid-at-all-really"),
        now=now,
    )
    out = [
        Kind(
            "supplier",
            supplier.code,
            supplier_login,
            tuple(m.device_id for m in meters),
        ),
        Kind("gas-supplier", gas[0].code, make_login(session, party=gas[0])),
        Kind("network", world.network.code, make_login(session, party=world.network)),
        Kind("agent", world.agent.code, make_login(session, party=world.agent)),
        Kind("operator", world.dcc.code, make_login(session, party=world.dcc)),
        Kind("gas-network", "DNLAY", raise_a_theft_of_gas(session)),
        Kind("recco", "RCLAY", log_a_supplier_theft(session)),
    ]
    session.commit()
    return out


def raise_a_theft_of_gas(session: Session) -> Login:
    """A gas network's login, with a Theft of Gas it raised (long words, a note) on its queues."""
    dn = make_party(session, code="DNLAY", roles=("DN",), kind="gas_transporter")
    shipper = make_party(session, code="SHLAY", roles=("SHIPPER",))
    supplier = make_party(session, code="GSLAY", roles=("GS",))
    make_registration(
        session,
        mpxn="7654321",
        supplier=supplier,
        network=dn,
        shipper=shipper,
        effective_from=date(2024, 1, 1),
    )
    login = make_login(session, party=dn)
    actor = actor_for(login.user, "portal")
    draft = contacts.save_draft(
        session,
        actor=actor,
        contact_type_code="TOG",
        values={
            "mprn": "7654321",
            "suspected_from": "2024-05-01",
            "method": "illegal_connection",
            "site_address": "Flat 12, Extraordinarily-Long-Building-Name-Without-Spaces House",
            "description": "A" * 300,
        },
        now=utcnow(),
    )
    contacts.submit(session, actor=actor, contact_id=draft.id, now=utcnow())
    contacts.add_note(
        session, actor=actor, contact_id=draft.id, text="Photographs follow. " * 20, now=utcnow()
    )
    return login


def log_a_supplier_theft(session: Session) -> Login:
    """RECCo's login, with a Supplier Theft of Gas split between two shippers, one of which
    disputed its share (so the operator's page offers to uphold, amend or withdraw it)."""
    recco = make_party(session, code="RCLAY", roles=("RECCO",))
    dn = make_party(session, code="DNSUT", roles=("DN",), kind="gas_transporter")
    first = make_party(session, code="SHSUTA", roles=("SHIPPER",))
    second = make_party(session, code="SHSUTB", roles=("SHIPPER",))
    supplier = make_party(session, code="GSSUT", roles=("GS",))
    for shipper, start, end in (
        (first, date(2024, 1, 1), date(2024, 6, 30)),
        (second, date(2024, 7, 1), None),
    ):
        make_registration(
            session,
            mpxn="7654322",
            supplier=supplier,
            network=dn,
            shipper=shipper,
            effective_from=start,
            effective_to=end,
        )
    login = make_login(session, party=recco)
    actor = actor_for(login.user, "portal")
    draft = contacts.save_draft(
        session,
        actor=actor,
        contact_type_code="SUT",
        values={
            "mprn": "7654322",
            "theft_from": "2024-06-01",
            "theft_to": "2024-07-31",
            "estimated_kwh": 6100,
            "method": "meter_tampering",
            "evidence": "B" * 300,
            "reporting_supplier": "GSSUT",
        },
        now=utcnow(),
    )
    contacts.submit(session, actor=actor, contact_id=draft.id, now=utcnow())
    contacts.act(
        session,
        actor=actor_for(make_api_login(session, party=second).user, "api"),
        contact_id=draft.id,
        action="dispute",
        reason="The meter was found sealed on our first read. " * 5,
        now=utcnow(),
    )
    return login


@pytest.fixture
def server(
    settings: Settings,
    kinds: list[Kind],
    report_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """``meterhub serve`` on a free port with a copy of the report lake and the frozen runs,
    and some DUIS traffic of the supplier (reads of its meters, one of nobody's)."""
    lake = tmp_path / "lake"
    shutil.copytree(report_files[0], lake)
    monkeypatch.setenv("METERHUB_LAKE_DIR", str(lake))
    monkeypatch.setenv("METERHUB_REPORTS_DIR", str(report_files[1]))
    monkeypatch.setenv("METERHUB_REPORT_SECRET", SECRET)
    with served_hub(tmp_path) as base:
        supplier = kinds[0].login
        nobodys = "00-DB-12-FF-FF-FF-FF-FF"
        for n, device in enumerate((*kinds[0].devices[:3], nobodys), 1):
            body = read_registers(duis_id(supplier), device, n)
            request = urllib.request.Request(
                f"{base}/api/v1/duis",
                data=body,
                method="POST",
                headers={**supplier.headers, "Content-Type": "application/xml"},
            )
            with contextlib.suppress(OSError):  # refused requests are traffic too
                urllib.request.urlopen(request, timeout=30).close()
        yield base


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def log_in(page: Page, base: str, login: Login) -> None:
    page.goto(f"{base}/portal/login")
    page.fill("#username", login.user.username)
    page.fill("#password", login.password)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/portal/$"))


def pages_of(page: Page, base: str, kind: Kind) -> dict[str, str]:
    """Name -> path of every page to check: the header's and navigation's links, each report
    section, and the first device, request and alert the party's lists link to."""
    found: dict[str, str] = {}
    page.goto(f"{base}/portal/")
    for link in page.locator("header a, nav.mainnav a").all():
        href = link.get_attribute("href") or ""
        if href.startswith("/portal"):
            name = href.removeprefix("/portal").strip("/").replace("/", "-") or "home"
            found[name] = href
    page.goto(f"{base}/portal/reports/{kind.party}?from=2024-06-01&to=2024-06-30")
    for link in page.locator("nav.sections a").all():
        href = link.get_attribute("href") or ""
        section = re.search(r"section=(\w+)", href)
        found[f"reports-{section.group(1) if section else 'process'}"] = href
    if "market" in found:
        page.goto(f"{base}/portal/market")
        for link in page.locator("nav.market a").all():
            href = link.get_attribute("href") or ""
            found[href.removeprefix("/portal/").replace("/", "-")] = href
    for listing, pattern, name in (
        ("/portal/market", "a[href^='/portal/market/listings/']", "market-listing"),
        ("/portal/inventory", "a[href^='/portal/devices/']", "device"),
        ("/portal/requests", "a[href^='/portal/requests/']", "request"),
        ("/portal/alerts", "a[href^='/portal/alerts/']", "alert"),
        ("/portal/users", "table.users a[href^='/portal/users/']", "user"),
        ("/portal/users", "a[href^='/portal/users/new']", "user-new"),
        ("/portal/transfers", "a[href^='/portal/transfers/']", "transfer"),
        ("/portal/contacts?queue=all", "table.contacts a[href^='/portal/contacts/']", "contact"),
        ("/portal/contacts", "a[href^='/portal/contacts/new']", "contact-form"),
        (
            "/portal/contacts?queue=all&type=SUT",
            "table.contacts a[href^='/portal/contacts/']",
            "contact-sut",
        ),
    ):
        page.goto(f"{base}{listing}")
        first = page.locator(pattern).first
        if first.count():
            found[name] = first.get_attribute("href") or listing
    found["hubs-returns"] = "/portal/hubs/returns"
    return found


class TestNothingIsWiderThanTheWindow:
    def test_every_main_page_at_laptop_and_phone_width_as_each_kind_of_party(
        self, server: str, browser: Browser, kinds: list[Kind], tmp_path: Path
    ) -> None:
        problems: list[str] = []
        checked: set[str] = set()
        for kind in kinds:
            for width in WIDTHS:
                # JavaScript on only for the measuring: the pages themselves have none.
                context = browser.new_context(viewport={"width": width, "height": 900})
                context.set_default_timeout(30_000)
                page = context.new_page()
                try:
                    log_in(page, server, kind.login)
                    for name, path in pages_of(page, server, kind).items():
                        answer = page.goto(f"{server}{path}")
                        assert answer is not None and answer.status == 200, (kind.name, path)
                        shot = tmp_path / f"{kind.name}-{width}-{name}.png"
                        page.screenshot(path=shot, full_page=True)
                        measured = page.evaluate(OVERFLOWING)
                        checked.add(name)
                        clipped = measured["clipped"] if width == LAPTOP else []
                        if measured["scroll"] > measured["inner"] or measured["out"] or clipped:
                            problems.append(f"{kind.name} at {width}px, {path}: {measured}")
                finally:
                    context.close()
        assert not problems, "\n".join(problems)
        # The pages a person reads most were all among them.
        assert {
            "home",
            "inventory",
            "charges",
            "requests",
            "alerts",
            "reports-process",
            "reports-league",
            "reports-alerts",
            "reports-inventory",
            "device",
            "request",
            "hubs-orders",
            "hubs-returns",
            "users",
            "user",
            "user-new",
            "market",
            "market-listings",
            "market-listing",
            "market-requests",
            "market-rule",
            "market-log",
            "transfers",
            "transfer",
            "contacts",
            "contact",
            "contact-form",
            "contact-sut",
        } <= checked
