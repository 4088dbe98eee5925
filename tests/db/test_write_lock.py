"""On SQLite a request that writes queues behind another writer instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.config import Settings
from tests.factories import make_login, make_party


@pytest.mark.usefixtures("settings")
class TestWriteLock:
    def test_a_write_waits_for_another_writer_instead_of_failing(
        self, session: Session, client: TestClient, settings: Settings
    ) -> None:
        if not settings.database_url.startswith("sqlite"):
            pytest.skip("SQLite's single-writer lock only")
        supplier = make_party(session, roles=("IS",))
        make_party(session, code="AGNT", roles=("RSA",))
        login = make_login(session, party=supplier)
        session.commit()
        other = sqlite3.connect(
            settings.database_url.removeprefix("sqlite:///"),
            isolation_level=None,
            check_same_thread=False,
        )
        other.execute("BEGIN IMMEDIATE")  # another process is writing, e.g. the gateway worker
        released = threading.Timer(1.0, lambda: other.execute("COMMIT"))
        released.start()
        try:
            started = time.monotonic()
            r = client.post(
                "/api/v1/appointments",
                json={"supplier": supplier.code, "agent": "AGNT", "valid_from": "2026-01-01"},
                headers=login.headers,
            )
        finally:
            released.join()
            other.close()
        assert r.status_code == 201, r.text
        assert time.monotonic() - started >= 0.9
