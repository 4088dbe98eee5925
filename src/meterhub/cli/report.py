"""``meterhub report run``: the MP176 Customer Analytics reports for a month, as CSV files and
one PDF per recipient."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from meterhub.cli.common import console, friendly_errors
from meterhub.config import get_settings
from meterhub.errors import InvalidInput

#: Keys the peer labels; set it to make re-runs of a month give the same labels. Unset, each
#: run draws its own (labels then differ between runs, which is also safe).
SECRET_ENV = "METERHUB_REPORT_SECRET"


def register(app: typer.Typer) -> None:
    report_app = typer.Typer(help="Customer Analytics Reporting (MP176).", no_args_is_help=True)
    app.add_typer(report_app, name="report")

    @report_app.command("run")
    @friendly_errors
    def run(
        month: str = typer.Option(..., "--month", help="Month to report, YYYY-MM"),
        party: str | None = typer.Option(None, "--party", help="Only this recipient's report"),
        out: Path = typer.Option(Path("reports"), "--out", help="Directory for the reports"),
        engine: str = typer.Option("duckdb", "--engine", help="duckdb or spark"),
        lake: Path = typer.Option(Path("lake"), "--lake", help="Event lake directory"),
        min_cohort: int = typer.Option(
            5, "--min-cohort", help="Fewest parties in a role before peers are broken out"
        ),
        inventory: bool = typer.Option(
            True, "--inventory/--no-inventory", help="Read the device estate from the database"
        ),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also render each recipient's PDF"),
    ) -> None:
        """Compute every report definition once and write each recipient's CSVs, manifest and
        PDF."""
        from meterhub.reporting.engines import ENGINES
        from meterhub.reporting.run import run_reports
        from meterhub.reporting.suite import SUITE

        if engine not in ENGINES:
            raise InvalidInput(f"--engine must be one of {', '.join(ENGINES)}", code="bad_engine")
        key = os.environ.get(SECRET_ENV)
        secret = key.encode() if key else secrets.token_bytes(32)
        with Progress(
            TextColumn("[bold]reporting[/bold] {task.fields[what]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("report", total=len(SUITE) + 1, what="binding the lake")

            def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, what=what)

            result = run_reports(
                lake=lake,
                month=month,
                out=out,
                engine="spark" if engine == "spark" else "duckdb",
                database_url=get_settings().database_url if inventory else None,
                party=party,
                secret=secret,
                min_cohort=min_cohort,
                progress=progress,
                pdf=pdf,
            )
        files = sum(len(r.files) for r in result.reports)
        pdfs = sum(r.pdf is not None for r in result.reports)
        console.print(
            f"{len(result.reports)} report(s), {files} CSV files for {result.month} "
            f"({result.engine}) -> {result.directory}",
            highlight=False,
        )
        if pdfs:
            console.print(f"{pdfs} PDF(s) -> {result.directory}/<PARTY>-{result.month}.pdf")
