"""FastAPI dependencies: one database session per request (committed once, at the end) and the
authenticated actor from the bearer token.

Two ways to turn a token into its user: :func:`current_user` loads the ``User`` entity (with its
party and roles) for endpoints that work with it; :func:`current_api_user` reads the same facts
in one Core query into an :class:`ApiUser` for the DUIS endpoint, whose every request pays for
it (thousands a second). Neither caches: a revoked token or a deactivated user is refused on the
very next request, by every worker process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.direct import Direct
from meterhub.db.session import begin_write, get_sessionmaker
from meterhub.errors import NotAuthenticated
from meterhub.parties.models import ApiToken, Party, User, UserRole
from meterhub.parties.service import _token_hash, actor_for, user_for_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed once before the response. A request that may write
    takes SQLite's write lock first (``begin_write``), so it queues behind other writers
    instead of failing on a stale read snapshot."""
    session = get_sessionmaker(request.app.state.settings.database_url)()
    try:
        if request.method not in SAFE_METHODS:
            begin_write(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit runs before the response is sent, so a write that fails to
# commit is answered with an error, never with a success the database does not hold.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def authorization_of(request: Request) -> str:
    return request.headers.get("authorization", "")


def _bearer_token(request: Request) -> str:
    return _token_from_header(authorization_of(request))


def _token_from_header(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send 'Authorization: Bearer <token>'", code="missing_token")
    return token.strip()


def current_user(request: Request, session: DbSession) -> User:
    token = _bearer_token(request)
    user = user_for_token(session, token)
    if user is None:
        raise NotAuthenticated("the token is unknown or revoked", code="bad_token")
    return user


def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    return actor_for(user, "api")


@dataclass(frozen=True)
class ApiUser:
    """What the DUIS gateway needs of the user behind a token: who, for which party, and the
    DUIS user ID of each role it acts in (``roles``: ``(role, duis_user_id)`` pairs)."""

    id: int
    party_id: int
    party_code: str
    username: str
    roles: tuple[tuple[str, str | None], ...]

    @classmethod
    def of(cls, user: User) -> ApiUser:
        return cls(
            id=user.id,
            party_id=user.party_id,
            party_code=user.party.code,
            username=user.username,
            roles=tuple((r.role, r.duis_user_id) for r in user.roles),
        )


# Built once and run on the driver (``db.direct``): every DUIS request authenticates.
_API_USER_BY_TOKEN = Direct(
    select(User.id, User.party_id, Party.code, User.username, UserRole.role, UserRole.duis_user_id)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .join(Party, Party.id == User.party_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.active.is_(True),
    )
    .order_by(UserRole.id)
)


def api_user_for_token(session: Session, token: str) -> ApiUser | None:
    """The same answer as ``user_for_token`` (unknown, revoked or inactive: None) in one query."""
    rows = _API_USER_BY_TOKEN.all(session, {"token_hash": _token_hash(token)})
    if not rows:
        return None
    first = rows[0]
    return ApiUser(
        id=first[0],
        party_id=first[1],
        party_code=first[2],
        username=first[3],
        roles=tuple((r[4], r[5]) for r in rows if r[4] is not None),
    )


def current_api_user_from_header(session: Session, authorization: str) -> ApiUser:
    """The user an ``Authorization: Bearer`` header names, or :class:`NotAuthenticated`."""
    user = api_user_for_token(session, _token_from_header(authorization))
    if user is None:
        raise NotAuthenticated("the token is unknown or revoked", code="bad_token")
    return user


def current_api_user(request: Request, session: DbSession) -> ApiUser:
    return current_api_user_from_header(session, authorization_of(request))


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentApiUser = Annotated[ApiUser, Depends(current_api_user)]
CurrentUser = Annotated[User, Depends(current_user)]
