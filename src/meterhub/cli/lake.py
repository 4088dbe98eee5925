"""``meterhub lake export``: copy finished service requests from the database into the lake."""

from __future__ import annotations

from pathlib import Path

import typer

from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.kit.clock import utcnow


def register(app: typer.Typer) -> None:
    lake_app = typer.Typer(help="The event lake.", no_args_is_help=True)
    app.add_typer(lake_app, name="lake")

    @lake_app.command("export")
    @friendly_errors
    def export(
        lake: Path = typer.Option(Path("lake"), "--lake", help="Event lake directory"),
        batch: int = typer.Option(50_000, "--batch", min=1, help="Requests per file"),
    ) -> None:
        """Export every finished request (and outage alert) not yet in the lake (safe to rerun)."""
        from meterhub.lake.export import export_pending
        from meterhub.lake.writer import EventLakeWriter

        writer = EventLakeWriter(lake)
        total_requests = total_alerts = total_events = 0
        while True:
            with unit_of_work() as session:
                result = export_pending(session, writer=writer, now=utcnow(), limit=batch)
            if result.requests == 0 and result.alerts == 0:
                break
            total_requests += result.requests
            total_alerts += result.alerts
            total_events += result.events
        alerts = f" and {total_alerts} outage alerts" if total_alerts else ""
        console.print(
            f"exported {total_requests} requests{alerts} as {total_events} events to {lake}"
        )
