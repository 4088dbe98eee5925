"""The gateway's long-lived parts, built once per app: the device network model, the seed that
makes it deterministic, the optional XSD validator, the DCC's own party, and (on SQLite) the lock
that lets one submission at a time of this process write.

Why the lock: SQLite has one writer. Submissions racing for it inside one process wait in
SQLite's busy handler, which sleeps and retries (1, 2, 5 ... 100 ms), so under load most of
them sleep while the database is idle, and some give up after ``busy_timeout`` (HTTP 500).
Queueing them on a Python lock instead hands the write lock over at once. Between worker
processes (``meterhub serve --workers N``) the same holds, so the lock is also an exclusive
``flock`` on a file beside the database: the kernel wakes the next process the moment the
previous one lets go, where the busy handler would still be asleep. PostgreSQL needs no lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # not on Windows: writers there are serialised per process only
    fcntl = None  # type: ignore[assignment]

from meterhub.config import Settings
from meterhub.parties.service import party_by_code


@dataclass
class GatewayRuntime:
    seed: int
    network: Any
    validator: Any | None
    max_bytes: int
    max_depth: int
    dcc_party_code: str
    serialise_writes: bool = False
    #: On SQLite, the file whose ``flock`` serialises writers across processes.
    lock_path: Path | None = None
    _dcc_party_id: int | None = field(default=None, init=False)
    _write_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _lock_fd: int | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayRuntime:
        from meterhub.network.model import NetworkModel, NetworkProfile

        validator = None
        if settings.duis_schema_dir:
            from meterhub.gateway.xml import XsdValidator

            validator = XsdValidator(Path(settings.duis_schema_dir))
        return cls(
            seed=settings.network_seed,
            network=NetworkModel(NetworkProfile.load_or_default(settings.network_profile)),
            validator=validator,
            max_bytes=settings.max_body_bytes,
            max_depth=64,
            dcc_party_code=settings.dcc_party_code,
            serialise_writes=settings.database_url.startswith("sqlite"),
            lock_path=_sqlite_lock_path(settings.database_url),
        )

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold while a submission's transaction is open, up to its commit (see the docstring)."""
        if not self.serialise_writes:
            yield
            return
        with self._write_lock:
            fd = self._process_lock()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _process_lock(self) -> int | None:
        """This process's own descriptor of the lock file (opened here, never inherited: a
        descriptor shared across a fork would share the lock too)."""
        if self.lock_path is None or fcntl is None:
            return None
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_fd

    def dcc_party_id(self, session: Session) -> int | None:
        """The DCC's own party (``METERHUB_DCC_PARTY_CODE``), which returned hubs pass to."""
        if self._dcc_party_id is None:
            dcc = party_by_code(session, self.dcc_party_code)
            self._dcc_party_id = dcc.id if dcc is not None else None
        return self._dcc_party_id


def _sqlite_lock_path(url: str) -> Path | None:
    """``<database file>.write-lock`` for a SQLite file database; None otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(f"{parsed.database}.write-lock")
