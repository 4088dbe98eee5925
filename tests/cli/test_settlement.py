"""``meterhub settlement rate set|list``: the operator's dated unit rates."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.settlement import service

runner = CliRunner()


class TestRates:
    def test_a_rate_set_is_in_force_from_its_day_and_listed(
        self, settings: Settings, session: Session
    ) -> None:
        result = runner.invoke(
            app, ["settlement", "rate", "set", "--from", "2024-04-01", "--pence-per-kwh", "4.125"]
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "from 2024-04-01: 4.125 p/kWh"
        assert service.unit_rate_on(session, day=date(2024, 4, 2)).pence_per_mwh == 4125
        listed = runner.invoke(app, ["settlement", "rate", "list"])
        assert listed.stdout.splitlines() == [
            "default    3.500 p/kWh (until the first rate)",
            "2024-04-01 4.125 p/kWh",
        ]

    def test_a_bad_rate_is_one_line_and_exit_2(self, settings: Settings) -> None:
        result = runner.invoke(
            app, ["settlement", "rate", "set", "--from", "2024-04-01", "--pence-per-kwh", "lots"]
        )
        assert result.exit_code == 2
        assert result.stderr.strip().startswith("error: bad_rate: ")
