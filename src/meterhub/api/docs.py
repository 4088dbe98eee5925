"""The API's documentation page, ``/api/v1/docs``, served entirely by the hub.

FastAPI's stock page loads Swagger UI from a CDN, so on a machine without internet it is blank.
Here the scripts, styles and icon come from the ``swagger-ui-bundle`` package (a dependency of
meterhub, so every install has them) under ``/api/v1/docs/assets``, and Swagger UI's online
spec validator is switched off: opening the page makes no request to any other host. ReDoc is
not served (``redoc_url=None``): one documentation page is enough, and it would need its own
bundle.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Serve Swagger UI at ``DOCS_PATH`` with its assets from the installed package."""
    app.mount(ASSETS_PATH, StaticFiles(directory=Path(str(swagger_ui_path))), name="docs_assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
