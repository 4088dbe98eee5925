"""``/portal/login`` and ``/portal/logout``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from meterhub.api.deps import DbSession
from meterhub.errors import LoginFailed, TooManyAttempts
from meterhub.parties.service import user_by_username
from meterhub.portal import login
from meterhub.portal.sessions import WebSession, check_csrf
from meterhub.portal.throttle import ThrottlePolicy
from meterhub.portal.web import (
    LOGIN_PATH,
    SECURITY_HEADERS,
    CurrentWebSession,
    client_address,
    cookie_codec,
    redirect,
    render,
    safe_next,
)

router = APIRouter()


def _login_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    error: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "login.html",
        {"next": next_path, "username": username, "error": error},
        status_code=status,
        headers=headers,
    )


@router.get("/login")
def login_form(request: Request, db: DbSession, session: CurrentWebSession) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if session.username:
        user = user_by_username(db, session.username)
        if user is not None and user.active:
            return redirect(request, next_path)
    return _login_page(request, next_path=next_path)


@router.post("/login")
def login_submit(
    request: Request,
    db: DbSession,
    session: CurrentWebSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the password (after the throttle); on success start a new session and go on."""
    check_csrf(session, csrf_token)
    next_path = safe_next(next)
    policy = ThrottlePolicy.from_settings(request.app.state.settings)
    try:
        user = login.authenticate(
            db,
            username=username,
            password=password,
            address=client_address(request),
            policy=policy,
            now=request.app.state.portal_clock(),
        )
    except LoginFailed as exc:
        # Returned, not raised: the request still commits, so the failure is counted.
        return _login_page(
            request, next_path=next_path, username=username, error=exc.message, status=401
        )
    except TooManyAttempts as exc:
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error=exc.message,
            status=429,
            headers={"Retry-After": str(max(1, round(exc.retry_after)))},
        )
    request.state.web_session = WebSession.fresh(username=user.username)
    return redirect(request, next_path)


@router.post("/logout")
def logout(
    request: Request,
    db: DbSession,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End the session: the cookie is dropped and the logout is audited."""
    check_csrf(session, csrf_token)
    user = user_by_username(db, session.username) if session.username else None
    if user is not None:
        login.log_out(
            db, user=user, address=client_address(request), now=request.app.state.portal_clock()
        )
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=SECURITY_HEADERS)
    cookie_codec(request).clear(response)
    return response
