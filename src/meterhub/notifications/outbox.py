"""The e-mail outbox: which mail is due, claiming it, and recording how sending went.

A mail is marked ``sending`` (with ``claimed_at``) and committed before the SMTP conversation,
and ``sent`` only after the server accepted it (its reply to the end of DATA), so a mail the
server took is never sent again, and one it did not take is never lost:

- a temporary failure (connection refused or dropped, a timeout, a 4xx reply, a login the
  server refused) goes back to ``queued`` with exponential back-off (``first_retry``, doubling,
  at most an hour), and after ``max_attempts`` is ``failed``;
- a permanent refusal of the mail itself (a 5xx to its recipient or to its content) is
  ``failed`` at once: sending it again would be refused again. ``retry`` queues it again, for
  the operator who fixed the cause;
- a mail left ``sending`` longer than ``stuck_after`` (the process died, or its connection hung)
  is queued again by ``requeue_stuck``. Only in that case can a mail go out twice (the server
  took it just before the crash); it keeps its Message-ID, so the recipient's client shows one.

Claims lock the rows and skip locked ones, so two workers never send the same mail. The SMTP
conversation itself is the worker's (``meterhub.jobs.mail``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.errors import Conflict, InvalidInput, NotFound
from meterhub.notifications.models import OutboxMail

STATES = ("queued", "sending", "sent", "failed")
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class OutgoingMail:
    """A claimed mail, copied out of its row for the SMTP conversation (no session held)."""

    id: int
    to_address: str
    subject: str
    body: str
    link: str
    attempt: int
    created_at: datetime


def backoff(attempts: int, *, first_retry: timedelta) -> timedelta:
    """How long after its ``attempts``-th failure a mail is tried again."""
    wait: timedelta = first_retry * (2 ** max(attempts - 1, 0))
    return min(wait, max(MAX_BACKOFF, first_retry))


def claim_due(session: Session, *, now: datetime, limit: int = 1) -> list[OutgoingMail]:
    """Mark up to ``limit`` due mails ``sending``, oldest first. Commit before sending."""
    rows = session.scalars(
        select(OutboxMail)
        .where(OutboxMail.state == "queued", OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for mail in rows:
        mail.state = "sending"
        mail.claimed_at = now
        mail.attempts += 1
        claimed.append(
            OutgoingMail(
                id=mail.id,
                to_address=mail.to_address,
                subject=mail.subject,
                body=mail.body,
                link=mail.link,
                attempt=mail.attempts,
                created_at=mail.created_at,
            )
        )
    return claimed


def has_due(session: Session, *, now: datetime, stuck_after: timedelta) -> bool:
    """Is any mail due, or stuck sending? (The worker asks before starting its mail lane.)"""
    waiting = or_(
        and_(OutboxMail.state == "queued", OutboxMail.next_attempt_at <= now),
        and_(OutboxMail.state == "sending", OutboxMail.claimed_at <= now - stuck_after),
    )
    return session.scalar(select(OutboxMail.id).where(waiting).limit(1)) is not None


def record_sent(session: Session, *, mail_id: int, now: datetime) -> None:
    """The server accepted the mail. Recorded even if a sweep requeued it meanwhile (its
    connection looked hung): it was delivered, so it must not go out again."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None or mail.state in ("sent", "failed"):
        return
    mail.state = "sent"
    mail.sent_at = now
    mail.claimed_at = None
    mail.last_error = None


def record_failure(
    session: Session,
    *,
    mail_id: int,
    error: str,
    permanent: bool,
    now: datetime,
    max_attempts: int,
    first_retry: timedelta,
) -> str:
    """The server did not take the mail: queue it again after a back-off, or fail it (refused
    for good, or out of attempts). Returns the mail's state afterwards."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        return "gone"
    if mail.state != "sending":  # a sweep requeued it meanwhile; that claim decides
        return mail.state
    mail.claimed_at = None
    if permanent:
        mail.state = "failed"
        mail.last_error = f"refused: {error}"[:300]
    elif mail.attempts >= max_attempts:
        mail.state = "failed"
        mail.last_error = f"gave up after {mail.attempts} attempts: {error}"[:300]
    else:
        mail.state = "queued"
        mail.next_attempt_at = now + backoff(mail.attempts, first_retry=first_retry)
        mail.last_error = error[:300]
    return mail.state


def requeue_stuck(session: Session, *, now: datetime, stuck_after: timedelta) -> int:
    """Mails ``sending`` for longer than ``stuck_after`` (cut off by a crash or a hung
    connection) are queued again, due at once. Idempotent; returns how many."""
    result = session.execute(
        update(OutboxMail)
        .where(OutboxMail.state == "sending", OutboxMail.claimed_at <= now - stuck_after)
        .values(
            state="queued",
            claimed_at=None,
            next_attempt_at=now,
            last_error=(
                f"still sending after {stuck_after.total_seconds():g} s"
                " (a restart or a hung connection); queued again"
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_outbox(
    session: Session, *, state: str | None = None, limit: int = 100
) -> Sequence[OutboxMail]:
    """The outbox, newest first, for the operator (``meterhub mail list``)."""
    stmt = select(OutboxMail)
    if state is not None:
        if state not in STATES:
            raise InvalidInput(
                f"no mail state {state!r}; one of {', '.join(STATES)}", code="bad_mail_state"
            )
        stmt = stmt.where(OutboxMail.state == state)
    return session.scalars(stmt.order_by(OutboxMail.id.desc()).limit(limit)).all()


def retry(session: Session, *, actor: Actor, mail_id: int, now: datetime) -> OutboxMail:
    """Queue a failed (or waiting) mail to be sent at once: the operator fixed the cause."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise NotFound(f"no mail {mail_id} in the outbox")
    if mail.state in ("sent", "sending"):
        raise Conflict(f"mail {mail_id} is {mail.state}", code=f"mail_{mail.state}")
    old = mail.state
    mail.state = "queued"
    mail.next_attempt_at = now
    if old == "failed":
        mail.attempts = 0
    record(
        session,
        actor=actor,
        action="mail.requeued",
        object_type="mail",
        object_id=str(mail.id),
        changes={"state": [old, "queued"]},
        now=now,
    )
    return mail
