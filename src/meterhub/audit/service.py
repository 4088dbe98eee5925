"""Writing and reading the audit log. Every service that changes data calls ``record``.

The entry is stamped with the ``now`` its caller was given, never a clock of its own: one DUIS
request's device history and audit entries carry the request's time, and tests move the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry


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


def entries_for(session: Session, *, object_type: str, object_id: str) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(stmt))
