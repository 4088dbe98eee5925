"""SQLite commits survive a power cut unless the operator says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from meterhub.config import get_settings
from meterhub.db.session import get_engine

FULL, NORMAL = 2, 1  # what PRAGMA synchronous reports


@pytest.mark.parametrize(("configured", "expected"), [(None, FULL), ("NORMAL", NORMAL)])
def test_synchronous_follows_the_setting(
    configured: str | None, expected: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if configured is None:
        monkeypatch.delenv("METERHUB_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("METERHUB_SQLITE_SYNCHRONOUS", configured)
    get_settings.cache_clear()
    try:
        engine = get_engine(f"sqlite:///{tmp_path / f'{expected}.db'}")
        with engine.connect() as conn:
            assert conn.scalar(text("PRAGMA synchronous")) == expected
        engine.dispose()
    finally:
        get_settings.cache_clear()
