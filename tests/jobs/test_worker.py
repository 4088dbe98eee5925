"""The gateway worker with the clock as a parameter: releasing the device network's answers and
pushing them to callback URLs, exactly once or held for polling, never twice."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from meterhub.db.session import get_sessionmaker, session_scope
from meterhub.gateway.models import Callback, OutboundMessage, ServiceRequest
from meterhub.gateway.pushes import (
    claim_pushes,
    finish_push,
    hold_stuck_pushes,
    recover_in_doubt,
)
from meterhub.gateway.service import release_due
from meterhub.jobs import worker as worker_module
from meterhub.jobs.pushes import Pusher
from meterhub.jobs.worker import run_once, sweep, update_cube
from meterhub.kit.clock import as_utc, utcnow
from meterhub.network.model import NetworkModel, NetworkProfile
from meterhub.reporting.cube import REQUESTS, cube_days, cube_file, lake_days
from tests.conftest import ON_POSTGRES
from tests.factories import Login, make_api_login
from tests.gateway.duis_factories import build_estate, duis_id, read_registers
from tests.reporting.explore_lake import build_explore_lake
from tests.worlds import make_supplied_meter, make_world

XML = {"Content-Type": "application/xml"}
#: Later than any answer the device network can owe a read (its timeout is 60 s).
LATER = timedelta(hours=2)


@dataclass
class Sender:
    login: Login
    esme_id: str
    counter: int = 0

    def send(self, client: TestClient) -> str:
        """Send one 4.1.1 read with the next counter; returns its RequestID."""
        self.counter += 1
        body = read_registers(duis_id(self.login), self.esme_id, self.counter)
        r = client.post("/api/v1/duis", content=body, headers={**self.login.headers, **XML})
        assert r.status_code == 200, r.text
        return f"{duis_id(self.login)}:{self.esme_id}:{self.counter}"

    def set_callback(self, client: TestClient, url: str) -> None:
        r = client.put("/api/v1/duis/callback", json={"url": url}, headers=self.login.headers)
        assert r.status_code == 200, r.text


@dataclass
class Estate:
    """Two users of one supplier and one user of another, each with a meter of their own."""

    a1: Sender
    a2: Sender
    b: Sender


@pytest.fixture
def estate(session: Session) -> Estate:
    world = make_world(session, suppliers=2)
    supplier_a, supplier_b = world.suppliers
    senders = []
    for n, party in enumerate((supplier_a, supplier_a, supplier_b)):
        esme = make_supplied_meter(
            session, supplier=party, network=world.network, mpan_number=9100 + n
        )
        senders.append(Sender(make_api_login(session, party=party), esme.device_id))
    session.commit()
    return Estate(*senders)


@dataclass
class Receiver:
    """A stand-in for users' callback servers: answers ``status`` or raises ``error``."""

    status: int = 200
    error: Exception | None = None
    calls: list[tuple[str, int, bytes]] = field(default_factory=list)

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((url, int(headers["X-Meterhub-Message-Id"]), body))
        if self.error is not None:
            raise self.error
        return self.status

    @property
    def message_ids(self) -> list[int]:
        return [message_id for _, message_id, _ in self.calls]


@dataclass(frozen=True)
class Seen:
    """An outbound message as the database holds it now."""

    id: int
    user_id: int
    request_id: str | None
    kind: str
    push_state: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    xml: str


def messages(settings: Settings) -> list[Seen]:
    with session_scope(settings.database_url) as s:
        return [
            Seen(
                id=m.id,
                user_id=m.user_id,
                request_id=m.request_id,
                kind=m.kind,
                push_state=m.push_state,
                attempts=m.attempts,
                next_attempt_at=as_utc(m.next_attempt_at) if m.next_attempt_at else None,
                delivered_at=as_utc(m.delivered_at) if m.delivered_at else None,
                last_error=m.last_error,
                xml=m.xml,
            )
            for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]


def only(settings: Settings) -> Seen:
    found = messages(settings)
    assert len(found) == 1, found
    return found[0]


class TestReleaseDue:
    def test_nothing_is_released_before_it_is_due(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.send(client)
        released, _ = run_once(settings, post=Receiver(), now=utcnow() - timedelta(minutes=1))
        assert released == 0
        assert messages(settings) == []

    def test_each_answer_is_released_once_however_often_the_sweep_runs(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        sent = [estate.a1.send(client) for _ in range(3)]
        later = utcnow() + LATER
        assert run_once(settings, post=Receiver(), now=later)[0] == 3
        assert run_once(settings, post=Receiver(), now=later)[0] == 0
        assert run_once(settings, post=Receiver(), now=later + LATER)[0] == 0
        responses = [m.request_id for m in messages(settings) if m.kind == "response"]
        assert sorted(r or "" for r in responses) == sorted(sent)
        with session_scope(settings.database_url) as s:
            states = s.scalars(select(ServiceRequest.state)).all()
        assert states == ["responded"] * 3

    @pytest.mark.skipif(not ON_POSTGRES, reason="row locks with SKIP LOCKED: PostgreSQL only")
    def test_two_sweeps_at_once_never_release_the_same_answer(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.send(client)
        maker = get_sessionmaker(settings.database_url)
        later = utcnow() + LATER
        with maker() as first, maker() as second:
            assert release_due(first, now=later) == 1
            assert release_due(second, now=later) == 0
            first.commit()
            second.commit()
        assert len(messages(settings)) == 1


class TestPush:
    def test_a_pushed_message_is_delivered_once(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        request_id = estate.a1.send(client)
        receiver = Receiver()
        later = utcnow() + LATER
        assert run_once(settings, post=receiver, now=later) == (1, 1)
        message = only(settings)
        assert receiver.calls == [("http://receiver.example/a1", message.id, message.xml.encode())]
        assert message.request_id == request_id
        assert (message.push_state, message.delivered_at) == ("delivered", later)
        run_once(settings, post=receiver, now=later + LATER)
        assert len(receiver.calls) == 1

    def test_a_refusing_receiver_is_retried_with_growing_back_off_then_held(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        settings = settings.model_copy(update={"callback_max_attempts": 5})
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        receiver = Receiver(status=500)
        now = utcnow() + LATER
        run_once(settings, post=receiver, now=now)
        assert len(receiver.calls) == 1
        message = only(settings)
        assert message.push_state == "pending"
        assert message.last_error == "HTTP 500"
        assert message.next_attempt_at is not None
        gaps = [message.next_attempt_at - now]

        run_once(settings, post=receiver, now=message.next_attempt_at - timedelta(seconds=0.5))
        assert len(receiver.calls) == 1, "retried before its back-off ran out"

        while message.push_state == "pending":
            assert message.next_attempt_at is not None
            now = message.next_attempt_at
            run_once(settings, post=receiver, now=now)
            message = only(settings)
            if message.next_attempt_at is not None and message.push_state == "pending":
                gaps.append(message.next_attempt_at - now)

        assert [g.total_seconds() for g in gaps] == [1, 2, 4, 8]
        assert len(receiver.calls) == 5 == message.attempts
        assert message.push_state == "held"
        assert message.last_error is not None
        assert "5 attempts" in message.last_error and "HTTP 500" in message.last_error
        run_once(settings, post=receiver, now=now + timedelta(days=1))
        assert len(receiver.calls) == 5

    def test_a_receiver_that_cannot_be_reached_is_retried(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        now = utcnow() + LATER
        run_once(settings, post=Receiver(error=httpx.ConnectError("refused")), now=now)
        assert only(settings).push_state == "pending"
        receiver = Receiver()
        run_once(settings, post=receiver, now=now + timedelta(seconds=1))
        assert (len(receiver.calls), only(settings).push_state) == (1, "delivered")

    def test_a_push_that_times_out_may_have_landed_so_is_held_not_repeated(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        now = utcnow() + LATER
        receiver = Receiver(error=httpx.ReadTimeout("no answer in 5 s"))
        run_once(settings, post=receiver, now=now)
        message = only(settings)
        assert message.push_state == "held"
        assert message.last_error is not None and "ReadTimeout" in message.last_error
        run_once(settings, post=Receiver(), now=now + timedelta(days=1))
        assert len(receiver.calls) == 1

    def test_users_without_a_callback_are_never_pushed(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        kept = estate.a2.send(client)
        receiver = Receiver()
        now = utcnow() + LATER
        for step in range(3):
            run_once(settings, post=receiver, now=now + timedelta(minutes=step))
        # The read's answer, and any alert its failure raised (the network decides from the
        # RequestID, which depends on which tests ran first), all belong to their sender.
        seen = messages(settings)
        a1s = [m for m in seen if m.user_id == estate.a1.login.user.id]
        a2s = [m for m in seen if m.user_id == estate.a2.login.user.id]
        assert sorted(receiver.message_ids) == sorted(m.id for m in a1s)
        assert {(m.request_id, m.push_state) for m in a2s} == {(kept, "none")}
        assert "response" in {m.kind for m in a2s}
        polled = client.get("/api/v1/duis/messages", headers=estate.a2.login.headers).json()
        assert sorted(m["id"] for m in polled["items"]) == sorted(m.id for m in a2s)

    def test_each_users_messages_go_to_that_users_callback_only(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        urls = {}
        for name, sender in (("a1", estate.a1), ("a2", estate.a2), ("b", estate.b)):
            urls[sender.login.user.id] = f"http://receiver.example/{name}"
            sender.set_callback(client, urls[sender.login.user.id])
        for _ in range(2):
            for sender in (estate.a1, estate.a2, estate.b):
                sender.send(client)
        receiver = Receiver()
        run_once(settings, post=receiver, now=utcnow() + LATER)
        owner = {m.id: m.user_id for m in messages(settings)}
        # Six responses, and the alerts any failed read raised (the network decides).
        assert [m.kind for m in messages(settings)].count("response") == 6
        assert sorted(receiver.message_ids) == sorted(owner)
        for url, message_id, _ in receiver.calls:
            assert url == urls[owner[message_id]]

    @pytest.mark.skipif(not ON_POSTGRES, reason="row locks with SKIP LOCKED: PostgreSQL only")
    def test_two_workers_never_claim_the_same_message(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        now = utcnow() + LATER
        with session_scope(settings.database_url) as s:
            release_due(s, now=now)
        maker = get_sessionmaker(settings.database_url)
        with maker() as first, maker() as second:
            assert len(claim_pushes(first, now=now)) == 1
            first.flush()
            assert claim_pushes(second, now=now) == []
            first.commit()
            second.rollback()
        assert only(settings).push_state == "pushing"


class TestRecoverInDoubt:
    @pytest.fixture
    def cut_off(self, client: TestClient, estate: Estate, settings: Settings) -> str:
        """Two of a1's messages: the first delivered, the second claimed when the process died."""
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        estate.a1.send(client)
        now = utcnow() + LATER
        with session_scope(settings.database_url) as s:
            release_due(s, now=now)
        with session_scope(settings.database_url) as s:
            [(first, _, _)] = claim_pushes(s, now=now, limit=1)
        with session_scope(settings.database_url) as s:
            finish_push(s, message_id=first, ok=True, error=None, now=now, max_attempts=8)
        with session_scope(settings.database_url) as s:
            [(second, _, _)] = claim_pushes(s, now=now, limit=1)
        request_id = {m.id: m.request_id for m in messages(settings)}[second]
        assert request_id is not None
        return request_id

    def test_a_push_cut_off_by_a_crash_is_held_and_never_pushed_again(
        self, client: TestClient, estate: Estate, settings: Settings, cut_off: str
    ) -> None:
        with session_scope(settings.database_url) as s:
            assert recover_in_doubt(s) == 1
        receiver = Receiver()
        run_once(settings, post=receiver, now=utcnow() + 2 * LATER)
        assert receiver.calls == []
        states = {m.request_id: (m.push_state, m.last_error) for m in messages(settings)}
        state, error = states.pop(cut_off)
        assert state == "held"
        assert error is not None and "restart" in error
        assert [s for s, _ in states.values()] == ["delivered"]
        polled = client.get("/api/v1/duis/messages", headers=estate.a1.login.headers).json()
        assert cut_off in [m["request_id"] for m in polled["items"]]

    def test_recovery_twice_changes_nothing_more(self, settings: Settings, cut_off: str) -> None:
        with session_scope(settings.database_url) as s:
            assert recover_in_doubt(s) == 1
        with session_scope(settings.database_url) as s:
            assert recover_in_doubt(s) == 0


def test_a_deleted_callback_stops_pushes(
    client: TestClient, estate: Estate, settings: Settings
) -> None:
    """After DELETE /callback nothing more is pushed; the messages stay there for polling."""
    estate.a1.set_callback(client, "http://receiver.example/a1")
    request_id = estate.a1.send(client)
    assert client.delete("/api/v1/duis/callback", headers=estate.a1.login.headers).is_success
    receiver = Receiver()
    run_once(settings, post=receiver, now=utcnow() + LATER)
    assert receiver.calls == []
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(Callback)) is None
    polled = client.get("/api/v1/duis/messages", headers=estate.a1.login.headers).json()
    # The response (and any alert the device network raised with it) waits for polling.
    assert [m["request_id"] for m in polled["items"] if m["kind"] == "response"] == [request_id]
    assert {m["request_id"] for m in polled["items"]} == {request_id}


class TestParallelPush:
    def test_a_slow_receiver_does_not_hold_up_a_fast_one(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        """The slow receiver answers only once the fast one has had all its messages, and the
        fast one answers its first only once the slow POST is in flight: pushed one after the
        other, both would wait out their timeouts."""
        estate.a1.set_callback(client, "http://slow.example/a1")
        estate.b.set_callback(client, "http://fast.example/b")
        estate.a1.send(client)
        for _ in range(3):
            estate.b.send(client)
        later = utcnow() + LATER
        with session_scope(settings.database_url) as s:
            release_due(s, now=later)
        owed = messages(settings)
        b_messages = [m.id for m in owed if m.user_id == estate.b.login.user.id]
        slow_in_flight = threading.Event()
        fast_done = threading.Event()
        timed_out: list[str] = []
        fast: list[int] = []
        in_flight_during_fast: list[bool] = []

        def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            if url.startswith("http://slow"):
                slow_in_flight.set()
                if not fast_done.wait(timeout=10):
                    timed_out.append("slow waited for the fast receiver in vain")
                slow_in_flight.clear()
            else:
                if not slow_in_flight.wait(timeout=10):
                    timed_out.append("the fast receiver waited for the slow POST in vain")
                in_flight_during_fast.append(slow_in_flight.is_set())
                fast.append(int(headers["X-Meterhub-Message-Id"]))
                if len(fast) == len(b_messages):
                    fast_done.set()
            return 200

        assert run_once(settings, post=post, now=later) == (0, len(owed))
        assert timed_out == []
        assert len(b_messages) >= 3 and in_flight_during_fast == [True] * len(b_messages)
        assert fast == b_messages, "a user's messages arrive in order"
        assert {m.push_state for m in messages(settings)} == {"delivered"}

    def test_one_user_is_pushed_one_message_at_a_time_in_order(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        for _ in range(5):
            estate.a1.send(client)
        lock = threading.Lock()
        in_flight = 0
        most = 0
        order: list[int] = []

        def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            time.sleep(0.01)
            order.append(int(headers["X-Meterhub-Message-Id"]))
            with lock:
                in_flight -= 1
            return 200

        run_once(settings, post=post, now=utcnow() + LATER)
        assert most == 1
        assert order == [m.id for m in messages(settings)]

    def test_a_message_waits_while_an_earlier_one_of_its_user_is_retried(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        estate.a1.send(client)
        now = utcnow() + LATER
        receiver = Receiver(status=503)
        run_once(settings, post=receiver, now=now)
        first, second = messages(settings)
        assert receiver.message_ids == [first.id]
        assert (first.push_state, second.push_state) == ("pending", "pending")
        assert first.next_attempt_at is not None
        ok = Receiver()
        run_once(settings, post=ok, now=first.next_attempt_at)
        assert ok.message_ids == [first.id, second.id]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class TestStuckPush:
    def test_a_push_in_flight_too_long_is_held_and_never_pushed_again(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        now = utcnow() + LATER
        with session_scope(settings.database_url) as s:
            release_due(s, now=now)
        with session_scope(settings.database_url) as s:
            [(stuck, _, _)] = claim_pushes(s, now=now, limit=1)
        receiver = Receiver()
        limit = timedelta(seconds=settings.push_stuck_seconds)
        run_once(settings, post=receiver, now=now + limit - timedelta(seconds=1))
        assert only(settings).push_state == "pushing"
        run_once(settings, post=receiver, now=now + limit)
        message = only(settings)
        assert message.push_state == "held"
        assert message.last_error is not None and "in flight" in message.last_error
        run_once(settings, post=receiver, now=now + 2 * LATER)
        assert receiver.calls == []
        with session_scope(settings.database_url) as s:
            assert hold_stuck_pushes(s, now=now + 2 * LATER, stuck_after=limit) == []
        polled = client.get("/api/v1/duis/messages", headers=estate.a1.login.headers).json()
        assert [m["id"] for m in polled["items"]] == [stuck]

    def test_a_hung_push_frees_its_receiver_for_the_next_message(
        self, client: TestClient, estate: Estate, settings: Settings
    ) -> None:
        """The worker lives on while one POST hangs: once the sweep holds it, the user's next
        message goes out; if the hung POST does land in the end, it is recorded as delivered."""
        estate.a1.set_callback(client, "http://receiver.example/a1")
        estate.a1.send(client)
        estate.a1.send(client)
        hung = threading.Event()
        let_go = threading.Event()
        calls: list[int] = []

        def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            calls.append(int(headers["X-Meterhub-Message-Id"]))
            if len(calls) == 1:
                hung.set()
                let_go.wait(timeout=30)
            return 200

        clock = Clock(utcnow() + LATER)
        network = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 0}))
        pusher = Pusher(settings.database_url, post=post, clock=clock, lanes=2)
        try:
            sweep(settings, pusher=pusher, network=network, now=clock())
            assert hung.wait(timeout=10)
            first, second = messages(settings)
            assert (first.push_state, second.push_state) == ("pushing", "pending")

            clock.now += timedelta(seconds=settings.push_stuck_seconds)
            sweep(settings, pusher=pusher, network=network, now=clock())
            deadline = time.monotonic() + 10
            while messages(settings)[1].push_state != "delivered":
                assert time.monotonic() < deadline, "the next message was never pushed"
                time.sleep(0.05)
            assert messages(settings)[0].push_state == "held"
            let_go.set()
            pusher.wait(timeout=10)
        finally:
            let_go.set()
            pusher.close()
        assert calls == [first.id, second.id]
        assert [m.push_state for m in messages(settings)] == ["delivered", "delivered"]


def test_a_stopped_pusher_finishes_the_post_in_flight_and_starts_no_other(
    client: TestClient, estate: Estate, settings: Settings
) -> None:
    """Stopping the worker does not wait for a lane to work through its queue: the rest stays
    pending for the next start."""
    estate.a1.set_callback(client, "http://receiver.example/a1")
    for _ in range(3):
        estate.a1.send(client)
    in_flight = threading.Event()
    let_go = threading.Event()
    calls: list[int] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append(int(headers["X-Meterhub-Message-Id"]))
        in_flight.set()
        let_go.wait(timeout=30)
        return 200

    clock = Clock(utcnow() + LATER)
    network = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 0}))
    pusher = Pusher(settings.database_url, post=post, clock=clock)
    try:
        sweep(settings, pusher=pusher, network=network, now=clock())
        assert in_flight.wait(timeout=10)
        pusher.close()
    finally:
        let_go.set()
    pusher.wait(timeout=10)
    assert len(calls) == 1
    # Three responses (and whatever alerts the device network raised with them): the first
    # message delivered, every other still pending.
    states = [m.push_state for m in messages(settings)]
    assert len(states) >= 3
    assert states[0] == "delivered" and set(states[1:]) == {"pending"}


def test_outages_that_fail_to_be_raised_hold_up_no_push(
    client: TestClient, estate: Estate, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate.a1.set_callback(client, "http://receiver.example/a1")
    estate.a1.send(client)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the outage sweep")

    monkeypatch.setattr(worker_module, "sweep_outages", broken)
    receiver = Receiver()
    clock = Clock(utcnow() + LATER)
    pusher = Pusher(settings.database_url, post=receiver, clock=clock)
    network = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 0}))
    try:
        with pytest.raises(RuntimeError):
            sweep(settings, pusher=pusher, network=network, now=clock())
        pusher.wait(timeout=10)
    finally:
        pusher.close()
    assert only(settings).push_state == "delivered"


class TestReportCubeKeptCurrent:
    """Live traffic reaches the report pages through the worker alone: it exports to the lake
    and rebuilds the cube's days it wrote to, and nothing else."""

    def test_live_requests_reach_the_report_api_without_a_manual_build(
        self, session: Session, settings: Settings, tmp_path: Path
    ) -> None:
        e = build_estate(session)
        lake = tmp_path / "lake"
        configured = settings.model_copy(
            update={
                "lake_dir": str(lake),
                "run_worker": True,
                "worker_interval_seconds": 0.05,
                "cube_update_seconds": 0.0,
            }
        )
        headers = {**e.supplier_login.headers, **XML}
        with TestClient(create_app(configured)) as client:
            for n in (1, 2, 3):  # another supplier's meter: refused at once, so finished
                body = read_registers(duis_id(e.supplier_login), e.other_esme_id, n)
                client.post("/api/v1/duis", content=body, headers=headers)
            deadline = time.monotonic() + 30
            while True:
                answer = client.get(
                    f"/api/v1/reports/{e.supplier.code}/explore",
                    headers=e.supplier_login.headers,
                )
                own = [
                    r
                    for r in answer.json().get("tables", {}).get("summary", {}).get("rows", [])
                    if r.get("series") == "own"
                ]
                if own and own[0]["requests"] == 3:
                    break
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.2)
        assert cube_days(lake / "cube") == [utcnow().date()]

    def test_an_unchanged_lake_is_not_rebuilt(self, tmp_path: Path, settings: Settings) -> None:
        lake = build_explore_lake(tmp_path / "lake")
        configured = settings.model_copy(update={"lake_dir": str(lake)})
        june = set(lake_days(lake))
        first = update_cube(configured, days={date(2024, 6, 4)})
        assert first.built == [date(2024, 6, 4)]
        # Only the day the export wrote to has cube files.
        assert cube_days(lake / "cube") == [date(2024, 6, 4)]
        built = cube_file(lake / "cube", REQUESTS, date(2024, 6, 4))
        before = built.stat().st_mtime_ns
        again = update_cube(configured, days=june)
        assert date(2024, 6, 4) in again.unchanged and date(2024, 6, 4) not in again.built
        assert built.stat().st_mtime_ns == before
        assert update_cube(configured, days=june).built == []

    def test_a_lake_exported_before_a_restart_is_caught_up(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        """The days a previous run exported but did not yet roll up are built when the worker
        starts again; the sweep goes on meanwhile (the update has a thread of its own)."""
        lake = build_explore_lake(tmp_path / "lake")
        configured = settings.model_copy(
            update={"lake_dir": str(lake), "worker_interval_seconds": 0.05}
        )
        worker = worker_module.Worker(configured)
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while cube_days(lake / "cube") != sorted(lake_days(lake)):
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            worker.stop()
