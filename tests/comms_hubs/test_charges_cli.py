"""``meterhub hubs charges --month`` and ``meterhub hubs tariffs list|set``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.comms_hubs import service as hubs
from meterhub.kit.clock import utcnow
from tests.comms_hubs.charges_world import Estate, estate

__all__ = ["estate"]
runner = CliRunner()


def test_charges_writes_every_partys_csv_and_pdf_the_same_each_time(
    session: Session, estate: Estate, tmp_path: Path
) -> None:
    session.commit()
    first = runner.invoke(
        app, ["hubs", "charges", "--month", "2026-10", "--out", str(tmp_path / "1")]
    )
    assert first.exit_code == 0, first.output
    assert "2 statements for 2026-10" in first.stdout
    again = runner.invoke(
        app, ["hubs", "charges", "--month", "2026-10", "--out", str(tmp_path / "2")]
    )
    assert again.exit_code == 0, again.output
    names = sorted(p.name for p in (tmp_path / "1").iterdir())
    assert names == [
        "SUPA-hub-charges-2026-10.csv",
        "SUPA-hub-charges-2026-10.pdf",
        "SUPB-hub-charges-2026-10.csv",
        "SUPB-hub-charges-2026-10.pdf",
    ]
    for name in names:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_a_bad_month_is_one_line_and_exit_status_2(estate: Estate, session: Session) -> None:
    session.commit()
    got = runner.invoke(app, ["hubs", "charges", "--month", "October"])
    assert got.exit_code == 2
    assert "bad_month" in got.output and len(got.output.strip().splitlines()) == 1


def test_tariffs_set_records_a_dated_figure_and_list_shows_it(session: Session) -> None:
    session.commit()
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    got = runner.invoke(
        app,
        [
            "hubs",
            "tariffs",
            "set",
            "stock",
            "--pence",
            "1.25",
            "--from",
            tomorrow,
            "--reason",
            "2027 charge",
        ],
    )
    assert got.exit_code == 0, got.output
    assert f"stock is 1.250p from {tomorrow}" in got.stdout
    session.rollback()
    assert (
        hubs.tariff_in_force(
            session, kind="stock", day=utcnow().date() + timedelta(days=1)
        ).amount_millipence
        == 1250
    )
    listed = runner.invoke(app, ["hubs", "tariffs", "list"], terminal_width=200)
    assert "2027 charge" in listed.stdout and "669.643" in listed.stdout
    past = runner.invoke(
        app,
        [
            "hubs",
            "tariffs",
            "set",
            "stock",
            "--pence",
            "1",
            "--from",
            "2020-01-01",
            "--reason",
            "x",
        ],
    )
    assert past.exit_code == 2 and "tariff_in_past" in past.output
