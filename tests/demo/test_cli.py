"""``meterhub demo seed`` as an operator runs it: logins that work, and no second estate."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.inventory.models import Device
from meterhub.parties.models import Party

runner = CliRunner()


def seed(*args: str) -> Result:
    return runner.invoke(app, ["demo", "seed", "--as-of", "2026-11-25", *args])


def devices_in(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Device)) or 0


class TestDemoSeedCommand:
    def test_credentials_file_holds_working_logins(
        self, settings: Settings, client: TestClient, tmp_path: Path
    ) -> None:
        path = tmp_path / "credentials.json"
        result = seed("--devices", "300", "--credentials", str(path))
        assert result.exit_code == 0, result.output
        assert "seeded 300 devices" in result.stdout
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        logins = json.loads(path.read_text())
        by_party = {c["party"]: c for c in logins}

        operator = by_party["DCC"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {operator['api_token']}"})
        assert me.status_code == 200
        assert me.json()["username"] == "ops@dcc.example"
        assert me.json()["is_operator"] is True

        supplier = next(c for c in logins if "IS" in c["roles"])
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {supplier['api_token']}"})
        assert me.status_code == 200
        assert me.json()["party"]["code"] == supplier["party"]
        assert me.json()["is_operator"] is False
        sent_as = {r["role"]: r["duis_user_id"] for r in me.json()["roles"]}
        assert sent_as["IS"] == supplier["duis_user_ids"]["IS"]

    def test_seeding_twice_is_refused_in_one_line_and_changes_nothing(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        first = tmp_path / "first.json"
        assert seed("--devices", "200", "--credentials", str(first)).exit_code == 0
        before = first.read_text()

        again = seed("--devices", "200", "--seed", "2", "--credentials", str(first))
        assert again.exit_code != 0
        assert again.stderr.count("\n") == 1
        assert "estate_exists" in again.stderr
        assert devices_in(session) == 200
        assert first.read_text() == before

    def test_a_bad_date_is_refused_before_anything_is_written(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = tmp_path / "credentials.json"
        result = runner.invoke(
            app, ["demo", "seed", "--as-of", "25/11/2026", "--credentials", str(path)]
        )
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert "bad_date" in result.stderr
        assert not path.exists()
        assert session.scalar(select(func.count()).select_from(Party)) == 0

    def test_a_credentials_path_in_a_missing_folder_is_refused_before_seeding(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        result = seed("--credentials", str(tmp_path / "nowhere" / "c.json"))
        assert result.exit_code == 2
        assert "bad_credentials_path" in result.stderr
        assert devices_in(session) == 0

    def test_too_few_devices_is_refused(self, settings: Settings, tmp_path: Path) -> None:
        result = seed("--devices", "5", "--credentials", str(tmp_path / "c.json"))
        assert result.exit_code == 2
        assert "bad_device_count" in result.stderr
