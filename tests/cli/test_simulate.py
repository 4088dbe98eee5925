"""``meterhub simulate traffic`` from the command line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from tests.factories import make_device, make_mpan_for, make_party, make_registration

runner = CliRunner()


class TestSimulateTraffic:
    def test_writes_a_day_of_traffic_to_the_lake(
        self, session: Session, settings: Settings, tmp_path: Path
    ) -> None:
        supplier = make_party(session, code="BGAS", roles=("IS",))
        dno = make_party(session, code="DNOA", roles=("ED",))
        for n in range(3):
            mpan = make_mpan_for(n + 1)
            make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
            make_device(session, device_type="ESME", mpxn=mpan)
        session.commit()
        lake = tmp_path / "lake"
        args = ["simulate", "traffic", "--days", "1", "--rate", "0.02", "--start", "2024-06-03"]
        result = runner.invoke(app, [*args, "--seed", "3", "--lake", str(lake), "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert "events" in result.output
        assert list((lake / "events" / "day=2024-06-03").glob("part-sim-3-*.parquet"))

    def test_bad_start_date_is_one_line_error(self, settings: Settings, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["simulate", "traffic", "--start", "3 June", "--lake", str(tmp_path)]
        )
        assert result.exit_code == 2
        assert "YYYY-MM-DD" in result.output

    def test_empty_estate_is_refused(self, settings: Settings, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["simulate", "traffic", "--start", "2024-06-03", "--lake", str(tmp_path)]
        )
        assert result.exit_code == 2
        assert "empty_estate" in result.output
