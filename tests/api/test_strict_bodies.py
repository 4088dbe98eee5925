"""Request bodies are strict about types: a string where the schema says integer (or an integer
where it says string, a number where it says date) is refused with 422, not coerced; dates
still arrive as JSON text ``YYYY-MM-DD``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.forecasts.models import InstallForecast
from meterhub.kit.clock import today
from meterhub.kit.schema import RequestBody
from meterhub.parties.models import AgentAppointment
from tests.factories import Login, make_api_login, make_party


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for arg in get_args(annotation):
        yield from _models_in(arg)


def test_every_json_body_of_every_route_is_a_strict_request_body(settings: Settings) -> None:
    """Read from the app's routes, so a new endpoint's body cannot be left lax."""
    bodies: dict[str, type[BaseModel]] = {}
    for route in iter_route_contexts(create_app(settings).routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        for field in route.dependant.body_params:
            for model in _models_in(field.field_info.annotation):
                bodies[f"{sorted(route.methods)} {route.path}: {model.__name__}"] = model
    assert len(bodies) >= 10  # the enumeration found the API's bodies
    lax = [name for name, model in bodies.items() if not issubclass(model, RequestBody)]
    assert lax == []


@pytest.fixture
def supplier(session: Session) -> Login:
    make_party(session, code="AGNT", roles=("RSA",))
    login = make_api_login(session, party=make_party(session, code="SUPP", roles=("IS",)))
    session.commit()
    return login


def _count(session: Session, model: type[Any]) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


class TestForecasts:
    def body(self, **kw: object) -> dict[str, object]:
        month = today().replace(day=1)
        next_month = f"{month.year + month.month // 12:04d}-{month.month % 12 + 1:02d}"
        return {"role": "IS", "month": next_month, "csp_region": "North", "installs": 12, **kw}

    @pytest.mark.parametrize("installs", ["12", 12.0, True])
    def test_installs_must_be_an_integer(
        self, client: TestClient, session: Session, supplier: Login, installs: object
    ) -> None:
        r = client.post(
            "/api/v1/forecasts", json=self.body(installs=installs), headers=supplier.headers
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "body.installs"
        assert _count(session, InstallForecast) == 0

    def test_an_integer_is_accepted(
        self, client: TestClient, session: Session, supplier: Login
    ) -> None:
        r = client.post("/api/v1/forecasts", json=self.body(), headers=supplier.headers)
        assert r.status_code == 201, r.text
        assert r.json()["installs"] == 12


class TestAppointments:
    def test_a_date_written_yyyy_mm_dd_is_still_read(
        self, client: TestClient, session: Session, supplier: Login
    ) -> None:
        body = {"supplier": "SUPP", "agent": "AGNT", "valid_from": "2025-03-10"}
        r = client.post("/api/v1/appointments", json=body, headers=supplier.headers)
        assert r.status_code == 201, r.text
        ended = client.post(
            f"/api/v1/appointments/{r.json()['id']}/end",
            json={"valid_to": "2025-04-30"},
            headers=supplier.headers,
        )
        assert (ended.status_code, ended.json()["valid_to"]) == (200, "2025-04-30")

    @pytest.mark.parametrize(
        "valid_from", [0, 1741564800, "0", "86400", "2025-03-10T00:00:00", "20250310"]
    )
    def test_anything_else_is_not_a_date(
        self, client: TestClient, session: Session, supplier: Login, valid_from: object
    ) -> None:
        body = {"supplier": "SUPP", "agent": "AGNT", "valid_from": valid_from}
        r = client.post("/api/v1/appointments", json=body, headers=supplier.headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "body.valid_from"
        assert _count(session, AgentAppointment) == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/parties",
            {"code": 123, "name": "New Co", "kind": "supplier", "roles": ["IS"]},
            "body.code",
        ),
        (
            "/api/v1/parties",
            {"code": "NEWCO", "name": "New Co", "kind": "supplier", "roles": "IS"},
            "body.roles",
        ),
        (
            "/api/v1/duis/json",
            {
                "request_id": "90-B3-D5-1F-30-00-00-01:00-DB-12-00-00-00-00-01:1",
                "srv": "4.1.1",
                "service_reference": "4.1",
                "command_variant": "1",
                "body_name": "ReadInstantaneousImportRegisters",
            },
            "body.command_variant",
        ),
        ("/api/v1/devices/00-DB-12-00-00-00-00-01/status", {"status": "x", "reason": 5}, None),
    ],
)
def test_other_bodies_refuse_the_wrong_type(
    client: TestClient, session: Session, supplier: Login, path: str, body: Any, field: str | None
) -> None:
    r = client.post(path, json=body, headers=supplier.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == (field or "body.reason")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/appointments?on={day}",
        "/api/v1/meter-points/1012345678901/held-on?day={day}",
        "/api/v1/meter-points/1012345678901/shippers?from={day}&to=2025-01-31",
    ],
)
@pytest.mark.parametrize("day", ["0", "86400", "2025-1-5", "2025-02-30"])
def test_a_day_in_the_query_is_written_yyyy_mm_dd(
    client: TestClient, supplier: Login, path: str, day: str
) -> None:
    """``?on=0`` used to read as 1 January 1970 (pydantic takes a number as epoch seconds)."""
    r = client.get(path.format(day=day), headers=supplier.headers)
    assert r.status_code == 422, r.text
    assert "YYYY-MM-DD" in r.text
