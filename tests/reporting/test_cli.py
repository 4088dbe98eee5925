"""``meterhub report run`` end to end: an estate in the database, simulated traffic, CSVs."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.db.session import get_engine
from meterhub.lake.simulate import TrafficSettings, simulate_traffic
from tests.factories import make_device, make_mpan_for, make_party, make_registration

runner = CliRunner()


@pytest.fixture
def simulated(session: Session, settings: Settings, tmp_path: Path) -> Path:
    """Two suppliers and a network operator, six homes each way, a day of traffic in June."""
    suppliers = [make_party(session, code=c, roles=("IS",)) for c in ("SUPA", "SUPB")]
    dno = make_party(session, code="DNOA", roles=("ED",))
    for home in range(6):
        mpan = make_mpan_for(home + 1)
        supplier = suppliers[home % 2]
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        hub = make_device(session, device_type="CHF", owner=supplier, model="HUB-1")
        make_device(
            session, mpxn=mpan, firmware_version=f"1.{home % 3}.0"
        ).comms_hub_id = hub.device_id
    session.commit()
    lake = tmp_path / "lake"
    simulate_traffic(
        get_engine(settings.database_url),
        lake=lake,
        start=date(2024, 6, 3),
        days=1,
        rate=0.01,
        seed=3,
        workers=1,
        settings=TrafficSettings(chunk_requests=10_000),
    )
    return lake


class TestReportRunCommand:
    def test_writes_each_recipients_csvs_and_manifest(
        self, simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("METERHUB_REPORT_SECRET", "cli secret")
        out = tmp_path / "reports"
        result = runner.invoke(
            app,
            ["report", "run", "--month", "2024-06", "--lake", str(simulated), "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        assert "CSV files for 2024-06" in result.output
        supa = out / "2024-06" / "SUPA"
        manifest = json.loads((supa / "manifest.json").read_text())
        assert {f["path"] for f in manifest["files"]} >= {
            "inventory.devices.csv",
            "business_process.srv_success.csv",
            "league_tables.process_success.csv",
        }
        with (supa / "inventory.devices.csv").open() as f:
            devices = list(csv.DictReader(f))
        assert len(devices) == 6 and {d["party"] for d in devices} == {"SUPA"}
        assert (out / "2024-06" / "DNOA" / "alerts.delivery_monthly.csv").exists()
        text = "".join(p.read_text() for p in supa.iterdir())
        assert "SUPB" not in text and "DNOA" not in text

    def test_one_party_only(self, simulated: Path, tmp_path: Path) -> None:
        out = tmp_path / "reports"
        args = ["report", "run", "--month", "2024-06", "--lake", str(simulated), "--out", str(out)]
        result = runner.invoke(app, [*args, "--party", "SUPB"])
        assert result.exit_code == 0, result.output
        assert [p.name for p in (out / "2024-06").iterdir() if p.is_dir()] == ["SUPB"]

    def test_refuses_a_bad_month_and_an_unknown_engine(self, tmp_path: Path) -> None:
        bad_month = runner.invoke(
            app, ["report", "run", "--month", "June", "--no-inventory", "--lake", str(tmp_path)]
        )
        assert bad_month.exit_code == 2 and "bad_month" in bad_month.output
        bad_engine = runner.invoke(app, ["report", "run", "--month", "2024-06", "--engine", "x"])
        assert bad_engine.exit_code == 2 and "bad_engine" in bad_engine.output
