"""The frozen monthly runs a party may download: its own CSVs, manifest and PDF, nothing else.

``meterhub report run --out DIR`` leaves ``DIR/<YYYY-MM>/<PARTY>/`` (CSVs and ``manifest.json``)
and ``DIR/<YYYY-MM>/<PARTY>-<YYYY-MM>.pdf``. With ``METERHUB_REPORTS_DIR=DIR`` the portal and the
API list a party's months and serve the files its own manifest names. A file is found only
through the caller's own manifest, never by a path taken from the request, so another party's
file, the run-level manifest (it lists every recipient) or anything outside the directory is a
404, like any other party's object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from meterhub.errors import NotFound

MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MANIFEST: Final = "manifest.json"


@dataclass(frozen=True)
class FrozenFile:
    name: str
    rows: int | None
    sha256: str
    media_type: str


@dataclass(frozen=True)
class FrozenRun:
    month: str
    party: str
    content_hash: str
    created_at: str
    engine: str
    files: list[FrozenFile]


def _manifest(reports_dir: Path, party: str, month: str) -> dict[str, Any] | None:
    path = reports_dir / month / party / MANIFEST
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if loaded.get("recipient") == party else None


def _run(party: str, month: str, manifest: dict[str, Any]) -> FrozenRun:
    files = [
        FrozenFile(f["path"], f.get("rows"), f["sha256"], "text/csv")
        for f in manifest.get("files", [])
    ]
    files.append(FrozenFile(MANIFEST, None, "", "application/json"))
    pdf = manifest.get("pdf")
    if pdf:
        files.append(FrozenFile(Path(pdf["path"]).name, None, pdf["sha256"], "application/pdf"))
    return FrozenRun(
        month=month,
        party=party,
        content_hash=manifest.get("content_hash", ""),
        created_at=manifest.get("created_at", ""),
        engine=manifest.get("engine", ""),
        files=files,
    )


def runs_of(reports_dir: Path | None, party: str) -> list[FrozenRun]:
    """``party``'s frozen runs, newest month first."""
    if reports_dir is None or not reports_dir.is_dir():
        return []
    out = []
    for entry in sorted(reports_dir.iterdir(), key=lambda p: p.name, reverse=True):
        if not MONTH.match(entry.name):
            continue
        manifest = _manifest(reports_dir, party, entry.name)
        if manifest is not None:
            out.append(_run(party, entry.name, manifest))
    return out


def run_of(reports_dir: Path | None, party: str, month: str) -> FrozenRun:
    if reports_dir is None or not MONTH.match(month):
        raise NotFound("there is no such report")
    manifest = _manifest(reports_dir, party, month)
    if manifest is None:
        raise NotFound("there is no such report")
    return _run(party, month, manifest)


def run_file(reports_dir: Path | None, party: str, month: str, name: str) -> tuple[Path, str]:
    """The path and media type of one of ``party``'s own files of ``month``."""
    run = run_of(reports_dir, party, month)
    assert reports_dir is not None
    for f in run.files:
        if f.name == name:
            folder = reports_dir / month / party
            path = folder.parent / name if f.media_type == "application/pdf" else folder / name
            if path.is_file():
                return path, f.media_type
    raise NotFound("there is no such file in your report")
