"""The DUIS endpoint's hot path: group commit, and a way past the web framework.

**Group commit.** An acknowledgement may only leave once its request is committed, and a commit
is the dearest thing a submission does (a transaction begun and ended, SQLite's write lock taken
and handed over, a session built and closed). So each process has one ``Intake``: a writer thread
that takes every submission waiting for it, validates and stores them one after another in
**one** transaction, commits once, and only then answers each of them. Under load a batch holds
tens of requests and the commit is shared; with a single sender it holds one and costs what it
did before. Validation is exactly ``service.submit``, in arrival order, so counters, entitlement
and refusals mean the same as when each request had a transaction of its own.

A submission whose validation fails still belongs to the batch (its refused row is stored like
any other). A batch that fails for another reason (a bug, a lost database connection) is rolled
back whole and its requests are stored again one transaction each, so one bad request cannot
take its neighbours' acknowledgements with it, and nothing is answered before it is stored.
A batch whose transaction cannot even begin (SQLite's write lock still taken after
``busy_timeout``) is answered at once with a 500: trying each alone would wait as long again.

Every way of sending a request comes here: the XML endpoint, and the JSON and batch forms
(``parse_json`` turns a JSON request into the XML it stands for; each batch item is one
submission). So the gateway's writers take their locks in one order (this process's
``GatewayRuntime.writing``, then the database's), and no request is answered before its commit.

**Past the framework.** ``DuisFastPath`` is a plain ASGI middleware that answers
``POST /api/v1/duis`` itself: read the body (bounded), refuse it at once if it carries no
bearer token, parse and schema-check it on the event loop, hand it to the intake (which checks
the token), await the commit. Routing, dependency injection and response
models cost more than the parse on this endpoint. The FastAPI route stays (OpenAPI, and apps
built without the middleware) and runs the same ``handle_duis_xml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from meterhub.db.session import get_engine
from meterhub.errors import MeterhubError, Unavailable
from meterhub.gateway import service
from meterhub.gateway.runtime import GatewayRuntime
from meterhub.gateway.xml import DuisRejected, DuisRequest, parse_then_validate, request_to_xml
from meterhub.kit.clock import utcnow
from meterhub.parties.service import ApiUser, api_user_for_header, token_from_header

log = logging.getLogger(__name__)

DUIS_PATH = "/api/v1/duis"
#: At most this many submissions share one transaction (bounds a batch's latency).
MAX_BATCH = 256


def parse(runtime: GatewayRuntime, raw: bytes) -> DuisRequest | DuisRejected:
    """Secure parse and (when configured) the schema check, on one reading of the document."""
    try:
        return parse_then_validate(
            raw,
            max_bytes=runtime.max_bytes,
            max_depth=runtime.max_depth,
            validator=runtime.validator,
        )
    except DuisRejected as rejected:
        return rejected


def parse_json(
    runtime: GatewayRuntime, obj: Mapping[str, Any]
) -> tuple[bytes, DuisRequest | DuisRejected]:
    """The JSON form of a request as the XML path would have received it: the DUIS XML it
    stands for, parsed and checked the same way. A JSON request that cannot be written as DUIS
    XML is refused (E65) and stored with its JSON as the raw text."""
    try:
        raw = request_to_xml(obj)
    except DuisRejected as rejected:
        return json.dumps(obj, default=str).encode(), rejected
    return raw, parse(runtime, raw)


def store(
    session: Session,
    runtime: GatewayRuntime,
    user: ApiUser,
    raw: bytes,
    parsed: DuisRequest | DuisRejected,
) -> service.Submission:
    """Validate and store one parsed request in the session's open transaction."""
    now = utcnow()
    if isinstance(parsed, DuisRejected):
        return service.rejected_submission(session, user=user, rejected=parsed, raw=raw, now=now)
    return service.submit(
        session,
        user=user,
        request=parsed,
        now=now,
        seed=runtime.seed,
        network=runtime.network,
        dcc_party_id=runtime.dcc_party_id(session),
    )


@dataclass
class _Item:
    authorization: str
    raw: bytes
    parsed: DuisRequest | DuisRejected
    done: Callable[[service.Submission | BaseException], None]


@dataclass
class Intake:
    """One writer thread per process storing DUIS submissions in shared transactions."""

    runtime: GatewayRuntime
    database_url: str
    max_batch: int = MAX_BATCH
    _queue: queue.SimpleQueue[_Item | None] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = field(default=None, init=False)
    _start_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stopping: bool = field(default=False, init=False)
    batches: int = field(default=0, init=False)
    stored: int = field(default=0, init=False)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="duis-intake", daemon=True)
                self._thread.start()

    def put(
        self,
        authorization: str,
        raw: bytes,
        parsed: DuisRequest | DuisRejected,
        done: Callable[[service.Submission | BaseException], None],
    ) -> None:
        """Queue a submission; ``done`` gets its committed result or the error, on the writer."""
        if self._stopping:
            done(Unavailable("the hub is shutting down; nothing was stored"))
            return
        self._ensure_started()
        self._queue.put(_Item(authorization, raw, parsed, done))

    async def submit(
        self, authorization: str, raw: bytes, parsed: DuisRequest | DuisRejected
    ) -> service.Submission:
        """Store one submission and wait for the commit that covers it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[service.Submission] = loop.create_future()

        def done(result: service.Submission | BaseException) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, result)

        self.put(authorization, raw, parsed, done)
        return await future

    async def submit_all(
        self, authorization: str, items: Sequence[tuple[bytes, DuisRequest | DuisRejected]]
    ) -> list[service.Submission | BaseException]:
        """Store several submissions of one sender, queued together in this order (so they
        share a commit when they fit in one batch); each answer, or the error that left it
        unstored, once the commit that covers it is done."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[service.Submission]] = []
        for raw, parsed in items:
            future: asyncio.Future[service.Submission] = loop.create_future()

            def done(
                result: service.Submission | BaseException,
                future: asyncio.Future[service.Submission] = future,
            ) -> None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, future, result)

            self.put(authorization, raw, parsed, done)
            futures.append(future)
        return list(await asyncio.gather(*futures, return_exceptions=True))

    def submit_blocking(
        self, authorization: str, raw: bytes, parsed: DuisRequest | DuisRejected
    ) -> service.Submission:
        """The same from a plain thread (a sync route, a test)."""
        box: list[service.Submission | BaseException] = []
        ready = threading.Event()

        def done(result: service.Submission | BaseException) -> None:
            box.append(result)
            ready.set()

        self.put(authorization, raw, parsed, done)
        ready.wait()
        result = box[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def open(self) -> None:
        """Take submissions (again, after ``stop``: an app's lifespan may run more than once)."""
        self._stopping = False

    def stop(self) -> None:
        """Let the writer finish what is queued and end; anything queued after that is
        answered "shutting down", never left waiting."""
        self._stopping = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item.done(Unavailable("the hub is shutting down; nothing was stored"))

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            try:
                # Everything that queued while the previous batch (or another writer, on
                # SQLite) held the lock joins this batch.
                with self.runtime.writing():
                    while len(batch) < self.max_batch:
                        try:
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if item is None:
                            stopping = True
                            break
                        batch.append(item)
                    self._store_batch(batch)
            except Exception:  # the lock itself failed: answer everyone, keep the writer alive
                log.exception("the DUIS intake could not take the write lock")
                for item in batch:
                    item.done(
                        MeterhubError("something went wrong on our side; nothing was changed")
                    )
            if stopping:
                return

    def _store_batch(self, batch: list[_Item]) -> None:
        try:
            results = self._in_one_transaction(batch)
        except _NotBegun:
            # Nothing was tried (SQLite's write lock stayed taken past busy_timeout, say):
            # trying each alone would only wait that long again per request.
            log.exception("a DUIS batch could not begin its transaction")
            for item in batch:
                item.done(MeterhubError("something went wrong on our side; nothing was changed"))
            return
        except Exception:
            if len(batch) == 1:
                log.exception("storing a DUIS submission failed")
                batch[0].done(
                    MeterhubError("something went wrong on our side; nothing was changed")
                )
                return
            log.warning("a batch of %d DUIS submissions failed; storing one by one", len(batch))
            for item in batch:
                self._store_batch([item])
            return
        self.batches += 1
        self.stored += len(batch)
        for item, result in zip(batch, results, strict=True):
            item.done(result)

    def _in_one_transaction(self, batch: list[_Item]) -> list[service.Submission | BaseException]:
        """Validate and store every item, commit once; raise (rolled back) if anything breaks."""
        results: list[service.Submission | BaseException] = []
        # One batch is one snapshot: a token answers the same for all its requests in it.
        users: dict[str, ApiUser | MeterhubError] = {}
        session = Session(bind=get_engine(self.database_url), expire_on_commit=False)
        try:
            try:
                service.lock_for_submission(session)
            except Exception as exc:
                raise _NotBegun from exc
            for item in batch:
                user = users.get(item.authorization)
                if user is None:
                    try:
                        user = api_user_for_header(session, item.authorization)
                    except MeterhubError as refused:  # unknown token: nothing is stored
                        user = refused
                    users[item.authorization] = user
                if isinstance(user, MeterhubError):
                    results.append(user)
                    continue
                results.append(store(session, self.runtime, user, item.raw, item.parsed))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        return results


class _NotBegun(Exception):
    """A batch's transaction failed before any of its submissions was tried."""


def _settle(
    future: asyncio.Future[service.Submission], result: service.Submission | BaseException
) -> None:
    if future.done():  # cancelled (the client went away), or already answered
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _header_text(text: str, limit: int = 300) -> str:
    """A refusal reason as one printable ASCII header line (the DUIS XML has no place for it)."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(printable.encode("ascii", "replace").decode().split())[:limit]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def reply_for(sub: service.Submission) -> Reply:
    """The HTTP answer to a stored submission: the DUIS XML, its code in a header."""
    headers = [
        (b"content-type", b"application/xml"),
        (b"x-duis-response-code", str(sub.code).encode()),
    ]
    if sub.request.refusal_reason:
        headers.append((b"x-duis-reason", _header_text(sub.request.refusal_reason).encode()))
    status = 200 if sub.accepted else service.http_status_for(sub.code)
    return Reply(status, headers, sub.reply_xml)


async def handle_duis_xml(
    runtime: GatewayRuntime, intake: Intake, authorization: str, raw: bytes
) -> Reply:
    """``POST /api/v1/duis`` after the body is read: parse, store (group commit), answer."""
    token_from_header(authorization)  # no credentials at all: no parse, no write lock
    parsed = parse(runtime, raw)
    return reply_for(await intake.submit(authorization, raw, parsed))
