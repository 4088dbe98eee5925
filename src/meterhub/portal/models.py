"""The portal's own tables: failed-login counters that slow down password guessing, and the
sessions of logged-in users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base


class LoginThrottle(Base):
    """Consecutive failed portal logins for one username or one client address.

    ``scope`` is ``user`` or ``address``; ``key`` the normalised username or the IP address.
    Unknown usernames are counted too, so the throttle never tells which accounts exist.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]


class PortalSession(Base):
    """One logged-in browser: the row the session cookie points at.

    The cookie carries a random token; only its SHA-256 is stored (``token_hash``), so a copy
    of this table opens no session. A session ends when its row goes: at logout, when the user
    ends it from another browser, when the password changes, or when it has been idle longer
    than the idle timeout or lived longer than the maximum age (checked on every request).
    ``address`` and ``user_agent`` are what the browser said at login, shown to the user so
    they can tell their own sessions from someone else's.
    """

    __tablename__ = "portal_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300), default="")
