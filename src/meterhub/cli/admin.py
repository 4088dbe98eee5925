"""Operator commands for parties, users and tokens."""

from __future__ import annotations

import json

import typer

from meterhub.audit.service import Actor
from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.errors import InvalidInput, NotFound
from meterhub.kit.clock import utcnow
from meterhub.parties import service


def register(app: typer.Typer) -> None:
    party_app = typer.Typer(help="Parties and their users.", no_args_is_help=True)
    app.add_typer(party_app, name="party")

    @party_app.command("add")
    @friendly_errors
    def party_add(
        code: str,
        name: str,
        kind: str = typer.Option(..., help="supplier, network_operator, agent, shipper, ..."),
        role: list[str] = typer.Option(..., "--role", help="IS, ES, GS, ED, GT, RSA, OU, ..."),
    ) -> None:
        """Register a party."""
        with unit_of_work() as session:
            party = service.create_party(
                session,
                actor=Actor.system("cli"),
                code=code,
                name=name,
                kind=kind,
                roles=role,
                now=utcnow(),
            )
            console.print(f"party {party.code} registered")

    @party_app.command("list")
    @friendly_errors
    def party_list() -> None:
        """Every party with its roles."""
        with unit_of_work() as session:
            for p in service.list_parties(session, actor=Actor.system("cli")):
                roles = ",".join(sorted(r.role for r in p.roles))
                typer.echo(f"{p.code:10} {p.kind:18} {roles:24} {p.name}")

    user_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    @user_app.command("add")
    @friendly_errors
    def user_add(
        party: str,
        username: str,
        password: str = typer.Option(..., prompt=True, hide_input=True),
        role: list[str] = typer.Option(
            ..., "--role", help="ROLE or ROLE=EUI64 (the DUIS user ID it sends as)"
        ),
        display_name: str = "",
        email: str = typer.Option("", help="Where the user's notifications are e-mailed"),
    ) -> None:
        """Add a user to a party."""
        roles: dict[str, str | None] = {}
        for item in role:
            name, _, duis = item.partition("=")
            roles[name.strip().upper()] = duis.strip() or None
        with unit_of_work() as session:
            owner = service.party_by_code(session, party)
            if owner is None:
                raise NotFound(f"no party {party}")
            service.create_user(
                session,
                actor=Actor.system("cli"),
                party=owner,
                username=username,
                display_name=display_name,
                password=password,
                roles=roles,
                email=email or None,
                now=utcnow(),
            )
            console.print(f"user {username.lower()} added to {owner.code}")

    @user_app.command("email")
    @friendly_errors
    def user_email(username: str, address: str = typer.Argument("", help="Blank: none")) -> None:
        """Set (or, with no address, clear) where a user's notifications are e-mailed."""
        with unit_of_work() as session:
            user = service.user_by_username(session, username)
            if user is None:
                raise InvalidInput(f"no user {username}", code="unknown_user")
            service.set_user_email(
                session, actor=Actor.system("cli"), user=user, email=address, now=utcnow()
            )
            console.print(f"user {user.username}: e-mail {user.email or 'none'}")

    @user_app.command("lso")
    @friendly_errors
    def user_lso(
        username: str,
        withdraw: bool = typer.Option(False, "--withdraw", help="Take the permission away"),
    ) -> None:
        """Make a user its party's Local Security Officer (who manages the party's users in the
        portal and the API), or with --withdraw no longer one."""
        with unit_of_work() as session:
            user = service.user_by_username(session, username)
            if user is None:
                raise InvalidInput(f"no user {username}", code="unknown_user")
            service.set_user_permissions(
                session,
                actor=Actor.system("cli"),
                user=user,
                local_security_officer=not withdraw,
                now=utcnow(),
            )
            state = "no longer" if withdraw else "now"
            console.print(
                f"user {user.username} is {state} a Local Security Officer of {user.party.code}"
            )

    @user_app.command("token")
    @friendly_errors
    def user_token(username: str, label: str = "cli") -> None:
        """Issue an API bearer token for a user (printed once)."""
        with unit_of_work() as session:
            user = service.user_by_username(session, username)
            if user is None:
                raise InvalidInput(f"no user {username}", code="unknown_user")
            token = service.issue_api_token(
                session, actor=Actor.system("cli"), user=user, label=label, now=utcnow()
            )
            typer.echo(json.dumps({"username": user.username, "token": token}))
