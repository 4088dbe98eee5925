"""The worker inside ``meterhub serve``: a daemon thread that sweeps every
``worker_interval_seconds``. Each sweep releases the device network's answers when due, holds
stuck pushes, raises power outages and their restorations, and starts the push lanes; with
``METERHUB_LAKE_DIR`` set it also copies finished requests into the event lake, and with
``METERHUB_SMTP_HOST`` set it starts the mail lane (``jobs/mail.py``) about once a second."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.outages import sweep_outages
from meterhub.gateway.pushes import hold_stuck_pushes, recover_in_doubt
from meterhub.gateway.service import lock_for_submission, release_due
from meterhub.jobs.mail import Mailer, Sender
from meterhub.jobs.pushes import Clock, Poster, Pusher, http_post
from meterhub.kit.clock import utcnow
from meterhub.network.model import NetworkModel, NetworkProfile

log = logging.getLogger(__name__)


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
        send_mail: Sender | None = None,
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
        self.mailer = Mailer(settings, send=send_mail, clock=clock)
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
        self.mailer.close(timeout=MAIL_STOP_SECONDS)

    def _loop(self) -> None:
        last_export = last_mail = 0.0
        while not self._stop.is_set():
            try:
                sweep(self.settings, pusher=self.pusher, network=self.network, now=self.clock())
                if self.settings.lake_dir and time.monotonic() - last_export >= LAKE_EXPORT_EVERY:
                    last_export = time.monotonic()
                    export_to_lake(self.settings)
            except Exception:  # keep the worker alive; the sweep is idempotent
                log.exception("gateway sweep failed")
            if self.mailer.enabled and time.monotonic() - last_mail >= MAIL_EVERY:
                last_mail = time.monotonic()
                try:
                    self.mailer.dispatch()
                except Exception:  # mail waits, queued, for the next try
                    log.exception("starting the mail lane failed")
            self._stop.wait(self.settings.worker_interval_seconds)


LAKE_EXPORT_EVERY = 10.0
#: How often the worker looks for due mail (a notification waits at most about this long).
MAIL_EVERY = 1.0
#: How long stopping waits for a mail the server is being sent, so it is recorded as sent.
MAIL_STOP_SECONDS = 5.0


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
