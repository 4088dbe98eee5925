"""Writing and reading the audit log. Every service that changes data calls ``record``.

The entry is stamped with the ``now`` its caller was given, never a clock of its own: one DUIS
request's device history and audit entries carry the request's time, and tests move the clock."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.db import bulk


@dataclass(frozen=True)
class Actor:
    """Who is acting, through which interface: carried from the edge into every service call."""

    name: str
    party_id: int | None
    interface: str  # api | portal | cli | import | system
    user_id: int | None = None
    is_operator: bool = False

    @classmethod
    def system(cls, interface: str = "system") -> Actor:
        return cls(name="system", party_id=None, interface=interface, is_operator=True)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    changes: dict[str, Any],
    now: datetime,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor=actor.name,
        actor_party_id=actor.party_id,
        interface=actor.interface,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=changes,
    )
    session.add(entry)
    return entry


_ENTRY_COLUMNS = (
    "at",
    "actor",
    "actor_party_id",
    "interface",
    "action",
    "object_type",
    "object_id",
    "changes",
)


def record_many(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    entries: Iterable[tuple[str, dict[str, Any]]],
    now: datetime,
) -> int:
    """One entry per ``(object_id, changes)``, as ``record`` would write each, in one bulk
    insert: for a step that changes many objects at once (a stock transfer receipt moves tens of
    thousands of hubs), where an ORM object per entry would cost more than the step itself.
    Returns how many entries were written."""
    _, stamp = bulk.encoders(session)
    on_sqlite = session.connection().dialect.name == "sqlite"
    at = stamp(now)
    # One step's entries often share one ``changes``: encoded once. Each is kept referenced,
    # so no other dict can come to have its id while this runs.
    encoded: dict[int, tuple[dict[str, Any], str]] = {}

    def encode(changes: dict[str, Any]) -> Any:
        if not on_sqlite:
            return changes
        known = encoded.get(id(changes))
        if known is None or known[0] is not changes:
            known = encoded[id(changes)] = (changes, json.dumps(changes))
        return known[1]

    rows = [
        (
            at,
            actor.name,
            actor.party_id,
            actor.interface,
            action,
            object_type,
            object_id,
            encode(changes),
        )
        for object_id, changes in entries
    ]
    bulk.write_rows(session, AuditEntry.__table__, _ENTRY_COLUMNS, rows)  # type: ignore[arg-type]
    return len(rows)


def entries_for(session: Session, *, object_type: str, object_id: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(stmt))
