"""The worker inside ``meterhub serve``: a daemon thread that sweeps every
``worker_interval_seconds``. Each sweep releases the device network's answers when due, holds
stuck pushes, raises power outages and their restorations, and starts the push lanes; with
``METERHUB_LAKE_DIR`` set it also copies finished requests into the event lake, and brings the
report cube up to date for the days it wrote to (in a thread of its own, :class:`CubeUpdater`),
so live traffic reaches the report pages without anyone running ``meterhub report cube
build``; every ``jobs.contacts.SWEEP_EVERY`` seconds it applies the contact deadlines that
passed (``jobs/contacts.py``); with ``METERHUB_SMTP_HOST`` set it starts the mail lane
(``jobs/mail.py``) about once a second."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.outages import sweep_outages
from meterhub.gateway.pushes import hold_stuck_pushes, recover_in_doubt
from meterhub.gateway.service import lock_for_submission, release_due
from meterhub.jobs import contacts as contact_deadlines
from meterhub.jobs.mail import Mailer, Sender
from meterhub.jobs.pushes import Clock, Poster, Pusher, http_post
from meterhub.kit.clock import utcnow
from meterhub.lake.export import export_pending
from meterhub.lake.writer import EventLakeWriter
from meterhub.network.model import NetworkModel, NetworkProfile
from meterhub.reporting.cube import CubeBuild, build_cube
from meterhub.reporting.explore import cube_dir_of, reader_for

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
        self.cube = CubeUpdater(settings, self._stop) if settings.lake_dir else None

    def start(self) -> None:
        with session_scope(self.settings.database_url) as session:
            held = recover_in_doubt(session)
        if held:
            log.warning("held %d pushes interrupted by the last shutdown", held)
        self._thread.start()
        if self.cube is not None:
            self.cube.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.cube is not None:
            self.cube.join(timeout=30)  # a day's rebuild under way is let finish
        self.pusher.close()
        self.mailer.close(timeout=MAIL_STOP_SECONDS)

    def _loop(self) -> None:
        last_export = -float("inf")
        last_mail = 0.0
        last_contacts = -float("inf")
        while not self._stop.is_set():
            try:
                sweep(self.settings, pusher=self.pusher, network=self.network, now=self.clock())
                if self.settings.lake_dir and time.monotonic() - last_export >= LAKE_EXPORT_EVERY:
                    last_export = time.monotonic()
                    exported = export_to_lake(self.settings)
                    if self.cube is not None:
                        self.cube.add(exported.days)
            except Exception:  # keep the worker alive; the sweep is idempotent
                log.exception("gateway sweep failed")
            if time.monotonic() - last_contacts >= contact_deadlines.SWEEP_EVERY:
                last_contacts = time.monotonic()
                try:
                    contact_deadlines.sweep_contacts(self.settings, now=self.clock())
                except Exception:  # idempotent: what is still due is applied next time
                    log.exception("contact deadline sweep failed")
            if self.mailer.enabled and time.monotonic() - last_mail >= MAIL_EVERY:
                last_mail = time.monotonic()
                try:
                    self.mailer.dispatch()
                except Exception:  # mail waits, queued, for the next try
                    log.exception("starting the mail lane failed")
            self._stop.wait(self.settings.worker_interval_seconds)


class CubeUpdater:
    """A thread of its own that brings the report cube up to date with what the worker
    exported: first every day whose lake files changed since the cube was built (a catch-up
    after a restart; unchanged days are only looked at), then every ``cube_update_seconds``
    the days exported to since. Rebuilding a busy day takes seconds over a large lake, so it
    runs beside the sweep and never holds up a response or a push."""

    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self._stop = stop
        self._lock = threading.Lock()
        self._days: set[date] = set()
        self._thread = threading.Thread(target=self._loop, name="meterhub-cube", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout=timeout)

    def add(self, days: Collection[date]) -> None:
        with self._lock:
            self._days.update(days)

    def _loop(self) -> None:
        caught_up = False
        while not self._stop.is_set():
            with self._lock:
                days, self._days = self._days, set()
            try:
                if not caught_up:
                    update_cube(self.settings, days=None)
                    caught_up = True
                elif days:
                    update_cube(self.settings, days=days)
            except Exception:
                self.add(days)  # tried again next time
                log.exception("report cube update failed")
            self._stop.wait(max(self.settings.cube_update_seconds, 0.1))


LAKE_EXPORT_EVERY = 10.0
#: How often the worker looks for due mail (a notification waits at most about this long).
MAIL_EVERY = 1.0
#: How long stopping waits for a mail the server is being sent, so it is recorded as sent.
MAIL_STOP_SECONDS = 5.0

#: DuckDB threads of the worker's cube update: it runs beside the server's requests.
CUBE_UPDATE_THREADS = 1


@dataclass(frozen=True)
class LakeExport:
    """What one export did: requests and alerts exported, and the days of the lake it wrote."""

    exported: int
    days: frozenset[date]


def _day_of(path: Path) -> date:
    return date.fromisoformat(path.parent.name.removeprefix("day="))


def export_to_lake(settings: Settings) -> LakeExport:
    """Copy every finished request, and every alert no request raised, not yet in the event
    lake (``settings.lake_dir``)."""
    writer = EventLakeWriter(Path(settings.lake_dir))
    exported = 0
    days: set[date] = set()
    while True:
        with session_scope(settings.database_url) as session:
            lock_for_submission(session)
            result = export_pending(session, writer=writer, now=utcnow())
        exported += result.requests + result.alerts
        days.update(_day_of(f) for f in result.files)
        if result.requests == 0 and result.alerts == 0:
            return LakeExport(exported=exported, days=frozenset(days))


def update_cube(settings: Settings, *, days: Collection[date] | None) -> CubeBuild:
    """Rebuild the report cube's files of ``days`` (the days an export wrote to), and no other
    day's (``None``: every day whose lake files changed since its cube file was built), then
    have this process's report reader load the new cube in the background: pages go on being
    served from the previous load until the new one is in."""
    cube = cube_dir_of(settings)
    result = build_cube(Path(settings.lake_dir), cube=cube, days=days, threads=CUBE_UPDATE_THREADS)
    if result.built or result.removed:
        log.info("report cube: rebuilt %s", ", ".join(d.isoformat() for d in result.built))
        reader = reader_for(settings)
        if reader is not None:
            reader.refresh(wait=False)
    return result
