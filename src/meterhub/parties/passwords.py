"""Password hashing with argon2id.

The parameters are argon2-cffi's defaults (RFC 9106 low-memory profile). Test suites may set
``METERHUB_ARGON2_PROFILE=test`` for a cheap profile so that thousands of test logins stay fast;
a hash records its own parameters, so hashes made under either profile verify under both.

The rules a new password must meet are here too (:func:`check_password_rules`), for every way a
password is set: a new user, a user changing their own.
"""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from meterhub.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
# Longer passwords are refused unchecked at login: argon2 over megabytes would be a cheap way to
# load the hub. So none may be set either: it could never be used.
MAX_PASSWORD_LENGTH = 1024

if os.environ.get("METERHUB_ARGON2_PROFILE") == "test":
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
else:
    _hasher = PasswordHasher()
# A real hash to verify against when the username is unknown, so timing does not tell.
_DUMMY = _hasher.hash("meterhub-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    """Refuse a new password that is too short to resist guessing or too long to ever log in."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters", code="password_too_long"
        )
