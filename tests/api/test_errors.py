"""How the REST API refuses: one JSON shape, a stable code, a clear message, nothing changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.parties.models import Party
from tests.factories import Login, make_api_login, make_party

PARTY = {"code": "NEWCO", "name": "New Co", "kind": "supplier", "roles": ["IS"]}


def _operator(session: Session) -> Login:
    login = make_api_login(session, party=make_party(session, code="DCC", roles=("OPERATOR",)))
    session.commit()
    return login


def _parties(session: Session) -> int:
    session.rollback()  # end this session's snapshot to see what requests committed
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Party)) or 0


class TestBodyValidation:
    def test_malformed_json_is_400(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        response = client.post(
            "/api/v1/parties",
            content=b'{"code": "NEWCO", ',
            headers={**op.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "malformed_json"
        assert error["message"] == "the request body is not valid JSON"
        assert _parties(session) == 1

    def test_unknown_field_is_422_and_named(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        response = client.post(
            "/api/v1/parties", json={**PARTY, "colour": "blue"}, headers=op.headers
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "unknown_field"
        assert "colour" in error["message"]
        assert error["details"][0]["field"] == "body.colour"
        assert _parties(session) == 1

    def test_wrong_type_is_422_invalid_input(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        response = client.post("/api/v1/parties", json={**PARTY, "roles": "IS"}, headers=op.headers)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["message"].startswith("body.roles:")
        assert [d["field"] for d in error["details"]] == ["body.roles"]
        assert _parties(session) == 1

    def test_missing_field_and_bad_date(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        body = {"supplier": "X", "agent": "Y", "valid_from": "31/12/2025"}
        response = client.post("/api/v1/appointments", json=body, headers=op.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")
        response = client.post("/api/v1/appointments", json={"supplier": "X"}, headers=op.headers)
        fields = {d["field"] for d in response.json()["error"]["details"]}
        assert fields == {"body.agent", "body.valid_from"}

    def test_bad_query_parameter(self, session: Session, client: TestClient) -> None:
        op = _operator(session)
        response = client.get("/api/v1/appointments", params={"on": "soon"}, headers=op.headers)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["field"] == "query.on"


class TestBodySizeLimit:
    def _small_client(self, settings: Settings) -> Iterator[TestClient]:
        with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 128}))) as c:
            yield c

    def test_declared_body_over_the_limit_is_413(
        self, session: Session, settings: Settings
    ) -> None:
        op = _operator(session)
        for client in self._small_client(settings):
            body = {**PARTY, "name": "x" * 100}
            response = client.post("/api/v1/parties", json=body, headers=op.headers)
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "payload_too_large"
            small = client.post(
                "/api/v1/parties", json={**PARTY, "roles": ["IS"]}, headers=op.headers
            )
            assert small.status_code == 201, small.text
        assert _parties(session) == 2

    def test_streamed_body_over_the_limit_is_413(
        self, session: Session, settings: Settings
    ) -> None:
        op = _operator(session)

        def chunks() -> Iterator[bytes]:
            yield b'{"code": "BIGCO", "name": "'
            yield b"x" * 100
            yield b'", "kind": "supplier", "roles": ["IS"]}'

        for client in self._small_client(settings):
            response = client.post(
                "/api/v1/parties",
                content=chunks(),
                headers={**op.headers, "Content-Type": "application/json"},
            )
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "payload_too_large"
        assert _parties(session) == 1

    def test_nonsense_content_length(self, session: Session, settings: Settings) -> None:
        op = _operator(session)
        for client in self._small_client(settings):
            response = client.post(
                "/api/v1/parties",
                content=b"{}",
                headers={**op.headers, "Content-Length": "lots"},
            )
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "bad_length"


class TestRouting:
    def test_no_token_is_401_json(self, client: TestClient) -> None:
        for method, path in (("GET", "/api/v1/devices"), ("POST", "/api/v1/parties")):
            response = client.request(method, path, json=PARTY if method == "POST" else None)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "missing_token"

    def test_unknown_route_is_404_json(self, client: TestClient) -> None:
        response = client.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "not_found"

    def test_wrong_method_is_405_json(self, client: TestClient) -> None:
        response = client.delete("/api/v1/parties")
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"

    def test_wrong_method_names_the_methods_the_path_has(self, client: TestClient) -> None:
        response = client.delete("/api/v1/parties")
        assert sorted(m.strip() for m in response.headers["allow"].split(",")) == ["GET", "POST"]

    def test_openapi_lists_the_endpoints(self, client: TestClient) -> None:
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        for path, method in (
            ("/api/v1/me", "get"),
            ("/api/v1/parties", "post"),
            ("/api/v1/parties/{code}", "get"),
            ("/api/v1/appointments", "post"),
            ("/api/v1/appointments/check", "get"),
            ("/api/v1/appointments/{appointment_id}/end", "post"),
            ("/api/v1/registrations", "post"),
            ("/api/v1/meter-points/{mpxn}/registrations", "get"),
            ("/api/v1/meter-points/{mpxn}/held-on", "get"),
            ("/api/v1/meter-points/{mpxn}/shippers", "get"),
            ("/api/v1/devices", "get"),
            ("/api/v1/devices", "post"),
            ("/api/v1/devices/{device_id}", "get"),
            ("/api/v1/devices/{device_id}/history", "get"),
            ("/api/v1/devices/{device_id}/status", "post"),
            ("/api/v1/devices/{device_id}/owner", "post"),
        ):
            assert method in paths.get(path, {}), f"{method.upper()} {path}"

    def test_openapi_documents_the_error_body_the_api_sends(
        self, session: Session, client: TestClient
    ) -> None:
        document = client.get("/api/v1/openapi.json").json()
        components = document["components"]["schemas"]
        answers = document["paths"]["/api/v1/parties"]["post"]["responses"]
        assert {"400", "401", "403", "409", "413", "422"} <= set(answers)
        for status in ("401", "403", "422"):
            ref = answers[status]["content"]["application/json"]["schema"]["$ref"]
            assert components[ref.rsplit("/", 1)[-1]]["required"] == ["error"]
        assert "HTTPValidationError" not in components
        sent = client.post("/api/v1/parties", json={}, headers=_operator(session).headers)
        assert sent.status_code == 422 and set(sent.json()) == {"error"}

    def test_healthz(self, client: TestClient) -> None:
        assert client.get("/healthz").json()["status"] == "ok"


class TestBusyDatabase:
    def test_a_write_that_waits_past_sqlites_lock_is_503_busy_and_changes_nothing(
        self, session: Session, settings: Settings, db_url: str
    ) -> None:
        """Many parties writing at once on the embedded database: a request that waited for the
        one write lock past its timeout is told to try again (503, Retry-After), not a 500."""
        if not db_url.startswith("sqlite"):
            pytest.skip("the single-writer lock is SQLite's")
        op = _operator(session)
        session.close()
        blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
        try:
            with TestClient(create_app(settings), raise_server_exceptions=False) as client:
                response = client.post("/api/v1/parties", json=PARTY, headers=op.headers)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "busy"
        assert _parties(session) == 1
