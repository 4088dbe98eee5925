"""The portal's session: a signed cookie pointing at a session row held on the server.

The cookie (signed with the hub's secret key by itsdangerous, timestamped, HttpOnly,
SameSite=Lax, Secure when ``cookie_secure``) holds a per-visitor CSRF token and, once logged
in, a random session token. The token means something only while its ``portal_session`` row
exists (only the token's SHA-256 is stored), so a session can be ended on the server: logging
out, changing the password or ending it from the account page deletes the row, and a copy of the
cookie taken earlier opens nothing. A session also ends by itself
``session_max_age_seconds`` after login, and after ``session_idle_timeout_seconds`` without a
request; both are checked against the row on every request (and the cookie's own signed
timestamp still bounds its age as before).

Every visitor, logged in or not, gets a CSRF token in the cookie; every form carries it in a
hidden field and every POST is refused (403 ``csrf_failed``) unless the two match. Logging in
issues a fresh token, so a token seen before login is worthless after it.

This module is the only code that touches ``PortalSession``. ``now`` is a parameter everywhere,
so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from meterhub.audit.service import Actor, record
from meterhub.config import Settings
from meterhub.errors import NotFound, PermissionDenied
from meterhub.portal.models import PortalSession

COOKIE_NAME = "meterhub_portal"
COOKIE_PATH = "/portal"
_ADDRESS_LENGTH = 64
_USER_AGENT_LENGTH = 300
# A session's last request is written down at most this often (it is a write per request
# otherwise); an idle session can therefore end up to this much early.
_TOUCH_AT_MOST_EVERY = timedelta(seconds=60)


@dataclass
class WebSession:
    """What the visitor's cookie says: its CSRF token and, when logged in, its session token."""

    csrf_token: str
    token: str | None = None
    changed: bool = False
    from_cookie: bool = False

    @classmethod
    def fresh(cls, token: str | None = None) -> WebSession:
        """A new session (new CSRF token) that must be sent back as a cookie."""
        return cls(csrf_token=secrets.token_urlsafe(32), token=token, changed=True)


class SessionCookie:
    """Reads and writes ``WebSession`` as a signed, timestamped cookie."""

    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(
            settings.resolved_secret_key(), salt="meterhub.portal.session"
        )
        self.max_age = settings.session_max_age_seconds
        self.secure = settings.cookie_secure

    def read(self, raw: str | None) -> WebSession | None:
        """The session in the cookie, or None when absent, tampered with or expired."""
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        csrf, token = data.get("csrf"), data.get("sid")
        if not isinstance(csrf, str) or not (token is None or isinstance(token, str)):
            return None
        return WebSession(csrf_token=csrf, token=token, from_cookie=True)

    def write(self, response: Response, session: WebSession) -> None:
        value = self._serializer.dumps({"csrf": session.csrf_token, "sid": session.token})
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=self.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax", secure=self.secure
        )


def check_csrf(session: WebSession, submitted: str | None) -> None:
    """Refuse a POST whose form token is not this session's (a forged or stale form)."""
    if (
        not session.from_cookie  # no session came with the request: nothing to match against
        or not submitted
        or not hmac.compare_digest(session.csrf_token.encode(), submitted.encode())
    ):
        raise PermissionDenied(
            "this form has expired or did not come from the portal; reload the page and try again",
            code="csrf_failed",
        )


# ---------------------------------------------------------------- sessions on the server


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``max_age`` after login, ``idle_timeout`` after its last use."""

    max_age: timedelta = timedelta(hours=8)
    idle_timeout: timedelta = timedelta(minutes=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            max_age=timedelta(seconds=settings.session_max_age_seconds),
            idle_timeout=timedelta(seconds=settings.session_idle_timeout_seconds),
        )

    @property
    def touch_every(self) -> timedelta:
        return min(_TOUCH_AT_MOST_EVERY, self.idle_timeout / 10)

    def is_live(self, row: PortalSession, now: datetime) -> bool:
        return now < row.created_at + self.max_age and now < row.last_seen_at + self.idle_timeout


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    *,
    user_id: int,
    address: str | None,
    user_agent: str,
    policy: SessionPolicy,
    now: datetime,
) -> str:
    """Open a session for a user who has just proved who they are; returns its token.

    The token goes into the cookie and is never stored. The user's sessions that have already
    ended by age or idleness are deleted here, so the table holds little more than live ones.
    """
    for old in sessions_of(session, user_id=user_id, policy=policy, now=now, live=False):
        session.delete(old)
    token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_hash=_token_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            address=(address or "")[:_ADDRESS_LENGTH] or None,
            user_agent=user_agent[:_USER_AGENT_LENGTH],
        )
    )
    session.flush()
    return token


def live_session(
    session: Session, *, token: str | None, policy: SessionPolicy, now: datetime
) -> PortalSession | None:
    """The session this token opens, or None: unknown, ended, too old or idle too long."""
    if not token:
        return None
    row = session.scalar(
        select(PortalSession).where(PortalSession.token_hash == _token_hash(token))
    )
    if row is None or not policy.is_live(row, now):
        return None
    return row


def revoked(row: PortalSession, *, revoked_at: datetime | None) -> bool:
    """Was the session opened before the user's sessions were revoked (the user disabled, or its
    password reset, through any interface)? Such a session is over."""
    return revoked_at is not None and row.created_at < revoked_at


def needs_touch(row: PortalSession, *, policy: SessionPolicy, now: datetime) -> bool:
    return now - row.last_seen_at >= policy.touch_every


def touch(session: Session, *, session_id: int, now: datetime) -> None:
    """Write down that the session was used now (what the idle timeout counts from)."""
    session.execute(
        update(PortalSession)
        .where(PortalSession.id == session_id, PortalSession.last_seen_at < now)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def end(session: Session, *, token: str | None) -> None:
    """End the session this token opens (logout); nothing to do if it has gone already."""
    if token:
        session.execute(delete(PortalSession).where(PortalSession.token_hash == _token_hash(token)))


def end_all(session: Session, *, user_id: int) -> int:
    """End every session of the user (after a password change); returns how many it ended."""
    result = session.execute(
        delete(PortalSession)
        .where(PortalSession.user_id == user_id)
        .returning(PortalSession.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def sessions_of(
    session: Session, *, user_id: int, policy: SessionPolicy, now: datetime, live: bool = True
) -> Sequence[PortalSession]:
    """The user's live sessions, most recently used first (``live=False``: the ended ones)."""
    ended = or_(
        PortalSession.created_at <= now - policy.max_age,
        PortalSession.last_seen_at <= now - policy.idle_timeout,
    )
    return session.scalars(
        select(PortalSession)
        .where(PortalSession.user_id == user_id, ~ended if live else ended)
        .order_by(PortalSession.last_seen_at.desc(), PortalSession.id.desc())
    ).all()


def end_one(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    username: str,
    session_id: int,
    policy: SessionPolicy,
    now: datetime,
) -> None:
    """The user ends one of their own live sessions (a browser left logged in elsewhere).

    Another user's session, or one already ended, is a 404 like everything else not theirs.
    """
    found = session.get(PortalSession, session_id)
    if found is None or found.user_id != user_id or not policy.is_live(found, now):
        raise NotFound("there is no such session")
    changes = {
        "session": found.id,
        "started_at": found.created_at.isoformat(),
        "address": found.address,
    }
    session.delete(found)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.session_ended",
        object_type="user",
        object_id=username,
        changes=changes,
        now=now,
    )
