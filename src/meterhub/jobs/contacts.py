"""The contact deadline lane: the worker applies what fell due in the Contact Management
Service (``contacts.service.sweep``: a shipper that did not answer a Theft of Gas in time is
deemed to have accepted it) in short transactions of its own, one ``SWEEP_CHUNK`` of parts at a
time, so a day's backlog never holds the database's write lock for long. The rules are the
service's; this module only runs them and commits."""

from __future__ import annotations

import logging
from datetime import datetime

from meterhub.config import Settings
from meterhub.contacts import service as contacts
from meterhub.contacts.service import SweepResult
from meterhub.db.session import session_scope
from meterhub.kit.clock import utcnow

log = logging.getLogger(__name__)

#: Parts moved per transaction.
SWEEP_CHUNK = 100_000
#: How often the worker looks for contact deadlines that passed (seconds).
SWEEP_EVERY = 30.0


def sweep_contacts(settings: Settings, *, now: datetime | None = None) -> SweepResult:
    """Apply every contact step due at ``now`` (the clock by default), committing each chunk;
    returns what moved in all."""
    at = now or utcnow()
    total = SweepResult()
    while True:
        with session_scope(settings.database_url) as session:
            run = contacts.sweep(session, now=at, limit=SWEEP_CHUNK)
        for key, count in run.moved.items():
            total.moved[key] = total.moved.get(key, 0) + count
        if run.total < SWEEP_CHUNK:
            break
    if total.total:
        log.info("contacts: %d parts past their deadline moved on", total.total)
    return total
