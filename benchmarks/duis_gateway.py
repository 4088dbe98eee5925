"""How fast does the DUIS gateway acknowledge requests over HTTP, durably, against a floor?

The requirement: DUIS XML over HTTP, full validation (secure parse, XSD, sender, counter, SRV,
role, entitlement, device status), the request committed before its I99 acknowledgement:
**at least 2,500 requests/s** on the project's 2-core machine, and **p99 acknowledgement under
50 ms at 1,000 requests/s**.

What one run does:

1. builds a fresh SQLite database in a temp dir: migrations, then an estate of ``--devices``
   commissioned ESMEs on registered MPANs spread over ten suppliers and two distributors, and
   ``--users`` API users (no password: argon2 is slow; a bearer token each) with IS DUIS IDs.
   Parties, users and tokens go through ``parties.service``; meter points, registrations and
   devices are bulk-inserted (the services would write an audit row per device and take minutes);
2. pre-generates the requests: 4.1.1 Read Instantaneous Import Registers from each user to
   devices its supplier is registered for, counters rising per originator. The message is the
   DUIS sample ``ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML`` from ``../shared/duis`` (read at
   run time, never copied) with the RequestID replaced, or a minimal 4.1.1 when shared/ is absent;
3. for each ``--workers`` value, starts ``meterhub serve --workers N --no-gateway-worker`` on a
   copy of that database, with ``METERHUB_DUIS_SCHEMA_DIR`` pointing at the schema when present,
   and drives it from a load generator in another process over loopback (raw HTTP/1.1 keep-alive
   on asyncio, pre-serialised requests, so the generator costs little CPU; its CPU is reported):

   * **closed loop**: ``--connections`` connections each send their next request as soon as the
     previous is answered, for ``--duration`` seconds after a warm-up; each connection owns a
     disjoint set of originators so counters arrive in order;
   * **open loop**: requests scheduled at exactly ``--rate`` per second whatever the server does;
     latency runs from the scheduled send time (no coordinated omission); requests of one
     originator never overlap (a later counter committed first would refuse the earlier one);

   then stops the server and checks **durability**: every request acknowledged I99 must be in
   the database as an I99 row (by RequestID);
4. the **floor**: ``parse_request`` + ``XsdValidator`` (on the parsed tree) over the same messages,
   in this process, one thread: the least any server must do per request. The ratio
   server/floor says what HTTP, the checks and the durable store cost on top.

Example (about six minutes)::

    .venv/bin/python benchmarks/duis_gateway.py --workers 1,2 --duration 20

The machine is shared: ``/proc/loadavg`` is printed before and after each phase, and the CPU the
server and the generator used is reported beside the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DUIS = ROOT.parent / "shared" / "duis"
SAMPLE = SHARED_DUIS / "requests" / "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"
SCHEMA_DIR = SHARED_DUIS / "schema"
SAMPLE_ID = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000"
MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>{rid}</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>4.1</sr:ServiceReference>
    <sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body>
</sr:Request>"""
SUPPLIERS = 10
FIRST_COUNTER = 1000


# ------------------------------------------------------------------------------ the workload


@dataclass
class Workload:
    """Everything needed to rebuild the same messages in any process."""

    users: list[dict[str, Any]]  # token, originator, supplier (index)
    devices_by_supplier: list[list[str]]
    requests: int
    seed: int = 7

    def template(self) -> str:
        if SAMPLE.is_file():
            return SAMPLE.read_text().replace(SAMPLE_ID, "{rid}")
        return MINIMAL

    def plan(self) -> list[tuple[int, str, bytes]]:
        """(user index, RequestID, XML) for every request, in send order per user."""
        rng = random.Random(self.seed)
        template = self.template()
        counters = [FIRST_COUNTER] * len(self.users)
        out = []
        for j in range(self.requests):
            u = j % len(self.users)
            user = self.users[u]
            device = rng.choice(self.devices_by_supplier[user["supplier"]])
            counters[u] += 1
            rid = f"{user['originator']}:{device}:{counters[u]}"
            out.append((u, rid, template.replace("{rid}", rid).encode()))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "devices_by_supplier": self.devices_by_supplier,
            "requests": self.requests,
            "seed": self.seed,
        }


def _eui(prefix: int, n: int) -> str:
    raw = f"{(prefix << 32) | n:016X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def build_database(url: str, *, devices: int, users: int, requests: int) -> Workload:
    """Migrate, then create the estate; returns the workload that targets it."""
    from sqlalchemy import insert

    from meterhub.audit.service import Actor
    from meterhub.db.session import get_engine, session_scope
    from meterhub.inventory.models import Device
    from meterhub.kit.clock import utcnow
    from meterhub.kit.ids import make_mpan
    from meterhub.migrations.run import upgrade
    from meterhub.parties import service as parties
    from meterhub.registration.models import MeterPoint, Registration

    upgrade(url)
    system = Actor.system("bench")
    with session_scope(url) as s:
        parties.create_party(
            s,
            actor=system,
            code="DCC",
            name="DCC",
            kind="operator",
            roles=("OPERATOR",),
            now=utcnow(),
        )
        suppliers = [
            parties.create_party(
                s,
                actor=system,
                code=f"SUP{i:02d}",
                name=f"Supplier {i}",
                kind="supplier",
                roles=("IS",),
                now=utcnow(),
            )
            for i in range(SUPPLIERS)
        ]
        dnos = [
            parties.create_party(
                s,
                actor=system,
                code=f"DNO{i}",
                name=f"DNO {i}",
                kind="network_operator",
                roles=("ED",),
                now=utcnow(),
            )
            for i in range(2)
        ]
        s.flush()
        supplier_ids = [p.id for p in suppliers]
        made_users = []
        for n in range(users):
            sup = n % SUPPLIERS
            originator = _eui(0x90B3D51F, 0x31000000 + n)
            user = parties.create_user(
                s,
                actor=system,
                party=suppliers[sup],
                username=f"bench{n}@sup{sup:02d}",
                display_name=f"Bench user {n}",
                password=None,
                roles={"IS": originator},
                now=utcnow(),
            )
            s.flush()
            token = parties.issue_api_token(s, actor=system, user=user, label="bench", now=utcnow())
            made_users.append({"token": token, "originator": originator, "supplier": sup})
        now = utcnow()
        points, regs, devs = [], [], []
        by_supplier: list[list[str]] = [[] for _ in range(SUPPLIERS)]
        for n in range(devices):
            sup = n % SUPPLIERS
            mpan = make_mpan(f"{10 + n % 14:02d}{n:010d}")
            device_id = _eui(0x00DB1200, n)
            points.append({"mpxn": mpan, "fuel": "electricity"})
            regs.append(
                {
                    "mpxn": mpan,
                    "supplier_party_id": supplier_ids[sup],
                    "network_operator_party_id": dnos[n % 2].id,
                    "effective_from": date(2020, 1, 1),
                }
            )
            devs.append(
                {
                    "device_id": device_id,
                    "device_type": "ESME",
                    "manufacturer": "Acme",
                    "model": "ACME-1",
                    "firmware_version": "1.0.0",
                    "smets_version": "SMETS2",
                    "csp_region": "North",
                    "status": "Commissioned",
                    "mpxn": mpan,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            by_supplier[sup].append(device_id)
        s.execute(insert(MeterPoint), points)
        s.execute(insert(Registration), regs)
        s.execute(insert(Device), devs)
    get_engine(url).dispose()
    return Workload(users=made_users, devices_by_supplier=by_supplier, requests=requests)


# ------------------------------------------------------------------------------ load generator


def _http_request(port: int, token: str, body: bytes) -> bytes:
    return (
        f"POST /api/v1/duis HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _NotSent(ConnectionError):
    """The connection was closed before the request went out: safe to send again."""


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, str]] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, code = 0, ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "x-duis-response-code":
                code = value.strip()
        if len(self.buf) < end + 4 + length:
            return
        del self.buf[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, code))

    async def send(self, payload: bytes) -> tuple[int, str]:
        assert self.transport is not None
        if self.lost or self.transport.is_closing():
            raise _NotSent("connection closed while idle")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter


async def _connect(port: int) -> _Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_Conn, "127.0.0.1", port)
    return proto


def _cpu_self() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _closed_loop(
    port: int, plan: list[tuple[int, bytes, str]], conns: int, warmup: float, duration: float
) -> dict[str, Any]:
    lanes: list[list[tuple[bytes, str]]] = [[] for _ in range(conns)]
    for user, payload, rid in plan:
        lanes[user % conns].append((payload, rid))
    acked: list[str] = []
    codes: dict[str, int] = {}
    latencies: list[float] = []
    t0 = time.perf_counter()
    start_measure = t0 + warmup
    stop_at = start_measure + duration
    counted = 0
    errors = 0

    async def lane(items: list[tuple[bytes, str]]) -> None:
        nonlocal counted, errors
        conn = await _connect(port)
        for payload, rid in items:
            if time.perf_counter() >= stop_at:
                break
            sent = time.perf_counter()
            try:
                status, code = await conn.send(payload)
            except ConnectionError:
                errors += 1
                conn = await _connect(port)
                continue
            done = time.perf_counter()
            codes[code or str(status)] = codes.get(code or str(status), 0) + 1
            if code == "I99":
                acked.append(rid)
            if start_measure <= done < stop_at:
                counted += 1
                latencies.append(done - sent)
        if conn.transport is not None:
            conn.transport.close()

    cpu0 = _cpu_self()
    await asyncio.gather(*(lane(items) for items in lanes))
    finished = time.perf_counter()
    cpu = _cpu_self() - cpu0
    window = min(finished, stop_at) - start_measure
    return {
        "mode": "closed",
        "connections": conns,
        "window_s": window,
        "completed_in_window": counted,
        "rps": counted / window if window > 0 else 0.0,
        "codes": codes,
        "acked": acked,
        "errors": errors,
        "latency_ms": _percentiles(latencies),
        "loadgen_cpu_s": cpu,
        "loadgen_wall_s": finished - t0,
        "exhausted": finished < stop_at,
    }


async def _open_loop(
    port: int, plan: list[tuple[int, bytes, str]], rate: float, duration: float, warmup: float
) -> dict[str, Any]:
    total = min(len(plan), int(rate * (warmup + duration)))
    pool: list[_Conn] = []
    user_busy: dict[int, asyncio.Future[None]] = {}
    acked: list[str] = []
    codes: dict[str, int] = {}
    latencies: list[float] = []
    errors = 0
    t0 = time.perf_counter() + 0.05
    measure_from = t0 + warmup
    for _ in range(32):
        pool.append(await _connect(port))

    async def one(i: int, user: int, payload: bytes, rid: str) -> None:
        nonlocal errors
        scheduled = t0 + i / rate
        previous = user_busy.get(user)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        user_busy[user] = mine
        try:
            if previous is not None:
                await previous
            while pool and (pool[-1].lost or pool[-1].transport is None):
                pool.pop()  # the server closes keep-alive connections idle for 5 s
            conn = pool.pop() if pool else await _connect(port)
            try:
                try:
                    status, code = await conn.send(payload)
                except _NotSent:
                    conn = await _connect(port)
                    status, code = await conn.send(payload)
            except ConnectionError:  # sent, answer lost: counted, never sent again
                errors += 1
                return
            done = time.perf_counter()
            if not conn.lost:
                pool.append(conn)
            codes[code or str(status)] = codes.get(code or str(status), 0) + 1
            if code == "I99":
                acked.append(rid)
            if scheduled >= measure_from:
                latencies.append(done - scheduled)
        finally:
            mine.set_result(None)

    cpu0 = _cpu_self()
    tasks = []
    for i in range(total):
        user, payload, rid = plan[i]
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, user, payload, rid)))
    await asyncio.gather(*tasks)
    finished = time.perf_counter()
    cpu = _cpu_self() - cpu0
    for conn in pool:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "mode": "open",
        "rate": rate,
        "sent": total,
        "achieved_send_rate": total / (finished - t0),
        "codes": codes,
        "acked": acked,
        "errors": errors,
        "latency_ms": _percentiles(latencies),
        "loadgen_cpu_s": cpu,
        "loadgen_wall_s": finished - t0,
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


def loadgen_main(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.spec).read_text())
    work = Workload(**spec["workload"])
    users = work.users
    port = spec["port"]
    plan = [(u, _http_request(port, users[u]["token"], xml), rid) for u, rid, xml in work.plan()]
    if spec["mode"] == "closed":
        result = asyncio.run(
            _closed_loop(port, plan, spec["connections"], spec["warmup"], spec["duration"])
        )
    else:
        result = asyncio.run(_open_loop(port, plan, spec["rate"], spec["duration"], spec["warmup"]))
    Path(args.out).write_text(json.dumps(result))


# ------------------------------------------------------------------------------ the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw.rpartition(")")[2].split()
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(entry))
        stats[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Server:
    def __init__(
        self,
        url: str,
        workers: int,
        schema: Path | None,
        extra_env: dict[str, str],
        log: Path,
        profile: Path | None = None,
    ):
        self.port = _free_port()
        self.log = log
        env = {**os.environ, "METERHUB_DATABASE_URL": url, **extra_env}
        env["METERHUB_DUIS_SCHEMA_DIR"] = str(schema) if schema else ""
        # With ``profile``, py-spy samples the server (and its workers) into collapsed stacks.
        spy = [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses"]
        spy += ["--format", "raw", "--rate", "200", "-o", str(profile), "--"]
        self.proc = subprocess.Popen(
            [
                *(spy if profile else []),
                str(Path(sys.executable).with_name("meterhub")),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-gateway-worker",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if c.recv(100).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start in 60 s")
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker import and bind

    def cpu(self) -> float:
        return _tree_cpu(self.proc.pid)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_phase(
    *,
    template_db: Path,
    workdir: Path,
    workload: Workload,
    workers: int,
    mode: str,
    args: argparse.Namespace,
    schema: Path | None,
) -> dict[str, Any]:
    db = workdir / f"run-{workers}-{mode}.db"
    shutil.copy(template_db, db)
    url = f"sqlite:///{db}"
    log = workdir / f"server-{workers}-{mode}.log"
    server = Server(url, workers, schema, {}, log, args.py_spy)
    spec = {
        "workload": workload.to_json(),
        "port": server.port,
        "mode": mode,
        "connections": args.connections,
        "warmup": args.warmup,
        "duration": args.duration if mode == "closed" else args.open_duration,
        "rate": args.rate,
    }
    spec_path = workdir / "spec.json"
    out_path = workdir / "result.json"
    spec_path.write_text(json.dumps(spec))
    load_before = _loadavg()
    cpu0, t0 = server.cpu(), time.perf_counter()
    try:
        gen = subprocess.run(
            [sys.executable, __file__, "loadgen", "--spec", str(spec_path), "--out", str(out_path)],
            check=False,
        )
        wall = time.perf_counter() - t0
        server_cpu = server.cpu() - cpu0
        load_after = _loadavg()
    finally:
        server.stop()  # also on Ctrl-C or SIGTERM: never leave a server behind
    if gen.returncode != 0:
        raise RuntimeError("load generator failed")
    result: dict[str, Any] = json.loads(out_path.read_text())
    acked = result.pop("acked")
    with sqlite3.connect(db) as c:
        stored = {
            r[0] for r in c.execute("SELECT request_id FROM service_request WHERE ack_code = 'I99'")
        }
    missing = [rid for rid in acked if rid not in stored]
    result.update(
        workers=workers,
        acked=len(acked),
        stored_i99=len(stored),
        lost=len(missing),
        server_cpu_s=server_cpu,
        wall_s=wall,
        load=f"{load_before} -> {load_after}",
    )
    errors = server.log.read_text(errors="replace")
    if "Traceback" in errors:
        result["server_errors"] = errors.count("Traceback")
        print(errors[-3000:], file=sys.stderr)
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return result


# ------------------------------------------------------------------------------ the floor


def measure_floor(workload: Workload, schema: Path | None, seconds: float) -> dict[str, Any]:
    from meterhub.gateway.xml import XsdValidator, parse_request

    validator = XsdValidator(schema) if schema else None
    messages = [xml for _, _, xml in workload.plan()[:5000]]
    done = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for xml in messages:
            parse_request(xml, validator=validator)
        done += len(messages)
    elapsed = time.perf_counter() - t0
    return {"rps": done / elapsed, "messages": done, "xsd": validator is not None}


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    lg = sub.add_parser("loadgen", help="(internal) the load generator process")
    lg.add_argument("--spec", required=True)
    lg.add_argument("--out", required=True)
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--requests", type=int, default=120_000, help="pre-generated requests")
    parser.add_argument("--workers", default="1,2", help="comma-separated uvicorn worker counts")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--duration", type=float, default=20.0, help="closed-loop seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not measured")
    parser.add_argument("--rate", type=float, default=1000.0, help="open-loop requests/s")
    parser.add_argument("--open-duration", type=float, default=15.0, help="open-loop seconds")
    parser.add_argument("--floor-seconds", type=float, default=5.0)
    parser.add_argument("--modes", default="closed,open", help="closed, open or both")
    parser.add_argument("--no-xsd", action="store_true", help="do not configure the schema")
    parser.add_argument(
        "--py-spy", type=Path, default=None, help="profile the server into this file (raw stacks)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    if args.command == "loadgen":
        loadgen_main(args)
        return

    schema = SCHEMA_DIR if (SCHEMA_DIR / "DUIS_Schema_V5.4.xsd").is_file() else None
    if args.no_xsd:
        schema = None
    print(f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, load {_loadavg()}")
    print(f"XSD validation: {'on (' + str(schema) + ')' if schema else 'off (parse only)'}")
    print(f"message: {'DUIS sample ' + SAMPLE.name if SAMPLE.is_file() else 'minimal 4.1.1'}")
    with tempfile.TemporaryDirectory(prefix="duis-bench-") as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        t0 = time.perf_counter()
        workload = build_database(
            f"sqlite:///{template}",
            devices=args.devices,
            users=args.users,
            requests=args.requests,
        )
        print(
            f"estate: {args.devices} devices, {args.users} users, {SUPPLIERS} suppliers "
            f"(built in {time.perf_counter() - t0:.1f} s); {args.requests} requests pre-generated"
        )
        floor = measure_floor(workload, schema, args.floor_seconds)
        print(
            f"floor (parse{' + XSD' if floor['xsd'] else ' only'}, in-process, 1 thread): "
            f"{floor['rps']:.0f} req/s   load {_loadavg()}"
        )
        rows = []
        for workers in [int(w) for w in args.workers.split(",")]:
            for mode in args.modes.split(","):
                r = run_phase(
                    template_db=template,
                    workdir=workdir,
                    workload=workload,
                    workers=workers,
                    mode=mode,
                    args=args,
                    schema=schema,
                )
                rows.append(r)
                _print_row(r, floor["rps"])
        print()
        _print_table(rows, floor)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _print_row(r: dict[str, Any], floor_rps: float) -> None:
    lat = r["latency_ms"]
    if r["mode"] == "closed":
        ratio = r["rps"] / floor_rps
        head = f"closed x{r['connections']}: {r['rps']:.0f} req/s ({ratio:.3f} of floor)"
    else:
        head = f"open @{r['rate']:.0f}/s: sent {r['achieved_send_rate']:.0f}/s"
    print(
        f"  workers={r['workers']} {head}; p50 {lat.get('p50', 0):.1f} p95 {lat.get('p95', 0):.1f}"
        f" p99 {lat.get('p99', 0):.1f} ms; codes {r['codes']}; acked {r['acked']} stored"
        f" {r['stored_i99']} lost {r['lost']}; server CPU {r['server_cpu_s']:.1f}s"
        f" / loadgen CPU {r['loadgen_cpu_s']:.1f}s over {r['wall_s']:.1f}s; load {r['load']}",
        flush=True,
    )


def _print_table(rows: list[dict[str, Any]], floor: dict[str, Any]) -> None:
    print(
        "| workers | mode | req/s | p50 ms | p95 ms | p99 ms | server CPU/s | loadgen CPU/s"
        " | acked | lost | ratio to floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lat = r["latency_ms"]
        rps = r["rps"] if r["mode"] == "closed" else r["achieved_send_rate"]
        mode = (
            f"closed, {r['connections']} conns"
            if r["mode"] == "closed"
            else f"open {r['rate']:.0f}/s"
        )
        print(
            f"| {r['workers']} | {mode} | {rps:.0f} | {lat.get('p50', 0):.1f}"
            f" | {lat.get('p95', 0):.1f} | {lat.get('p99', 0):.1f}"
            f" | {r['server_cpu_s'] / r['wall_s']:.2f}"
            f" | {r['loadgen_cpu_s'] / r['wall_s']:.2f} | {r['acked']} | {r['lost']}"
            f" | {rps / floor['rps']:.3f} |"
        )
    kind = "parse + XSD" if floor["xsd"] else "parse only"
    print(f"| - | floor ({kind}, in-process) | {floor['rps']:.0f} | | | | 1 thread | | | | 1 |")


if __name__ == "__main__":
    main()
