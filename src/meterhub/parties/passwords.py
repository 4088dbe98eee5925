"""Password hashing with argon2id.

The parameters are argon2-cffi's defaults (RFC 9106 low-memory profile). Test suites may set
``METERHUB_ARGON2_PROFILE=test`` for a cheap profile so that thousands of test logins stay fast;
a hash records its own parameters, so hashes made under either profile verify under both.
"""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
