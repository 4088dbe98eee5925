"""The gateway's background work: release the device network's answers when due, and push
owed messages to users' callback URLs.

Push is exactly-once or held, never twice: a message is marked ``pushing`` (committed) before
the POST; success marks it ``delivered``. If the process dies in between, nobody knows whether the
POST landed, so on restart ``recover_in_doubt`` moves it to ``held``: still there for polling,
never pushed again. Failed pushes retry with exponential back-off, then are held.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import Callback, OutboundMessage
from meterhub.gateway.service import release_due
from meterhub.kit.clock import utcnow

log = logging.getLogger(__name__)

Poster = Callable[[str, bytes, dict[str, str]], int]


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import httpx

    return httpx.post(url, content=body, headers=headers, timeout=5.0).status_code


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
    """Mark due pushes as in flight; returns (message id, url, body). Commit before posting."""
    stmt = (
        select(OutboundMessage, Callback.url)
        .join(Callback, Callback.user_id == OutboundMessage.user_id)
        .where(OutboundMessage.push_state == "pending", OutboundMessage.next_attempt_at <= now)
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    claimed = []
    for message, url in session.execute(stmt).tuples():
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
) -> None:
    message = session.get(OutboundMessage, message_id)
    if message is None:
        return
    if ok:
        message.push_state = "delivered"
        message.delivered_at = now
        message.last_error = None
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
    """One sweep: release what is due, then push what is owed. Returns (released, pushed)."""
    url = settings.database_url
    with session_scope(url) as session:
        released = release_due(session, now=now or utcnow())
    with session_scope(url) as session:
        claimed = claim_pushes(session, now=now or utcnow())
    pushed = 0
    for message_id, target, body in claimed:
        ok, error = False, None
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
        with session_scope(url) as session:
            finish_push(
                session,
                message_id=message_id,
                ok=ok,
                error=error,
                now=now or utcnow(),
                max_attempts=settings.callback_max_attempts,
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
        while not self._stop.is_set():
            try:
                run_once(self.settings)
            except Exception:  # keep the worker alive; the sweep is idempotent
                log.exception("gateway sweep failed")
            self._stop.wait(self.settings.worker_interval_seconds)
