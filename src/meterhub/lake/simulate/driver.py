"""The process driver: read the estate, plan, then generate and write the chunks on a pool of
worker processes (or in this one), adding up what was written."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from meterhub.errors import InvalidInput
from meterhub.lake import schema as S
from meterhub.lake.simulate.chunks import ChunkGenerator
from meterhub.lake.simulate.estate import load_estate
from meterhub.lake.simulate.mix import TrafficSettings
from meterhub.lake.simulate.plan import Chunk, plan_traffic
from meterhub.lake.writer import EventLakeWriter
from meterhub.network.model import NetworkModel


@dataclass(frozen=True)
class TrafficSummary:
    """What a simulation wrote."""

    requests: int
    events: int
    files: int
    bytes_written: int
    seconds: float
    chunks: int
    estate_seconds: float = 0.0  # of ``seconds``, reading the estate from the database


_WORKER: tuple[ChunkGenerator, EventLakeWriter] | None = None


def _init_worker(generator: ChunkGenerator, writer: EventLakeWriter) -> None:
    global _WORKER
    _WORKER = (generator, writer)


def _run_chunk(chunk: Chunk) -> tuple[int, int, int, int, int]:
    assert _WORKER is not None
    generator, writer = _WORKER
    table = generator.generate(chunk)
    kinds = table.column("kind").combine_chunks().indices.to_numpy(zero_copy_only=False)
    requests = int((kinds == S.RECEIVED).sum())
    paths = writer.write(table, part=f"sim-{generator.plan.seed}-{chunk.index:06d}")
    size = sum(p.stat().st_size for p in paths)
    return chunk.index, requests, table.num_rows, len(paths), size


def simulate_traffic(
    engine: Engine,
    *,
    lake: Path,
    start: date,
    days: int,
    rate: float,
    seed: int = 0,
    workers: int | None = None,
    network: NetworkModel | None = None,
    settings: TrafficSettings | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> TrafficSummary:
    """Simulate ``days`` of traffic from ``start`` at ``rate`` requests/s into ``lake``.

    ``progress(requests_done, requests_planned, events_done)`` is called after each chunk.
    """
    began = time.perf_counter()
    network = network or NetworkModel()
    settings = settings or TrafficSettings()
    estate = load_estate(engine, on=start, network=network)
    estate_seconds = time.perf_counter() - began
    if not estate.live.any():
        raise InvalidInput(
            "the estate has no commissioned device with a registered supplier to send traffic to",
            code="empty_estate",
        )
    plan = plan_traffic(estate, start=start, days=days, rate=rate, seed=seed, settings=settings)
    generator = ChunkGenerator(estate, plan, network, settings)
    writer = EventLakeWriter(lake)
    workers = workers or min(2, os.cpu_count() or 1)
    planned = plan.planned_requests
    totals = [0, 0, 0, 0]

    def results() -> Iterator[tuple[int, int, int, int, int]]:
        if workers == 1 or len(plan.chunks) == 1:
            _init_worker(generator, writer)
            yield from map(_run_chunk, plan.chunks)
            return
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(generator, writer)) as pool:
            yield from pool.imap_unordered(_run_chunk, plan.chunks)

    for _index, requests, events, files, size in results():
        totals[0] += requests
        totals[1] += events
        totals[2] += files
        totals[3] += size
        if progress is not None:
            progress(totals[0], planned, totals[1])
    return TrafficSummary(
        requests=totals[0],
        events=totals[1],
        files=totals[2],
        bytes_written=totals[3],
        seconds=time.perf_counter() - began,
        chunks=len(plan.chunks),
        estate_seconds=estate_seconds,
    )
