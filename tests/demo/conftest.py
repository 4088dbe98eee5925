"""One seeded estate per test module: seeding is the slow part, and these tests only read it."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.db.session import get_engine, get_sessionmaker, session_scope
from meterhub.demo.seed import SeedResult, seed_estate
from meterhub.kit.clock import utcnow
from tests.conftest import ON_POSTGRES, TEST_URL

AS_OF = date(2026, 11, 25)
SEED = 7
DEVICES = 2_000
_counter = itertools.count()


def _pg_admin() -> Engine:
    return create_engine(make_url(TEST_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module")
def seeded_db(
    template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SeedResult]]:
    """A freshly migrated database holding the estate of ``SEED`` with ``DEVICES`` devices."""
    if ON_POSTGRES:
        name = f"meterhub_demo_{os.getpid()}_{next(_counter)}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        admin.dispose()
        url = make_url(TEST_URL).set(database=name).render_as_string(hide_password=False)
    else:
        path = tmp_path_factory.mktemp("estate") / "estate.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
    with session_scope(url) as session:
        result = seed_estate(
            session,
            actor=Actor.system("test"),
            seed=SEED,
            devices=DEVICES,
            as_of=AS_OF,
            now=utcnow(),
        )
    yield url, result
    get_engine(url).dispose()
    if ON_POSTGRES:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def estate(seeded_db: tuple[str, SeedResult]) -> Iterator[Session]:
    """A session on the module's seeded estate (read only: rolled back after the test)."""
    s = get_sessionmaker(seeded_db[0])()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
