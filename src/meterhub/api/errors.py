"""Render every refusal as ``{"error": {"code", "message", "details"}}`` with its HTTP status.

Under ``/portal`` the same refusals are the portal's HTML error page instead (whatever raised
them: a service, request validation, an unknown path, the body-size limit), drawn by
``app.state.render_portal_error``, which the portal installs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meterhub.errors import (
    InvalidInput,
    MeterhubError,
    PayloadTooLarge,
    TooManyAttempts,
    Unavailable,
)

PORTAL_PREFIX = "/portal"


def error_response(exc: MeterhubError) -> JSONResponse:
    headers = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "1"
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)


def _validation_details(exc: RequestValidationError) -> tuple[str, str, list[dict[str, object]]]:
    details: list[dict[str, object]] = []
    code, message = "invalid_input", "the request does not match the schema"
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            code, message = "malformed_json", "the request body is not valid JSON"
        elif err.get("type") == "extra_forbidden":
            code = "unknown_field"
            message = f"unknown field {loc[-1]!r}" if loc else "unknown field"
        details.append({"field": ".".join(loc), "problem": str(err.get("msg", ""))})
    if code == "invalid_input" and details:
        message = f"{details[0]['field']}: {details[0]['problem']}"
    return code, message, details


def in_portal(path: str) -> bool:
    return path == PORTAL_PREFIX or path.startswith(PORTAL_PREFIX + "/")


def portal_page(request: Request, exc: MeterhubError) -> Response | None:
    """The portal's HTML page for ``exc`` when the request is the portal's, else None."""
    render = getattr(request.app.state, "render_portal_error", None)
    if render is None or not in_portal(request.url.path):
        return None
    page: Response = render(request, exc)
    return page


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MeterhubError)
    async def _meterhub(request: Request, exc: MeterhubError) -> Response:
        return portal_page(request, exc) or error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        code, message, details = _validation_details(exc)
        page = portal_page(request, InvalidInput(message, code=code, details=details))
        if page is not None:
            return page
        return JSONResponse(
            {"error": {"code": code, "message": message, "details": details}},
            status_code=422 if code != "malformed_json" else 400,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Still re-raised by Starlette afterwards, so it is logged; the request's session has
        # already rolled back, so nothing it began is kept.
        error = MeterhubError("something went wrong on our side; nothing was changed")
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            # SQLite's one writer was busy past its wait (many parties writing at once): the
            # request changed nothing and may simply be sent again, so say that, not a 500.
            error = Unavailable(
                "the hub is busy with other changes; nothing was changed, try again",
                code="busy",
            )
        return portal_page(request, error) or error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
        code = codes.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _documented_methods(request) or headers.get("Allow", "")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}},
            status_code=exc.status_code,
            headers=headers,
        )


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: MeterhubError) -> None:
    """Send ``exc`` from outside the framework: the portal's page for a portal path, else JSON."""
    response = portal_page(Request(scope, receive), exc) if "app" in scope else None
    await (response or error_response(exc))(scope, receive, send)


def _documented_methods(request: Request) -> str:
    """Every method the OpenAPI document gives this path (RFC 9110: a 405 names them in
    ``Allow``). Starlette's own header names only the first route's, and a path's ``GET`` and
    ``POST`` are two routes here."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern, _, _ = compile_path(template)
        if pattern.match(request.url.path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


class BodySizeLimit:
    """Refuse bodies over the configured size before anything reads them.

    A plain ASGI middleware: a declared ``Content-Length`` over the limit is refused at once; a
    body without one (chunked) is read up to the limit, then handed on as it came. A portal
    path is refused with the portal's page, anything else in JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if scope["path"].startswith("/portal/import"):
            limit = limit * 64
        too_big = PayloadTooLarge(f"the body is larger than {limit} bytes")
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                bad = PayloadTooLarge("bad Content-Length", code="bad_length")
                await _refuse(scope, receive, send, bad)
                return
            if declared > limit:
                await _refuse(scope, receive, send, too_big)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(scope, receive, send, too_big)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
