"""Installs against the supplier's predicted volume (MP176): numbers, disclosure, export, PDF."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import get_engine
from meterhub.forecasts import service as forecasts
from meterhub.reporting.definitions import Period
from meterhub.reporting.engines import DuckDBEngine, Row
from meterhub.reporting.inventory import forecast_snapshot
from meterhub.reporting.pdf import render_recipient_pdf
from meterhub.reporting.run import RunResult, bind_inputs, compute, run_reports
from meterhub.reporting.suite import SUITE
from tests.factories import SYSTEM, make_party
from tests.reporting.scenario import MONTH, NETWORK, forecasts_beside

TOTAL = "business_process.installs_vs_forecast"
BY_REGION = "business_process.installs_vs_forecast_by_region"
Results = dict[str, list[Row]]


def numbers(results: Results, definition: str, **where: object) -> tuple[object, ...]:
    rows = [r for r in results[definition] if all(r.get(k) == v for k, v in where.items())]
    assert len(rows) == 1, rows
    r = rows[0]
    return (r["installs"], r["forecast"], r["difference"], r["installs_to_forecast_ratio"])


class TestNumbers:
    """ESUP1 installed one hub (North) against 2 predicted in North and 1 in South; ESUP2 one
    against 1; ESUP3 none against 4; GSUP1 none against 5; ESUP1's July forecast is ignored."""

    def test_each_supplier_gets_installs_predicted_difference_and_ratio(
        self, duckdb_results: Results
    ) -> None:
        assert numbers(duckdb_results, TOTAL, party="ESUP1") == (1, 3, -2, 0.3333)
        assert numbers(duckdb_results, TOTAL, party="ESUP2") == (1, 1, 0, 1.0)
        assert numbers(duckdb_results, TOTAL, party="ESUP3") == (0, 4, -4, 0.0)
        assert numbers(duckdb_results, TOTAL, party="GSUP1", role="GS") == (0, 5, -5, 0.0)

    def test_the_industry_adds_up_every_supplier_of_the_role(self, duckdb_results: Results) -> None:
        assert numbers(duckdb_results, TOTAL, scope="industry", role="IS") == (2, 8, -6, 0.25)
        assert numbers(duckdb_results, TOTAL, scope="industry", role="GS") == (0, 5, -5, 0.0)

    def test_by_region_shows_where_the_prediction_was_missed(self, duckdb_results: Results) -> None:
        assert numbers(duckdb_results, BY_REGION, party="ESUP1", csp_region="North") == (
            1,
            2,
            -1,
            0.5,
        )
        assert numbers(duckdb_results, BY_REGION, party="ESUP1", csp_region="South") == (
            0,
            1,
            -1,
            0.0,
        )
        assert numbers(
            duckdb_results, BY_REGION, scope="industry", role="IS", csp_region="North"
        ) == (2, 7, -5, 0.2857)

    def test_a_supplier_with_installs_and_no_forecast_has_an_empty_ratio(
        self, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        lake, devices = june
        engine = DuckDBEngine()
        try:
            bind_inputs(
                engine,
                lake=lake,
                period=Period.month(MONTH),
                suite=SUITE,
                database_url=None,
                scratch=tmp_path,
                devices_snapshot=devices,
            )
            results = compute(engine, period=Period.month(MONTH))
        finally:
            engine.close()
        assert numbers(results, TOTAL, party="ESUP1") == (1, 0, 1, None)


def _run(june: tuple[Path, Path], out: Path, **kw: object) -> RunResult:
    lake, devices = june
    return run_reports(
        lake=lake,
        month=MONTH,
        out=out,
        devices_snapshot=devices,
        forecasts_snapshot=forecasts_beside(devices),
        secret=b"forecast secret",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def reports(june: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(june, tmp_path_factory.mktemp("reports"))


def read(result: RunResult, party: str, definition: str) -> list[dict[str, str]]:
    path = result.directory / party / f"{definition}.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


class TestDisclosure:
    def test_only_three_electricity_suppliers_take_part_so_no_peer_is_broken_out(
        self, reports: RunResult
    ) -> None:
        """The cohort is the suppliers with installs or forecasts (ESUP1-3), under 5."""
        assert [r["series"] for r in read(reports, "ESUP1", TOTAL)] == ["own", "industry"]
        # By region, industry is shown only where two or more other suppliers contribute.
        by_region = read(reports, "ESUP1", BY_REGION)
        assert {r["series"] for r in by_region} <= {"own", "industry"}
        assert "own" in {r["series"] for r in by_region}

    def test_with_a_smaller_minimum_peers_appear_labelled_never_by_code(
        self, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        result = _run(june, tmp_path, min_cohort=3, party="ESUP1")
        rows = read(result, "ESUP1", TOTAL)
        assert [r["series"] for r in rows] == ["own", "industry", "peer", "peer"]
        assert rows[0]["party"] == "ESUP1"
        assert sorted((r["installs"], r["forecast"]) for r in rows[2:]) == [("0", "4"), ("1", "1")]
        assert all(r["party"].startswith("Supplier ") for r in rows[2:])
        text = (result.directory / "ESUP1" / f"{TOTAL}.csv").read_text()
        assert "ESUP2" not in text and "ESUP3" not in text

    def test_a_supplier_alone_in_its_role_gets_no_industry_row(self, reports: RunResult) -> None:
        """GSUP1 is the only gas supplier with installs or a forecast: an industry row would
        be its own figures, and with one more supplier that supplier's, so there is none."""
        assert [r["series"] for r in read(reports, "GSUP1", TOTAL)] == ["own"]

    def test_a_network_operator_does_not_receive_it(self, reports: RunResult) -> None:
        assert read(reports, NETWORK, TOTAL) == []


class TestPdf:
    def test_the_pdf_has_a_page_for_it_with_a_chart_of_the_ratio(
        self, reports: RunResult, tmp_path: Path
    ) -> None:
        if shutil.which("pdftotext") is None:
            pytest.skip("pdftotext (poppler-utils) is not installed: cannot read PDF text")
        pdf = render_recipient_pdf(reports.directory / "ESUP1", tmp_path / "esup1.pdf")
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf.path), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        page = next(p for p in text.split("\f") if f"{TOTAL} v1" in p)
        assert "Installs (8.14.1) against the predicted volume" in page
        assert "Installs / predicted" in page  # the chart's title: the headline measure
        assert "0.3333" in page


class TestSnapshot:
    def test_the_export_holds_the_forecasts_in_force_when_the_month_began(
        self, session: Session, settings: Settings
    ) -> None:
        make_party(session, code="ESUP", roles=("IS",))
        for installs, day in ((900, 1), (1100, 20)):
            forecasts.submit(
                session,
                actor=SYSTEM,
                supplier="ESUP",
                role="IS",
                month="2024-07",
                csp_region="North",
                installs=installs,
                now=datetime(2024, 6, day, tzinfo=UTC),
            )
        session.commit()
        table = forecast_snapshot(get_engine(settings.database_url), month="2024-07")
        assert table.to_pylist() == [
            {
                "party": "ESUP",
                "role": "IS",
                "month": "2024-07",
                "csp_region": "North",
                "installs": 1100,
            }
        ]
        assert forecast_snapshot(get_engine(settings.database_url), month="2024-06").num_rows == 0
