"""Every refusal under /portal is the portal's HTML error page, whatever raised it; the API keeps
its JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.config import Settings
from tests.factories import Login, make_login, make_party
from tests.portal.conftest import log_in

_STATUS = re.compile(r'<p class="error-status">(\d+)</p>')
HUGE = 2 * 1_048_576


@pytest.fixture
def ann(session: Session) -> Login:
    found = make_login(session, party=make_party(session, roles=("IS",)), username="ann@alpha")
    session.commit()
    return found


@pytest.fixture
def logged_in(client: TestClient, ann: Login) -> TestClient:
    log_in(client, ann)
    return client


def _chunks() -> Iterator[bytes]:
    for _ in range(HUGE // 65_536 + 1):
        yield b"x" * 65_536


# (method, path, body, status): each answered without ever reaching a page's own code.
PORTAL_CASES = [
    ("GET", "/portal/alerts/abc", None, 422),
    ("GET", "/portal/requests?after=not-a-cursor&size=many", None, 422),
    ("GET", "/portal/no/such/page", None, 404),
    ("GET", "/portal/static/no-such-file.css", None, 404),
    ("DELETE", "/portal/inventory", None, 405),
    ("PUT", "/portal/", None, 405),
    ("POST", "/portal/login", b"username=" + b"a" * HUGE, 413),
    ("POST", "/portal/settings/callback", _chunks, 413),
    ("POST", "/portal/logout", b"", 403),
]


class TestPortalErrorsAreHtml:
    @pytest.mark.parametrize(("method", "path", "body", "status"), PORTAL_CASES)
    def test_logged_in_user_gets_the_error_page(
        self, logged_in: TestClient, method: str, path: str, body: object, status: int
    ) -> None:
        content = body() if callable(body) else body
        headers = {"content-type": "application/x-www-form-urlencoded"} if body else {}
        answer = logged_in.request(
            method, path, content=content, headers=headers, follow_redirects=False
        )
        assert answer.status_code == status, answer.text[:300]
        assert answer.headers["content-type"].startswith("text/html")
        assert _STATUS.findall(answer.text) == [str(status)]
        assert "default-src 'none'" in answer.headers["content-security-policy"]

    def test_a_stranger_is_sent_to_log_in_rather_than_shown_a_validation_error(
        self, client: TestClient
    ) -> None:
        answer = client.get("/portal/alerts/abc", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/portal/login?next=")

    def test_an_oversized_login_is_refused_before_anything_reads_it(
        self, client: TestClient, settings: Settings
    ) -> None:
        answer = client.post(
            "/portal/login",
            content=b"x" * (settings.max_body_bytes + 1),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert f"larger than {settings.max_body_bytes} bytes" in answer.text


API_CASES = [
    ("GET", "/api/v1/appointments/abc", None, 422),
    ("GET", "/api/v1/no/such/thing", None, 404),
    ("DELETE", "/api/v1/parties", None, 405),
    ("POST", "/api/v1/parties", b"{" + b" " * HUGE + b"}", 413),
    ("POST", "/api/v1/appointments", _chunks, 413),
]


class TestApiErrorsStayJson:
    @pytest.mark.parametrize(("method", "path", "body", "status"), API_CASES)
    def test_api_refusals_are_json(
        self, client: TestClient, ann: Login, method: str, path: str, body: object, status: int
    ) -> None:
        content = body() if callable(body) else body
        answer = client.request(
            method,
            path,
            content=content,
            headers={**ann.headers, "content-type": "application/json"},
        )
        assert answer.status_code == status, answer.text[:300]
        assert answer.headers["content-type"] == "application/json"
        assert "code" in answer.json()["error"]
