"""One database session per request, committed once, before the answer goes out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.parties.models import Party
from tests.factories import make_api_login, make_party


class TestRequestSession:
    def test_a_write_that_cannot_be_committed_is_not_reported_as_done(
        self, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        op = make_api_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))
        session.commit()

        def locked(self: Session, *args: Any, **kwargs: Any) -> None:
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            monkeypatch.setattr(Session, "commit", locked)
            response = client.post(
                "/api/v1/parties",
                json={"code": "NEWCO", "name": "New Co", "kind": "supplier", "roles": ["IS"]},
                headers=op.headers,
            )
            monkeypatch.undo()
        # Nothing was committed, and the lock is SQLite's single writer being busy: the client
        # is told so and to try again (503, Retry-After), never that the write was done.
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "busy"
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Party)) == 1
