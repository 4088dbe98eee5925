"""The error tree. Every refusal the hub makes is one of these, with a stable machine code.

::

    MeterhubError (500 internal)
    ├── BadRequest (400 bad_request)
    │   └── InvalidInput (422 invalid_input)  ... field-level problems, with ``details``
    ├── NotAuthenticated (401 not_authenticated)
    │   └── LoginFailed (401 login_failed)
    ├── PermissionDenied (403 permission_denied)
    ├── NotFound (404 not_found)             ... also what another party's object looks like
    ├── Conflict (409 conflict)
    │   ├── OverlappingPeriod (409 overlapping_period)
    │   └── InvalidTransition (409 invalid_transition)
    ├── PayloadTooLarge (413 payload_too_large)
    └── TooManyAttempts (429 too_many_attempts)

The API renders these as JSON ``{"error": {"code", "message", "details"}}``, the portal as an
HTML page, the CLI as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MeterhubError(Exception):
    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code  # type: ignore[misc]

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(MeterhubError):
    code = "bad_request"
    status = 400


class InvalidInput(BadRequest):
    code = "invalid_input"
    status = 422


class NotAuthenticated(MeterhubError):
    code = "not_authenticated"
    status = 401


class LoginFailed(NotAuthenticated):
    code = "login_failed"


class PermissionDenied(MeterhubError):
    code = "permission_denied"
    status = 403


class NotFound(MeterhubError):
    code = "not_found"
    status = 404


class Conflict(MeterhubError):
    code = "conflict"
    status = 409


class OverlappingPeriod(Conflict):
    code = "overlapping_period"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PayloadTooLarge(MeterhubError):
    code = "payload_too_large"
    status = 413


class TooManyAttempts(MeterhubError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after_seconds": round(retry_after, 1)})
        self.retry_after = retry_after


class Unavailable(MeterhubError):
    """The hub cannot take this now (shutting down); nothing was changed. Try again."""

    code = "unavailable"
    status = 503
