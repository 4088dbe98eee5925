"""``meterhub settlement rate set|list``: the operator's dated unit rates for theft invoicing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import typer

from meterhub.audit.service import Actor
from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow
from meterhub.settlement import service


def register(app: typer.Typer) -> None:
    settlement_app = typer.Typer(
        help="Settlement of theft energy: unit rates for invoicing.", no_args_is_help=True
    )
    app.add_typer(settlement_app, name="settlement")
    rate_app = typer.Typer(help="The dated unit rate table.", no_args_is_help=True)
    settlement_app.add_typer(rate_app, name="rate")

    @rate_app.command("set")
    @friendly_errors
    def rate_set(
        effective_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)"),
        pence_per_kwh: str = typer.Option(..., "--pence-per-kwh", help="e.g. 4.125"),
    ) -> None:
        """Set the unit rate theft energy is invoiced at from a day on."""
        try:
            day = date.fromisoformat(effective_from)
        except ValueError:
            raise InvalidInput(
                f"--from {effective_from!r} is not a date", code="bad_date"
            ) from None
        try:
            rate = Decimal(pence_per_kwh)
        except InvalidOperation:
            raise InvalidInput(f"{pence_per_kwh!r} is not a number", code="bad_rate") from None
        with unit_of_work() as session:
            row = service.set_unit_rate(
                session,
                actor=Actor.system("cli"),
                effective_from=day,
                pence_per_kwh=rate,
                now=utcnow(),
            )
            console.print(f"from {row.effective_from}: {row.pence_per_mwh / 1000:.3f} p/kWh")

    @rate_app.command("list")
    @friendly_errors
    def rate_list() -> None:
        """The rate table, oldest first, and the default before it."""
        with unit_of_work() as session:
            typer.echo(
                f"default    {service.DEFAULT_PENCE_PER_KWH:.3f} p/kWh (until the first rate)"
            )
            for row in service.unit_rates(session):
                typer.echo(f"{row.effective_from} {row.pence_per_mwh / 1000:.3f} p/kWh")
