"""``meterhub demo seed``: fill an empty hub with a synthetic GB estate and its logins;
``meterhub demo logins``: the logins worth trying, each with what it sees, and the hub's address."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from meterhub.audit.service import Actor
from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.config import get_settings
from meterhub.demo import logins as demo_logins
from meterhub.demo import seed as demo_seed
from meterhub.errors import InvalidInput
from meterhub.kit.clock import today, utcnow


def _parse_day(value: str | None) -> date:
    if value is None:
        return today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"--as-of {value!r} is not a date (YYYY-MM-DD)", code="bad_date"
        ) from None


def register(app: typer.Typer) -> None:
    demo_app = typer.Typer(
        help="A synthetic GB estate for demos and benchmarks.", no_args_is_help=True
    )
    app.add_typer(demo_app, name="demo")

    @demo_app.command("seed")
    @friendly_errors
    def seed(
        credentials: Path = typer.Option(
            ..., "--credentials", help="Where to write the logins (JSON, mode 0600)"
        ),
        devices: int = typer.Option(20_000, "--devices", help="Total devices, about"),
        seed: int = typer.Option(1, "--seed", help="Same seed, same estate"),
        as_of: str | None = typer.Option(
            None, "--as-of", help="The estate's today (YYYY-MM-DD); default: today"
        ),
    ) -> None:
        """Build a synthetic GB estate in the (migrated, empty) database."""
        day = _parse_day(as_of)
        demo_seed.check_size(devices)
        demo_seed.check_credentials_path(credentials)
        started = time.perf_counter()
        with (
            Progress(
                TextColumn("seeding"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("devices"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar,
            unit_of_work() as session,
        ):
            task = bar.add_task("seed", total=devices)
            result = demo_seed.seed_estate(
                session,
                actor=Actor.system("cli"),
                seed=seed,
                devices=devices,
                as_of=day,
                now=utcnow(),
                progress=lambda done: bar.update(task, completed=done),
            )
        demo_seed.write_credentials(credentials, result.credentials)
        if result.request is not None:
            demo_logins.request_path(credentials).write_bytes(result.request)
        elapsed = time.perf_counter() - started
        c = result.counts
        console.print(
            f"seeded {c['devices']:,} devices at {c['premises']:,} premises"
            f" ({c['meter_points']:,} meter points, {c['registrations']:,} registrations,"
            f" {c['parties']} parties) as of {day} in {elapsed:.1f} s;"
            f" {c['users']} logins in {credentials}"
            f" ('meterhub demo logins --credentials {credentials}' shows whom to try)",
            highlight=False,
            soft_wrap=True,
        )

    @demo_app.command("logins")
    @friendly_errors
    def logins(
        credentials: Path = typer.Option(
            ..., "--credentials", help="The credentials file 'demo seed' wrote"
        ),
    ) -> None:
        """Print the address, one login per kind of party with what it sees, and a first
        DUIS request to send (the hub's address: METERHUB_HUB_URL, else METERHUB_SERVE_HOST
        and METERHUB_SERVE_PORT)."""
        try:
            held = json.loads(credentials.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(
                f"cannot read the credentials in {credentials}: {exc}", code="bad_credentials"
            ) from None
        lines = demo_logins.table(
            held,
            hub_url=get_settings().resolved_hub_url(),
            request=demo_logins.request_path(credentials),
        )
        for line in lines:
            console.print(line, highlight=False, soft_wrap=True, markup=False)
