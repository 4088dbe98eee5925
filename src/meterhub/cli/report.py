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
    register_cube(report_app)

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


def register_cube(report_app: typer.Typer) -> None:
    """``meterhub report cube build``: the daily rollup the report portal and API read."""
    cube_app = typer.Typer(help="The report cube (daily rollup of the lake).", no_args_is_help=True)
    report_app.add_typer(cube_app, name="cube")

    @cube_app.command("build")
    @friendly_errors
    def build(
        lake: Path | None = typer.Option(
            None, "--lake", help="Event lake (default METERHUB_LAKE_DIR)"
        ),
        cube: Path | None = typer.Option(
            None, "--cube", help="Cube directory (default <lake>/cube)"
        ),
        month: str | None = typer.Option(
            None, "--month", help="Only the days of this month, YYYY-MM"
        ),
        first: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD"),
        last: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD"),
        force: bool = typer.Option(False, "--force", help="Rebuild days that are up to date"),
    ) -> None:
        """Build or bring up to date the cube, one day at a time; days whose lake files did not
        change are skipped, so running it again is cheap and changes nothing."""
        from datetime import date

        from meterhub.reporting.cube import build_cube
        from meterhub.reporting.definitions import Period
        from meterhub.reporting.explore import cube_dir_of

        settings = get_settings()
        root = lake or (Path(settings.lake_dir) if settings.lake_dir else Path("lake"))
        target = cube or (cube_dir_of(settings) if lake is None and settings.lake_dir else None)
        try:
            period = Period.month(month) if month else None
        except ValueError:
            raise InvalidInput(f"month {month!r} is not YYYY-MM", code="bad_month") from None
        try:
            day_from = date.fromisoformat(first) if first else (period.first if period else None)
            day_to = date.fromisoformat(last) if last else (period.last if period else None)
        except ValueError:
            raise InvalidInput("--from and --to are YYYY-MM-DD", code="bad_day") from None
        with Progress(
            TextColumn("[bold]cube[/bold] {task.fields[what]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("cube", total=None, what="reading the lake")

            def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, what=what)

            result = build_cube(
                root, cube=target, first=day_from, last=day_to, force=force, progress=progress
            )
        console.print(
            f"{len(result.built)} day(s) built, {len(result.unchanged)} up to date, "
            f"{len(result.removed)} removed",
            highlight=False,
        )
