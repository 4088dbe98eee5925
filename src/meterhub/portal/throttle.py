"""Slowing down password guessing: failed portal logins counted per username and per address.

After ``failures_before_delay`` consecutive failures for a username (or from one client address),
each further attempt must wait a window that doubles with every failure, capped at
``max_delay_seconds``. A refused attempt is not checked and not counted, so a person locked out
for a few seconds is never pushed further back by trying again too soon.

A successful login resets the username's counter but not the address's: otherwise an attacker
holding one valid account could clear the address counter between guesses at others. Counters
quiet for ``forget_after`` start again from zero.

This module is the only code that touches ``LoginThrottle``. ``now`` is a parameter everywhere
so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.errors import TooManyAttempts
from meterhub.portal.models import LoginThrottle

USER = "user"
ADDRESS = "address"
_KEY_LENGTH = 200


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_before_delay: int = 3
    max_delay_seconds: float = 30.0
    first_delay_seconds: float = 1.0
    forget_after: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            failures_before_delay=settings.login_failures_before_delay,
            max_delay_seconds=settings.login_max_delay_seconds,
        )

    def delay_after(self, failures: int) -> float:
        """Seconds a caller must wait after ``failures`` consecutive failures."""
        extra = failures - self.failures_before_delay
        if extra < 0:
            return 0.0
        return min(self.max_delay_seconds, self.first_delay_seconds * 2.0 ** min(extra, 40))


def user_key(username: str) -> str:
    return username.strip().lower()[:_KEY_LENGTH]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:_KEY_LENGTH]


def _row(session: Session, scope: str, key: str) -> LoginThrottle | None:
    return session.scalar(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )


def _live_failures(row: LoginThrottle | None, policy: ThrottlePolicy, now: datetime) -> int:
    if row is None or now - row.last_failure_at > policy.forget_after:
        return 0
    return row.failures


def wait_seconds(
    session: Session, *, username: str, address: str | None, policy: ThrottlePolicy, now: datetime
) -> float:
    """How long this username and address must still wait before the next attempt (0 = go)."""
    wait = 0.0
    for scope, key in ((USER, user_key(username)), (ADDRESS, address_key(address))):
        row = _row(session, scope, key)
        delay = policy.delay_after(_live_failures(row, policy, now))
        if row is not None and delay > 0:
            remaining = (row.last_failure_at + timedelta(seconds=delay) - now).total_seconds()
            wait = max(wait, remaining)
    return wait


def check(
    session: Session, *, username: str, address: str | None, policy: ThrottlePolicy, now: datetime
) -> None:
    """Refuse with 429 while the username or the address is inside its waiting window."""
    wait = wait_seconds(session, username=username, address=address, policy=policy, now=now)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        unit = "second" if seconds == 1 else "seconds"
        raise TooManyAttempts(f"too many attempts, try again in {seconds} {unit}", retry_after=wait)


def _count_failure(
    session: Session, scope: str, key: str, policy: ThrottlePolicy, now: datetime
) -> None:
    row = _row(session, scope, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(scope=scope, key=key, failures=1, last_failure_at=now))
            return
        except IntegrityError:  # a concurrent failure inserted it first
            row = _row(session, scope, key)
            if row is None:
                raise
    stale = now - row.last_failure_at > policy.forget_after
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.id == row.id)
        .values(failures=1 if stale else LoginThrottle.failures + 1, last_failure_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)


def record_failure(
    session: Session, *, username: str, address: str | None, policy: ThrottlePolicy, now: datetime
) -> None:
    """Count one failed attempt against both the username and the address."""
    _count_failure(session, USER, user_key(username), policy, now)
    _count_failure(session, ADDRESS, address_key(address), policy, now)


def reset_user(session: Session, *, username: str) -> None:
    """A successful login: the username starts again from zero (the address does not)."""
    row = _row(session, USER, user_key(username))
    if row is not None:
        session.delete(row)
        session.flush()


def failures_for(session: Session, *, scope: str, key: str) -> int:
    """The stored count, for operators and tests."""
    row = _row(session, scope, key)
    return 0 if row is None else row.failures
