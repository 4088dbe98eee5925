"""The portal's session: a signed cookie holding the username and a per-session CSRF token.

Nothing about the session is stored server-side. The cookie is signed with the hub's secret key
(itsdangerous) and carries its own timestamp, so it expires ``session_max_age_seconds`` after
login whatever the browser does; it is HttpOnly, SameSite=Lax, and Secure when the hub is
served over HTTPS (``cookie_secure``).

Every visitor, logged in or not, gets a CSRF token in the cookie; every form carries it in a
hidden field and every POST is refused (403 ``csrf_failed``) unless the two match. Logging in
issues a fresh token, so a token seen before login is worthless after it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from meterhub.config import Settings
from meterhub.errors import PermissionDenied

COOKIE_NAME = "meterhub_portal"
COOKIE_PATH = "/portal"


@dataclass
class WebSession:
    csrf_token: str
    username: str | None = None
    changed: bool = False
    from_cookie: bool = False

    @classmethod
    def fresh(cls, username: str | None = None) -> WebSession:
        """A new session (new CSRF token) that must be sent back as a cookie."""
        return cls(csrf_token=secrets.token_urlsafe(32), username=username, changed=True)


class SessionCookie:
    """Reads and writes ``WebSession`` as a signed, timestamped cookie."""

    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(
            settings.resolved_secret_key(), salt="meterhub.portal.session"
        )
        self.max_age = settings.session_max_age_seconds
        self.secure = settings.cookie_secure

    def read(self, raw: str | None) -> WebSession | None:
        """The session in the cookie, or None when absent, tampered with or expired."""
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        token, username = data.get("csrf"), data.get("user")
        if not isinstance(token, str) or not (username is None or isinstance(username, str)):
            return None
        return WebSession(csrf_token=token, username=username, from_cookie=True)

    def write(self, response: Response, session: WebSession) -> None:
        value = self._serializer.dumps({"csrf": session.csrf_token, "user": session.username})
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=self.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax", secure=self.secure
        )


def check_csrf(session: WebSession, submitted: str | None) -> None:
    """Refuse a POST whose form token is not this session's (a forged or stale form)."""
    if (
        not session.from_cookie  # no session came with the request: nothing to match against
        or not submitted
        or not hmac.compare_digest(session.csrf_token.encode(), submitted.encode())
    ):
        raise PermissionDenied(
            "this form has expired or did not come from the portal; reload the page and try again",
            code="csrf_failed",
        )
