"""How fast does a filtered report page answer over a big lake? (MP176: p95 300 ms or less over
100 million events.)

1. The lake: ``--lake DIR`` if it holds events, else ``meterhub simulate traffic`` (the library
   call) of about ``--events`` events over ``--days`` days from 2024-06-01 into a temporary
   directory, over a synthetic estate of ``--devices`` devices (``benchmarks/simulate_traffic.py``
   builds it) or the estate database ``--estate``.
2. The cube (``reporting/cube.py``) built from it, timed (wall and CPU), then its size.
3. ``--queries`` random filtered views through ``reporting.explore.explore`` (the call the portal
   and the API make): a random party, a random period (1 day, a week, 30 days, or everything), up
   to three random dimension filters with values the party has, a random breakdown. Median, p95,
   p99 and max latency after a short warm-up.
4. ``--http`` of the same kind through HTTP: ``meterhub serve`` in a subprocess (its own SQLite
   database with the party and an API token) and ``GET /api/v1/reports/{party}/explore``,
   timed end to end from this process.
5. The portal's report page as a person meets it (``GET /portal/reports/{party}``, logged in
   through the form, with the default query): the **first load** as soon as the server
   answers (the server starts loading the cube when it starts; the page waits only for what
   is left of that load), then ``--http`` **later loads**, then the first load **after the cube
   was rebuilt** (its newest day, forced) and the loads after it: the server reloads the cube
   in the background and serves the previous load meanwhile, so these should not wait for it.

    .venv/bin/python benchmarks/report_portal.py --events 100000000 --days 30
    .venv/bin/python benchmarks/report_portal.py --lake /tmp/lake --queries 500
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

import duckdb

from meterhub.audit.service import Actor
from meterhub.db.session import get_engine, get_sessionmaker
from meterhub.kit.clock import utcnow
from meterhub.lake.simulate import simulate_traffic
from meterhub.lake.writer import events_glob
from meterhub.migrations.run import upgrade
from meterhub.parties import service as parties
from meterhub.reporting.cube import REQUESTS, build_cube, cube_days
from meterhub.reporting.explore import BREAKDOWNS, CubeReader, ExploreQuery, explore

sys.path.insert(0, str(Path(__file__).parent))
from simulate_traffic import build_synthetic_estate

EVENTS_PER_REQUEST = 3.91  # measured: 100,227,483 events for 25.6M requests
START = date(2024, 6, 1)
FILTERABLE = (
    "process",
    "srv",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "response_code",
)
SECRET = b"benchmark"


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def count(source: str) -> int:
    found = duckdb.execute(f"SELECT count(*) FROM {source}").fetchall()
    return int(found[0][0])


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return (
        f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {at(0.95) * 1000:.1f} ms, "
        f"p99 {at(0.99) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"
    )


def fill_lake(
    lake: Path, *, events: int, days: int, estate: Path | None, devices: int, work: Path
) -> None:
    if estate is None:
        estate = work / "estate.db"
        url = f"sqlite:///{estate}"
        upgrade(url)
        began = time.perf_counter()
        made = build_synthetic_estate(url, devices=devices)
        print(f"estate: {made:,} synthetic devices in {time.perf_counter() - began:.1f} s")
    rate = events / EVENTS_PER_REQUEST / (days * 86_400)
    began = time.perf_counter()
    summary = simulate_traffic(
        get_engine(f"sqlite:///{estate}"), lake=lake, start=START, days=days, rate=rate, seed=7
    )
    print(
        f"lake: {summary.events:,} events over {days} day(s) simulated in "
        f"{time.perf_counter() - began:.1f} s"
    )


class QueryMaker:
    """Random views as users would ask for them, with filter values the party really has."""

    def __init__(self, cube: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.days = cube_days(cube, REQUESTS)
        files = f"'{cube}/requests/*/*.parquet'"
        rows = duckdb.execute(
            f"SELECT DISTINCT party, role, {', '.join(FILTERABLE)} FROM read_parquet({files})"
        ).fetchall()
        self.values: dict[str, dict[str, list[str]]] = {}
        self.roles: dict[str, str] = {}
        for party, role, *dims in rows:
            if party is None:
                continue
            self.roles.setdefault(party, role)
            mine = self.values.setdefault(party, {f: [] for f in FILTERABLE})
            for name, value in zip(FILTERABLE, dims, strict=True):
                if value is not None and value not in mine[name]:
                    mine[name].append(value)
        self.parties = sorted(self.values)

    def params(self, party: str | None = None) -> tuple[str, dict[str, str]]:
        rng = self.rng
        party = party or rng.choice(self.parties)
        length = rng.choice([1, 7, 30, len(self.days)])
        length = min(length, len(self.days))
        start = rng.randrange(0, len(self.days) - length + 1)
        first, last = self.days[start], self.days[start + length - 1]
        params = {"from": first.isoformat(), "to": last.isoformat()}
        k = rng.choices([0, 1, 2, 3], weights=[2, 4, 3, 1])[0]
        for name in rng.sample(FILTERABLE, k):
            options = self.values[party][name]
            if options:
                params[name] = rng.choice(sorted(options))
        params["breakdown"] = rng.choice(BREAKDOWNS)
        return party, params


def time_queries(reader: CubeReader, maker: QueryMaker, n: int) -> list[float]:
    for _ in range(5):  # warm-up: the OS page cache and DuckDB's metadata cache
        party, params = maker.params()
        explore(
            reader,
            party=party,
            query=ExploreQuery.parse(params, held=None, today=date.today()),
            secret=SECRET,
        )
    samples = []
    for _ in range(n):
        party, params = maker.params()
        query = ExploreQuery.parse(params, held=None, today=date.today())
        began = time.perf_counter()
        explore(reader, party=party, query=query, secret=SECRET)
        samples.append(time.perf_counter() - began)
    return samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORTAL_PASSWORD = "benchmark portal password"


class PortalTimes:
    """Report page loads: the first after the server answers, later ones, the first after
    a cube rebuild and later ones again."""

    def __init__(self) -> None:
        self.first = 0.0
        self.later: list[float] = []
        self.after_rebuild = 0.0
        self.after_rebuild_later: list[float] = []


def portal_session(base: str) -> urllib.request.OpenerDirector:
    """A browser-like opener logged in through the portal's form."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/portal/login", timeout=30) as answer:
        found = re.search(r'name="csrf_token" value="([^"]+)"', answer.read().decode())
    assert found, "the login page has no CSRF token"
    form = urllib.parse.urlencode(
        {
            "username": "portal@example.org",
            "password": PORTAL_PASSWORD,
            "csrf_token": found.group(1),
            "next": "",
        }
    ).encode()
    with opener.open(f"{base}/portal/login", data=form, timeout=30) as answer:
        assert answer.status == 200
    return opener


def time_page(opener: urllib.request.OpenerDirector, url: str) -> float:
    began = time.perf_counter()
    with opener.open(url, timeout=120) as answer:
        body = answer.read()
    took = time.perf_counter() - began
    assert answer.status == 200 and b"<svg" in body, "the report page has no charts"
    return took


def time_http(
    cube: Path, maker: QueryMaker, n: int, work: Path, *, lake: Path, portal: PortalTimes
) -> list[float]:
    party = max(maker.parties, key=lambda p: len(maker.values[p]["model"]))
    url = f"sqlite:///{work / 'http.db'}"
    upgrade(url)
    with get_sessionmaker(url)() as session:
        system = Actor.system("benchmark")
        owner = parties.create_party(
            session,
            actor=system,
            code=party,
            name=party,
            kind="supplier",
            roles=["IS"],
            now=utcnow(),
        )
        user = parties.create_user(
            session,
            actor=system,
            party=owner,
            username="bench@example.org",
            display_name="Benchmark",
            password=None,
            roles={"IS": None},
            now=utcnow(),
        )
        token = parties.issue_api_token(session, actor=system, user=user, now=utcnow())
        parties.create_user(
            session,
            actor=system,
            party=owner,
            username="portal@example.org",
            display_name="Benchmark portal user",
            password=PORTAL_PASSWORD,
            roles={"IS": None},
            now=utcnow(),
        )
        session.commit()
    port = free_port()
    env = {
        **os.environ,
        "METERHUB_DATABASE_URL": url,
        "METERHUB_CUBE_DIR": str(cube),
        "METERHUB_REPORT_SECRET": SECRET.decode(),
        "METERHUB_SECRET_KEY": "benchmark",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "meterhub"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        # The report page, as a person meets it: first load, later loads.
        opener = portal_session(base)
        page = f"{base}/portal/reports/{party}"
        portal.first = time_page(opener, page)
        portal.later = [time_page(opener, page) for _ in range(n)]

        def get(params: dict[str, str]) -> float:
            query = urllib.parse.urlencode(params)
            request = urllib.request.Request(
                f"{base}/api/v1/reports/{party}/explore?{query}",
                headers={"Authorization": f"Bearer {token}"},
            )
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as answer:
                body = json.loads(answer.read())
            took = time.perf_counter() - began
            assert body["party"] == party
            return took

        for _ in range(3):
            get(maker.params(party)[1])
        samples = [get(maker.params(party)[1]) for _ in range(n)]

        # A rebuilt cube (its newest day, as the worker's update does): the server notices
        # within 2 s and loads it in the background; pages go on meanwhile.
        newest = maker.days[-1]
        build_cube(lake, cube=cube, first=newest, last=newest, force=True)
        time.sleep(2.5)
        portal.after_rebuild = time_page(opener, page)
        portal.after_rebuild_later = [time_page(opener, page) for _ in range(n)]
        return samples
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--lake", type=Path, help="use this lake (simulated into it if empty)")
    parser.add_argument("--estate", type=Path, help="estate SQLite database to simulate over")
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--http", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cube from scratch")
    args = parser.parse_args()

    print(
        f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}; load {os.getloadavg()[0]:.2f}"
    )
    work = Path(tempfile.mkdtemp(prefix="meterhub-report-bench-"))
    try:
        lake = args.lake or work / "lake"
        if not list((lake / "events").glob("day=*")):
            fill_lake(
                lake,
                events=args.events,
                days=args.days,
                estate=args.estate,
                devices=args.devices,
                work=work,
            )
        events = count(f"read_parquet('{events_glob(lake)}')")
        print(f"lake: {lake}, {events:,} events")
        cube = lake / "cube"
        if args.rebuild:
            shutil.rmtree(cube, ignore_errors=True)
        wall, spent = time.perf_counter(), cpu()
        result = build_cube(lake, cube=cube)
        wall, spent = time.perf_counter() - wall, cpu() - spent
        print(
            f"cube build: {len(result.built)} day(s) built, {len(result.unchanged)} up to date, "
            f"{wall:.1f} s wall, {spent:.1f} s CPU (load {os.getloadavg()[0]:.2f})"
        )
        again = time.perf_counter()
        build_cube(lake, cube=cube)
        print(f"cube re-run with nothing to do: {time.perf_counter() - again:.2f} s")
        size = sum(p.stat().st_size for p in cube.rglob("*.parquet"))
        rows = count(f"read_parquet('{cube}/requests/*/*.parquet')")
        alerts = count(f"read_parquet('{cube}/alerts/*/*.parquet')")
        print(f"cube: {rows:,} request rows, {alerts:,} alert rows, {size / 2**20:.1f} MiB")
        maker = QueryMaker(cube, args.seed)
        reader = CubeReader(cube)
        began = time.perf_counter()
        reader.refresh()
        print(f"reader load (once per cube change): {time.perf_counter() - began:.1f} s")
        if args.queries:
            samples = time_queries(reader, maker, args.queries)
            load = os.getloadavg()[0]
            print(f"explore() over the cube: {percentiles(samples)} (load {load:.2f})")
        if args.http:
            portal = PortalTimes()
            took = time_http(cube, maker, args.http, work, lake=lake, portal=portal)
            print(f"HTTP GET /api/v1/reports/.../explore: {percentiles(took)}")
            print(f"report page, first load after the server answers: {portal.first:.2f} s")
            print(f"report page, later loads: {percentiles(portal.later)}")
            print(
                f"report page, first load after a cube rebuild: {portal.after_rebuild:.2f} s; "
                f"loads after it: {percentiles(portal.after_rebuild_later)}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
