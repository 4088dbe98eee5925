"""Loading a file all-or-nothing, with every rejected row and its reason.

Each row runs in its own SAVEPOINT inside one transaction. A refused row rolls back only its
savepoint, so the rows after it are still checked (against the earlier good rows, which may be
what they depend on: a meter joining a hub added three lines up). The caller commits only when
no row was rejected; otherwise it rolls the whole transaction back and nothing is written. Like
every service this one never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.bulk import csvfile
from meterhub.bulk.importers import Cells, Importer
from meterhub.errors import MeterhubError

# Rows between releases of the session's identity map: keeps memory flat on 100k-row files.
_EXPUNGE_EVERY = 2_000


@dataclass(frozen=True)
class RejectedRow:
    line: int
    key: str
    code: str
    message: str


@dataclass
class ImportOutcome:
    kind: str
    rows: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.rows > 0 and not self.rejected


def import_actor(path: Path) -> Actor:
    """Who the audit log says made the records: the import of this file, run by the operator."""
    return Actor(
        name=f"import:{path.name}"[:120], party_id=None, interface="import", is_operator=True
    )


def check_file(path: Path, *, importer: Importer, max_bytes: int) -> csvfile.CsvShape:
    """Refuse a malformed file or one with the wrong columns, before touching the database."""
    return csvfile.scan(path, max_bytes=max_bytes, check_header=importer.check_header)


def _database_reason(exc: IntegrityError | DataError) -> str:
    detail = str(exc.orig) if exc.orig is not None else str(exc)
    return detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__


def import_rows(
    session: Session,
    *,
    actor: Actor,
    importer: Importer,
    rows: Iterable[csvfile.CsvRow],
    now: datetime,
    on_row: Callable[[], None] | None = None,
) -> ImportOutcome:
    """Run every row through ``importer``; collect each refusal with its line and reason. Every
    record of the file is stamped with the one ``now`` the import started at."""
    outcome = ImportOutcome(kind=importer.kind)
    for row in rows:
        outcome.rows += 1
        try:
            with session.begin_nested():
                importer.load_row(session, actor, Cells(row.values), now)
        except MeterhubError as exc:
            outcome.rejected.append(
                RejectedRow(row.line, importer.key_of(row.values), exc.code, exc.message)
            )
        except (IntegrityError, DataError) as exc:
            # A limit only the database knows (a column length on PostgreSQL, a unique index).
            outcome.rejected.append(
                RejectedRow(
                    row.line, importer.key_of(row.values), "database_refused", _database_reason(exc)
                )
            )
        if outcome.rows % _EXPUNGE_EVERY == 0:
            session.expunge_all()
        if on_row is not None:
            on_row()
    return outcome


def import_file(
    session: Session,
    *,
    actor: Actor,
    importer: Importer,
    path: Path,
    shape: csvfile.CsvShape,
    max_bytes: int,
    now: datetime,
    on_row: Callable[[], None] | None = None,
) -> ImportOutcome:
    """Load a file ``check_file`` accepted. When every row passed, one more audit entry says
    which file (by SHA-256) was loaded, so a record can be traced back to the file it came from."""
    outcome = import_rows(
        session,
        actor=actor,
        importer=importer,
        rows=csvfile.rows(path, max_bytes=max_bytes),
        now=now,
        on_row=on_row,
    )
    if outcome.accepted:
        record(
            session,
            actor=actor,
            action="import.loaded",
            object_type="import_file",
            object_id=path.name[:64],
            changes={"kind": importer.kind, "rows": outcome.rows, "sha256": shape.sha256},
            now=now,
        )
    return outcome
