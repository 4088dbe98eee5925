"""``meterhub market rule``: the operator's view and change of the marketplace's published
allocation rule (MP140). A change is a new version announced ahead of the day it takes
effect (at least ``METERHUB_MARKET_RULE_NOTICE_DAYS``); every ordering party is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import typer

from meterhub.audit.service import Actor
from meterhub.cli.common import console, fail, friendly_errors, unit_of_work
from meterhub.config import get_settings
from meterhub.hub_market import service
from meterhub.kit.clock import as_utc, utcnow


def register(app: typer.Typer) -> None:
    market_app = typer.Typer(help="The stock transfer marketplace (MP140).", no_args_is_help=True)
    rule_app = typer.Typer(help="The published allocation rule.", no_args_is_help=True)
    market_app.add_typer(rule_app, name="rule")
    app.add_typer(market_app, name="market")

    @rule_app.command("show")
    @friendly_errors
    def rule_show() -> None:
        """The rule in force now, in full, and any version announced to come."""
        now = utcnow()
        with unit_of_work() as session:
            rule = service.rule_in_force(session, now=now)
            console.print(
                f"version {rule.version} ({rule.code}): {rule.title}, in force since "
                f"{as_utc(rule.effective_from):%Y-%m-%d %H:%M} UTC",
                highlight=False,
            )
            typer.echo(rule.text)
            for later in service.rule_versions(session):
                if as_utc(later.effective_from) > now:
                    console.print(
                        f"announced: version {later.version} ({later.code}) {later.title}, from "
                        f"{as_utc(later.effective_from):%Y-%m-%d %H:%M} UTC",
                        highlight=False,
                    )

    @rule_app.command("list")
    @friendly_errors
    def rule_list() -> None:
        """Every version: number, algorithm, announced, in force from, title."""
        with unit_of_work() as session:
            for r in service.rule_versions(session):
                typer.echo(
                    f"{r.version:>3} {r.code:12} announced {as_utc(r.announced_at):%Y-%m-%d}"
                    f" from {as_utc(r.effective_from):%Y-%m-%d %H:%M}  {r.title}"
                )

    @rule_app.command("announce")
    @friendly_errors
    def rule_announce(
        code: str = typer.Option(..., help=f"The algorithm: {', '.join(service.SELECTION_RULES)}"),
        title: str = typer.Option(..., help="One line parties see"),
        text_file: Path = typer.Option(..., help="The rule's full text, as parties read it"),
        effective_from: str = typer.Option(..., help="Day it takes effect (00:00 UTC), YYYY-MM-DD"),
    ) -> None:
        """Announce a new version of the rule; every ordering party is notified at once."""
        try:
            day = date.fromisoformat(effective_from)
        except ValueError:
            raise fail(
                f"effective-from {effective_from!r} is not a day written YYYY-MM-DD", 2
            ) from None
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {text_file}: {exc}", 2) from None
        with unit_of_work() as session:
            rule = service.announce_rule(
                session,
                actor=Actor.system("cli"),
                code=code,
                title=title,
                text=text,
                effective_from=datetime.combine(day, time(), tzinfo=UTC),
                notice=timedelta(days=get_settings().market_rule_notice_days),
                now=utcnow(),
            )
            console.print(
                f"version {rule.version} ({rule.code}) announced, in force from "
                f"{as_utc(rule.effective_from):%Y-%m-%d %H:%M} UTC",
                highlight=False,
            )
