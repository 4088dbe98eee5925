"""Shared set-up for the report page tests: the explore lake with its cube, a frozen monthly run,
and the lake's parties in the database with a portal login each for two suppliers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.reporting.cube import build_cube
from tests.factories import Login, make_api_login, make_login, make_party
from tests.reporting.explore_lake import (
    GAS_SUPPLIERS,
    NETWORK,
    SUPPLIERS,
    build_explore_lake,
    device_ids_of,
)
from tests.worlds import make_world

SECRET = "report-page-test-secret"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_frozen_run(out: Path, party: str, month: str) -> None:
    """One recipient's frozen run laid out as ``meterhub report run`` leaves it: CSVs and a
    manifest under ``<out>/<month>/<party>/``, the PDF beside the folder (a stand-in: the real
    ones are tested in reporting/test_pdf.py). Written by hand so these tests depend only on the
    layout, not on a run's speed."""
    folder = out / month / party
    folder.mkdir(parents=True, exist_ok=True)
    devices = "".join(f"{month},own,{party},{d}\n" for d in sorted(device_ids_of(party)))
    files = {
        "business_process.process_success.csv": (
            f"month,series,party,process,requests\n{month},own,{party},reads,10\n"
            f"{month},industry,Industry,reads,90\n{month},peer,Supplier 3,reads,20\n"
        ),
        "inventory.devices.csv": f"month,series,party,device_id\n{devices}",
    }
    entries = []
    for name, text in files.items():
        (folder / name).write_text(text)
        entries.append(
            {
                "path": name,
                "definition": name.removesuffix(".csv") + "@1",
                "rows": text.count("\n") - 1,
                "sha256": _sha256(text.encode()),
            }
        )
    content_hash = _sha256("".join(f"{e['path']} {e['sha256']}\n" for e in entries).encode())
    pdf = out / month / f"{party}-{month}.pdf"
    pdf.write_bytes(f"%PDF-1.4 stand-in for {party}\n".encode())
    manifest = {
        "recipient": party,
        "roles": ["IS"],
        "month": month,
        "engine": "duckdb",
        "created_at": f"{month}-30T00:00:00+00:00",
        "files": entries,
        "content_hash": content_hash,
        "pdf": {"path": f"../{pdf.name}", "sha256": _sha256(pdf.read_bytes()), "pages": 1},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def build_report_files(root: Path) -> tuple[Path, Path]:
    """(lake with its cube, reports directory holding June's frozen run of two suppliers and
    the run-level manifest that lists every recipient, which no party may download)."""
    lake = build_explore_lake(root / "lake")
    build_cube(lake)
    out = root / "reports"
    for party in ("ESUP1", "ESUP2"):
        write_frozen_run(out, party, "2024-06")
    (out / "2024-06" / "manifest.json").write_text(
        json.dumps({"month": "2024-06", "recipients": {"ESUP1": "x", "ESUP2": "y"}})
    )
    return lake, out


@pytest.fixture(scope="module")
def report_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_report_files(tmp_path_factory.mktemp("report-files"))


@dataclass
class ReportParties:
    login_1: Login  # ESUP1, portal
    login_2: Login  # ESUP2, portal
    api_1: Login  # ESUP1, API only
    operator: Login  # DCC, the hub operator: portal with ``portal``, else API only


def make_report_parties(session: Session, *, portal: bool = True) -> ReportParties:
    world = make_world(session, suppliers=SUPPLIERS, network=NETWORK, dcc=True)
    assert world.dcc is not None
    parties = {p.code: p for p in world.suppliers}
    for code in GAS_SUPPLIERS:
        make_party(session, code=code, roles=("GS",))
    login_1 = make_login(session, party=parties["ESUP1"]) if portal else None
    login_2 = make_login(session, party=parties["ESUP2"]) if portal else None
    api_1 = make_api_login(session, party=parties["ESUP1"])
    make = make_login if portal else make_api_login
    operator = make(session, party=world.dcc)
    session.commit()
    return ReportParties(login_1 or api_1, login_2 or api_1, api_1, operator)


class TableCells(HTMLParser):
    """The body cells of each ``<table data-table=...>`` of a page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-table"):
            self._table = found["data-table"]
            self.tables[self._table or ""] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_cells(html: str) -> dict[str, list[list[str]]]:
    parser = TableCells()
    parser.feed(html)
    return parser.tables
