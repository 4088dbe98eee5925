"""Pushing owed messages to users' callback URLs: the rules, on the gateway's own rows.

Push is exactly-once or held, never twice: a message is marked ``pushing`` (committed, with its
``claimed_at``) before the POST; success marks it ``delivered``. If the process dies in between,
nobody knows whether the POST landed, so on restart ``recover_in_doubt`` moves it to ``held``:
still there for polling, never pushed again. The same holds for a POST that fails half-way (a
read timeout, a dropped connection): the receiver may have it, so it is held, not retried, and
for a push still ``pushing`` after ``push_stuck_seconds`` while the process lives on (a hung
thread): a sweep holds it (``hold_stuck_pushes``). Only a push that certainly never reached the
receiver (connection refused, unknown host) or that the receiver answered with a non-2xx status
is retried, with exponential back-off, then held. The threads that POST live in
``meterhub.jobs.pushes``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from meterhub.gateway.models import Callback, OutboundMessage


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


def hold_stuck_pushes(session: Session, *, now: datetime, stuck_after: timedelta) -> list[int]:
    """Pushes in flight longer than ``stuck_after`` (their thread hung while the process lives
    on) are held for polling, never pushed again; returns their ids. Idempotent."""
    held = session.scalars(
        update(OutboundMessage)
        .where(
            OutboundMessage.push_state == "pushing",
            OutboundMessage.claimed_at <= now - stuck_after,
        )
        .values(
            push_state="held",
            last_error=(
                f"push in flight for over {stuck_after.total_seconds():g} s; held for polling"
            ),
        )
        .returning(OutboundMessage.id)
    ).all()
    return list(held)


_earlier = aliased(OutboundMessage)
#: A user's messages go out in order: none while an earlier one is waiting or in flight.
_FIRST_IN_LINE = ~exists().where(
    _earlier.user_id == OutboundMessage.user_id,
    _earlier.id < OutboundMessage.id,
    _earlier.push_state.in_(("pending", "pushing")),
)


def claim_pushes(
    session: Session, *, now: datetime, limit: int = 50, url: str | None = None
) -> list[tuple[int, str, bytes]]:
    """Mark due pushes as in flight; returns (message id, url, body). Commit before posting.

    Only the first waiting message of each user is due (pushes are in order per user); ``url``
    limits the claim to one callback URL (a lane). The rows are locked and locked ones skipped,
    so two workers (``serve --workers 2`` on PostgreSQL) never claim, and push, the same one."""
    stmt = (
        select(OutboundMessage, Callback.url)
        .join(Callback, Callback.user_id == OutboundMessage.user_id)
        .where(
            OutboundMessage.push_state == "pending",
            OutboundMessage.next_attempt_at <= now,
            _FIRST_IN_LINE,
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
        .with_for_update(of=OutboundMessage, skip_locked=True)
    )
    if url is not None:
        stmt = stmt.where(Callback.url == url)
    claimed = []
    for message, target in session.execute(stmt):
        message.push_state = "pushing"
        message.claimed_at = now
        message.attempts += 1
        claimed.append((message.id, target, message.xml.encode()))
    return claimed


def urls_due(session: Session, *, now: datetime) -> list[str]:
    """Callback URLs with a message due, the one waiting longest first."""
    first = func.min(OutboundMessage.id)
    rows = session.execute(
        select(Callback.url, first)
        .join(OutboundMessage, OutboundMessage.user_id == Callback.user_id)
        .where(
            OutboundMessage.push_state == "pending",
            OutboundMessage.next_attempt_at <= now,
            _FIRST_IN_LINE,
        )
        .group_by(Callback.url)
        .order_by(first)
    ).all()
    return [url for url, _ in rows]


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
    if message.push_state != "pushing":
        # A sweep held it meanwhile (stuck too long): never pushed again, but a POST that did
        # land is recorded as what it is.
        if ok and message.push_state == "held":
            message.push_state = "delivered"
            message.delivered_at = now
            message.last_error = None
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
