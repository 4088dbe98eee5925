"""Group commit on the DUIS endpoint: submissions that queue together share one transaction,
keep their arrival order (counters), and one broken submission never costs its neighbours their
acknowledgement. And the framework-free fast path answers like the route it shortcuts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from meterhub.api.duis import DuisFastPath
from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.errors import MeterhubError, NotAuthenticated
from meterhub.gateway import intake as intake_module
from meterhub.gateway import service as gateway_service
from meterhub.gateway.intake import Intake
from meterhub.gateway.models import RequestCounter, ServiceRequest
from meterhub.gateway.runtime import GatewayRuntime
from meterhub.gateway.service import Submission
from meterhub.kit.clock import utcnow
from tests.gateway.duis_factories import Estate, build_estate, duis_id, read_registers

XML = {"Content-Type": "application/xml"}


class Results:
    """Collects what the writer hands back, per RequestID-ish label, and waits for all."""

    def __init__(self) -> None:
        self.by_label: dict[str, Submission | BaseException] = {}
        self._cond = threading.Condition()

    def done_for(self, label: str) -> Any:
        def done(result: Submission | BaseException) -> None:
            with self._cond:
                self.by_label[label] = result
                self._cond.notify_all()

        return done

    def wait(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.by_label) >= n, timeout=30)

    def code(self, label: str) -> str:
        result = self.by_label[label]
        assert isinstance(result, Submission), result
        return str(result.code)


@pytest.fixture
def intake(settings: Settings) -> Iterator[Intake]:
    writer = Intake(GatewayRuntime.from_settings(settings), settings.database_url)
    yield writer
    writer.stop()


class Gate:
    """Holds the writer inside its first submission: what queues meanwhile is the next batch."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        assert self.released.wait(timeout=30)

    def set(self) -> None:
        self.released.set()


@pytest.fixture
def first_store_waits(monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate()
    real_store = intake_module.store
    calls = []

    def store(*args: Any, **kwargs: Any) -> Submission:
        calls.append(1)
        if len(calls) == 1:
            gate.hold()
        return real_store(*args, **kwargs)

    monkeypatch.setattr(intake_module, "store", store)
    return gate


def _submit(writer: Intake, results: Results, e: Estate, label: str, counter: int) -> None:
    raw = read_registers(duis_id(e.supplier_login), e.esme_id, counter)
    authorization = e.supplier_login.headers["Authorization"]
    writer.put(
        authorization, raw, intake_module.parse(writer.runtime, raw), results.done_for(label)
    )


def _stored(session: Session) -> list[tuple[int | None, str]]:
    session.expire_all()
    rows = session.execute(
        select(ServiceRequest.counter, ServiceRequest.ack_code).order_by(ServiceRequest.id)
    )
    return [(r[0], r[1]) for r in rows]


def test_queued_requests_share_one_commit_in_arrival_order(
    session: Session, intake: Intake, first_store_waits: Gate
) -> None:
    e = build_estate(session)
    results = Results()
    _submit(intake, results, e, "first", 1)
    assert first_store_waits.entered.wait(timeout=30)
    for label, counter in [("a", 2), ("b", 3), ("replay", 3), ("c", 5), ("lower", 4)]:
        _submit(intake, results, e, label, counter)
    first_store_waits.set()
    results.wait(6)

    assert intake.batches == 2  # the first alone, then the five that queued behind it
    assert {label: results.code(label) for label in results.by_label} == {
        "first": "I99",
        "a": "I99",
        "b": "I99",
        "replay": "E65",
        "c": "I99",
        "lower": "E65",
    }
    assert _stored(session) == [
        (1, "I99"),
        (2, "I99"),
        (3, "I99"),
        (3, "E65"),
        (5, "I99"),
        (4, "E65"),
    ]


def test_a_submission_that_breaks_costs_its_batch_nothing(
    session: Session,
    intake: Intake,
    first_store_waits: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    e = build_estate(session)
    waiting_store = intake_module.store

    def store(
        session: Session, runtime: GatewayRuntime, user: Any, raw: bytes, parsed: Any
    ) -> Submission:
        if getattr(parsed, "counter", None) == 3:
            raise RuntimeError("a bug in one submission")
        return waiting_store(session, runtime, user, raw, parsed)

    monkeypatch.setattr(intake_module, "store", store)
    results = Results()
    _submit(intake, results, e, "first", 1)
    assert first_store_waits.entered.wait(timeout=30)
    for label, counter in [("a", 2), ("broken", 3), ("c", 4)]:
        _submit(intake, results, e, label, counter)
    first_store_waits.set()
    results.wait(4)

    broken = results.by_label["broken"]
    assert isinstance(broken, MeterhubError) and broken.status == 500
    assert [results.code(label) for label in ("first", "a", "c")] == ["I99"] * 3
    # Only acknowledged requests are stored, each once.
    assert _stored(session) == [(1, "I99"), (2, "I99"), (4, "I99")]


def test_an_unknown_token_in_a_batch_is_refused_alone(
    session: Session, intake: Intake, first_store_waits: Gate
) -> None:
    e = build_estate(session)
    results = Results()
    _submit(intake, results, e, "first", 1)
    assert first_store_waits.entered.wait(timeout=30)
    raw = read_registers(duis_id(e.supplier_login), e.esme_id, 2)
    parsed = intake_module.parse(intake.runtime, raw)
    intake.put("Bearer not-a-token", raw, parsed, results.done_for("stranger"))
    _submit(intake, results, e, "own", 2)
    first_store_waits.set()
    results.wait(3)

    assert isinstance(results.by_label["stranger"], NotAuthenticated)
    assert results.code("first") == results.code("own") == "I99"
    assert _stored(session) == [(1, "I99"), (2, "I99")]


def test_a_database_that_stays_locked_costs_a_batch_one_wait_not_one_per_request(
    session: Session,
    intake: Intake,
    first_store_waits: Gate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    e = build_estate(session)
    results = Results()
    _submit(intake, results, e, "first", 1)
    assert first_store_waits.entered.wait(timeout=30)
    waits = []

    def locked(session: Session) -> None:  # as SQLite after busy_timeout
        waits.append(1)
        raise OperationalError("UPDATE duis_request_counter", {}, Exception("database is locked"))

    monkeypatch.setattr(gateway_service, "lock_for_submission", locked)
    for label, counter in [("a", 2), ("b", 3), ("c", 4)]:
        _submit(intake, results, e, label, counter)
    first_store_waits.set()
    results.wait(4)

    assert results.code("first") == "I99"
    for label in ("a", "b", "c"):
        refused = results.by_label[label]
        assert isinstance(refused, MeterhubError) and refused.status == 500
    assert len(waits) == 1
    assert _stored(session) == [(1, "I99")]


def _rows(session: Session) -> list[dict[str, Any]]:
    """Every stored request, every column but the row number."""
    session.rollback()  # a fresh snapshot: the app committed since
    columns = [c.key for c in ServiceRequest.__table__.columns if c.key != "id"]
    return [
        {key: getattr(row, key) for key in columns}
        for row in session.scalars(select(ServiceRequest).order_by(ServiceRequest.id))
    ]


def _forget_requests(session: Session) -> None:
    """As if nothing had been sent: no request stored, no counter taken."""
    session.execute(delete(ServiceRequest))
    session.execute(delete(RequestCounter))
    session.commit()


class TestFastPath:
    @pytest.mark.parametrize(("meter", "status"), [("own", 200), ("another supplier's", 403)])
    def test_route_without_the_fast_path_answers_and_stores_the_same(
        self,
        session: Session,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        meter: str,
        status: int,
    ) -> None:
        """The same fresh request, on the same estate at the same moment, once through the
        FastAPI route and once through ``DuisFastPath``: byte for byte the same answer, and
        the same stored row."""
        e = build_estate(session)
        device = e.esme_id if meter == "own" else e.other_esme_id
        body = read_registers(duis_id(e.supplier_login), device, 1)
        at = utcnow()
        monkeypatch.setattr(intake_module, "utcnow", lambda: at)
        slow = create_app(settings)
        middleware = len(slow.user_middleware)
        slow.user_middleware = [
            m for m in slow.user_middleware if m.cls is not cast(Any, DuisFastPath)
        ]
        assert len(slow.user_middleware) == middleware - 1
        answers, stored = [], []
        for app in (slow, create_app(settings)):
            with TestClient(app) as client:
                r = client.post(
                    "/api/v1/duis", content=body, headers={**e.supplier_login.headers, **XML}
                )
            answers.append((r.status_code, dict(r.headers), r.content))
            stored.append(_rows(session))
            _forget_requests(session)
        assert answers[0] == answers[1]
        assert stored[0] == stored[1]
        assert answers[0][0] == status
        assert answers[0][1]["content-type"].startswith("application/xml")
        assert len(stored[0]) == 1

    def test_a_request_without_credentials_is_refused_before_any_work(
        self, session: Session, settings: Settings
    ) -> None:
        e = build_estate(session)
        body = read_registers(duis_id(e.supplier_login), e.esme_id, 1)
        app = create_app(settings)
        with TestClient(app) as client:
            answer = client.post("/api/v1/duis", content=body, headers=XML)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "missing_token"
            assert app.state.duis_intake.batches == 0  # the intake never saw it
        assert _stored(session) == []

    def test_bodies_over_the_limit_are_refused_unread(
        self, session: Session, settings: Settings
    ) -> None:
        e = build_estate(session)
        small = settings.model_copy(update={"max_body_bytes": 256})
        body = read_registers(duis_id(e.supplier_login), e.esme_id, 1)
        assert len(body) > 256

        def chunks() -> Iterator[bytes]:
            yield body[:200]
            yield body[200:]

        with TestClient(create_app(small)) as c:
            declared = c.post(
                "/api/v1/duis", content=body, headers={**e.supplier_login.headers, **XML}
            )
            streamed = c.post(
                "/api/v1/duis", content=chunks(), headers={**e.supplier_login.headers, **XML}
            )
        for r in (declared, streamed):
            assert r.status_code == 413
            assert r.json()["error"]["code"] == "payload_too_large"
        assert _stored(session) == []


def test_a_submission_after_shutdown_is_answered_not_left_waiting(
    session: Session, intake: Intake
) -> None:
    e = build_estate(session)
    results = Results()
    _submit(intake, results, e, "before", 1)
    results.wait(1)
    intake.stop()
    _submit(intake, results, e, "after", 2)
    results.wait(2)
    after = results.by_label["after"]
    assert isinstance(after, MeterhubError) and after.status == 503
    assert _stored(session) == [(1, "I99")]


def test_an_app_started_again_takes_submissions_again(session: Session, settings: Settings) -> None:
    """A TestClient (or any host) may run the app's lifespan more than once."""
    e = build_estate(session)
    app = create_app(settings)
    for counter in (1, 2):
        with TestClient(app) as c:
            body = read_registers(duis_id(e.supplier_login), e.esme_id, counter)
            r = c.post("/api/v1/duis", content=body, headers={**e.supplier_login.headers, **XML})
        assert (r.status_code, r.headers["x-duis-response-code"]) == (200, "I99")
