"""Integers no row can have, in every route's path and query: never a server error.

The routes are read from the app itself (the API, every domain's endpoints and the portal), so
a route added later with an integer parameter is checked without anyone listing it here. An id
in the path that is out of range names nothing (404); an out-of-range integer in the query
(a polling cursor, a page size) is malformed (422).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings, get_settings
from meterhub.kit.pagination import encode_cursor
from tests.factories import make_login, make_party
from tests.portal.conftest import csrf_from, log_in

#: 2^31 is past PostgreSQL's INTEGER ids; 2^63 past SQLite's and every signed 64-bit integer.
HUGE = (2**31, 2**63, 2**64, 10**30)


@dataclass(frozen=True)
class IntParam:
    method: str
    path: str
    where: str  # "path" or "query"
    name: str
    path_params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _params(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.path_params:
        yield "path", field
    for field in dependant.query_params:
        yield "query", field
    for sub in dependant.dependencies:
        yield from _params(sub)


def int_params(app: FastAPI) -> list[IntParam]:
    """Every integer path or query parameter of every route, its dependencies' included."""
    found: list[IntParam] = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        params = list(_params(route.dependant))
        path_names = tuple(f.name for where, f in params if where == "path")
        for where, field in params:
            if field.field_info.annotation in (int, int | None):
                for method in sorted(route.methods):
                    found.append(IntParam(method, route.path, where, field.alias, path_names))
    return found


def _int_params_of_the_app() -> list[IntParam]:
    get_settings.cache_clear()
    try:
        return int_params(create_app(Settings(secret_key="enumerating-the-routes-only")))
    finally:
        get_settings.cache_clear()


INT_PARAMS = _int_params_of_the_app()


def test_the_enumeration_finds_the_routes_we_know_of() -> None:
    """Guards the enumeration itself: if it found nothing, the checks below would pass idly."""
    names = {str(p) for p in INT_PARAMS}
    assert {
        "GET /api/v1/appointments/{appointment_id} path:appointment_id",
        "POST /api/v1/appointments/{appointment_id}/end path:appointment_id",
        "GET /api/v1/forecasts/{forecast_id} path:forecast_id",
        "GET /api/v1/duis/messages query:after",
        "GET /portal/alerts/{message_id} path:message_id",
    } <= names


@pytest.fixture
def signed_in(session: Session, settings: Settings) -> Iterator[TestClient]:
    """A client that is both an API caller (bearer token) and a signed-in portal user: the
    operator, who sees most."""
    login = make_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))
    session.commit()
    with TestClient(
        create_app(settings), headers=login.headers, raise_server_exceptions=False
    ) as client:
        log_in(client, login)
        yield client


def _request(client: TestClient, param: IntParam, value: int) -> Any:
    path = param.path
    query: dict[str, Any] = {}
    for name in param.path_params:
        path = path.replace("{" + name + "}", str(value) if name == param.name else "x")
    if param.where == "query":
        query[param.name] = str(value)
    writes = param.method in ("POST", "PUT", "PATCH")
    if writes and path.startswith("/portal/"):
        # A portal form carries its CSRF token, or it is refused before the id is looked at.
        token = csrf_from(client.get("/portal/").text)
        return client.request(
            param.method, path, params=query, data={"csrf_token": token}, follow_redirects=False
        )
    body = {} if writes else None
    return client.request(param.method, path, params=query, json=body, follow_redirects=False)


@pytest.mark.parametrize("param", INT_PARAMS, ids=str)
@pytest.mark.parametrize("value", [*HUGE, -(2**63) - 1], ids=lambda v: f"{v:.3g}")
def test_an_integer_no_row_can_have_is_not_a_server_error(
    signed_in: TestClient, param: IntParam, value: int
) -> None:
    answer = _request(signed_in, param, value)
    expected = 404 if param.where == "path" else 422
    assert answer.status_code == expected, answer.text[:300]


@pytest.mark.parametrize(
    ("path", "name", "cursor"),
    [
        ("/api/v1/devices", "cursor", encode_cursor(["00-DB-12-34-56-78-90-A2", 2**63])),
        ("/portal/requests", "after", encode_cursor(["2026-11-25T16:00:00+00:00", 2**63])),
        ("/portal/requests", "before", encode_cursor(["2026-11-25T16:00:00+00:00", -(2**64)])),
        ("/portal/alerts", "after", encode_cursor([2**64])),
        ("/portal/alerts", "before", encode_cursor([2**63])),
    ],
)
def test_a_cursor_holding_a_number_no_row_can_have_is_malformed(
    signed_in: TestClient, path: str, name: str, cursor: str
) -> None:
    """Keyset cursors are opaque, but a caller can forge one (``kit.pagination``)."""
    answer = signed_in.get(path, params={name: cursor})
    assert answer.status_code == 422, answer.text[:300]
