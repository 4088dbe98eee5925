"""Who a request's DCC alert is owed to: N13 and N55 go back to the sender, N16 (a commission
confirmed) and N42 (credentials updated) to the meter point's network operator, as the
simulated network addresses them in the lake, so the operator's MP176 report of N42 within 7
days of N16, by supplier, has live data behind it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import OutboundMessage, ServiceRequest
from meterhub.gateway.service import release_due
from meterhub.kit.clock import utcnow
from meterhub.lake.export import export_pending
from meterhub.lake.schema import service_reference
from meterhub.lake.writer import EventLakeWriter, events_glob
from tests.gateway.duis_factories import Estate, build_estate, duis_id
from tests.portal.conftest import log_in


def _queued(session: Session, e: Estate, srv: str, counter: int, alerts: list[str]) -> int:
    """A request the device network has answered (due now) with ``alerts`` planned."""
    originator = duis_id(e.supplier_login)
    now = utcnow()
    row = ServiceRequest(
        request_id=f"{originator}:{e.esme_id}:{counter}",
        originator=originator,
        target=e.esme_id,
        counter=counter,
        srv=srv,
        service_reference=service_reference(srv),
        party_id=e.supplier.id,
        user_id=e.supplier_login.user.id,
        role="IS",
        device_id=e.esme_id,
        received_at=now - timedelta(seconds=5),
        ack_code="I99",
        state="queued",
        due_at=now - timedelta(seconds=1),
        planned={"response_code": "I0", "rtt_ms": 900, "alerts": alerts},
    )
    session.add(row)
    session.commit()
    return row.id


def _commissioned_with_n16(session: Session, settings: Settings) -> tuple[Estate, int]:
    """A supplier's 8.1.1 to its meter, answered with I0 and an N16, released."""
    e = build_estate(session)
    commission = _queued(session, e, "8.1.1", 1, ["N16"])
    with session_scope(settings.database_url) as s:
        assert release_due(s, now=utcnow()) == 1
    return e, commission


def _owed(session: Session, request_pk: int) -> list[tuple[str, int, int, str | None]]:
    return [
        (m.code, m.user_id, m.party_id, m.recipient_role)
        for m in session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.service_request_id == request_pk)
            .order_by(OutboundMessage.id)
        )
    ]


class TestAlertRecipients:
    def test_n16_and_n42_reach_the_network_operator_and_n13_the_sender(
        self, session: Session, settings: Settings
    ) -> None:
        e = build_estate(session)
        commission = _queued(session, e, "8.1.1", 1, ["N16"])
        credentials = _queued(session, e, "6.23", 2, ["N42"])
        failed = _queued(session, e, "4.1.1", 3, ["N13"])
        with session_scope(settings.database_url) as s:
            assert release_due(s, now=utcnow()) == 3
        supplier, dno = e.supplier_login.user, e.dno_login.user
        assert _owed(session, commission) == [
            ("I0", supplier.id, e.supplier.id, None),
            ("N16", dno.id, e.dno.id, "ED"),
        ]
        assert _owed(session, credentials)[1] == ("N42", dno.id, e.dno.id, "ED")
        assert _owed(session, failed)[1] == ("N13", supplier.id, e.supplier.id, None)

    def test_with_no_network_operator_user_the_sender_gets_the_n16(
        self, session: Session, settings: Settings
    ) -> None:
        e = build_estate(session)
        e.dno_login.user.active = False
        session.commit()
        commission = _queued(session, e, "8.1.1", 1, ["N16"])
        with session_scope(settings.database_url) as s:
            release_due(s, now=utcnow())
        assert _owed(session, commission)[1] == (
            "N16",
            e.supplier_login.user.id,
            e.supplier.id,
            None,
        )

    def test_the_operator_polls_the_n16_and_the_supplier_does_not(
        self, session: Session, client: TestClient, settings: Settings
    ) -> None:
        e, _ = _commissioned_with_n16(session, settings)

        def polled(headers: dict[str, str]) -> list[tuple[str, str]]:
            r = client.get("/api/v1/duis/messages", headers=headers)
            assert r.status_code == 200, r.text
            return [(m["kind"], m["code"]) for m in r.json()["items"]]

        assert polled(e.dno_login.headers) == [("alert", "N16")]
        assert polled(e.supplier_login.headers) == [("response", "I0")]

    def test_the_operators_alert_page_names_the_request_without_opening_it(
        self, session: Session, client: TestClient, settings: Settings
    ) -> None:
        e, commission = _commissioned_with_n16(session, settings)
        alert_id = session.scalar(select(OutboundMessage.id).where(OutboundMessage.code == "N16"))
        log_in(client, e.dno_login)
        page = client.get(f"/portal/alerts/{alert_id}")
        assert page.status_code == 200
        assert f"{duis_id(e.supplier_login)}:{e.esme_id}:1" in page.text
        assert "another party's request" in page.text
        assert f'href="/portal/requests/{commission}"' not in page.text
        listing = client.get("/portal/alerts")
        assert "another party's" in listing.text
        assert f'href="/portal/requests/{commission}"' not in listing.text
        # The supplier's request stays the supplier's.
        assert client.get(f"/portal/requests/{commission}").status_code == 404

    def test_the_lake_owns_the_n16_by_the_operator_as_ed_and_keeps_the_supplier_in_reach(
        self, session: Session, settings: Settings, tmp_path: Path
    ) -> None:
        e, commission = _commissioned_with_n16(session, settings)
        with session_scope(settings.database_url) as s:
            export_pending(s, writer=EventLakeWriter(tmp_path), now=utcnow())
        rows = (
            duckdb.connect()
            .execute(
                f"SELECT kind, originator_party, originator_role, request_id, alert_code "
                f"FROM read_parquet('{events_glob(tmp_path)}', hive_partitioning=true) "
                f"ORDER BY event_time, kind"
            )
            .fetchall()
        )
        by_kind = {kind: (party, role, rid, code) for kind, party, role, rid, code in rows}
        assert by_kind["alert"] == (e.dno.code, "ED", commission, "N16")
        # The N16's request_id leads to the request's received row: the supplier behind it.
        assert by_kind["received"][:3] == (e.supplier.code, "IS", commission)
