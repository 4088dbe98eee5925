"""The shipped migrations build exactly the schema the models describe, on either database."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

import meterhub
from meterhub.db.base import Base
from meterhub.db.session import get_engine, get_sessionmaker
from meterhub.gateway.models import RequestCounter
from meterhub.migrations.run import alembic_config, current_revision, upgrade
from meterhub.parties.models import Party
from tests.factories import make_party


def _all_models_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(meterhub.__path__, prefix="meterhub.")
        if m.name.endswith(".models")
    )


class TestMigrations:
    def test_migrated_schema_matches_the_models(self, db_url: str) -> None:
        """The drift check: a model changed without a migration (or the reverse) shows here."""
        for name in _all_models_modules():
            importlib.import_module(name)
        assert {"party", "registration", "device", "audit_entry"} <= set(Base.metadata.tables)
        with get_engine(db_url).connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []

    def test_every_models_module_is_known_to_alembic(self) -> None:
        """``meterhub.migrations.models`` (what the migrations environment imports) must pull in
        every domain's tables, or autogenerate would not see them."""
        code = (
            "import importlib, sys\n"
            "from meterhub.migrations.models import Base\n"
            "known = set(Base.metadata.tables)\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(set(Base.metadata.tables) - known))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, *_all_models_modules()],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == "[]"

    def test_database_is_at_the_single_head(self, db_url: str) -> None:
        script = ScriptDirectory.from_config(alembic_config(db_url))
        heads = script.get_heads()
        assert len(heads) == 1, f"migration branches to merge: {heads}"
        assert current_revision(db_url) == heads[0]

    def test_upgrade_is_idempotent(self, db_url: str) -> None:
        before = current_revision(db_url)
        upgrade(db_url)
        assert current_revision(db_url) == before

    def test_downgrade_to_base_and_back(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
        cfg = alembic_config(url)
        try:
            command.upgrade(cfg, "head")
            command.downgrade(cfg, "base")
            assert current_revision(url) is None
            command.upgrade(cfg, "head")
            assert current_revision(url) == ScriptDirectory.from_config(cfg).get_current_head()
        finally:
            get_engine(url).dispose()


class TestCounterMigration:
    def test_counters_stored_before_0008_keep_their_values_and_order(self, tmp_path: Path) -> None:
        """0008 turns BIGINT counters into zero-padded digits: the numbers read back the same,
        and a raise compares them as numbers (10 is above 9)."""
        url = f"sqlite:///{tmp_path / 'counters.db'}"
        cfg = alembic_config(url)
        try:
            command.upgrade(cfg, "0007")
            with get_engine(url).begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO duis_request_counter (originator, last_counter)"
                        " VALUES ('90-B3-D5-1F-30-00-00-01', 9), ('90-B3-D5-1F-30-00-00-02', 1000)"
                    )
                )
            command.upgrade(cfg, "head")
            with get_engine(url).begin() as conn:
                rows = conn.execute(
                    select(RequestCounter.originator, RequestCounter.last_counter).order_by(
                        RequestCounter.originator
                    )
                ).all()
                assert [tuple(r) for r in rows] == [
                    ("90-B3-D5-1F-30-00-00-01", 9),
                    ("90-B3-D5-1F-30-00-00-02", 1000),
                ]
                above_nine = conn.execute(
                    select(RequestCounter.originator).where(RequestCounter.last_counter > 10)
                ).all()
                assert [r[0] for r in above_nine] == ["90-B3-D5-1F-30-00-00-02"]
            command.downgrade(cfg, "0007")
            with get_engine(url).begin() as conn:
                back = conn.execute(
                    text("SELECT last_counter FROM duis_request_counter ORDER BY originator")
                ).all()
                assert [r[0] for r in back] == [9, 1000]
        finally:
            get_engine(url).dispose()


class TestTimestamps:
    def test_read_back_timezone_aware_utc(self, session: Session, db_url: str) -> None:
        party = make_party(session, code="TZ")
        session.commit()
        fresh = get_sessionmaker(db_url)()
        try:
            created = fresh.scalar(select(Party.created_at).where(Party.code == "TZ"))
            assert created is not None
            assert created.tzinfo is not None
            assert created.utcoffset() == timedelta(0)
            assert abs(created - party.created_at) < timedelta(seconds=1)
        finally:
            fresh.close()

    def test_other_offsets_are_stored_as_the_same_instant_in_utc(
        self, session: Session, db_url: str
    ) -> None:
        party = make_party(session, code="TZ")
        paris = timezone(timedelta(hours=1))
        party.created_at = datetime(2026, 1, 1, 13, 30, tzinfo=paris)
        session.commit()
        fresh = get_sessionmaker(db_url)()
        try:
            created = fresh.scalar(select(Party.created_at).where(Party.code == "TZ"))
            assert created == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
            assert created is not None and created.utcoffset() == timedelta(0)
        finally:
            fresh.close()

    def test_naive_datetimes_are_refused(self, session: Session) -> None:
        party = make_party(session, code="TZ")
        party.created_at = datetime(2026, 1, 1, 12, 0)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
