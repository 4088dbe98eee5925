"""FastAPI dependencies: one database session per request (committed once, at the end) and the
authenticated actor from the bearer token.

What a token means (its user, or the lighter ``ApiUser`` the DUIS gateway reads in one query)
is the parties domain's (``parties.service``); this module only reads the header and hands over.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.session import begin_write, get_sessionmaker
from meterhub.errors import NotAuthenticated, NotFound
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.parties.models import User
from meterhub.parties.service import (
    ApiUser,
    actor_for,
    api_user_for_header,
    token_from_header,
    user_for_token,
)

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
    return token_from_header(authorization_of(request))


def current_user(request: Request, session: DbSession) -> User:
    token = _bearer_token(request)
    user = user_for_token(session, token)
    if user is None:
        raise NotAuthenticated("the token is unknown or revoked", code="bad_token")
    return user


def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    return actor_for(user, "api")


def current_api_user(request: Request, session: DbSession) -> ApiUser:
    return api_user_for_header(session, authorization_of(request))


def _row_id(value: int) -> int:
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound(f"there is nothing with the id {value}")
    return value


#: A row's id in a path (``/appointments/{appointment_id}``): an integer that no row can have
#: (below 1, or past the 32-bit INTEGER every table keys its rows with) is not found,
#: like any other id that names nothing, rather than reaching the database.
RowId = Annotated[int, AfterValidator(_row_id)]

CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentApiUser = Annotated[ApiUser, Depends(current_api_user)]
CurrentUser = Annotated[User, Depends(current_user)]
