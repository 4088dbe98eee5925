"""``meterhub hubs charges`` and ``meterhub hubs tariffs``: the operator's monthly hub charge
statements and the dated tariff they are priced by (docs/hub_charges.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from meterhub.audit.service import Actor
from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.comms_hubs import service as hubs
from meterhub.comms_hubs import statements
from meterhub.config import get_settings
from meterhub.db.session import session_scope
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow
from meterhub.parties import service as parties


@friendly_errors
def charges(
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM (one that has ended)"),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the files [default: ./hub-charges-YYYY-MM]"
    ),
    party: str | None = typer.Option(None, "--party", help="Only this party's statement"),
) -> None:
    """Write every party's hub charge statement for MONTH as CSV and PDF, from the custody
    ledger day by day; drawn again, each file is the same bytes."""
    statements.parse_month(month)
    folder = out or Path(f"hub-charges-{month}")
    with session_scope(get_settings().database_url, write=False) as session:
        party_id: int | None = None
        if party is not None:
            found = parties.party_by_code(session, party)
            if found is None:
                raise InvalidInput(f"no party {party}", code="unknown_party")
            party_id = found.id
        with Progress(
            TextColumn("[bold]hub charges[/bold] {task.fields[what]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("charges", total=1, what="reading the custody ledger")
            drawn = statements.statements_for_month(
                session, month=month, party_id=party_id, now=utcnow()
            )
            bar.update(task, completed=1, total=len(drawn) + 1)
            folder.mkdir(parents=True, exist_ok=True)
            for done, statement in enumerate(drawn, start=2):
                bar.update(task, what=statement.party_code)
                name = statements.file_name(statement)
                (folder / f"{name}.csv").write_bytes(statements.statement_csv(statement))
                (folder / f"{name}.pdf").write_bytes(statements.statement_pdf(statement))
                bar.update(task, completed=done)
    total = sum(s.total_pence for s in drawn)
    console.print(
        f"{len(drawn)} statements for {month} in {folder}: total £{total / 100:,.2f}",
        highlight=False,
    )


@friendly_errors
def tariffs_list() -> None:
    """Every figure of the hub tariff ever set, by kind, in the order they take effect."""
    table = Table("kind", "from", "pence", "reason", "set by", "recorded (UTC)")
    with session_scope(get_settings().database_url, write=False) as session:
        for t in hubs.tariff_history(session):
            table.add_row(
                t.kind,
                t.effective_from.isoformat(),
                statements.pence_text(t.amount_millipence),
                t.reason,
                t.set_by,
                f"{t.recorded_at:%Y-%m-%d %H:%M}",
            )
    console.print(table)


@friendly_errors
def tariffs_set(
    kind: str = typer.Argument(..., help="stock, fault_return or no_fault_return"),
    pence: str = typer.Option(
        ..., "--pence", help="Pence per hub (per day held, for stock), e.g. 669.643"
    ),
    effective_from: str = typer.Option(
        ..., "--from", help="First day it is in force, YYYY-MM-DD (today or later)"
    ),
    reason: str = typer.Option(..., "--reason", help="Why the figure changes"),
) -> None:
    """Set a hub charge from a day on (a new, audited figure; the past is never edited)."""
    try:
        day = date.fromisoformat(effective_from)
    except ValueError:
        raise InvalidInput(f"--from {effective_from!r} is not a day (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        figure = hubs.set_tariff(
            session,
            actor=Actor.system("cli"),
            kind=kind,
            effective_from=day,
            amount_millipence=hubs.parse_pence(pence),
            reason=reason,
            now=utcnow(),
        )
    console.print(
        f"{figure.kind} is {statements.pence_text(figure.amount_millipence)}p"
        f" from {figure.effective_from}",
        highlight=False,
    )


def register_on(hubs_app: typer.Typer) -> None:
    """Put the charge commands on the ``hubs`` group."""
    hubs_app.command("charges")(charges)
    tariffs_app = typer.Typer(help="The dated hub tariff.", no_args_is_help=True)
    tariffs_app.command("list")(tariffs_list)
    tariffs_app.command("set")(tariffs_set)
    hubs_app.add_typer(tariffs_app, name="tariffs")


def register(app: typer.Typer) -> None:
    hubs_app = typer.Typer(help="Communications Hub logistics.", no_args_is_help=True)
    app.add_typer(hubs_app, name="hubs")
    register_on(hubs_app)
