"""The portal's own table: failed-login counters that slow down password guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
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
