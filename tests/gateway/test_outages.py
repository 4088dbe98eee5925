"""Power outages in the live gateway: the worker raises AD1 for each hub a street outage hits and
0x8F35 when the supply is back, to the network operator, exactly once, from the seed and the
clock alone; polled, pushed and exported like any other alert."""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.messages import response_datetime
from meterhub.gateway.models import OutageClock, OutboundMessage, PowerOutage
from meterhub.gateway.outages import sweep_outages
from meterhub.gateway.xml import XsdValidator
from meterhub.inventory import service as inventory
from meterhub.jobs.worker import run_once
from meterhub.kit.clock import as_utc, utcnow
from meterhub.lake.export import export_pending
from meterhub.lake.writer import EventLakeWriter, events_glob
from meterhub.network.model import REGIONS, NetworkModel, NetworkProfile
from meterhub.parties.models import Party
from tests.factories import (
    SYSTEM,
    Login,
    make_api_login,
    make_mpan_for,
    make_party,
    make_registration,
)
from tests.gateway.duis_factories import duis_id
from tests.gateway.test_durability import HubProcess

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
#: Long enough for every outage of the first six hours to be over (or never to end).
LATER = T0 + timedelta(days=3)
PREMISES_PER_REGION = 6
_ids = itertools.count(1)

#: Busy enough that six hours always hold outages; streets of a few hubs.
PROFILE = NetworkProfile.from_mapping(
    {
        "outages_per_day": 48.0,
        "outage_hubs_median": 3.0,
        "outage_hubs_sigma": 0.3,
        "restoration_missing_rate": 0.25,
        "outage_minutes_median": 40.0,
    }
)
#: No new outages: sweeps with it only release the restorations due.
QUIET = replace(PROFILE, outages_per_day=0.0)


@dataclass
class Street:
    """Premises in every CSP region, all served by one DNO and supplied by one supplier."""

    dno: Party
    dno_login: Login
    supplier: Party
    supplier_login: Login
    other_dno_login: Login
    hubs: dict[str, tuple[str, str]]  # hub -> (meter, MPAN)
    idle_hub: str  # installed, not commissioned: never hit


def _device_id() -> str:
    n = next(_ids)
    return f"00-DB-AA-00-00-{n // 65536 % 256:02X}-{n // 256 % 256:02X}-{n % 256:02X}"


@pytest.fixture
def street(session: Session) -> Street:
    dno = make_party(session, roles=("ED",))
    other_dno = make_party(session, roles=("ED",))
    supplier = make_party(session, roles=("IS",))
    hubs: dict[str, tuple[str, str]] = {}
    idle_hub = ""
    n = 0
    for region in REGIONS:
        for k in range(PREMISES_PER_REGION + 1):
            n += 1
            mpan = make_mpan_for(5100 + n)
            make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
            status = "Commissioned" if k < PREMISES_PER_REGION else "InstalledNotCommissioned"
            hub = _device(session, "CHF", region, status, mpan, None)
            meter = _device(session, "ESME", region, status, mpan, hub)
            if status == "Commissioned":
                hubs[hub] = (meter, mpan)
            else:
                idle_hub = hub
    street = Street(
        dno=dno,
        dno_login=make_api_login(session, party=dno),
        supplier=supplier,
        supplier_login=make_api_login(session, party=supplier),
        other_dno_login=make_api_login(session, party=other_dno),
        hubs=hubs,
        idle_hub=idle_hub,
    )
    session.commit()
    return street


def _device(
    session: Session, kind: str, region: str, status: str, mpan: str, hub: str | None
) -> str:
    return inventory.add_device(
        session,
        actor=SYSTEM,
        device_id=_device_id(),
        device_type=kind,
        manufacturer="Acme",
        model="HUB-1" if kind == "CHF" else "METER-1",
        firmware_version="1.0.0",
        smets_version="CHTS" if kind == "CHF" else "SMETS2",
        csp_region=region,
        status=status,
        mpxn=mpan,
        comms_hub_id=hub,
        now=utcnow(),
    ).device_id


def sweep(settings: Settings, at: datetime, profile: NetworkProfile = PROFILE) -> None:
    with session_scope(settings.database_url) as s:
        sweep_outages(s, network=NetworkModel(profile), seed=settings.network_seed, now=at)


@dataclass(frozen=True)
class Hit:
    outage_key: str
    hub: str
    meter: str
    started_at: datetime
    restore_at: datetime | None
    state: str


def hits(settings: Settings) -> list[Hit]:
    with session_scope(settings.database_url) as s:
        return [
            Hit(
                r.outage_key,
                r.comms_hub_id,
                r.meter_id,
                as_utc(r.started_at),
                as_utc(r.restore_at) if r.restore_at else None,
                r.state,
            )
            for r in s.scalars(select(PowerOutage).order_by(PowerOutage.id))
        ]


@dataclass(frozen=True)
class Alert:
    id: int
    user_id: int
    code: str
    device_id: str | None
    created_at: datetime
    push_state: str
    xml: str


def alerts(settings: Settings) -> list[Alert]:
    with session_scope(settings.database_url) as s:
        return [
            Alert(
                m.id,
                m.user_id,
                m.code,
                m.device_id,
                as_utc(m.created_at),
                m.push_state,
                m.xml,
            )
            for m in s.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.kind == "alert")
                .order_by(OutboundMessage.id)
            )
        ]


def _text(xml: str, name: str) -> str:
    found = etree.fromstring(xml.encode()).find(f".//{SR}{name}")
    assert found is not None and found.text is not None, name
    return found.text


class TestRaising:
    def test_the_first_sweep_starts_the_clock_and_raises_nothing_from_before(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        assert hits(settings) == [] and alerts(settings) == []
        with session_scope(settings.database_url) as s:
            clock = s.get(OutageClock, 1)
            assert clock is not None and as_utc(clock.raised_until) == T0

    def test_each_hit_hub_raises_one_ad1_to_the_network_operator(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        found = hits(settings)
        assert found, "six busy hours raised no outage"
        assert street.idle_hub not in {h.hub for h in found}
        assert all(T0 < h.started_at <= T0 + timedelta(hours=6) for h in found)
        ad1 = [a for a in alerts(settings) if a.code == "AD1"]
        assert len(ad1) == len(found)
        assert {a.user_id for a in ad1} == {street.dno_login.user.id}
        raised = sorted(
            (
                a.device_id,
                _text(a.xml, "CommsHubDeviceID"),
                _text(a.xml, "MPxN"),
                _text(a.xml, "StartDateTime"),
                a.created_at,
            )
            for a in ad1
            if _text(a.xml, "DCCAlertCode") == "AD1"
        )
        assert raised == sorted(
            (h.meter, h.hub, street.hubs[h.hub][1], response_datetime(h.started_at), h.started_at)
            for h in found
        )

    def test_an_outage_hits_a_street_in_one_region(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        regions: dict[str, set[str]] = {}
        with session_scope(settings.database_url) as s:
            for row in s.scalars(select(PowerOutage)):
                regions.setdefault(row.outage_key, set()).add(row.csp_region)
                assert row.mpxn == street.hubs[row.comms_hub_id][1]
        assert all(len(r) == 1 for r in regions.values())

    def test_power_comes_back_with_0x8f35_except_for_the_share_that_never_restores(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        sweep(settings, LATER, QUIET)
        found = hits(settings)
        restored = [h for h in found if h.restore_at is not None]
        unrestored = [h for h in found if h.restore_at is None]
        assert restored and unrestored, "expected both kinds in a busy six hours"
        assert {h.state for h in restored} == {"restored"}
        assert {h.state for h in unrestored} == {"unrestored"}
        back = [a for a in alerts(settings) if a.code == "0x8F35"]
        assert sorted((a.device_id, a.created_at) for a in back) == sorted(
            (h.meter, h.restore_at) for h in restored
        )
        dno_duis_id = duis_id(street.dno_login)
        for alert in back:
            assert _text(alert.xml, "AlertCode") == "8F35"
            # DUIS names the device and the recipient in a device alert's ResponseID.
            assert _text(alert.xml, "ResponseID").startswith(f"{alert.device_id}:{dno_duis_id}:")
        assert {a.user_id for a in back} == {street.dno_login.user.id}
        sweep(settings, LATER + timedelta(days=1), QUIET)
        assert len(alerts(settings)) == len(found) + len(restored)

    def test_a_restoration_is_not_raised_before_power_is_back(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        cut = T0 + timedelta(hours=6)
        first = min(h.restore_at for h in hits(settings) if h.restore_at and h.restore_at > cut)
        released = len([a for a in alerts(settings) if a.code == "0x8F35"])
        sweep(settings, first - timedelta(milliseconds=1))
        assert len([a for a in alerts(settings) if a.code == "0x8F35"]) == released
        sweep(settings, first)
        back = [a.created_at for a in alerts(settings) if a.code == "0x8F35"]
        assert back[released:] == [first]

    def test_every_alert_validates_against_the_duis_schema(
        self, settings: Settings, street: Street, xsd: XsdValidator
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        sweep(settings, LATER, QUIET)
        found = alerts(settings)
        assert {a.code for a in found} == {"AD1", "0x8F35"}
        for alert in found:
            xsd.validate(alert.xml.encode())

    def test_rate_zero_turns_outages_off(self, settings: Settings, street: Street) -> None:
        off = NetworkProfile.from_mapping({"outages_per_day": 0})
        sweep(settings, T0, off)
        sweep(settings, LATER, off)
        assert hits(settings) == [] and alerts(settings) == []


class TestDeterminismAndDurability:
    def test_the_same_outages_however_the_time_is_cut_into_sweeps(
        self, settings: Settings, street: Street
    ) -> None:
        """Swept every 7 minutes or in one go, six hours hold the outages the seed plans."""
        sweep(settings, T0)
        at = T0
        while at < T0 + timedelta(hours=6):
            at = min(at + timedelta(minutes=7), T0 + timedelta(hours=6))
            sweep(settings, at)
        found = hits(settings)
        planned = NetworkModel(PROFILE).outages_between(
            settings.network_seed, T0, T0 + timedelta(hours=6)
        )
        # Only planned outages, each hub once per outage; none skipped (compared with one go).
        assert {h.outage_key for h in found} <= {o.key for o in planned}
        assert len({h.outage_key for h in found}) >= len(planned) // 2
        assert len({(h.outage_key, h.hub) for h in found}) == len(found)
        one_go = self._one_go(settings)
        assert sorted((h.outage_key, h.hub, h.started_at, h.restore_at) for h in found) == sorted(
            (h.outage_key, h.hub, h.started_at, h.restore_at) for h in one_go
        )

    def _one_go(self, settings: Settings) -> list[Hit]:
        """What one sweep over the same six hours raises, on a copy of the state at T0."""
        with session_scope(settings.database_url) as s:
            s.query(OutboundMessage).delete()
            s.query(PowerOutage).delete()
            clock = s.get(OutageClock, 1)
            assert clock is not None
            clock.raised_until = T0
        sweep(settings, T0 + timedelta(hours=6))
        return hits(settings)

    def test_a_crash_before_the_commit_raises_the_same_outages_again_and_after_it_none(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)

        class Crash(Exception):
            pass

        with pytest.raises(Crash), session_scope(settings.database_url) as s:
            sweep_outages(
                s,
                network=NetworkModel(PROFILE),
                seed=settings.network_seed,
                now=T0 + timedelta(hours=6),
            )
            s.flush()
            lost = sorted(
                (r.outage_key, r.comms_hub_id, r.restore_at) for r in s.scalars(select(PowerOutage))
            )
            raise Crash
        assert lost and hits(settings) == [] and alerts(settings) == []
        sweep(settings, T0 + timedelta(hours=6))  # the restarted worker
        again = sorted((h.outage_key, h.hub, h.restore_at) for h in hits(settings))
        assert [(k, h) for k, h, _ in again] == [(k, h) for k, h, _ in lost]
        count = len(alerts(settings))
        sweep(settings, T0 + timedelta(hours=6))
        sweep(settings, T0 + timedelta(hours=5))  # a clock that steps back raises nothing
        assert len(alerts(settings)) == count

    def test_a_different_seed_gives_different_outages(self) -> None:
        model = NetworkModel(PROFILE)
        a = model.outages_between(1, T0, T0 + timedelta(days=1))
        b = model.outages_between(2, T0, T0 + timedelta(days=1))
        assert [o.start for o in a] != [o.start for o in b]

    def test_a_dark_hub_is_not_hit_again_until_it_is_back(
        self, settings: Settings, street: Street
    ) -> None:
        sweep(settings, T0)
        at = T0
        while at < T0 + timedelta(hours=12):
            at += timedelta(minutes=30)
            sweep(settings, at)
        by_hub: dict[str, list[Hit]] = {}
        for h in hits(settings):
            by_hub.setdefault(h.hub, []).append(h)
        for rows in by_hub.values():
            rows.sort(key=lambda h: h.started_at)
            for earlier, later in itertools.pairwise(rows):
                if earlier.restore_at is not None:
                    assert later.started_at >= earlier.restore_at


class TestDelivery:
    def test_outage_alerts_are_pushed_and_polled_by_the_network_operator_only(
        self, client: TestClient, settings: Settings, street: Street
    ) -> None:
        r = client.put(
            "/api/v1/duis/callback",
            json={"url": "http://dno.example/alerts"},
            headers=street.dno_login.headers,
        )
        assert r.status_code == 200, r.text
        model = NetworkModel(PROFILE)
        pushed: list[tuple[str, int]] = []

        def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            pushed.append((url, int(headers["X-Meterhub-Message-Id"])))
            return 200

        run_once(settings, post=post, now=T0, network=model)
        run_once(settings, post=post, now=T0 + timedelta(hours=6), network=model)
        run_once(settings, post=post, now=LATER, network=NetworkModel(QUIET))
        owed = alerts(settings)
        assert {a.code for a in owed} == {"AD1", "0x8F35"}
        assert sorted(m for _, m in pushed) == [a.id for a in owed]
        assert {u for u, _ in pushed} == {"http://dno.example/alerts"}
        assert all(a.push_state == "delivered" for a in owed)

        polled = client.get(
            "/api/v1/duis/messages", params={"limit": 1000}, headers=street.dno_login.headers
        ).json()["items"]
        assert [(m["kind"], m["code"], m["request_id"]) for m in polled] == [
            ("alert", a.code, None) for a in owed
        ]
        for login in (street.supplier_login, street.other_dno_login):
            theirs = client.get("/api/v1/duis/messages", headers=login.headers).json()
            assert theirs["items"] == []

    def test_the_registered_supplier_also_receives_them_when_configured(
        self, settings: Settings, street: Street
    ) -> None:
        both = replace(PROFILE, outage_alert_roles=("ED", "IS"))
        sweep(settings, T0, both)
        sweep(settings, T0 + timedelta(hours=6), both)
        per_user = Counter(a.user_id for a in alerts(settings))
        assert set(per_user) == {street.dno_login.user.id, street.supplier_login.user.id}
        assert per_user[street.dno_login.user.id] == per_user[street.supplier_login.user.id]

    def test_an_outage_alert_reaches_the_event_lake_once(
        self, settings: Settings, street: Street, tmp_path: Path
    ) -> None:
        sweep(settings, T0)
        sweep(settings, T0 + timedelta(hours=6))
        sweep(settings, LATER, QUIET)
        writer = EventLakeWriter(tmp_path)
        with session_scope(settings.database_url) as s:
            first = export_pending(s, writer=writer, now=LATER)
        with session_scope(settings.database_url) as s:
            second = export_pending(s, writer=writer, now=LATER)
        owed = alerts(settings)
        assert (first.alerts, second.alerts) == (len(owed), 0)
        rows = duckdb.execute(
            "SELECT alert_code, device_id, device_type, originator_party, originator_role,"
            " request_id, mpxn FROM read_parquet(?, hive_partitioning=true) ORDER BY event_id",
            [events_glob(tmp_path)],
        ).fetchall()
        assert [(r[0], r[1]) for r in rows] == [(a.code, a.device_id) for a in owed]
        meters = {meter: mpan for meter, mpan in street.hubs.values()}
        for _, device_id, device_type, party, role, request_id, mpxn in rows:
            assert (device_type, party, role, request_id) == ("ESME", street.dno.code, "ED", None)
            assert mpxn == meters[device_id]
        # MP176 pairs an outage with its restoration by meter: each 0x8F35 follows an AD1.
        ad1 = {r[1] for r in rows if r[0] == "AD1"}
        assert {r[1] for r in rows if r[0] == "0x8F35"} <= ad1


@pytest.mark.integration
def test_outages_survive_kill_9_raised_once_none_skipped(
    settings: Settings, street: Street, tmp_path: Path
) -> None:
    """A real ``meterhub serve`` raising an outage every few seconds is SIGKILLed twice; after the
    restarts every outage the seed planned between the first and the last sweep is there once,
    and the network operator polled each of its alerts once, in the same order as a fresh poll."""
    profile = tmp_path / "network.json"
    # Outages every ~3 s, each over within about a second: no hub is still dark when the next
    # one comes, so each planned outage hits its street.
    profile.write_text(
        '{"outages_per_day": 28800, "outage_hubs_median": 2, "outage_hubs_sigma": 0.2,'
        ' "outage_minutes_median": 0.01, "outage_minutes_sigma": 0.1,'
        ' "restoration_missing_rate": 0.3}'
    )
    seed = 777
    env = {
        **os.environ,
        "METERHUB_NETWORK_SEED": str(seed),
        "METERHUB_NETWORK_PROFILE": str(profile),
    }
    hub = HubProcess(tmp_path, env)
    polled: list[dict[str, object]] = []
    cursor = 0

    def poll() -> None:
        nonlocal cursor
        while True:
            try:
                r = httpx.get(
                    f"{hub.url}/api/v1/duis/messages",
                    params={"after": cursor, "limit": 1000},
                    headers=street.dno_login.headers,
                    timeout=30,
                )
            except httpx.TransportError:
                return
            page = r.json()
            if not page["items"]:
                return
            polled.extend(page["items"])
            cursor = page["next_cursor"]

    def raised_until() -> datetime | None:
        with session_scope(settings.database_url) as s:
            clock = s.get(OutageClock, 1)
            return as_utc(clock.raised_until) if clock else None

    def wait_for_alerts(count: int) -> None:
        deadline = time.monotonic() + 90
        while len(alerts(settings)) < count:
            assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
            time.sleep(0.2)

    hub.start()
    try:
        deadline = time.monotonic() + 30
        while (start := raised_until()) is None:
            assert time.monotonic() < deadline, "the worker never swept"
            time.sleep(0.1)
        for _ in range(2):
            wait_for_alerts(len(alerts(settings)) + 3)
            poll()
            hub.kill()
            hub.start()
        wait_for_alerts(len(alerts(settings)) + 3)
        poll()
        hub.kill()
        end = raised_until()
        # The last start raises no new outages, only the restorations still due.
        quiet = tmp_path / "quiet.json"
        quiet.write_text('{"outages_per_day": 0}')
        hub.env = {**env, "METERHUB_NETWORK_PROFILE": str(quiet)}
        hub.start()
        time.sleep(2)
        poll()
        fresh: list[dict[str, object]] = []
        after = 0
        while True:
            page = httpx.get(
                f"{hub.url}/api/v1/duis/messages",
                params={"after": after, "limit": 1000},
                headers=street.dno_login.headers,
                timeout=30,
            ).json()
            if not page["items"]:
                break
            fresh.extend(page["items"])
            after = page["next_cursor"]
    finally:
        hub.stop()
    assert end is not None

    model = NetworkModel(NetworkProfile.load(profile))
    planned = {o.key for o in model.outages_between(seed, start, end)}
    found = hits(settings)
    raised = {h.outage_key for h in found}
    assert len(planned) >= 3
    assert raised == planned, "an outage was skipped or invented across the restarts"
    assert len({(h.outage_key, h.hub) for h in found}) == len(found)
    owed = alerts(settings)
    codes = Counter(a.code for a in owed)
    assert codes["AD1"] == len(found)
    assert codes["0x8F35"] == len([h for h in found if h.restore_at is not None]) > 0
    assert [m["id"] for m in polled] == [m["id"] for m in fresh] == [a.id for a in owed]
