"""The sweep from the CLI (``meterhub contacts sweep --now``) and the worker's lane."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.contacts import service as contacts
from meterhub.jobs.contacts import sweep_contacts
from tests.contacts.conftest import GasWorld, raise_tog

runner = CliRunner()


class TestCli:
    def test_sweep_with_a_moved_clock_is_idempotent(self, session: Session, gas: GasWorld) -> None:
        contact = raise_tog(session, gas)
        session.close()
        early = runner.invoke(app, ["contacts", "sweep", "--now", "2024-09-09T22:00:00+00:00"])
        assert early.exit_code == 0, early.output
        assert "0 parts past their deadline moved on" in early.output
        due = runner.invoke(app, ["contacts", "sweep", "--now", "2024-09-10T00:00:00"])
        assert due.exit_code == 0, due.output
        assert "TOG accept: 1" in due.output
        again = runner.invoke(app, ["contacts", "sweep", "--now", "2024-09-10T00:00:00"])
        assert "0 parts past their deadline moved on" in again.output
        view = contacts.view(
            session, actor=gas.actor(gas.dn_login), contact_id=contact.id, now=datetime.now(UTC)
        )
        assert view.status_words == "Under investigation by the shipper"

    def test_a_bad_time_is_one_line_and_exit_2(self, gas: GasWorld) -> None:
        result = runner.invoke(app, ["contacts", "sweep", "--now", "next tuesday"])
        assert result.exit_code == 2
        assert "is not an ISO time" in result.output


class TestWorkerLane:
    def test_commits_in_chunks_until_nothing_is_due(
        self, session: Session, gas: GasWorld, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import meterhub.jobs.contacts as lane

        for _ in range(5):
            raise_tog(session, gas)
        session.close()
        monkeypatch.setattr(lane, "SWEEP_CHUNK", 2)
        result = sweep_contacts(settings, now=datetime(2024, 10, 1, tzinfo=UTC))
        assert result.moved == {("TOG", "accept"): 5}
        assert sweep_contacts(settings, now=datetime(2024, 10, 1, tzinfo=UTC)).total == 0
