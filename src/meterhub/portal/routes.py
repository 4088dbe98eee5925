"""Mount the portal on the app: pages under ``/portal``, static files under ``/portal/static``.

The portal calls the same services as the REST API, as the logged-in user's party, so a
page can never show more than the API would. Refusals come back as HTML pages, never JSON:
the app's handlers (a service's ``MeterhubError``, request validation, the body-size limit; see
``api/errors.py``) call ``app.state.render_portal_error`` for ``/portal`` paths, and unknown
portal paths and methods get the same page.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from meterhub.config import Settings
from meterhub.errors import MeterhubError, NotFound
from meterhub.kit.clock import utcnow
from meterhub.portal import (
    account,
    charges,
    contacts,
    duis,
    home,
    hubs,
    inbox,
    inventory,
    market,
    reports,
    transfers,
    users,
)
from meterhub.portal.sessions import SessionCookie
from meterhub.portal.web import PORTAL, render_error

STATIC = Path(__file__).parent / "static"


@functools.cache
def _page_routes() -> tuple[BaseRoute, ...]:
    """The portal's pages, built once per process and shared by every app made in it (as the
    API's are: a page reads the app's settings from ``request.app.state``)."""
    portal = APIRouter(prefix=PORTAL, include_in_schema=False)
    portal.include_router(account.router)
    portal.include_router(home.router)
    portal.include_router(inventory.router)
    portal.include_router(duis.router)
    portal.include_router(reports.router)
    portal.include_router(inbox.router)
    portal.include_router(hubs.router)
    portal.include_router(users.router)
    portal.include_router(market.router)
    portal.include_router(transfers.router)
    portal.include_router(charges.router)
    portal.include_router(contacts.router)
    built = APIRouter()
    built.include_router(portal)
    return tuple(built.routes)


def install_portal(app: FastAPI, settings: Settings) -> None:
    """Mount the portal's pages on ``app``."""
    app.state.portal_cookie = SessionCookie(settings)
    app.state.portal_clock = utcnow  # what the login throttle calls "now"; tests replace it
    app.state.render_portal_error = render_error
    app.mount(f"{PORTAL}/static", StaticFiles(directory=STATIC), name="portal_static")

    app.router.routes.extend(_page_routes())

    api_http_handler = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: Exception) -> Response:
        """404 and 405 under /portal as the portal's own page; elsewhere as before."""
        path = request.url.path
        in_portal = path == PORTAL or path.startswith(PORTAL + "/")
        if in_portal and isinstance(exc, StarletteHTTPException):
            if exc.status_code == 404:
                return render_error(request, NotFound("there is no such page in the portal"))
            code = "method_not_allowed" if exc.status_code == 405 else "http_error"
            wrapped = MeterhubError(str(exc.detail), code=code)
            wrapped.status = exc.status_code  # type: ignore[misc]
            return render_error(request, wrapped)
        if api_http_handler is None:
            raise exc
        response: Response = await api_http_handler(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)
