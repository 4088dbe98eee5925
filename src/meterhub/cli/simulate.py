"""``meterhub simulate traffic``: fill the event lake with national-shaped DUIS traffic."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from meterhub.cli.common import console, friendly_errors
from meterhub.config import get_settings
from meterhub.errors import InvalidInput


def register(app: typer.Typer) -> None:
    simulate_app = typer.Typer(
        help="Simulated traffic for testing and reports.", no_args_is_help=True
    )
    app.add_typer(simulate_app, name="simulate")

    @simulate_app.command("traffic")
    @friendly_errors
    def traffic(
        days: int = typer.Option(1, "--days", help="Days of traffic to simulate"),
        rate: float = typer.Option(850.0, "--rate", help="Mean service requests per second"),
        start: str = typer.Option("", "--start", help="First day, YYYY-MM-DD (default: today)"),
        seed: int = typer.Option(0, "--seed", help="Same seed, same traffic"),
        lake: Path = typer.Option(Path("lake"), "--lake", help="Event lake directory"),
        workers: int = typer.Option(0, "--workers", help="Processes (default: up to 2)"),
        profile: Path | None = typer.Option(
            None, "--profile", help="Network profile overrides (.toml or .json)"
        ),
    ) -> None:
        """Simulate requests, responses and alerts over the estate in the database."""
        from meterhub.db.session import get_engine
        from meterhub.lake.simulate import simulate_traffic
        from meterhub.network.model import NetworkModel, NetworkProfile

        try:
            first = datetime.strptime(start, "%Y-%m-%d").date() if start else date.today()
        except ValueError:
            raise InvalidInput(f"--start {start!r} is not YYYY-MM-DD", code="bad_date") from None
        network = NetworkModel(NetworkProfile.load(profile) if profile else None)
        engine = get_engine(get_settings().database_url)
        with Progress(
            TextColumn("[bold]simulating[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("requests, {task.fields[events]:,} events"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("traffic", total=None, events=0)

            def progress(done: int, planned: int, events: int) -> None:
                bar.update(task, completed=done, total=max(planned, done), events=events)

            summary = simulate_traffic(
                engine,
                lake=lake,
                start=first,
                days=days,
                rate=rate,
                seed=seed,
                workers=workers or None,
                network=network,
                progress=progress,
            )
        console.print(
            f"{summary.events:,} events ({summary.requests:,} requests) in {summary.files} files, "
            f"{summary.bytes_written / 2**20:,.1f} MiB, {summary.seconds:.1f}s "
            f"({summary.events / max(summary.seconds, 1e-9):,.0f} events/s) -> {lake}",
            highlight=False,
        )
