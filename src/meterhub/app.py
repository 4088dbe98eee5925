"""``create_app()``: the REST API under ``/api/v1`` and the portal under ``/portal``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from starlette.routing import BaseRoute

from meterhub import __version__
from meterhub.api.docs import install_docs
from meterhub.api.duis import DuisFastPath
from meterhub.api.errors import BodySizeLimit, install_error_handlers
from meterhub.api.responses import EVERY_ROUTE
from meterhub.comms_hubs.charges_endpoints import router as hub_charges_router
from meterhub.comms_hubs.endpoints import router as hubs_router
from meterhub.config import Settings, get_settings
from meterhub.contacts.endpoints import router as contacts_router
from meterhub.forecasts.endpoints import router as forecasts_router
from meterhub.gateway.endpoints import router as gateway_router
from meterhub.gateway.intake import Intake
from meterhub.gateway.runtime import GatewayRuntime
from meterhub.hub_market.endpoints import router as market_router
from meterhub.hub_market.transfer_endpoints import router as hub_transfers_router
from meterhub.inventory.endpoints import router as inventory_router
from meterhub.notifications.endpoints import router as inbox_router
from meterhub.parties.endpoints import router as parties_router
from meterhub.portal.routes import install_portal
from meterhub.registration.endpoints import router as registration_router
from meterhub.reporting.endpoints import router as reports_router
from meterhub.reporting.explore import reader_for


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the gateway's worker (release responses, push callbacks) when configured to, and
    start loading the report cube, so the first report page finds it loaded or under way."""
    app.state.duis_intake.open()
    reader = reader_for(app.state.settings)
    if reader is not None:
        reader.refresh(wait=False)
    worker = None
    if app.state.settings.run_worker:
        from meterhub.jobs.worker import Worker

        worker = Worker(app.state.settings)
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
        app.state.duis_intake.stop()


@functools.cache
def _api_routes() -> tuple[BaseRoute, ...]:
    """The API's routes, built once per process and shared by every app made in it.

    Building a route (its dependencies, its request and response models) is most of what
    making an app costs, about half a second for the whole API, and nothing in a route depends
    on the app's settings: the endpoints read those from ``request.app.state``."""
    api = APIRouter(prefix="/api/v1", responses=EVERY_ROUTE)
    api.include_router(parties_router)
    api.include_router(registration_router)
    api.include_router(inventory_router)
    api.include_router(gateway_router)
    api.include_router(reports_router)
    api.include_router(forecasts_router)
    api.include_router(inbox_router)
    api.include_router(hubs_router)
    api.include_router(market_router)
    api.include_router(hub_transfers_router)
    api.include_router(hub_charges_router)
    api.include_router(contacts_router)
    built = APIRouter()
    built.include_router(api)
    return tuple(built.routes)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="meterhub",
        version=__version__,
        description="Central services of the GB smart-metering industry.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.gateway = GatewayRuntime.from_settings(settings)
    app.state.duis_intake = Intake(app.state.gateway, settings.database_url)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so outermost: the DUIS endpoint is answered before anything else runs.
    app.add_middleware(DuisFastPath, runtime=app.state.gateway, intake=app.state.duis_intake)

    app.router.routes.extend(_api_routes())
    install_docs(app, openapi_url="/api/v1/openapi.json")

    install_portal(app, settings)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
