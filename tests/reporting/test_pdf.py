"""One PDF per recipient, drawn from the run's frozen CSVs: what it shows and what it never does."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from meterhub.reporting.pdf import TABLE_ROWS, render_recipient_pdf
from meterhub.reporting.run import RunResult, run_reports
from tests.reporting.scenario import ELECTRICITY_SUPPLIERS, GAS_SUPPLIERS, MONTH, NETWORK

EVERYONE = [*ELECTRICITY_SUPPLIERS, *GAS_SUPPLIERS, NETWORK]


@pytest.fixture(scope="module")
def reports(june: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    lake, devices = june
    return run_reports(
        lake=lake,
        month=MONTH,
        out=tmp_path_factory.mktemp("reports"),
        devices_snapshot=devices,
        secret=b"pdf secret",
        pdf=True,
    )


def text_of(pdf: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_each_party_gets_one_pdf_tied_to_its_csvs(reports: RunResult) -> None:
    pdfs = sorted(p.name for p in reports.directory.glob("*.pdf"))
    assert pdfs == sorted(f"{p}-{MONTH}.pdf" for p in EVERYONE)
    for r in reports.reports:
        manifest = json.loads((r.directory / "manifest.json").read_text())
        assert r.pdf is not None
        assert (r.directory / manifest["pdf"]["path"]).resolve() == r.pdf.resolve()
        assert manifest["pdf"]["sha256"] == hashlib.sha256(r.pdf.read_bytes()).hexdigest()
        assert manifest["pdf"]["content_hash"] == r.content_hash


def test_the_pdf_names_the_party_and_its_peers_but_never_another_party(
    reports: RunResult,
) -> None:
    text = text_of(reports.report_for("ESUP1").pdf)  # type: ignore[arg-type]
    assert "ESUP1" in text and MONTH in text
    assert reports.report_for("ESUP1").content_hash in text
    csv_text = (reports.directory / "ESUP1" / "business_process.process_success.csv").read_text()
    peers = {line.split(",")[2] for line in csv_text.splitlines() if ",peer," in line}
    assert peers and all(label in text for label in peers) and "Industry" in text
    for other in EVERYONE:
        if other != "ESUP1":
            assert other not in text


def test_the_methodology_page_lists_every_definition_and_version(reports: RunResult) -> None:
    for party in ("ESUP1", NETWORK):
        r = reports.report_for(party)
        manifest = json.loads((r.directory / "manifest.json").read_text())
        pages = text_of(r.pdf).split("\f")  # type: ignore[arg-type]
        methodology = " ".join(
            " ".join(p.split()) for p in pages if "Methodology" in p and "Content hash:" in p
        )
        for d in manifest["definitions"]:
            assert f"{d['id']} version {d['version']}" in methodology
        for f in manifest["files"]:
            assert f["sha256"] in methodology
        assert manifest["content_hash"] in methodology


def test_the_same_csvs_give_the_same_pdf(reports: RunResult, tmp_path: Path) -> None:
    r = reports.report_for("GSUP1")
    again = render_recipient_pdf(r.directory, tmp_path / "again.pdf")
    assert r.pdf is not None and again.path.read_bytes() == r.pdf.read_bytes()


def test_pages_render_and_are_not_blank(reports: RunResult, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot render PDF pages")
    r = reports.report_for("ESUP1")
    manifest = json.loads((r.directory / "manifest.json").read_text())
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(r.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    # title, one page per definition, methodology
    assert len(pages) == manifest["pdf"]["pages"] >= len(manifest["definitions"]) + 2
    for page in pages:
        with Image.open(page) as image:
            low, high = image.convert("L").getextrema()
        assert low < 128 and high > 200, f"{page.name} is blank"


def test_a_data_files_page_shows_its_first_rows_and_counts_them_all(
    reports: RunResult, tmp_path: Path
) -> None:
    # A copy of a report whose device data file holds more rows than a page shows.
    report = tmp_path / "ESUP1"
    shutil.copytree(reports.report_for("ESUP1").directory, report)
    data = report / "inventory.devices.csv"
    header, first, *_ = data.read_text().splitlines()
    cells = first.split(",")
    rows = [",".join([*cells[:4], f"DEVICE-{i:04d}", *cells[5:]]) for i in range(TABLE_ROWS + 12)]
    data.write_text("\n".join([header, *rows]) + "\n")
    manifest = json.loads((report / "manifest.json").read_text())
    next(f for f in manifest["files"] if f["path"] == data.name)["rows"] = len(rows)
    (report / "manifest.json").write_text(json.dumps(manifest))

    text = " ".join(text_of(render_recipient_pdf(report, tmp_path / "big.pdf").path).split())
    assert f"Rows ({TABLE_ROWS + 12})" in text
    assert "… and 12 more rows in inventory.devices.csv" in text
    assert f"DEVICE-{TABLE_ROWS - 1:04d}" in text  # the last row the page shows
    assert f"DEVICE-{TABLE_ROWS:04d}" not in text  # the first it leaves to the CSV


def test_success_rate_axes_fit_the_rates(reports: RunResult, tmp_path: Path) -> None:
    """Rates of 0.95 to 0.99 on an axis from 0 to 1 make every party look the same: the
    axis fits the rates, and the chart says it does not start at 0."""
    r = reports.report_for("ESUP1")
    assert r.pdf is not None
    text = " ".join(text_of(r.pdf).split())
    # ESUP1's rates by process run from 0.67 to 1: the axis from 0.6, ticked every 0.1.
    assert "Success rate (axis starts at 0.6, not 0)" in text
    assert "0.6 0.7 0.8 0.9 1.0" in text
