"""The gateway's long-lived parts, built once per app: the device network model, the seed that
makes it deterministic, the optional XSD validator, the DCC's own party, and (on SQLite) the lock
that lets one submission at a time of this process write.

Why the lock: SQLite has one writer. Submissions racing for it inside one process wait in
SQLite's busy handler, which sleeps and retries (1, 2, 5 ... 100 ms), so under load most of
them sleep while the database is idle, and some give up after ``busy_timeout`` (HTTP 500).
Queueing them on a Python lock instead hands the write lock over at once; the busy handler is
left to arbitrate between worker processes only. PostgreSQL needs no such lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.parties.models import Party


@dataclass
class GatewayRuntime:
    seed: int
    network: Any
    validator: Any | None
    max_bytes: int
    max_depth: int
    dcc_party_code: str
    serialise_writes: bool = False
    _dcc_party_id: int | None = field(default=None, init=False)
    _write_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayRuntime:
        from meterhub.gateway.network import NetworkModel

        validator = None
        if settings.duis_schema_dir:
            from meterhub.gateway.xml import XsdValidator

            validator = XsdValidator(Path(settings.duis_schema_dir))
        return cls(
            seed=settings.network_seed,
            network=NetworkModel.default(),
            validator=validator,
            max_bytes=settings.max_body_bytes,
            max_depth=64,
            dcc_party_code=settings.dcc_party_code,
            serialise_writes=settings.database_url.startswith("sqlite"),
        )

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold while a submission's transaction is open, up to its commit (see the docstring)."""
        with self._write_lock if self.serialise_writes else nullcontext():
            yield

    def dcc_party_id(self, session: Session) -> int | None:
        if self._dcc_party_id is None:
            self._dcc_party_id = session.scalar(
                select(Party.id).where(Party.code == self.dcc_party_code)
            )
        return self._dcc_party_id
