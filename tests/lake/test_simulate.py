"""Simulated traffic on a tiny estate: deterministic, consistent, and national-shaped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import get_engine, get_sessionmaker
from meterhub.errors import InvalidInput
from meterhub.lake.simulate import TrafficSettings, TrafficSummary, simulate_traffic
from meterhub.lake.writer import events_glob
from meterhub.parties.models import AgentAppointment
from tests.conftest import ON_POSTGRES, TEST_URL
from tests.factories import make_device, make_mpan_for, make_party, make_registration

START = date(2024, 6, 3)
RATE = 0.2  # requests a second: about 35,000 requests over two days


@pytest.fixture(scope="module")
def estate(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Twelve homes: a hub and an electricity meter each, a gas meter in every other home.

    One database for the module: the simulation only reads it."""
    if ON_POSTGRES:
        name = f"meterhub_sim_{os.getpid()}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        admin.dispose()
        url = make_url(TEST_URL).set(database=name).render_as_string(hide_password=False)
    else:
        path = tmp_path_factory.mktemp("estate") / "estate.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
    session = get_sessionmaker(url)()
    try:
        _build_homes(session)
    finally:
        session.close()
    yield url
    get_engine(url).dispose()
    if ON_POSTGRES:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_admin() -> Engine:
    return create_engine(make_url(TEST_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _build_homes(session: Session) -> None:
    supplier = make_party(session, code="BGAS", roles=("IS", "GS"))
    dno = make_party(session, code="DNOA", roles=("ED",))
    gt = make_party(session, code="GASN", roles=("GT",))
    agent = make_party(session, code="MOP1", roles=("RSA",))
    shipper = make_party(session, code="SHIP", roles=("SHIPPER",))
    session.add(
        AgentAppointment(
            supplier_party_id=supplier.id, agent_party_id=agent.id, valid_from=date(2020, 1, 1)
        )
    )
    regions = ["North", "Central", "South", "North4G", "Central4G", "South4G"]
    for home in range(12):
        mpan = make_mpan_for(home + 1)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        region = regions[home % 6]
        hub = make_device(
            session, device_type="CHF", owner=supplier, csp_region=region, model="HUB-1"
        )
        make_device(
            session,
            device_type="ESME",
            mpxn=mpan,
            csp_region=region,
            smets_version="SMETS1" if home == 0 else "SMETS2",
        ).comms_hub_id = hub.device_id
        if home % 2:
            mprn = f"{7_000_000 + home}"
            make_registration(session, mpxn=mprn, supplier=supplier, network=gt, shipper=shipper)
            make_device(
                session, device_type="GSME", mpxn=mprn, csp_region=region, model="GAS-1"
            ).comms_hub_id = hub.device_id
    session.commit()


def _run(url: str, lake: Path, *, seed: int, days: int = 2, workers: int = 1) -> TrafficSummary:
    return simulate_traffic(
        get_engine(url),
        lake=lake,
        start=START,
        days=days,
        rate=RATE,
        seed=seed,
        workers=workers,
        settings=TrafficSettings(chunk_requests=10_000),
    )


def _rows(lake: Path) -> pa.Table:
    """Every row, in ``event_id`` order, with plain strings: comparable whatever the file layout
    (``Table.equals`` compares values, nulls included, without turning rows into Python)."""
    table = pq.read_table(sorted(lake.rglob("*.parquet"))).sort_by("event_id")
    plain = pa.schema(
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
        for f in table.schema
    )
    return table.cast(plain).combine_chunks()


def _sql(lake: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute(
        "CREATE VIEW ev AS SELECT * FROM "
        f"read_parquet('{events_glob(lake)}', hive_partitioning=true)"
    )
    return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def lake(estate: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulation for the module's read-only checks."""
    root = tmp_path_factory.mktemp("lake") / "lake"
    _run(estate, root, seed=11)
    return root


class TestDeterminism:
    def test_same_seed_same_rows_different_seed_different_rows(
        self, estate: str, tmp_path: Path
    ) -> None:
        _run(estate, tmp_path / "a", seed=5)
        _run(estate, tmp_path / "b", seed=5, workers=2)
        _run(estate, tmp_path / "c", seed=6)
        a = _rows(tmp_path / "a")
        assert a.num_rows > 0
        assert a.equals(_rows(tmp_path / "b"))
        assert not a.equals(_rows(tmp_path / "c"))


class TestRequestLifecycle:
    def test_events_of_each_request_are_in_order(self, lake: Path) -> None:
        bad = _sql(
            lake,
            """
            WITH r AS (
              SELECT request_id,
                max(event_time) FILTER (WHERE kind = 'received') AS received,
                max(event_time) FILTER (WHERE kind = 'acknowledged') AS ack,
                max(event_time) FILTER (WHERE kind = 'sent') AS sent,
                max(event_time) FILTER (WHERE kind = 'response') AS response,
                count(*) FILTER (WHERE kind = 'refused') AS refused,
                count(*) FILTER (WHERE kind <> 'alert') AS n
              FROM ev WHERE kind <> 'alert' GROUP BY request_id)
            SELECT count(*) FILTER (WHERE refused = 0 AND NOT (received < ack AND ack < sent
                                                             AND sent < response AND n = 4)),
                   count(*) FILTER (WHERE refused = 1 AND (n <> 2 OR response IS NOT NULL)),
                   count(*) FILTER (WHERE refused = 1), count(*)
            FROM r
            """,
        )
        out_of_order, refused_with_response, refused, total = bad[0]
        assert out_of_order == 0
        assert refused_with_response == 0
        assert 0 < refused < 0.05 * total

    def test_refusals_carry_e_codes_and_acks_i99(self, lake: Path) -> None:
        codes = dict(
            _sql(
                lake,
                "SELECT kind, list(DISTINCT substr(response_code, 1, 1)) FROM ev "
                "WHERE kind IN ('refused', 'acknowledged') GROUP BY kind",
            )
        )
        assert codes["refused"] == ["E"]
        assert codes["acknowledged"] == ["I"]

    def test_no_response_failures_raise_n13_for_the_same_request(self, lake: Path) -> None:
        (row,) = _sql(
            lake,
            """
            SELECT count(*) FILTER (WHERE f.request_id IS NOT NULL AND a.request_id IS NULL),
                   count(*) FILTER (WHERE f.request_id IS NOT NULL)
            FROM (SELECT request_id FROM ev WHERE kind = 'response'
                  AND failure_reason = 'no_response') f
            LEFT JOIN (SELECT request_id FROM ev WHERE alert_code = 'N13') a USING (request_id)
            """,
        )
        missing, failures = row
        assert failures > 0
        assert missing == 0

    def test_senders_are_entitled_parties(self, lake: Path) -> None:
        senders = set(
            _sql(
                lake,
                "SELECT DISTINCT originator_party, originator_role FROM ev WHERE kind = 'received'",
            )
        )
        assert senders <= {
            ("BGAS", "IS"),
            ("BGAS", "GS"),
            ("DNOA", "ED"),
            ("GASN", "GT"),
            ("MOP1", "RSA"),
        }
        assert ("DNOA", "ED") in senders
        assert ("BGAS", "GS") in senders


class TestShape:
    def test_rate_follows_the_request(self, lake: Path) -> None:
        ((received,),) = _sql(lake, "SELECT count(*) FROM ev WHERE kind = 'received'")
        expected = RATE * 2 * 86_400
        assert 0.85 * expected < received < 1.1 * expected

    def test_daily_read_burst_hours_hold_more_reads_than_midday(self, lake: Path) -> None:
        hours = dict(
            _sql(
                lake,
                "SELECT hour(event_time), count(*) FROM ev WHERE kind = 'received' "
                "AND process = 'reads' GROUP BY 1",
            )
        )
        burst = sum(hours.get(h, 0) for h in range(1, 5)) / 4
        assert burst > 3 * hours[12]

    def test_partitions_are_days(self, lake: Path) -> None:
        days = [d for (d,) in _sql(lake, "SELECT DISTINCT day FROM ev ORDER BY day")]
        assert days[:2] == [START, date(2024, 6, 4)]
        assert not list(lake.rglob("*.tmp"))

    def test_journeys_and_alerts_appear(self, lake: Path) -> None:
        processes = {
            p for (p,) in _sql(lake, "SELECT DISTINCT process FROM ev WHERE process IS NOT NULL")
        }
        assert {
            "reads",
            "install_commission",
            "change_of_supplier",
            "firmware",
            "tariff",
        } <= processes
        alerts = {
            a for (a,) in _sql(lake, "SELECT DISTINCT alert_code FROM ev WHERE kind = 'alert'")
        }
        assert {"N13", "N16", "AD1"} <= alerts


class TestRefusesToSimulate:
    def test_empty_estate(self, settings: Settings, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput):
            _run(settings.database_url, tmp_path / "lake", seed=1)
