"""The API documentation works offline: the page and everything it loads come from the hub."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

_REFERENCES = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")
_ANY_URL = re.compile(r"""https?://[^\s'"<>]+""")
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _docs_page(client: TestClient) -> str:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    return page.text


class TestApiDocs:
    def test_the_page_names_no_other_host(self, client: TestClient) -> None:
        html = _docs_page(client)
        assert _ANY_URL.findall(html) == []
        for ref in _REFERENCES.findall(html):
            parts = urlsplit(ref)
            assert not parts.scheme and not parts.netloc, ref
            assert ref.startswith("/api/v1/"), ref

    def test_the_online_spec_validator_is_off(self, client: TestClient) -> None:
        assert '"validatorUrl": null' in _docs_page(client)

    def test_every_asset_the_page_loads_is_served_with_its_type(self, client: TestClient) -> None:
        refs = [r for r in _REFERENCES.findall(_docs_page(client)) if "/assets/" in r]
        assert {r.rsplit(".", 1)[-1] for r in refs} == {"js", "css", "png"}
        for ref in refs:
            answer = client.get(ref)
            assert answer.status_code == 200, ref
            suffix = "." + ref.rsplit(".", 1)[-1]
            assert CONTENT_TYPES[suffix] in answer.headers["content-type"], ref
            assert len(answer.content) > 100

    def test_the_schema_it_documents_is_served(self, client: TestClient) -> None:
        assert "url: '/api/v1/openapi.json'" in _docs_page(client)
        spec = client.get("/api/v1/openapi.json")
        assert spec.status_code == 200
        assert spec.json()["info"]["title"] == "meterhub"

    def test_no_redoc_page_points_at_a_cdn(self, client: TestClient) -> None:
        assert client.get("/redoc").status_code == 404
        assert client.get("/api/v1/redoc").status_code == 404
