"""The push lanes: threads that POST owed messages to callback URLs.

Pushes run in **lanes**, one per callback URL, on a small thread pool (``push_lanes``): a lane
claims its URL's next message, POSTs it, records the outcome, and goes on to the next, so each
user's messages arrive one at a time and in order (a message waits while an earlier one of the
same user is pending or in flight), while a slow receiver holds up only its own lane. A crash
leaves at most one POST per lane in doubt. What a claim, a hold and an outcome mean is the
gateway's (``meterhub.gateway.pushes``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from datetime import datetime

import httpx

from meterhub.db.session import session_scope
from meterhub.gateway.pushes import claim_pushes, finish_push, urls_due
from meterhub.gateway.service import lock_for_submission
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
