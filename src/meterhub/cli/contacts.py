"""``meterhub contacts``: the Contact Management Service for the operator: apply the deadlines
that passed (the server's worker does it by itself every half minute)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from meterhub.cli.common import console, fail, friendly_errors
from meterhub.config import get_settings


def _instant(raw: str) -> datetime:
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise fail(
            f"--now {raw[:40]!r} is not an ISO time (2024-09-09T23:00:00+00:00)", 2
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def register(app: typer.Typer) -> None:
    contacts_app = typer.Typer(
        help="Contacts (the Contact Management Service).", no_args_is_help=True
    )
    app.add_typer(contacts_app, name="contacts")

    @contacts_app.command("sweep")
    @friendly_errors
    def sweep(
        now: str = typer.Option("", help="Sweep as if it were this time (ISO; UTC if no offset)"),
    ) -> None:
        """Apply every contact step whose deadline has passed, as the contact types provide
        (a Theft of Gas not answered in time is deemed accepted). Safe to run again."""
        from meterhub.jobs.contacts import sweep_contacts

        result = sweep_contacts(get_settings(), now=_instant(now) if now else None)
        for (code, action), count in sorted(result.moved.items()):
            console.print(f"{code} {action}: {count}")
        console.print(f"{result.total} parts past their deadline moved on")
