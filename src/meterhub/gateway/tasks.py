"""The gateway's background work: release the device network's answers when due, and push
owed messages to users' callback URLs.

Push is exactly-once or held, never twice: a message is marked ``pushing`` (committed) before
the POST, one message at a time; success marks it ``delivered``. If the process dies in between,
nobody knows whether the POST landed, so on restart ``recover_in_doubt`` moves it to ``held``:
still there for polling, never pushed again. The same holds for a POST that fails half-way (a
read timeout, a dropped connection): the receiver may have it, so it is held, not retried. Only
a push that certainly never reached the receiver (connection refused, unknown host) or that the
receiver answered with a non-2xx status is retried, with exponential back-off, then held.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import Callback, OutboundMessage
from meterhub.gateway.service import lock_for_submission, release_due
from meterhub.kit.clock import utcnow

log = logging.getLogger(__name__)

Poster = Callable[[str, bytes, dict[str, str]], int]
#: At most this many pushes per sweep, so releasing due answers is never starved.
PUSHES_PER_SWEEP = 50


@functools.cache
def _push_client() -> httpx.Client:
    """One client for every push: building one per POST (its SSL context) costs some 20 times
    the POST itself. No keep-alive: a pooled connection the receiver has closed could fail a
    push after sending it, and such a push is held, not retried."""
    return httpx.Client(timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0))


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return _push_client().post(url, content=body, headers=headers).status_code


#: Failures where the POST certainly never reached the receiver, so a retry cannot deliver twice.
NEVER_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    ConnectionRefusedError,
)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 300))


def recover_in_doubt(session: Session) -> int:
    """Pushes cut off by a crash are held for polling, not retried (never delivered twice)."""
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.push_state == "pushing")
        .values(push_state="held", last_error="push interrupted by a restart; held for polling")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_pushes(
    session: Session, *, now: datetime, limit: int = 50
) -> list[tuple[int, str, bytes]]:
    """Mark due pushes as in flight; returns (message id, url, body). Commit before posting.

    The rows are locked and locked ones skipped, so two workers (``serve --workers 2`` on
    PostgreSQL) never claim, and push, the same message."""
    stmt = (
        select(OutboundMessage, Callback.url)
        .join(Callback, Callback.user_id == OutboundMessage.user_id)
        .where(OutboundMessage.push_state == "pending", OutboundMessage.next_attempt_at <= now)
        .order_by(OutboundMessage.id)
        .limit(limit)
        .with_for_update(of=OutboundMessage, skip_locked=True)
    )
    claimed = []
    for message, url in session.execute(stmt):
        message.push_state = "pushing"
        message.attempts += 1
        claimed.append((message.id, url, message.xml.encode()))
    return claimed


def finish_push(
    session: Session,
    *,
    message_id: int,
    ok: bool,
    error: str | None,
    now: datetime,
    max_attempts: int,
    in_doubt: bool = False,
) -> None:
    """Record how a push went. ``in_doubt``: it failed after the receiver may have got it."""
    message = session.get(OutboundMessage, message_id)
    if message is None:
        return
    if ok:
        message.push_state = "delivered"
        message.delivered_at = now
        message.last_error = None
    elif in_doubt:
        message.push_state = "held"
        message.last_error = f"push in doubt, held for polling: {error}"[:300]
    elif message.attempts >= max_attempts:
        message.push_state = "held"
        message.last_error = f"gave up after {message.attempts} attempts: {error}"[:300]
    else:
        message.push_state = "pending"
        message.next_attempt_at = now + backoff(message.attempts)
        message.last_error = (error or "")[:300]


def run_once(
    settings: Settings, *, post: Poster = http_post, now: datetime | None = None
) -> tuple[int, int]:
    """One sweep: release what is due, then push what is owed. Returns (released, pushed).

    Each transaction takes SQLite's write lock before its first read (as a submission does):
    otherwise, under a stream of submissions, its read snapshot goes stale and the write fails
    at once with "database is locked", and a finished push stays ``pushing`` until a restart.
    """
    url = settings.database_url
    with session_scope(url) as session:
        lock_for_submission(session)
        released = release_due(session, now=now or utcnow())
    pushed = 0
    # One message claimed at a time: a crash leaves at most the one POST in flight in doubt.
    for _ in range(PUSHES_PER_SWEEP):
        with session_scope(url) as session:
            lock_for_submission(session)
            claimed = claim_pushes(session, now=now or utcnow(), limit=1)
        if not claimed:
            break
        [(message_id, target, body)] = claimed
        ok, error, in_doubt = False, None, False
        try:
            status = post(
                target,
                body,
                {"Content-Type": "application/xml", "X-Meterhub-Message-Id": str(message_id)},
            )
            ok = 200 <= status < 300
            error = None if ok else f"HTTP {status}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            in_doubt = not isinstance(exc, NEVER_SENT)
        with session_scope(url) as session:
            lock_for_submission(session)
            finish_push(
                session,
                message_id=message_id,
                ok=ok,
                error=error,
                now=now or utcnow(),
                max_attempts=settings.callback_max_attempts,
                in_doubt=in_doubt,
            )
        pushed += ok
    return released, pushed


class Worker:
    """A daemon thread running ``run_once`` every ``worker_interval_seconds``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="meterhub-gateway", daemon=True)

    def start(self) -> None:
        with session_scope(self.settings.database_url) as session:
            held = recover_in_doubt(session)
        if held:
            log.warning("held %d pushes interrupted by the last shutdown", held)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        last_export = 0.0
        while not self._stop.is_set():
            try:
                run_once(self.settings)
                if self.settings.lake_dir and time.monotonic() - last_export >= LAKE_EXPORT_EVERY:
                    last_export = time.monotonic()
                    export_to_lake(self.settings)
            except Exception:  # keep the worker alive; the sweep is idempotent
                log.exception("gateway sweep failed")
            self._stop.wait(self.settings.worker_interval_seconds)


LAKE_EXPORT_EVERY = 10.0


def export_to_lake(settings: Settings) -> int:
    """Copy every finished request not yet in the event lake (``settings.lake_dir``)."""
    from pathlib import Path

    from meterhub.lake.export import export_pending
    from meterhub.lake.writer import EventLakeWriter

    writer = EventLakeWriter(Path(settings.lake_dir))
    exported = 0
    while True:
        with session_scope(settings.database_url) as session:
            lock_for_submission(session)
            result = export_pending(session, writer=writer, now=utcnow())
        exported += result.requests
        if result.requests == 0:
            return exported
