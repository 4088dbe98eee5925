"""kill -9 the hub mid-stream: nothing acknowledged is lost, nothing is answered or pushed twice.

A real ``meterhub serve`` (with its gateway worker) runs on a free loopback port over this test's
database. Two suppliers' systems send a stream of 4.1.1 reads with rising counters, poll
``/api/v1/duis/messages`` with a cursor, and receive pushes on a callback server in this process.
The hub is SIGKILLed twice and restarted on the same database and port: once at a random
(seeded) moment of the stream, once while a push is in flight (the receiver holds the POST open).
Then already-acknowledged requests are sent again and must be refused as replays.

What a user would notice, asserted at the end:

* every acknowledged (I99) request is stored once and answered exactly once, with the answer the
  device network planned for it (the network is deterministic from METERHUB_NETWORK_SEED);
* a poller following the cursor across the crashes saw exactly what a fresh poll from 0 sees;
* no message was pushed twice; the push cut off by a crash is held for polling, not re-sent,
  and nothing else is held (pushes are claimed one at a time per callback URL);
* each user's messages went to that user's callback only.

Only requests whose planned round trip is short are sent (the plan is computed here with the
hub's own network model), so the test waits seconds, not the 60 s a device timeout takes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.gateway.models import OutboundMessage, ServiceRequest
from meterhub.inventory.models import Device
from meterhub.network.model import NetworkModel, request_rng
from tests.factories import (
    Login,
    make_api_login,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)
from tests.gateway.duis_factories import duis_id, read_registers

pytestmark = pytest.mark.integration

NETWORK_SEED = 4242
KILL_SEED = 20240603
PER_SENDER = 100
RTT_CAP_MS = 8000.0
MIN_ALERTS = 3
XML = {"Content-Type": "application/xml"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubProcess:
    """``meterhub serve`` in a subprocess, on one port, that can be killed and started again."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        command = [str(Path(sys.executable).parent / "meterhub"), "serve", "--port", str(self.port)]
        with self.log.open("a") as log:
            log.write(f"--- start {self.starts + 1}\n")
            log.flush()
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("meterhub serve did not start:\n" + self.log.read_text()[-4000:])
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Receiver:
    """Users' callback servers: counts every POST by message id and the path it came to.

    ``trap()`` makes the next POST wait until ``release()``: a push held open while the hub dies.
    """

    deliveries: Counter[int] = field(default_factory=Counter)
    paths: dict[int, set[str]] = field(default_factory=dict)
    trapped: int | None = None
    _armed: bool = False
    _caught: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, message_id: int) -> bool:
        """Count one POST; True when it is the one to hold open."""
        with self._lock:
            self.deliveries[message_id] += 1
            self.paths.setdefault(message_id, set()).add(path)
            if self._armed and self.trapped is None:
                self.trapped = message_id
                self._caught.set()
                return True
            return False

    def hold(self) -> None:
        self._release.wait(timeout=60)

    def trap(self) -> None:
        with self._lock:
            self._armed = True

    def caught(self, timeout: float) -> bool:
        return self._caught.wait(timeout)

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            message_id = int(self.headers["X-Meterhub-Message-Id"])
            if state.record(self.path, message_id):
                state.hold()
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the hub died while we held the POST open

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.release()
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Planned:
    """One request to send and what the device network will answer."""

    request_id: str
    xml: bytes
    response_code: str
    alerts: tuple[str, ...]


@dataclass
class Sender:
    """One supplier's system: its user, its plan of requests, and what it saw."""

    name: str
    login: Login
    plan: list[Planned]
    acked: dict[str, Planned] = field(default_factory=dict)
    in_doubt: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    polled: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0


def plan_for(login: Login, devices: list[Device], count: int) -> list[Planned]:
    """Rising counters; each goes to the SMETS1 meter when the S1SP will reject it (an E65
    response and an N55 alert), else to the SMETS2 meter; counters whose answer would take
    longer than RTT_CAP_MS are skipped (counters need only rise, not be consecutive). Past
    ``count``, only alerting reads are added, until there are MIN_ALERTS of them."""
    model = NetworkModel.default()
    smets2, smets1 = devices
    originator = duis_id(login)
    plan: list[Planned] = []
    alerting = 0
    counter = 0
    while len(plan) < count or alerting < MIN_ALERTS:
        counter += 1
        for device in (smets1, smets2):
            request_id = f"{originator}:{device.device_id}:{counter}"
            outcome = model.deliver(device, "4.1.1", request_rng(NETWORK_SEED, request_id))
            if outcome.rtt_ms > RTT_CAP_MS or (device is smets1) != bool(outcome.alerts):
                continue
            if len(plan) < count or outcome.alerts:
                plan.append(
                    Planned(
                        request_id=request_id,
                        xml=read_registers(originator, device.device_id, counter),
                        response_code=outcome.response_code,
                        alerts=outcome.alerts,
                    )
                )
                alerting += bool(outcome.alerts)
            break
    return plan


def build_senders(session: Session) -> list[Sender]:
    dno = make_party(session, roles=("ED",))
    made = []
    for n, name in enumerate(("a", "b")):
        supplier = make_party(session, roles=("IS",))
        devices = []
        for k, smets in enumerate(("SMETS2", "SMETS1")):
            mpxn = make_mpan_for(7700 + 10 * n + k)
            make_registration(session, mpxn=mpxn, supplier=supplier, network=dno)
            devices.append(
                make_device(session, mpxn=mpxn, csp_region="Central4G", smets_version=smets)
            )
        made.append((name, make_api_login(session, party=supplier), devices))
    session.commit()
    return [
        Sender(name, login, plan_for(login, devices, PER_SENDER)) for name, login, devices in made
    ]


def send_stream(
    sender: Sender, hub: HubProcess, up: threading.Event, tickets: threading.Semaphore
) -> None:
    """Send the plan in order; a request cut off by a crash is in doubt and not re-sent.

    Each request takes a ticket first, so the test decides how far the stream has got when it
    crashes the hub, however fast the machine is.
    """
    headers = {**sender.login.headers, **XML}
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for item in sender.plan:
            if not tickets.acquire(timeout=120) or not up.wait(timeout=120):
                sender.unexpected.append("the hub never came back")
                return
            try:
                r = client.post("/api/v1/duis", content=item.xml, headers=headers)
            except httpx.TransportError:
                sender.in_doubt.append(item.request_id)
                continue
            code = r.headers.get("X-DUIS-Response-Code")
            if r.status_code == 200 and code == "I99":
                sender.acked[item.request_id] = item
            else:
                sender.unexpected.append(f"{item.request_id}: HTTP {r.status_code} {code}")


def poll_once(sender: Sender, hub: HubProcess) -> None:
    """Follow the cursor, as a user's system would, across crashes."""
    try:
        while True:
            r = httpx.get(
                f"{hub.url}/api/v1/duis/messages",
                params={"after": sender.cursor, "limit": 1000},
                headers=sender.login.headers,
                timeout=30,
            )
            if r.status_code != 200:
                return
            page = r.json()
            sender.polled.extend(page["items"])
            sender.cursor = page["next_cursor"]
            if not page["items"]:
                return
    except httpx.TransportError:
        return


def poll_all(sender: Sender, hub: HubProcess) -> list[dict[str, Any]]:
    """Everything the user has, polled from cursor 0."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        r = httpx.get(
            f"{hub.url}/api/v1/duis/messages",
            params={"after": after, "limit": 1000},
            headers=sender.login.headers,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page["items"]:
            return found
        found.extend(page["items"])
        after = page["next_cursor"]


def wait_until(what: str, done: Any, timeout: float, hub: HubProcess) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n" + hub.log.read_text()[-3000:])
        time.sleep(0.25)


def push_states(settings: Settings) -> dict[int, tuple[int, str, str | None]]:
    with session_scope(settings.database_url) as s:
        rows = s.execute(
            select(
                OutboundMessage.id,
                OutboundMessage.user_id,
                OutboundMessage.push_state,
                OutboundMessage.last_error,
            )
        ).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def test_kill_9_loses_nothing_acknowledged_and_repeats_nothing(
    session: Session,
    settings: Settings,
    tmp_path: Path,
    receiver: tuple[Receiver, str],
) -> None:
    started = time.monotonic()
    phases: list[str] = []

    def mark(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - started:.1f}s")

    inbox, inbox_url = receiver
    senders = build_senders(session)
    session.close()
    mark("estate")
    env = {**os.environ, "METERHUB_NETWORK_SEED": str(NETWORK_SEED)}
    hub = HubProcess(tmp_path, env)
    hub.start()
    mark("started")
    try:
        for sender in senders:
            r = httpx.put(
                f"{hub.url}/api/v1/duis/callback",
                json={"url": f"{inbox_url}/cb/{sender.name}"},
                headers=sender.login.headers,
            )
            assert r.status_code == 200, r.text

        up = threading.Event()
        up.set()
        # Crash 1 comes at a random (seeded) point of the stream: the senders get that many
        # tickets, and a few more so that some requests may be in flight when the hub dies.
        kill_after = random.Random(KILL_SEED).randint(40, PER_SENDER)
        tickets = threading.Semaphore(kill_after + 2 * len(senders))
        threads = [
            threading.Thread(target=send_stream, args=(s, hub, up, tickets), daemon=True)
            for s in senders
        ]
        for thread in threads:
            thread.start()

        def acked() -> int:
            return sum(len(s.acked) for s in senders)

        wait_until(f"{kill_after} acknowledgements", lambda: acked() >= kill_after, 120, hub)
        mark(f"{kill_after} acked")
        for sender in senders:
            poll_once(sender, hub)
        up.clear()
        hub.kill()
        acked_before_crash = {rid for s in senders for rid in s.acked}
        hub.start()
        mark("restarted")

        # Crash 2: while a push is in flight (the receiver holds the POST open).
        inbox.trap()
        tickets.release(10 * PER_SENDER * len(senders))
        up.set()
        assert inbox.caught(timeout=60), "no push arrived after the restart"
        mark("push caught")
        up.clear()
        hub.kill()
        inbox.release()
        hub.start()
        mark("restarted")
        up.set()

        for thread in threads:
            thread.join(timeout=180)
            assert not thread.is_alive(), "a sender is stuck"
        mark("sent")
        for sender in senders:
            assert sender.unexpected == [], sender.unexpected

        # Replays of acknowledged requests, from before and after the crashes, are refused.
        # The crash point counts every sender's acknowledgements, so one sender may have fewer
        # than three on a side of it: take up to three each, and at least three a side overall.
        picker = random.Random(KILL_SEED + 1)
        replayed = {"before": 0, "after": 0}
        for sender in senders:
            before = sorted(set(sender.acked) & acked_before_crash)
            after = sorted(set(sender.acked) - acked_before_crash)
            replays = picker.sample(before, min(3, len(before)))
            replays += picker.sample(after, min(3, len(after)))
            replayed["before"] += min(3, len(before))
            replayed["after"] += min(3, len(after))
            for request_id in replays:
                r = httpx.post(
                    f"{hub.url}/api/v1/duis",
                    content=sender.acked[request_id].xml,
                    headers={**sender.login.headers, **XML},
                    timeout=30,
                )
                assert (r.status_code, r.headers["X-DUIS-Response-Code"]) == (400, "E65")
                assert "not above" in r.headers["X-DUIS-Reason"]
        assert replayed["before"] >= 3 and replayed["after"] >= 3, replayed

        # Every acknowledged request gets its response; polling follows the cursor meanwhile.
        def all_answered() -> bool:
            with session_scope(settings.database_url) as s:
                if s.scalar(select(ServiceRequest.id).where(ServiceRequest.state == "queued")):
                    return False
            for sender in senders:
                poll_once(sender, hub)
                answered = {m["request_id"] for m in sender.polled if m["kind"] == "response"}
                if not set(sender.acked) <= answered:
                    return False
            return True

        wait_until("every acknowledged request's response", all_answered, 60, hub)
        mark("answered")

        def pushes_settled() -> bool:
            states = push_states(settings)
            return all(state in ("delivered", "held") for _, state, _ in states.values())

        wait_until("pushes to settle", pushes_settled, 60, hub)
        mark("settled")
        for sender in senders:
            poll_once(sender, hub)
        finals = {sender.name: poll_all(sender, hub) for sender in senders}
    finally:
        hub.stop()

    assert hub.starts == 3
    assert acked_before_crash, "the first crash came before any acknowledgement"
    users = {s.login.user.id: s for s in senders}
    for sender in senders:
        final = finals[sender.name]
        # A poller following the cursor across both crashes saw exactly what a fresh poll sees.
        assert [m["id"] for m in sender.polled] == [m["id"] for m in final]
        responses = Counter(m["request_id"] for m in final if m["kind"] == "response")
        assert max(responses.values()) == 1, "a request was answered twice"
        for request_id in sender.acked:
            assert responses[request_id] == 1, f"{request_id} acknowledged but never answered"
        # In-doubt requests (cut off before the acknowledgement) were stored or not, never twice.
        assert set(responses) <= set(sender.acked) | set(sender.in_doubt)
        codes = {m["request_id"]: m["code"] for m in final if m["kind"] == "response"}
        alerts = Counter(m["request_id"] for m in final if m["kind"] == "alert")
        for request_id, item in sender.acked.items():
            assert codes[request_id] == item.response_code
            assert alerts[request_id] == len(item.alerts)
        assert any(item.alerts for item in sender.acked.values()), "no alert was exercised"
        originator = duis_id(sender.login)
        assert all(m["request_id"].startswith(originator) for m in final)

    with session_scope(settings.database_url) as s:
        stored = Counter(
            s.scalars(select(ServiceRequest.request_id).where(ServiceRequest.ack_code == "I99"))
        )
        refused = s.scalars(
            select(ServiceRequest.ack_code).where(ServiceRequest.ack_code != "I99")
        ).all()
    for sender in senders:
        for request_id in sender.acked:
            assert stored[request_id] == 1
    assert refused == ["E65"] * 12

    # Pushes: never twice, each to its own user's callback, the cut-off one held.
    states = push_states(settings)
    twice = {mid: n for mid, n in inbox.deliveries.items() if n > 1}
    assert twice == {}, f"pushed more than once: {twice}"
    for message_id, (user_id, state, _) in states.items():
        if state == "delivered":
            assert inbox.deliveries[message_id] == 1
        if message_id in inbox.paths:
            assert inbox.paths[message_id] == {f"/cb/{users[user_id].name}"}
    assert inbox.trapped is not None
    user_id, state, error = states[inbox.trapped]
    assert state == "held"
    assert error is not None and "restart" in error
    # Pushes are claimed one at a time per callback URL: each crash holds at most the one POST
    # in flight to each receiver.
    held_by_restart = [
        m for m, (_, st, err) in states.items() if st == "held" and "restart" in (err or "")
    ]
    assert len(held_by_restart) <= 2 * len(senders), held_by_restart
    assert sum(1 for _, st, _ in states.values() if st == "delivered") > 0
    print(
        f"\nkill -9 run: {acked()} acknowledged, {sum(len(s.in_doubt) for s in senders)} in"
        f" doubt, {len(states)} messages, {sum(inbox.deliveries.values())} pushes,"
        f" {sum(1 for _, st, _ in states.values() if st == 'held')} held,"
        f" {time.monotonic() - started:.1f} s ({', '.join(phases)})"
    )
