"""The portal in a real browser: Debian's Chromium, driven by Playwright, against a real server.

The server is ``meterhub serve`` in a subprocess on a free loopback port, over a database seeded
through the factories. JavaScript is switched off in the browser: every step is a plain link or
form. Screenshots go to the test's tmp dir; the login and inventory ones are also kept under
``docs/screenshots/`` for the README (written when missing, or when
``METERHUB_UPDATE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from tests.factories import make_device, make_mpan_for, make_party, make_registration
from tests.portal.conftest import TwoSuppliers

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        "no browser at /usr/bin/chromium: install Debian's chromium: apt-get install chromium",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="pip install playwright")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_hub(tmp_path: Path) -> Iterator[str]:
    """``meterhub serve`` on a free port, with this process's environment, until the block
    ends; yields its base URL once ``/healthz`` answers (its log is ``tmp_path/server.log``)."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "meterhub"), "serve", "--port", str(port)]
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        command, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("server did not start:\n" + (tmp_path / "server.log").read_text())
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def seeded(session: Session, world: TwoSuppliers) -> TwoSuppliers:
    """Supplier A gets enough commissioned meters for three pages of ten."""
    dno = make_party(session, roles=("ED",))
    for i in range(24):
        mpxn = make_mpan_for(300 + i)
        make_registration(session, mpxn=mpxn, supplier=world.a, network=dno)
        world.devices_a.append(
            make_device(
                session,
                mpxn=mpxn,
                model=("ACME-1", "ACME-2", "ACME-3")[i % 3],
                firmware_version=("1.0.0", "2.0.0")[i % 2],
                csp_region=("North", "Central", "South")[i % 3],
            )
        )
    session.commit()
    return world


@pytest.fixture
def server(settings: Settings, seeded: TwoSuppliers, tmp_path: Path) -> Iterator[str]:
    """``meterhub serve`` on a free port; yields its base URL."""
    with served_hub(tmp_path) as base:
        yield base


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            java_script_enabled=False,
            viewport={"width": 1280, "height": 800},
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def keep_for_docs(shot: Path, name: str) -> None:
    target = DOCS_SCREENSHOTS / name
    if not target.exists() or os.environ.get("METERHUB_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def shown_ids(page: Page) -> list[str]:
    return [
        t.strip() for t in page.locator("table.devices tbody td:first-child code").all_inner_texts()
    ]


class TestPortalInABrowser:
    def test_login_filter_page_download_and_logout(
        self, server: str, page: Page, seeded: TwoSuppliers, tmp_path: Path
    ) -> None:
        p = page

        # A stranger is sent to the login page, which remembers where it was going.
        p.goto(f"{server}/portal/inventory")
        assert "/portal/login?next=%2Fportal%2Finventory" in p.url
        p.screenshot(path=tmp_path / "login.png")
        keep_for_docs(tmp_path / "login.png", "login.png")

        # A wrong password gets the one generic message.
        p.fill("#username", seeded.login_a.user.username)
        p.fill("#password", "not my password")
        p.click("button:has-text('Log in')")
        expect(p.locator(".alert")).to_have_text("username or password is wrong")
        p.screenshot(path=tmp_path / "login-failed.png")

        p.fill("#password", seeded.login_a.password)
        p.click("button:has-text('Log in')")
        expect(p.locator("h1")).to_have_text("Smart Metering Inventory")
        expect(p.locator("header .party")).to_contain_text("Alpha Energy")

        # Filter: commissioned ACME-1 meters, ten a page.
        wanted = sorted(
            d.device_id
            for d in seeded.devices_a
            if d.status == "Commissioned" and d.device_type == "ESME"
        )
        p.select_option("select[name=status]", "Commissioned")
        p.select_option("select[name=device_type]", "ESME")
        p.select_option("select[name=size]", "10")
        p.click("button:has-text('Show devices')")
        assert "status=Commissioned" in p.url
        first_page = shown_ids(p)
        assert first_page == wanted[:10]
        p.screenshot(path=tmp_path / "inventory.png")
        keep_for_docs(tmp_path / "inventory.png", "inventory.png")

        # Follow the pages to the end, then one back.
        seen = list(first_page)
        while p.locator("a[rel=next]").count():
            p.click("a[rel=next]")
            seen += shown_ids(p)
        assert seen == wanted
        last_page = shown_ids(p)
        p.click("a[rel=prev]")
        assert (
            shown_ids(p) == wanted[len(wanted) - len(last_page) - 10 : len(wanted) - len(last_page)]
        )
        p.click("a[rel=first]")
        assert shown_ids(p) == first_page

        # The CSV holds every filtered row, not just the ten on screen.
        with p.expect_download() as info:
            p.click("a:has-text('Download CSV')")
        download = info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.name.endswith(".csv")
        with saved.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["Device ID"] for r in rows] == wanted
        assert {(r["Status"], r["Device type"]) for r in rows} == {("Commissioned", "ESME")}

        # A device page, and another supplier's device is simply not there.
        p.click(f"a:has-text('{wanted[0]}')")
        expect(p.locator("h1")).to_contain_text(wanted[0])
        expect(p.locator("body")).to_contain_text("added to inventory")
        p.screenshot(path=tmp_path / "device.png")
        answer = p.goto(f"{server}/portal/devices/{seeded.devices_b[0].device_id}")
        assert answer.status == 404
        expect(p.locator(".error-status")).to_have_text("404")
        p.screenshot(path=tmp_path / "not-found.png")

        # Home, then log out.
        p.click("nav a:has-text('Home')")
        expect(p.locator("h1")).to_have_text("Alpha Energy")
        p.screenshot(path=tmp_path / "home.png", full_page=True)
        p.click("button:has-text('Log out')")
        assert p.url.endswith("/portal/login")
        p.goto(f"{server}/portal/")
        assert "/portal/login" in p.url
