"""Fixtures for the gateway's protocol tests: the DUIS reference material beside the repo.

``../shared/duis`` holds the DUIS 5.4 schema and real samples (third-party material, never copied
into the repo). Tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meterhub.gateway.xml import XsdValidator

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DUIS = SHARED / "duis"


def duis_files(folder: str) -> list[Path]:
    """The sample files in ``shared/duis/<folder>``, or none when shared/ is absent."""
    path = DUIS / folder
    return sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []


@pytest.fixture(scope="session")
def duis_dir() -> Path:
    if not DUIS.is_dir():
        pytest.skip(f"DUIS reference material not found at {DUIS}")
    return DUIS


@pytest.fixture(scope="session")
def xsd(duis_dir: Path) -> XsdValidator:
    return XsdValidator(duis_dir / "schema")
