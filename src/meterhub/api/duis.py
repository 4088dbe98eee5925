"""The DUIS endpoint's fast path: ``POST /api/v1/duis`` answered past the framework.

A plain ASGI middleware, the outermost of the app, reads the body (bounded by the gateway's
limit), then hands it to the gateway (``gateway.intake.handle_duis_xml``: parse, group-commit
store, answer). Everything else goes on to FastAPI, whose route for the same path runs the same
function and documents the endpoint (docs/decisions/0011-duis-intake-group-commit.md). This is
interface code, so it lives with the API, not in the gateway.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from meterhub.api.errors import error_response
from meterhub.errors import MeterhubError, PayloadTooLarge
from meterhub.gateway.intake import DUIS_PATH, Intake, handle_duis_xml
from meterhub.gateway.runtime import GatewayRuntime


class DuisFastPath:
    """Answer ``POST /api/v1/duis`` without the framework; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, *, runtime: GatewayRuntime, intake: Intake) -> None:
        self.app = app
        self.runtime = runtime
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") != DUIS_PATH
        ):
            await self.app(scope, receive, send)
            return
        authorization = ""
        length: int | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _send_error(
                        scope,
                        receive,
                        send,
                        PayloadTooLarge("bad Content-Length", code="bad_length"),
                    )
                    return
        limit = self.runtime.max_bytes
        if length is not None and length > limit:
            await _send_error(
                scope, receive, send, PayloadTooLarge(f"the body is larger than {limit} bytes")
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_error(
                    scope, receive, send, PayloadTooLarge(f"the body is larger than {limit} bytes")
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            reply = await handle_duis_xml(self.runtime, self.intake, authorization, raw)
        except MeterhubError as refused:
            await _send_error(scope, receive, send, refused)
            return
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [*reply.headers, (b"content-length", str(len(reply.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})


async def _send_error(scope: Scope, receive: Receive, send: Send, exc: MeterhubError) -> None:
    await error_response(exc)(scope, receive, send)
