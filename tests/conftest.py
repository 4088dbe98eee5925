"""Test fixtures: a fresh, really-migrated database per test, on SQLite or PostgreSQL.

``METERHUB_TEST_DATABASE_URL`` picks the server: unset means SQLite files under pytest's tmp dir;
a ``postgresql+psycopg://`` URL means a PostgreSQL server, where the migrations run once into a
template database and each test gets ``CREATE DATABASE ... TEMPLATE``
(docs/decisions/0001-test-databases.md). ``scripts/pg.sh start`` runs such a server.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings, get_settings
from meterhub.db.session import get_engine, get_sessionmaker
from meterhub.migrations.run import upgrade
from tests.factories import restart_numbering

TEST_URL = os.environ.get("METERHUB_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_URL.startswith("postgresql")
_counter = itertools.count()


@functools.cache
def _pg_admin() -> Engine:
    """One AUTOCOMMIT pool on the server's ``postgres`` database, for CREATE and DROP DATABASE."""
    url = make_url(TEST_URL).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _release_connections(url: str) -> None:
    """Close every pooled connection to ``url`` before its database is copied or dropped.

    Engines are cached per URL (``get_engine``), and ``dispose`` only closes connections that
    are checked in. One a test forgot to close goes back to the pool when the garbage collector
    finds it, so collect first: it is rolled back while its database still exists, instead of
    failing later, in some other test, against a database that was dropped under it.
    """
    engine = get_engine(url)
    checkedout = getattr(engine.pool, "checkedout", None)
    if checkedout is not None and checkedout():
        gc.collect()
    engine.dispose()


@pytest.fixture(autouse=True)
def numbered_from_one() -> Iterator[None]:
    """Factory numbering starts at 1 for each test, and for any module fixture built after it,
    so no test's data depends on the order tests run in."""
    restart_numbering()
    yield
    restart_numbering()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with every migration applied, copied for each test."""
    if ON_POSTGRES:
        name = f"meterhub_tpl_{os.getpid()}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(TEST_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        # CREATE DATABASE ... TEMPLATE refuses while anyone is connected to the template.
        _release_connections(url)
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        get_engine(url).dispose()
        yield str(path)


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own freshly migrated database."""
    if ON_POSTGRES:
        name = f"meterhub_t_{os.getpid()}_{next(_counter)}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        url = make_url(TEST_URL).set(database=name).render_as_string(hide_password=False)
        yield url
        _release_connections(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "meterhub.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at this test's database; the CLI sees the same through the environment."""
    monkeypatch.setenv("METERHUB_DATABASE_URL", db_url)
    monkeypatch.setenv("METERHUB_SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.setenv("METERHUB_SECRET_KEY_FILE", str(tmp_path / "secret"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    """A session on the test database. Tests commit what they set up, as a request would."""
    s = get_sessionmaker(settings.database_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c
