"""``/portal/login``, ``/portal/logout`` and the account page, ``/portal/account``.

Logging in opens a session on the server (``sessions.start``) and puts its token in the cookie;
logging out deletes it, so a copy of the cookie is worthless afterwards. On the account page a
user changes their password (the current one first, through the login throttle, so a stolen
session cannot guess it) and sees and ends their own sessions; a password change ends every
session of the user and gives the browser that made it a new one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from meterhub.api.deps import DbSession
from meterhub.errors import InvalidInput, LoginFailed, NotFound, TooManyAttempts
from meterhub.parties.models import User
from meterhub.parties.service import change_password, user_by_id
from meterhub.portal import login, sessions, throttle
from meterhub.portal.sessions import WebSession, check_csrf
from meterhub.portal.throttle import ThrottlePolicy
from meterhub.portal.web import (
    ACCOUNT_PATH,
    LOGIN_PATH,
    SECURITY_HEADERS,
    CurrentUser,
    CurrentWebSession,
    PortalUser,
    client_address,
    cookie_codec,
    logged_in_user,
    portal_now,
    redirect,
    render,
    safe_next,
    session_policy,
)

STAMP = "%Y-%m-%d %H:%M"
DONE_MESSAGES = {
    "password": "Password changed. Every other session of yours has been ended.",
    "ended": "Session ended: that browser has to log in again.",
}

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
def login_form(request: Request, db: DbSession) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if logged_in_user(request, db) is not None:
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
            now=portal_now(request),
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
    _open_session(request, db, user)
    return redirect(request, next_path)


def _open_session(request: Request, db: DbSession, user: User) -> None:
    """A new server-side session for ``user`` and a new cookie (new CSRF token) pointing at it."""
    token = sessions.start(
        db,
        user_id=user.id,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        policy=session_policy(request),
        now=portal_now(request),
    )
    request.state.web_session = WebSession.fresh(token=token)


@router.post("/logout")
def logout(
    request: Request,
    db: DbSession,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End the session on the server, drop the cookie, and audit the logout."""
    check_csrf(session, csrf_token)
    user = logged_in_user(request, db)
    if user is not None:
        login.log_out(db, user=user, address=client_address(request), now=portal_now(request))
    sessions.end(db, token=session.token)
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=SECURITY_HEADERS)
    cookie_codec(request).clear(response)
    return response


def _account_page(
    request: Request,
    db: DbSession,
    me: PortalUser,
    *,
    error: str = "",
    done: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    now = portal_now(request)
    current_id = getattr(request.state, "portal_session_id", None)
    rows: list[dict[str, Any]] = [
        {
            "id": row.id,
            "current": row.id == current_id,
            "started": row.created_at.strftime(STAMP),
            "last_seen": row.last_seen_at.strftime(STAMP),
            "address": row.address or "unknown",
            "user_agent": row.user_agent or "not given",
        }
        for row in sessions.sessions_of(
            db, user_id=me.user_id, policy=session_policy(request), now=now
        )
    ]
    rows.sort(key=lambda row: not row["current"])  # this browser first, then by last use
    settings = request.app.state.settings
    return render(
        request,
        "account.html",
        {
            "nav": "account",
            "error": error,
            "done": DONE_MESSAGES.get(done, ""),
            "sessions": rows,
            "idle_minutes": settings.session_idle_timeout_seconds // 60,
            "max_hours": settings.session_max_age_seconds // 3600,
        },
        status_code=status,
        headers=headers,
    )


@router.get("/account")
def account_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The user's password form and their live sessions."""
    return _account_page(request, db, me, done=request.query_params.get("done", ""))


@router.post("/account/password")
def password_submit(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change the password, end every session of the user, and open a new one for this browser.

    A wrong current password counts against the login throttle like a failed login (the page is
    returned, not raised, so the count is committed)."""
    check_csrf(session, csrf_token)
    user = user_by_id(db, me.user_id)
    if user is None:
        raise NotFound("there is no such user")
    now = portal_now(request)
    address = client_address(request)
    policy = ThrottlePolicy.from_settings(request.app.state.settings)
    try:
        throttle.check(db, username=user.username, address=address, policy=policy, now=now)
        if new_password != new_password_again:
            raise InvalidInput("the two new passwords differ", code="passwords_differ")
        change_password(
            db,
            actor=me.actor,
            user=user,
            current_password=current_password,
            new_password=new_password,
            now=now,
        )
    except TooManyAttempts as exc:
        retry = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return _account_page(request, db, me, error=exc.message, status=429, headers=retry)
    except InvalidInput as exc:
        if exc.code == "wrong_password":
            throttle.record_failure(
                db, username=user.username, address=address, policy=policy, now=now
            )
        return _account_page(request, db, me, error=exc.message, status=422)
    throttle.reset_user(db, username=user.username)
    sessions.end_all(db, user_id=user.id)
    _open_session(request, db, user)
    return redirect(request, f"{ACCOUNT_PATH}?done=password")


@router.post("/account/sessions/{session_id}/end")
def session_end(
    session_id: str,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End one of the user's own sessions; anyone else's is not found."""
    check_csrf(session, csrf_token)
    if not session_id.isdigit() or len(session_id) > 18:
        raise NotFound("there is no such session")
    sessions.end_one(
        db,
        actor=me.actor,
        user_id=me.user_id,
        username=me.username,
        session_id=int(session_id),
        policy=session_policy(request),
        now=portal_now(request),
    )
    return redirect(request, f"{ACCOUNT_PATH}?done=ended")
