"""``meterhub import forecasts FILE.csv``: all or nothing, each row through the forecast rules."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.forecasts.models import InstallForecast
from meterhub.kit.clock import today
from tests.bulk.helpers import count, report_rows, run_import, write_csv
from tests.factories import make_party
from tests.forecasts.test_endpoints import month_after

HEADER = ["supplier", "role", "month", "csp_region", "installs"]
NEXT = month_after(today())


class TestImportForecasts:
    def test_a_file_of_forecasts_loads_and_a_later_row_supersedes_an_earlier_one(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="ESUP", roles=("IS", "GS"))
        session.commit()
        path = write_csv(
            tmp_path,
            "forecasts.csv",
            HEADER,
            [
                ["esup", "IS", NEXT, "North", "1200"],
                ["ESUP", "GS", NEXT, "south4g", "300"],
                ["ESUP", "IS", NEXT, "North", "1250"],
            ],
        )
        result = run_import("forecasts", str(path))
        assert result.exit_code == 0, result.output
        assert "imported 3 forecasts" in result.output
        session.rollback()
        rows = session.scalars(select(InstallForecast).order_by(InstallForecast.id)).all()
        assert [(r.role, r.csp_region, r.installs, r.superseded_at is None) for r in rows] == [
            ("IS", "North", 1200, False),
            ("GS", "South4G", 300, True),
            ("IS", "North", 1250, True),
        ]
        assert rows[0].submitted_by == "import:forecasts.csv"

    def test_any_bad_row_loads_nothing_and_every_reason_is_reported(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="ESUP", roles=("IS",))
        make_party(session, code="DNO", roles=("ED",))
        session.commit()
        path = write_csv(
            tmp_path,
            "forecasts.csv",
            HEADER,
            [
                ["ESUP", "IS", NEXT, "North", "1200"],
                ["ESUP", "IS", month_after(today(), 0), "North", "10"],
                ["NOSUCH", "IS", NEXT, "North", "10"],
                ["DNO", "ED", NEXT, "North", "10"],
                ["ESUP", "IS", NEXT, "North", "1.5k"],
                ["ESUP", "IS", NEXT, "Moon", "10"],
            ],
        )
        result = run_import("forecasts", str(path))
        assert result.exit_code == 2
        assert "5 of 6 forecasts rows rejected; nothing was imported" in result.output
        report = report_rows(tmp_path / "forecasts.report.csv")
        assert [(r["line"], r["code"]) for r in report] == [
            ("3", "month_started"),
            ("4", "not_found"),
            ("5", "bad_role"),
            ("6", "bad_installs"),
            ("7", "bad_region"),
        ]
        assert count(session, InstallForecast) == 0

    def test_a_file_with_a_misspelt_column_is_refused_whole(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        path = write_csv(
            tmp_path,
            "forecasts.csv",
            ["supplier", "role", "month", "region", "installs"],
            [["ESUP", "IS", NEXT, "North", "1"]],
        )
        result = run_import("forecasts", str(path))
        assert result.exit_code == 2
        assert "bad_columns" in result.output or "unknown column" in result.output
