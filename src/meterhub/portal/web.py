"""What every portal page shares: templates, the visitor's session, the logged-in user, rendering.

Pages are plain HTML forms and links: the portal works with JavaScript switched off. Every page
is sent with ``Cache-Control: no-store`` (it shows a party's own data) and a Content Security
Policy that allows no script at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlencode, urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from meterhub.api.deps import SAFE_METHODS, DbSession
from meterhub.audit.service import Actor
from meterhub.db.session import session_scope
from meterhub.errors import MeterhubError, NotAuthenticated, PermissionDenied, TooManyAttempts
from meterhub.notifications import service as notifications
from meterhub.parties.models import User
from meterhub.parties.service import actor_for, may_administer_users, user_by_id
from meterhub.portal import sessions
from meterhub.portal.sessions import COOKIE_NAME, SessionCookie, SessionPolicy, WebSession

PORTAL = "/portal"
LOGIN_PATH = f"{PORTAL}/login"
HOME_PATH = f"{PORTAL}/"
ACCOUNT_PATH = f"{PORTAL}/account"
#: All a user whose password is a temporary one (new, or reset by its Local Security Officer)
#: may open until it has chosen its own: the account page and its password form.
PASSWORD_CHANGE_PATHS = frozenset({ACCOUNT_PATH, f"{ACCOUNT_PATH}/password"})

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class PortalUser:
    """The logged-in user, copied out of the database (error pages are drawn after the request's
    session has rolled back), and the actor every service call is made as."""

    user_id: int
    username: str
    display_name: str
    party_code: str
    party_name: str
    party_kind: str
    party_roles: tuple[str, ...]
    roles: tuple[tuple[str, str | None], ...]  # (user role, DUIS user ID)
    actor: Actor
    inbox_unread: int = 0  # the number beside "Inbox" in the navigation
    manages_users: bool = False  # a Local Security Officer or the operator: "Users" in the nav
    password_change_required: bool = False

    @classmethod
    def of(cls, user: User) -> PortalUser:
        return cls(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            party_code=user.party.code,
            party_name=user.party.name,
            party_kind=user.party.kind,
            party_roles=tuple(sorted(r.role for r in user.party.roles)),
            roles=tuple(sorted((r.role, r.duis_user_id) for r in user.roles)),
            actor=actor_for(user, "portal"),
            password_change_required=user.password_change_required,
        )


def cookie_codec(request: Request) -> SessionCookie:
    codec: SessionCookie = request.app.state.portal_cookie
    return codec


def web_session(request: Request) -> WebSession:
    """The visitor's session from its cookie, or a fresh anonymous one (remembered per request)."""
    existing: WebSession | None = getattr(request.state, "web_session", None)
    if existing is not None:
        return existing
    session = cookie_codec(request).read(request.cookies.get(COOKIE_NAME))
    session = session or WebSession.fresh()
    request.state.web_session = session
    return session


CurrentWebSession = Annotated[WebSession, Depends(web_session)]


def portal_now(request: Request) -> datetime:
    """The portal's clock (tests replace ``app.state.portal_clock`` to move it)."""
    now: datetime = request.app.state.portal_clock()
    return now


def session_policy(request: Request) -> SessionPolicy:
    return SessionPolicy.from_settings(request.app.state.settings)


def logged_in_user(request: Request, db: Session) -> User | None:
    """The active user whose live server-side session the visitor's cookie points at, or None.

    The session's last use is written down (at most once a minute) for the idle timeout: in the
    request's own transaction when it writes anyway, else in a short unit of work of its own,
    so a page that only reads never holds SQLite's write lock.
    """
    web = web_session(request)
    now = portal_now(request)
    policy = session_policy(request)
    row = sessions.live_session(db, token=web.token, policy=policy, now=now)
    user = user_by_id(db, row.user_id) if row is not None else None
    if (
        row is None
        or user is None
        or not user.active
        or sessions.revoked(row, revoked_at=user.sessions_revoked_at)
    ):
        return None
    if sessions.needs_touch(row, policy=policy, now=now):
        if request.method in SAFE_METHODS:
            with session_scope(request.app.state.settings.database_url) as writer:
                sessions.touch(writer, session_id=row.id, now=now)
        else:
            sessions.touch(db, session_id=row.id, now=now)
    request.state.portal_session_id = row.id
    return user


def current_user(request: Request, db: DbSession) -> PortalUser:
    """The logged-in, still active user; anyone else is sent to the login page, and a user with
    a temporary password to the account page to choose its own."""
    user = logged_in_user(request, db)
    if user is None:
        raise NotAuthenticated("log in to use the portal", code="login_required")
    found = PortalUser.of(user)
    if found.password_change_required and request.url.path not in PASSWORD_CHANGE_PATHS:
        request.state.portal_user = found
        raise PermissionDenied(
            "your password is a temporary one: choose your own first",
            code="password_change_required",
        )
    found = replace(
        found,
        inbox_unread=notifications.unread_count(db, actor=found.actor),
        manages_users=may_administer_users(db, actor=found.actor),
    )
    request.state.portal_user = found
    return found


CurrentUser = Annotated[PortalUser, Depends(current_user)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside the portal, never another site.

    ``//evil.example``, ``/\\evil.example``, ``https://...`` and anything outside ``/portal``
    fall back to the home page, so a crafted login link cannot bounce a user elsewhere.
    """
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME_PATH
    if parts.path != PORTAL and not parts.path.startswith(PORTAL + "/"):
        return HOME_PATH
    if parts.path.startswith(LOGIN_PATH) or ".." in unquote(parts.path).split("/"):
        return HOME_PATH
    return target


def login_url(next_path: str | None = None) -> str:
    if next_path and safe_next(next_path) == next_path and next_path != HOME_PATH:
        return f"{LOGIN_PATH}?{urlencode({'next': next_path})}"
    return LOGIN_PATH


def with_session_cookie(request: Request, response: Response) -> Response:
    """Send the session back when it is new or changed."""
    session = web_session(request)
    if session.changed:
        cookie_codec(request).write(response, session)
    response.headers.update(SECURITY_HEADERS)
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    session = web_session(request)
    full: dict[str, Any] = {
        "csrf_token": session.csrf_token,
        "me": getattr(request.state, "portal_user", None),
        "nav": "",
    }
    full.update(context or {})
    response = templates.TemplateResponse(
        request, template, full, status_code=status_code, headers=headers
    )
    return with_session_cookie(request, response)


def redirect(request: Request, url: str) -> Response:
    return with_session_cookie(request, RedirectResponse(url, status_code=303))


def render_error(request: Request, exc: MeterhubError) -> Response:
    """The portal's face for every refusal: a page with the status, the code and the message.

    Not being logged in is not an error to show: the visitor is sent to the login page, and
    back to the page it asked for afterwards.
    """
    if isinstance(exc, NotAuthenticated) and exc.code == "login_required":
        wanted = request.url.path
        if request.url.query:
            wanted += "?" + request.url.query
        return redirect(request, login_url(wanted if request.method == "GET" else None))
    if isinstance(exc, PermissionDenied) and exc.code == "password_change_required":
        return redirect(request, ACCOUNT_PATH)
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return render(
        request,
        "error.html",
        {"status": exc.status, "code": exc.code, "message": exc.message},
        status_code=exc.status,
        headers=headers,
    )
