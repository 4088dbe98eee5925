"""``meterhub``: the operator's command line."""

from __future__ import annotations

import typer

from meterhub.cli.common import console, friendly_errors
from meterhub.config import get_settings

app = typer.Typer(
    name="meterhub",
    help="Central services of the GB smart-metering industry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(revision: str = typer.Argument("head", help="Alembic revision")) -> None:
    """Create or migrate the database named by METERHUB_DATABASE_URL."""
    from meterhub.migrations.run import current_revision, upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    console.print(f"database at revision {current_revision(url)}")


@app.command()
def serve(
    host: str | None = typer.Option(
        None, help="Address to listen on [default: METERHUB_SERVE_HOST, else 127.0.0.1]"
    ),
    port: int | None = typer.Option(
        None, help="Port to listen on [default: METERHUB_SERVE_PORT, else 8000]"
    ),
    workers: int = typer.Option(1, help="Worker processes"),
    gateway_worker: bool = typer.Option(
        True, help="Release device responses and push callbacks in this process"
    ),
) -> None:
    """Run the hub: REST API at /api/v1, portal at /portal, DUIS at /api/v1/duis."""
    import os

    import uvicorn

    settings = get_settings()
    host = host or settings.serve_host
    port = port or settings.serve_port
    os.environ["METERHUB_RUN_WORKER"] = "1" if gateway_worker else "0"
    get_settings.cache_clear()

    console.print(f"meterhub on http://{host}:{port}/ (portal /portal/, API /api/v1/docs)")
    uvicorn.run(
        "meterhub.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def _register_subcommands() -> None:
    from meterhub.cli import (
        admin,
        bulk,
        contacts,
        demo,
        duis,
        hubs,
        lake,
        mail,
        market,
        report,
        settlement,
        simulate,
    )

    for module in (
        admin,
        bulk,
        demo,
        simulate,
        duis,
        lake,
        report,
        mail,
        contacts,
        hubs,
        market,
        settlement,
    ):
        module.register(app)


_register_subcommands()
