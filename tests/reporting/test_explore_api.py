"""``/api/v1/reports/{party}``: the report page's tables as JSON under the same disclosure
control, and the caller's own frozen files; another party's anything is a 404."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.reporting.explore import CubeReader, ExploreQuery, explore
from tests.portal.reports_world import SECRET, ReportParties, make_report_parties, report_files
from tests.reporting.explore_lake import EVERYONE_BUT, device_ids_of

__all__ = ["report_files"]

JUNE = {"from": "2024-06-01", "to": "2024-06-30"}


@pytest.fixture
def parties(session: Session) -> ReportParties:
    return make_report_parties(session, portal=False)


@pytest.fixture
def api(
    settings: Settings, report_files: tuple[Path, Path], parties: ReportParties
) -> Iterator[TestClient]:
    lake, reports = report_files
    configured = settings.model_copy(
        update={"lake_dir": str(lake), "reports_dir": str(reports), "report_secret": SECRET}
    )
    with TestClient(create_app(configured)) as c:
        c.headers["Authorization"] = f"Bearer {parties.api_1.token}"
        yield c


class TestExplore:
    def test_the_same_numbers_as_the_page(
        self, api: TestClient, report_files: tuple[Path, Path]
    ) -> None:
        answer = api.get("/api/v1/reports/ESUP1/explore", params={**JUNE, "model": "ACME-1"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["party"] == "ESUP1" and body["role"] == "IS" and body["cohort"] == 6
        assert body["filters"] == {"model": "ACME-1"}
        reader = CubeReader(report_files[0] / "cube")
        view = explore(
            reader,
            party="ESUP1",
            query=ExploreQuery.parse(
                {**JUNE, "model": "ACME-1"}, held=None, today=date(2024, 7, 1)
            ),
            secret=SECRET.encode(),
        )
        for table_id, table in view.tables.items():
            rows = body["tables"][table_id]["rows"]
            assert [r["party"] for r in rows if "party" in r] == [
                r["party"] for r in table.rows if "party" in r
            ]
            assert [r.get("requests") for r in rows] == [r.get("requests") for r in table.rows]

    def test_peers_are_labelled_and_nothing_else_leaks(self, api: TestClient) -> None:
        body = api.get("/api/v1/reports/ESUP1/explore", params=JUNE).json()
        peers = [r for r in body["tables"]["summary"]["rows"] if r["series"] == "peer"]
        assert len(peers) == 5 and all(p["party"].startswith("Supplier ") for p in peers)
        text = str(body)
        for other in EVERYONE_BUT("ESUP1"):
            assert f"'{other}'" not in text
            for identifier in device_ids_of(other):
                assert identifier not in text

    def test_a_narrow_filter_breaks_nothing_out(self, api: TestClient) -> None:
        body = api.get("/api/v1/reports/ESUP1/explore", params={**JUNE, "model": "RARE-9"}).json()
        assert body["peers_shown"] is False
        assert body["cohort"] is None  # how few is not told either
        for table in body["tables"].values():
            assert {r.get("series", "own") for r in table["rows"]} <= {"own"}

    def test_bad_input_is_a_422_with_a_code(self, api: TestClient) -> None:
        answer = api.get("/api/v1/reports/ESUP1/explore", params={"process": "reading"})
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "bad_process"

    def test_another_partys_report_is_a_404(self, api: TestClient) -> None:
        answer = api.get("/api/v1/reports/ESUP2/explore", params=JUNE)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"

    def test_a_token_is_required(self, api: TestClient) -> None:
        answer = api.get("/api/v1/reports/ESUP1/explore", headers={"Authorization": ""})
        assert answer.status_code == 401

    def test_in_the_openapi_document(self, api: TestClient) -> None:
        paths = api.get("/api/v1/openapi.json").json()["paths"]
        assert "/api/v1/reports/{party}/explore" in paths
        assert "/api/v1/reports/{party}/runs" in paths
        names = {p["name"] for p in paths["/api/v1/reports/{party}/explore"]["get"]["parameters"]}
        assert {"from", "to", "model", "csp_region", "response_code", "breakdown"} <= names


class TestRuns:
    def test_own_runs_and_files(self, api: TestClient, report_files: tuple[Path, Path]) -> None:
        (run,) = api.get("/api/v1/reports/ESUP1/runs").json()
        assert run["month"] == "2024-06"
        names = {f["name"] for f in run["files"]}
        assert {"manifest.json", "ESUP1-2024-06.pdf", "inventory.devices.csv"} <= names
        csv_file = next(f for f in run["files"] if f["name"] == "inventory.devices.csv")
        answer = api.get(csv_file["url"])
        assert answer.status_code == 200
        expected = report_files[1] / "2024-06" / "ESUP1" / "inventory.devices.csv"
        assert answer.content == expected.read_bytes()

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/reports/ESUP2/runs",
            "/api/v1/reports/ESUP2/runs/2024-06/manifest.json",
            "/api/v1/reports/ESUP1/runs/2024-06/ESUP2-2024-06.pdf",
            "/api/v1/reports/ESUP1/runs/2024-06/..%2Fmanifest.json",
            "/api/v1/reports/ESUP1/runs/2024-07/manifest.json",
        ],
    )
    def test_anything_not_ones_own_is_a_404(self, api: TestClient, path: str) -> None:
        assert api.get(path).status_code == 404


class TestOperator:
    """The hub operator's token reads any party's reports, exactly as that party sees them."""

    @pytest.fixture
    def as_operator(self, api: TestClient, parties: ReportParties) -> TestClient:
        api.headers["Authorization"] = f"Bearer {parties.operator.token}"
        return api

    @pytest.mark.parametrize("params", [JUNE, {**JUNE, "model": "ACME-1"}, {**JUNE, "role": "IS"}])
    def test_another_partys_view_as_that_party_sees_it(
        self, as_operator: TestClient, report_files: tuple[Path, Path], params: dict[str, str]
    ) -> None:
        answer = as_operator.get("/api/v1/reports/ESUP2/explore", params=params)
        assert answer.status_code == 200
        body = answer.json()
        assert body["party"] == "ESUP2" and body["operator_view"] is True
        reader = CubeReader(report_files[0] / "cube")
        view = explore(
            reader,
            party="ESUP2",
            query=ExploreQuery.parse(params, held=None, today=date(2024, 7, 1)),
            secret=SECRET.encode(),
        )
        assert set(body["tables"]) == set(view.tables)
        for table_id, table in view.tables.items():
            rows = body["tables"][table_id]["rows"]
            assert [r.get("party") for r in rows] == [r.get("party") for r in table.rows]
            assert [r.get("requests") for r in rows] == [r.get("requests") for r in table.rows]

    def test_its_frozen_files(self, as_operator: TestClient) -> None:
        (run,) = as_operator.get("/api/v1/reports/ESUP2/runs").json()
        pdf = next(f for f in run["files"] if f["name"] == "ESUP2-2024-06.pdf")
        assert as_operator.get(pdf["url"]).content.startswith(b"%PDF")

    def test_a_party_that_does_not_exist_is_a_404(self, as_operator: TestClient) -> None:
        assert as_operator.get("/api/v1/reports/NOSUCH/explore", params=JUNE).status_code == 404

    def test_a_partys_own_view_is_not_marked_as_the_operators(self, api: TestClient) -> None:
        body = api.get("/api/v1/reports/ESUP1/explore", params=JUNE).json()
        assert body["operator_view"] is False
