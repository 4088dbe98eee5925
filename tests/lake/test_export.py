"""The lake exporter copies each finished request's life from the live database, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.service import release_due
from meterhub.kit.clock import utcnow
from meterhub.lake.export import export_pending
from meterhub.lake.writer import EventLakeWriter, events_glob
from tests.gateway.duis_factories import build_estate, duis_id, read_registers

XML = {"Content-Type": "application/xml"}


def _events(lake: Path) -> list[tuple[str, str | None, str | None]]:
    query = (
        "SELECT kind, response_code, originator_party FROM read_parquet(?, hive_partitioning=true)"
        " ORDER BY event_id"
    )
    return [tuple(r) for r in duckdb.execute(query, [events_glob(lake)]).fetchall()]


class TestExportPending:
    def test_finished_requests_become_lake_rows_once(
        self, session: Session, client: TestClient, settings: Settings, tmp_path: Path
    ) -> None:
        e = build_estate(session)
        headers = {**e.supplier_login.headers, **XML}
        originator = duis_id(e.supplier_login)
        client.post(
            "/api/v1/duis", content=read_registers(originator, e.esme_id, 1), headers=headers
        )
        client.post(
            "/api/v1/duis", content=read_registers(originator, e.other_esme_id, 2), headers=headers
        )
        writer = EventLakeWriter(tmp_path)
        with session_scope(settings.database_url) as s:
            first = export_pending(s, writer=writer, now=utcnow())
        # The refused request is finished; the accepted one waits for its response.
        assert (first.requests, first.events) == (1, 2)
        with session_scope(settings.database_url) as s:
            release_due(s, now=utcnow() + timedelta(hours=1))
        with session_scope(settings.database_url) as s:
            second = export_pending(s, writer=writer, now=utcnow())
        with session_scope(settings.database_url) as s:
            third = export_pending(s, writer=writer, now=utcnow())
        assert second.requests == 1 and second.events >= 4
        assert third.requests == 0
        events = _events(tmp_path)
        kinds = [k for k, _, _ in events]
        assert kinds.count("received") == 2
        assert kinds.count("refused") == 1 and kinds.count("acknowledged") == 1
        assert kinds.count("response") == 1
        assert ("refused", "E4", e.supplier.code) in events

    def test_cli_exports_everything_pending(
        self, session: Session, client: TestClient, settings: Settings, tmp_path: Path
    ) -> None:
        e = build_estate(session)
        headers = {**e.supplier_login.headers, **XML}
        client.post("/api/v1/duis", content=b"not xml", headers=headers)
        result = CliRunner().invoke(app, ["lake", "export", "--lake", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert "exported 1 requests as 2 events" in result.output
        assert [k for k, _, _ in _events(tmp_path)] == ["received", "refused"]

    def test_worker_exports_to_the_configured_lake(
        self, session: Session, client: TestClient, settings: Settings, tmp_path: Path
    ) -> None:
        from meterhub.jobs.worker import export_to_lake

        e = build_estate(session)
        headers = {**e.supplier_login.headers, **XML}
        client.post("/api/v1/duis", content=b"<broken", headers=headers)
        configured = settings.model_copy(update={"lake_dir": str(tmp_path)})
        first = export_to_lake(configured)
        assert (first.exported, first.days) == (1, {utcnow().date()})
        assert export_to_lake(configured).exported == 0
        assert [k for k, _, _ in _events(tmp_path)] == ["received", "refused"]
