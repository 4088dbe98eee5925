"""The gateway's background work: release the device network's answers when due, raise power
outages and their restorations, and push owed messages to users' callback URLs.

Push is exactly-once or held, never twice: a message is marked ``pushing`` (committed, with its
``claimed_at``) before the POST; success marks it ``delivered``. If the process dies in between,
nobody knows whether the POST landed, so on restart ``recover_in_doubt`` moves it to ``held``:
still there for polling, never pushed again. The same holds for a POST that fails half-way (a
read timeout, a dropped connection): the receiver may have it, so it is held, not retried, and
for a push still ``pushing`` after ``push_stuck_seconds`` while the process lives on (a hung
thread): a sweep holds it (``hold_stuck_pushes``). Only a push that certainly never reached the
receiver (connection refused, unknown host) or that the receiver answered with a non-2xx status
is retried, with exponential back-off, then held.

Pushes run in **lanes**, one per callback URL, on a small thread pool (``push_lanes``): a lane
claims its URL's next message, POSTs it, records the outcome, and goes on to the next, so each
user's messages arrive one at a time and in order (a message waits while an earlier one of the
same user is pending or in flight), while a slow receiver holds up only its own lane. A crash
leaves at most one POST per lane in doubt.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import Callback, OutboundMessage
from meterhub.gateway.network import NetworkModel, NetworkProfile
from meterhub.gateway.outages import sweep_outages
from meterhub.gateway.service import lock_for_submission, release_due
from meterhub.kit.clock import utcnow

log = logging.getLogger(__name__)

Poster = Callable[[str, bytes, dict[str, str]], int]
Clock = Callable[[], datetime]
#: A lane pushes at most this many messages before handing its thread back.
PUSHES_PER_LANE = 50


@functools.cache
def _push_client() -> httpx.Client:
    """One client for every push (thread-safe): building one per POST (its SSL context) costs
    some 20 times the POST itself. No keep-alive: a pooled connection the receiver has closed
    could fail a push after sending it, and such a push is held, not retried."""
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


@dataclass
class _Lane:
    """A callback URL being pushed to: the message in flight, and whether a sweep gave up on it
    (held its stuck push; the thread ends when its POST returns, pushing nothing more)."""

    url: str
    message_id: int | None = None
    abandoned: bool = False


class Pusher:
    """Pushes owed messages, one lane per callback URL, at most ``lanes`` URLs at once."""

    def __init__(
        self,
        database_url: str,
        *,
        post: Poster = http_post,
        max_attempts: int = 8,
        lanes: int = 4,
        clock: Clock = utcnow,
    ) -> None:
        self.database_url = database_url
        self.post = post
        self.max_attempts = max_attempts
        self.lanes = lanes
        self.clock = clock
        self.delivered = 0
        self._executor = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="meterhub-push")
        self._lock = threading.Lock()
        self._busy: dict[str, _Lane] = {}
        self._futures: set[Future[None]] = set()
        self._closed = False

    def dispatch(self) -> int:
        """Start a lane for each URL with a message due and none running; returns how many."""
        with self._lock:
            if len(self._busy) >= self.lanes:
                return 0
        with session_scope(self.database_url, write=False) as session:
            urls = urls_due(session, now=self.clock())
        started = 0
        with self._lock:
            for url in urls:
                if len(self._busy) >= self.lanes:
                    break
                if url in self._busy:
                    continue
                lane = self._busy[url] = _Lane(url)
                future = self._executor.submit(self._run, lane)
                self._futures.add(future)
                future.add_done_callback(self._futures.discard)
                started += 1
        return started

    def abandon(self, message_ids: list[int]) -> None:
        """Free the lanes whose push a sweep held as stuck, so their URL can move on."""
        held = set(message_ids)
        with self._lock:
            for url, lane in list(self._busy.items()):
                if lane.message_id in held:
                    lane.abandoned = True
                    del self._busy[url]

    def wait(self, timeout: float | None = None) -> None:
        """Until every lane started so far has finished."""
        wait_for(list(self._futures), timeout=timeout)

    def close(self) -> None:
        """Start no more pushes: a lane ends once its POST in flight returns."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, lane: _Lane) -> None:
        try:
            for _ in range(PUSHES_PER_LANE):
                if lane.abandoned or self._closed or not self._push_next(lane):
                    break
        except Exception:  # the lane ends; a push left ``pushing`` is held by the sweep
            log.exception("pushing to %s failed", lane.url)
        finally:
            with self._lock:
                if self._busy.get(lane.url) is lane:
                    del self._busy[lane.url]

    def _push_next(self, lane: _Lane) -> bool:
        with session_scope(self.database_url) as session:
            lock_for_submission(session)
            claimed = claim_pushes(session, now=self.clock(), limit=1, url=lane.url)
        if not claimed:
            return False
        [(message_id, target, body)] = claimed
        lane.message_id = message_id
        ok, error, in_doubt = False, None, False
        try:
            status = self.post(
                target,
                body,
                {"Content-Type": "application/xml", "X-Meterhub-Message-Id": str(message_id)},
            )
            ok = 200 <= status < 300
            error = None if ok else f"HTTP {status}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            in_doubt = not isinstance(exc, NEVER_SENT)
        with session_scope(self.database_url) as session:
            lock_for_submission(session)
            finish_push(
                session,
                message_id=message_id,
                ok=ok,
                error=error,
                now=self.clock(),
                max_attempts=self.max_attempts,
                in_doubt=in_doubt,
            )
        lane.message_id = None
        if ok:
            with self._lock:
                self.delivered += 1
        return True


def network_for(settings: Settings) -> NetworkModel:
    """The device network model the settings describe (``METERHUB_NETWORK_PROFILE``)."""
    return NetworkModel(NetworkProfile.load_or_default(settings.network_profile))


def sweep(
    settings: Settings,
    *,
    pusher: Pusher,
    network: NetworkModel,
    now: datetime | None = None,
) -> int:
    """Release what is due, raise outages and restorations, hold stuck pushes, start pushing.
    Returns how many answers were released; pushes go on in the pusher's lanes.

    Each transaction takes SQLite's write lock before its first read (as a submission does):
    otherwise, under a stream of submissions, its read snapshot goes stale and the write fails
    at once with "database is locked"."""
    url = settings.database_url
    with session_scope(url) as session:
        lock_for_submission(session)
        released = release_due(session, now=now or utcnow())
    with session_scope(url) as session:
        lock_for_submission(session)
        stuck = hold_stuck_pushes(
            session,
            now=now or utcnow(),
            stuck_after=timedelta(seconds=settings.push_stuck_seconds),
        )
    if stuck:
        log.warning("held %d pushes stuck in flight", len(stuck))
        pusher.abandon(stuck)
    try:
        with session_scope(url) as session:
            lock_for_submission(session)
            at = now or utcnow()
            outages = sweep_outages(session, network=network, seed=settings.network_seed, now=at)
    finally:  # outages that fail to be raised hold up no push
        pusher.dispatch()
    if outages.alerts:
        log.info(
            "power outages: %d started, %d hubs hit, %d restored, %d alerts owed",
            outages.outages,
            outages.hubs,
            outages.restored,
            outages.alerts,
        )
    return released


def run_once(
    settings: Settings,
    *,
    post: Poster = http_post,
    now: datetime | None = None,
    network: NetworkModel | None = None,
) -> tuple[int, int]:
    """One sweep, waiting for its pushes: returns (released, pushed). ``now`` fixes the clock
    for everything the sweep does (tests move it)."""
    pusher = Pusher(
        settings.database_url,
        post=post,
        max_attempts=settings.callback_max_attempts,
        lanes=settings.push_lanes,
        clock=(lambda: now) if now is not None else utcnow,
    )
    try:
        released = sweep(settings, pusher=pusher, network=network or network_for(settings), now=now)
        pusher.wait()
        # Lanes are bounded: URLs that found none free, or had more than a lane's share, go on.
        for _ in range(10):
            if not pusher.dispatch():
                break
            pusher.wait()
    finally:
        pusher.close()
    return released, pusher.delivered


class Worker:
    """A daemon thread sweeping every ``worker_interval_seconds``; pushes run in its lanes."""

    def __init__(
        self,
        settings: Settings,
        *,
        post: Poster = http_post,
        network: NetworkModel | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.network = network or network_for(settings)
        self.clock = clock
        self.pusher = Pusher(
            settings.database_url,
            post=post,
            max_attempts=settings.callback_max_attempts,
            lanes=settings.push_lanes,
            clock=clock,
        )
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
        self.pusher.close()

    def _loop(self) -> None:
        last_export = 0.0
        while not self._stop.is_set():
            try:
                sweep(self.settings, pusher=self.pusher, network=self.network, now=self.clock())
                if self.settings.lake_dir and time.monotonic() - last_export >= LAKE_EXPORT_EVERY:
                    last_export = time.monotonic()
                    export_to_lake(self.settings)
            except Exception:  # keep the worker alive; the sweep is idempotent
                log.exception("gateway sweep failed")
            self._stop.wait(self.settings.worker_interval_seconds)


LAKE_EXPORT_EVERY = 10.0


def export_to_lake(settings: Settings) -> int:
    """Copy every finished request, and every alert no request raised, not yet in the event
    lake (``settings.lake_dir``). Returns how many requests and alerts were exported."""
    from pathlib import Path

    from meterhub.lake.export import export_pending
    from meterhub.lake.writer import EventLakeWriter

    writer = EventLakeWriter(Path(settings.lake_dir))
    exported = 0
    while True:
        with session_scope(settings.database_url) as session:
            lock_for_submission(session)
            result = export_pending(session, writer=writer, now=utcnow())
        exported += result.requests + result.alerts
        if result.requests == 0 and result.alerts == 0:
            return exported
