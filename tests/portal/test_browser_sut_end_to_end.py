"""Issue 12's "done when" for Supplier Theft of Gas, in a real browser (Chromium, JavaScript off)
against a real ``meterhub serve``: RECCo's claim over a change of shipper is split between both
shippers by days held; one accepts its share in the portal; the other does not answer, its
deadline passes over the summer bank holiday and the sweep (``meterhub contacts sweep``, as the
operator's scheduler runs it) deems it accepted; both shares are on the settlement ledger and
invoiced, once each, however often the sweep runs.

RECCo logs the claim through the contact service at a fixed time (Tuesday 20 August 2024), so
that its response window runs over the bank holiday of Monday 26 August whatever day the test
runs; the served portal keeps the real clock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.settlement import service as settlement
from tests.contacts.conftest import (  # noqa: F401  (fixtures)
    MPRN,
    TheftWorld,
    gas,
    theft,
)
from tests.contacts.sut_world import DEADLINE, log_claim
from tests.factories import Login, make_login
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def shipper_a(session: Session, theft: TheftWorld) -> Login:  # noqa: F811
    """A user of SHPA, which held the meter point until 30 June 2024."""
    login = make_login(session, party=theft.gas.shipper_a)
    session.commit()
    return login


@pytest.fixture
def server(settings: Settings, shipper_a: Login, tmp_path: Path) -> Iterator[str]:
    with served_hub(tmp_path) as base:
        yield base


def sweep_at(when: str) -> str:
    """``meterhub contacts sweep --now <when>``, as a scheduler would run it; its output."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "meterhub"), "contacts", "sweep", "--now", when],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def ledger(session: Session, theft: TheftWorld) -> list[tuple[str, int]]:  # noqa: F811
    session.rollback()  # end the read transaction, so the server's commits are seen
    operator = theft.actor(theft.gas.operator_login)
    return sorted(
        (a.posting_key, a.energy_wh) for a in settlement.ledger(session, actor=operator, mprn=MPRN)
    )


def invoiced(session: Session, theft: TheftWorld, shipper: str) -> list[int]:  # noqa: F811
    operator = theft.actor(theft.gas.operator_login)
    return [
        line.energy_wh
        for line in settlement.invoice_lines(session, actor=operator, shipper_code=shipper)
    ]


def test_a_claim_over_a_change_of_shipper_is_split_accepted_deemed_and_posted_once(
    server: str,
    page: Page,  # noqa: F811
    theft: TheftWorld,  # noqa: F811
    shipper_a: Login,
    session: Session,
    tmp_path: Path,
) -> None:
    claim = log_claim(session, theft)  # 1 June to 31 July 2024, 6,100 kWh
    assert claim.reference == "SUT-000001"

    p = page
    p.goto(f"{server}/portal/login")
    p.fill("#username", shipper_a.user.username)
    p.fill("#password", shipper_a.password)
    p.click("button:has-text('Log in')")
    p.click("nav.mainnav a:has-text('Contacts')")
    row = p.locator("table.contacts tbody tr", has_text="SUT-000001")
    expect(row).to_contain_text("Supplier Theft of Gas")
    row.locator("a:has-text('SUT-000001')").click()
    parts = p.locator("table.parts tbody")
    # Split by days held: 30 days with SHPA, 31 with SHPB, 6,100 kWh in all.
    expect(parts.locator("tr", has_text="SHPA")).to_contain_text(
        "30 days (2024-06-01 to 2024-06-30), 3,000.000 kWh"
    )
    expect(parts.locator("tr", has_text="SHPB")).to_contain_text(
        "31 days (2024-07-01 to 2024-07-31), 3,100.000 kWh"
    )
    expect(parts.locator("tr", has_text="SHPB")).to_contain_text("Wed 04 Sep 2024")
    p.screenshot(path=tmp_path / "sut-before.png", full_page=True)
    p.click("button:has-text('Accept the share')")
    expect(parts.locator("tr", has_text="SHPA")).to_contain_text("Accepted: posted to settlement")
    expect(parts.locator("tr", has_text="SHPB")).to_contain_text("Awaiting the shipper")
    assert ledger(session, theft) == [("SUT-000001/SHPA", 3_000_000)]

    # SHPB does not answer. Ten weekdays from Tuesday 20 August end on Tuesday 3 September,
    # but Monday 26 August is a bank holiday: nothing is due until the end of Wednesday 4th.
    assert "0 parts past their deadline moved on" in sweep_at("2024-09-03T23:30:00+00:00")
    assert ledger(session, theft) == [("SUT-000001/SHPA", 3_000_000)]
    assert "1 parts past their deadline moved on" in sweep_at(DEADLINE.isoformat())
    assert "0 parts past their deadline moved on" in sweep_at(DEADLINE.isoformat())

    p.reload()
    expect(parts.locator("tr", has_text="SHPB")).to_contain_text("Accepted: posted to settlement")
    expect(p.locator(".contact-status")).to_have_text("Accepted: posted to settlement")
    expect(p.locator("table.history")).to_contain_text("system (deadline passed)")
    p.screenshot(path=tmp_path / "sut-after.png", full_page=True)
    assert ledger(session, theft) == [
        ("SUT-000001/SHPA", 3_000_000),
        ("SUT-000001/SHPB", 3_100_000),
    ]
    assert invoiced(session, theft, "SHPA") == [3_000_000]
    assert invoiced(session, theft, "SHPB") == [3_100_000]
    # An answer after the deadline changes nothing: SHPA's page offers no step any more.
    expect(p.locator("section.actions")).to_have_count(0)
