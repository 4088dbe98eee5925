"""FastAPI dependencies: one database session per request (committed once, at the end) and the
authenticated actor from the bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.session import get_sessionmaker
from meterhub.errors import NotAuthenticated
from meterhub.parties.models import User
from meterhub.parties.service import actor_for, user_for_token


def get_session(request: Request) -> Iterator[Session]:
    session = get_sessionmaker(request.app.state.settings.database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session)]


def current_user(request: Request, session: DbSession) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send 'Authorization: Bearer <token>'", code="missing_token")
    user = user_for_token(session, token.strip())
    if user is None:
        raise NotAuthenticated("the token is unknown or revoked", code="bad_token")
    return user


def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    return actor_for(user, "api")


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentUser = Annotated[User, Depends(current_user)]
