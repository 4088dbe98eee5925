"""Parties and users with e-mail addresses, for the notification tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.kit.clock import utcnow
from meterhub.parties import service as parties
from meterhub.parties.models import Party
from tests.factories import SYSTEM, Login, make_api_login


def with_email(session: Session, login: Login, email: str | None) -> Login:
    parties.set_user_email(session, actor=SYSTEM, user=login.user, email=email, now=utcnow())
    return login


def user_actor(login: Login) -> Actor:
    return parties.actor_for(login.user, "api")


def api_user(
    session: Session, party: Party, email: str | None, *, roles: tuple[str, ...] | None = None
) -> Login:
    """An API user of ``party`` (no password) with ``email``, or none."""
    login = make_api_login(session, party=party, roles=roles)
    return with_email(session, login, email)
