"""A user's callback URL: where the hub pushes the responses and alerts owed to that user.

One entrance for every interface that changes it (``PUT`` and ``DELETE /api/v1/duis/callback``,
the portal's callback page): the URL is checked by the same rules, and every change is audited
with the old URL and the new one, by whom and through which interface. Pushing itself is
``gateway.pushes``; reading the URL back is ``gateway.queries.callback_url``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.errors import InvalidInput
from meterhub.gateway.models import Callback

CALLBACK_MAX_LENGTH = 500


def check_callback_url(raw: str) -> str:
    """An http(s) URL with a host, at most 500 characters, no spaces and no credentials.

    Credentials in the URL are refused: the portal shows the URL back and the audit log keeps
    it, so a password in it would be on show to everyone who can read either.
    """
    url = raw.strip()
    if not url:
        raise InvalidInput("enter a URL starting with https:// or http://", code="bad_callback_url")
    if len(url) > CALLBACK_MAX_LENGTH:
        raise InvalidInput(
            f"the URL is {len(url)} characters long; at most {CALLBACK_MAX_LENGTH} are allowed",
            code="bad_callback_url",
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidInput("the URL may not contain spaces", code="bad_callback_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{url!r} is not a valid URL", code="bad_callback_url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("the URL must start with https:// or http://", code="bad_callback_url")
    if not parts.hostname:
        raise InvalidInput(
            "the URL must name a host, e.g. https://example.com/duis", code="bad_callback_url"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the URL may not carry a user name or password", code="bad_callback_url")
    if port == 0:
        raise InvalidInput(f"{url!r} is not a valid URL", code="bad_callback_url")
    return url


def set_callback(session: Session, *, actor: Actor, url: str, now: datetime) -> str:
    """Push the actor's future responses and alerts to ``url``; audited with the old URL.
    Returns the URL as stored (trimmed); a URL the rules refuse is ``InvalidInput``."""
    if actor.user_id is None:
        raise InvalidInput("only a user can have a callback URL", code="no_user")
    checked = check_callback_url(url)
    found = session.get(Callback, actor.user_id)
    old = found.url if found else None
    if found is None:
        session.add(Callback(user_id=actor.user_id, url=checked, created_at=now))
    else:
        found.url = checked
    if old != checked:
        record(
            session,
            actor=actor,
            action="callback.set",
            object_type="duis_callback",
            object_id=str(actor.user_id),
            changes={"url": [old, checked]},
            now=now,
        )
    return checked


def clear_callback(session: Session, *, actor: Actor, now: datetime) -> bool:
    """Stop pushing to the actor: messages are then only polled. False when none was set."""
    if actor.user_id is None:
        return False
    found = session.get(Callback, actor.user_id)
    if found is None:
        return False
    record(
        session,
        actor=actor,
        action="callback.cleared",
        object_type="duis_callback",
        object_id=str(actor.user_id),
        changes={"url": [found.url, None]},
        now=now,
    )
    session.delete(found)
    return True
