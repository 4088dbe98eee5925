"""Portal login and logout: the password check, the throttle, and the audit trail.

Every wrong answer reads the same ("username or password is wrong"), whether the username is
unknown, the password wrong or the account inactive, and an unknown username still costs one
argon2 verification, so neither the text nor the timing says which accounts exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from meterhub.audit.service import record
from meterhub.errors import LoginFailed
from meterhub.parties.models import User
from meterhub.parties.passwords import MAX_PASSWORD_LENGTH, verify_password
from meterhub.parties.service import actor_for, note_login, user_by_username
from meterhub.portal import throttle
from meterhub.portal.throttle import ThrottlePolicy

WRONG_LOGIN = "username or password is wrong"


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    address: str | None,
    policy: ThrottlePolicy,
    now: datetime,
) -> User:
    """The active user with this username and password, or ``LoginFailed``.

    Raises ``TooManyAttempts`` without looking at the password while the username or the
    address is inside its waiting window. The caller commits even when this raises
    ``LoginFailed``: the failure count must survive the refusal.
    """
    throttle.check(session, username=username, address=address, policy=policy, now=now)
    user = user_by_username(session, username) if username.strip() else None
    ok = len(password) <= MAX_PASSWORD_LENGTH and verify_password(
        user.password_hash if user is not None else None, password
    )
    if user is None or not ok or not user.active:
        throttle.record_failure(session, username=username, address=address, policy=policy, now=now)
        raise LoginFailed(WRONG_LOGIN)
    throttle.reset_user(session, username=username)
    note_login(session, user=user, now=now)
    record(
        session,
        actor=actor_for(user, "portal"),
        action="user.logged_in",
        object_type="user",
        object_id=user.username,
        changes={"address": address},
        now=now,
    )
    return user


def log_out(session: Session, *, user: User, address: str | None, now: datetime) -> None:
    """Write the logout to the audit log; the caller drops the session cookie."""
    record(
        session,
        actor=actor_for(user, "portal"),
        action="user.logged_out",
        object_type="user",
        object_id=user.username,
        changes={"address": address},
        now=now,
    )
