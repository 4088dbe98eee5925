"""Telling a party's users about a step that concerns the party: an inbox entry each, and an
e-mail each to those with an address.

``notify`` writes both in the caller's transaction and never commits, so a notification exists
if and only if the step that caused it committed: a hub return rolled back tells nobody, and one
that committed cannot lose its e-mail. The e-mail is only queued here; the server's worker sends
it over SMTP (``meterhub.notifications.outbox`` holds the rules, ``meterhub.jobs.mail`` the
sending). The inbox is each user's own: another user's entry is a 404, even in the same party.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.errors import InvalidInput, NotFound
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.notifications.models import Notification, OutboxMail
from meterhub.parties import service as parties

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
MAX_SUBJECT = 200
MAX_LINK = 500
#: Ids are 64-bit: a bigger number names no entry (and SQLite could not even bind it).
_ID_LIMIT = MAX_ROW_ID + 1


@dataclass(frozen=True)
class Audience:
    """Which of a party's active users a notification is for: all of them (``EVERYONE``), or
    those acting in one of ``roles`` (``Audience.in_roles("RSA")``: the agent's staff, not its
    other desks)."""

    roles: frozenset[str] | None = None

    @classmethod
    def in_roles(cls, *roles: str) -> Audience:
        if not roles:
            raise InvalidInput("an audience in roles names at least one", code="bad_audience")
        return cls(roles=frozenset(r.strip().upper() for r in roles))


EVERYONE = Audience()


def _check(kind: str, subject: str, body: str, link: str) -> tuple[str, str]:
    if len(kind) > 48 or not _KIND.match(kind):
        raise InvalidInput(
            f"notification kind {kind!r} must be dotted lower-case words", code="bad_kind"
        )
    subject = subject.strip()
    # The subject becomes an e-mail header: a line break in it would start another header.
    if not subject or len(subject) > MAX_SUBJECT or any(ord(c) < 32 for c in subject):
        raise InvalidInput(
            f"a subject is one line of 1-{MAX_SUBJECT} characters", code="bad_subject"
        )
    if not body.strip():
        raise InvalidInput("a notification says something", code="bad_body")
    # Only pages of the hub's own portal: an e-mail from the hub never sends a user elsewhere.
    if link and (
        not link.startswith("/portal/")
        or link.startswith("//")
        or len(link) > MAX_LINK
        or any(c.isspace() or ord(c) < 32 for c in link)
    ):
        raise InvalidInput(f"link {link!r} is not a portal page", code="bad_link")
    return subject, body.strip()


def notify(
    session: Session,
    *,
    party_id: int,
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    now: datetime,
    audience: Audience = EVERYONE,
) -> list[Notification]:
    """Tell ``audience`` of the party: an inbox entry per active user, and an e-mail queued per
    user with an address. Returns the inbox entries (none when the party has no such user).

    ``kind`` names the step in dotted words (``hub.returned``), for filtering and for tests;
    ``link`` is the portal page to act on (a path under ``/portal/``), or empty."""
    subject, body = _check(kind, subject, body, link)
    entries: list[Notification] = []
    for user in parties.recipients(session, party_id=party_id, roles=audience.roles):
        entry = Notification(
            party_id=party_id,
            user_id=user.id,
            kind=kind,
            subject=subject,
            body=body,
            link=link,
            created_at=now,
        )
        session.add(entry)
        entries.append(entry)
        if user.email:
            session.flush()  # the entry's id, for its e-mail
            session.add(
                OutboxMail(
                    notification_id=entry.id,
                    to_address=user.email,
                    subject=subject,
                    body=body,
                    link=link,
                    state="queued",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    session.flush()
    return entries


# ---------------------------------------------------------------- the inbox


def _own(actor: Actor) -> tuple[int, int]:
    """The inbox's owner: a user of a party. The system actor (the CLI) has none."""
    if actor.user_id is None or actor.party_id is None:
        raise NotFound("there is no inbox for this actor")
    return actor.user_id, actor.party_id


def inbox(
    session: Session,
    *,
    actor: Actor,
    unread_only: bool = False,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[Notification]:
    """The actor's own inbox, newest first, ``limit`` entries older than ``before_id``."""
    user_id, party_id = _own(actor)
    stmt = select(Notification).where(
        Notification.user_id == user_id, Notification.party_id == party_id
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id is not None and before_id < _ID_LIMIT:  # every id is below a bigger one
        stmt = stmt.where(Notification.id < before_id)
    return session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)).all()


def unread_count(session: Session, *, actor: Actor) -> int:
    """How many of the actor's inbox entries are unread (the number beside "Inbox")."""
    if actor.user_id is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == actor.user_id,
                Notification.party_id == actor.party_id,
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def entry(session: Session, *, actor: Actor, notification_id: int) -> Notification:
    """One entry of the actor's own inbox; anyone else's, in any party, is a 404."""
    user_id, party_id = _own(actor)
    if not 0 < notification_id < _ID_LIMIT:
        raise NotFound(f"no inbox entry {notification_id}")
    found = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == user_id,
            Notification.party_id == party_id,
        )
    )
    if found is None:
        raise NotFound(f"no inbox entry {notification_id}")
    return found


def mark_read(
    session: Session, *, actor: Actor, notification_id: int, now: datetime
) -> Notification:
    """Mark one of the actor's entries read; marking it again keeps the first time."""
    found = entry(session, actor=actor, notification_id=notification_id)
    if found.read_at is None:
        found.read_at = now
    return found


def mark_all_read(session: Session, *, actor: Actor, now: datetime) -> int:
    """Mark every unread entry of the actor's inbox read; returns how many."""
    user_id, party_id = _own(actor)
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.party_id == party_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
