"""A report run: one month, every definition computed once, frozen as CSV files per recipient.

1. The lake's day partitions the suite needs (the month, widened by the longest look-back and
   look-ahead of any definition) and the month-end device snapshot (exported from the database
   to Parquet) are bound in the engine.
2. Each definition is run once, giving party and industry rows for everyone (``compute``).
3. For each recipient, ``disclosure.recipient_view`` keeps what it may see, and one CSV per
   definition is written under ``<out>/<YYYY-MM>/<PARTY>/``, with a ``manifest.json`` naming every
   definition and version used and the SHA-256 of each file, and a content hash over them.
4. A run-level ``<out>/<YYYY-MM>/manifest.json`` (for the DCC, never sent to a user: it lists
   the recipients) records the engine, the lake days read and each recipient's content hash.
5. With ``pdf=True`` each recipient also gets ``<out>/<YYYY-MM>/<PARTY>-<YYYY-MM>.pdf`` (beside
   its directory), drawn from the CSVs and manifest just written (``reporting/pdf.py``); its
   SHA-256 goes in the recipient's manifest (``pdf``) and in the run manifest.

A run is a snapshot: the same lake, database, secret and suite give byte-identical files.

Speed: each definition's rows are indexed once by role and party (``RunIndex``), so a
recipient's view reads only the rows it can receive rather than every party's; the roles and the
peer population are worked out once per run, not once per recipient; and recipients are written
(CSVs, manifest, PDF) by ``workers`` forked processes, each recipient's files by one process,
so the files are the same whichever process wrote them.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import multiprocessing
import operator
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterhub.errors import InvalidInput
from meterhub.reporting.definitions import Definition, Period, Registry, Sources
from meterhub.reporting.disclosure import (
    DEFAULT_MIN_COHORT,
    Cohorts,
    Contributors,
    PeerLabeller,
    population,
    recipient_view,
)
from meterhub.reporting.engines import (
    Engine,
    EngineName,
    Row,
    event_partitions,
    normalise_table,
    open_engine,
    scratch_dir,
)
from meterhub.reporting.inventory import (
    write_device_snapshot,
    write_empty_forecasts,
    write_empty_snapshot,
    write_forecast_snapshot,
)
from meterhub.reporting.suite import SUITE

#: ``progress(done, total, what)`` after each step.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RecipientReport:
    party: str
    directory: Path
    files: list[Path]
    content_hash: str
    pdf: Path | None = None


@dataclass(frozen=True)
class RunResult:
    month: str
    engine: str
    directory: Path
    reports: list[RecipientReport] = field(default_factory=list)

    def report_for(self, party: str) -> RecipientReport:
        return next(r for r in self.reports if r.party == party)


def compute(
    engine: Engine,
    *,
    period: Period,
    suite: Registry = SUITE,
    progress: Progress | None = None,
    offset: int = 0,
    total: int = 0,
) -> dict[str, list[Row]]:
    """Run every definition once over the bound tables: normalised rows by definition id.
    The engine may run several at once; results are normalised here as they arrive."""
    sources = Sources()
    definitions = list(suite)
    expressions = [d.expression(sources, period) for d in definitions]
    results: dict[str, list[Row]] = {}
    tables = engine.tables(expressions)
    try:
        for i, (d, table) in enumerate(zip(definitions, tables, strict=True), start=1):
            results[d.id] = normalise_table(d, table)
            if progress:
                progress(offset + i, total or len(suite), d.id)
    finally:
        close = getattr(tables, "close", None)
        if close is not None:
            close()  # stops the engine's queries before it is closed
    return results


@dataclass(frozen=True)
class RowsByRole:
    """Positions of one definition's rows: industry rows and party rows per role, and each
    party's own rows per (party, role)."""

    industry: dict[str | None, list[int]]
    parties: dict[str | None, list[int]]
    own: dict[tuple[str | None, str | None], list[int]]

    @classmethod
    def of(cls, rows: Sequence[Row]) -> RowsByRole:
        industry: dict[str | None, list[int]] = defaultdict(list)
        parties: dict[str | None, list[int]] = defaultdict(list)
        own: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r["scope"] == "party":
                parties[r["role"]].append(i)
                own[(r["party"], r["role"])].append(i)
            else:
                industry[r["role"]].append(i)
        return cls(dict(industry), dict(parties), dict(own))


@dataclass(frozen=True)
class RunIndex:
    """What every recipient's files are cut from, worked out once per run: each party's roles,
    the peer population, each definition's rows by role and party, and (for the definitions
    that show more than the recipient's own rows) its cohort sizes and each industry slice's
    contributors."""

    roles: dict[str, set[str]]
    population: set[tuple[str, str]]
    rows: dict[str, RowsByRole]
    cohorts: dict[str, Cohorts]
    contributors: dict[str, Contributors]

    @classmethod
    def of(cls, suite: Registry, results: dict[str, list[Row]]) -> RunIndex:
        roles: dict[str, set[str]] = defaultdict(set)
        for rows in results.values():
            for r in rows:
                if r["scope"] == "party":
                    roles[r["party"]].add(r["role"])
        shared = [d for d in suite if d.disclosure != "own"]
        return cls(
            dict(roles),
            population(suite, results),
            {d.id: RowsByRole.of(results[d.id]) for d in suite},
            {d.id: Cohorts.of(results[d.id]) for d in shared},
            {d.id: Contributors.of(d, results[d.id]) for d in shared},
        )

    def candidates(
        self, d: Definition, rows: list[Row], *, recipient: str, roles: set[str]
    ) -> list[Row]:
        """The rows of ``d`` that ``recipient_view`` could show ``recipient`` or count (for
        cohorts, and for how many other parties stand behind an industry figure), in their
        original order: for ``own`` definitions its own rows of its roles, else every row of
        its roles. The view of these is the view of all rows; for a big data file of one
        party's devices, it is a small part of them."""
        index = self.rows[d.id]
        picked: list[int] = []
        for role in roles & set(d.recipient_roles):
            if d.disclosure == "own":
                picked += index.own.get((recipient, role), [])
            else:
                picked += index.industry.get(role, [])
                picked += index.parties.get(role, [])
        picked.sort()
        return [rows[i] for i in picked]


def bind_inputs(
    engine: Engine,
    *,
    lake: Path,
    period: Period,
    suite: Registry,
    database_url: str | None,
    scratch: Path,
    devices_snapshot: Path | None = None,
    forecasts_snapshot: Path | None = None,
) -> list[str]:
    """Bind the lake days, the device snapshot and the install forecasts (each the file given,
    else exported from the database, else empty); returns the lake days bound."""
    events_root, days = event_partitions(lake, suite.window(period), scratch)
    devices = scratch / "devices.parquet"
    if devices_snapshot is not None:
        devices = devices_snapshot
    elif database_url:
        from meterhub.db.session import get_engine

        write_device_snapshot(get_engine(database_url), on=period.last, path=devices)
    else:
        write_empty_snapshot(devices)
    forecasts = scratch / "forecasts.parquet"
    if forecasts_snapshot is not None:
        forecasts = forecasts_snapshot
    elif database_url:
        from meterhub.db.session import get_engine

        write_forecast_snapshot(get_engine(database_url), month=period.label, path=forecasts)
    else:
        write_empty_forecasts(forecasts)
    engine.bind(event_days=days, events_root=events_root, devices=devices, forecasts=forecasts)
    return [p.name.removeprefix("day=") for p in days if events_root == lake / "events"]


def _csv_bytes(definition: Definition, month: str, rows: list[Row]) -> bytes:
    """The CSV of a recipient's rows (the csv module writes ``None`` as an empty field)."""
    columns = ["month", "series", *(c for c in definition.columns if c != "scope")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    values = operator.itemgetter(*columns[1:])
    writer.writerows((month, *values(r)) for r in rows)
    return buffer.getvalue().encode()


def definition_entry(d: Definition) -> dict[str, Any]:
    return {
        "id": d.id,
        "version": d.version,
        "report": d.report,
        "title": d.title,
        "description": d.description,
        "grain": d.grain,
        "dimensions": list(d.dimensions),
        "measures": [{"name": m.name, "title": m.title} for m in d.measures],
        "srv_groups": list(d.srv_groups),
        "disclosure": d.disclosure,
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(files: Sequence[dict[str, Any]]) -> str:
    """One hash over a report's files: SHA-256 of ``path sha256`` lines in path order."""
    lines = "".join(f"{f['path']} {f['sha256']}\n" for f in sorted(files, key=lambda f: f["path"]))
    return _sha256(lines.encode())


def write_recipient(
    *,
    recipient: str,
    period: Period,
    suite: Registry,
    results: dict[str, list[Row]],
    secret: bytes,
    min_cohort: int,
    directory: Path,
    engine_name: str,
    created_at: datetime,
    index: RunIndex | None = None,
) -> RecipientReport:
    """Write one recipient's CSVs and manifest; returns what was written. ``index`` (built
    from ``results`` when not given) is shared by every recipient of a run."""
    index = index or RunIndex.of(suite, results)
    roles = index.roles.get(recipient, set())
    labeller = PeerLabeller(
        secret=secret,
        recipient=recipient,
        month=period.label,
        population=index.population,
    )
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    used: list[Definition] = []
    paths: list[Path] = []
    for d in suite:
        rows = recipient_view(
            d,
            index.candidates(d, results[d.id], recipient=recipient, roles=roles),
            recipient=recipient,
            roles=roles,
            labeller=labeller,
            min_cohort=min_cohort,
            cohorts=index.cohorts.get(d.id),
            contributors=index.contributors.get(d.id),
        )
        if rows is None:
            continue
        data = _csv_bytes(d, period.label, rows)
        path = directory / f"{d.id}.csv"
        path.write_bytes(data)
        paths.append(path)
        used.append(d)
        entries.append(
            {"path": path.name, "definition": d.key, "rows": len(rows), "sha256": _sha256(data)}
        )
    digest = content_hash(entries)
    manifest = {
        "recipient": recipient,
        "roles": sorted(roles),
        "month": period.label,
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        "engine": engine_name,
        "min_cohort": min_cohort,
        "created_at": created_at.isoformat(timespec="seconds"),
        "peer_labels": "keyed per recipient and month; not comparable across reports",
        "definitions": [definition_entry(d) for d in used],
        "files": entries,
        "content_hash": digest,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return RecipientReport(recipient, directory, paths, digest)


@dataclass(frozen=True)
class _RecipientJob:
    """Everything a worker needs to write recipients' files; set before forking."""

    period: Period
    suite: Registry
    results: dict[str, list[Row]]
    index: RunIndex
    secret: bytes
    min_cohort: int
    run_dir: Path
    engine_name: str
    created_at: datetime
    pdf: bool


_JOB: _RecipientJob | None = None


def _write_one(recipient: str) -> tuple[RecipientReport, Any]:
    """One recipient's CSVs, manifest and (when asked) PDF."""
    job = _JOB
    assert job is not None
    report = write_recipient(
        recipient=recipient,
        period=job.period,
        suite=job.suite,
        results=job.results,
        secret=job.secret,
        min_cohort=job.min_cohort,
        directory=job.run_dir / recipient,
        engine_name=job.engine_name,
        created_at=job.created_at,
        index=job.index,
    )
    if not job.pdf:
        return report, None
    from meterhub.reporting.pdf import render_recipient_pdf

    rendered = render_recipient_pdf(report.directory)
    return replace(report, pdf=rendered.path), rendered


def _write_all(recipients: list[str], workers: int) -> Iterator[tuple[RecipientReport, Any]]:
    """Recipients in order, written by ``workers`` forked processes (or this one)."""
    if workers <= 1 or len(recipients) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(_write_one, recipients)
        return
    gc.collect()
    gc.freeze()  # the children share the results without the collector copying their pages
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(recipients))) as pool:
            yield from pool.imap(_write_one, recipients)
    finally:
        gc.unfreeze()


def default_workers() -> int:
    return min(2, os.cpu_count() or 1)


def run_reports(
    *,
    lake: Path,
    month: str,
    out: Path,
    engine: EngineName | Engine = "duckdb",
    database_url: str | None = None,
    devices_snapshot: Path | None = None,
    forecasts_snapshot: Path | None = None,
    party: str | None = None,
    secret: bytes,
    min_cohort: int = DEFAULT_MIN_COHORT,
    suite: Registry = SUITE,
    progress: Progress | None = None,
    now: datetime | None = None,
    pdf: bool = False,
    workers: int | None = None,
) -> RunResult:
    """Compute the suite for ``month`` and write every recipient's report (or ``party``'s),
    ``workers`` processes writing recipients (default: up to 2)."""
    try:
        period = Period.month(month)
    except ValueError:
        raise InvalidInput(f"month {month!r} is not YYYY-MM", code="bad_month") from None
    if min_cohort < 2:
        raise InvalidInput("min_cohort must be at least 2", code="bad_min_cohort")
    created_at = now or datetime.now(UTC)
    owned = isinstance(engine, str)
    runner = open_engine(engine) if isinstance(engine, str) else engine
    try:
        with scratch_dir() as scratch:
            days = bind_inputs(
                runner,
                lake=lake,
                period=period,
                suite=suite,
                database_url=database_url,
                scratch=Path(scratch),
                devices_snapshot=devices_snapshot,
                forecasts_snapshot=forecasts_snapshot,
            )
            results = compute(
                runner, period=period, suite=suite, progress=progress, total=len(suite) + 1
            )
    finally:
        if owned:
            runner.close()

    index = RunIndex.of(suite, results)
    everyone = sorted(index.roles)
    if party is not None and party not in everyone:
        raise InvalidInput(
            f"party {party} has no requests, alerts or devices in {period.label}",
            code="no_such_recipient",
        )
    recipients = [party] if party else everyone
    run_dir = out / period.label
    global _JOB
    _JOB = _RecipientJob(
        period=period,
        suite=suite,
        results=results,
        index=index,
        secret=secret,
        min_cohort=min_cohort,
        run_dir=run_dir,
        engine_name=runner.name,
        created_at=created_at,
        pdf=pdf,
    )
    reports: list[RecipientReport] = []
    pdfs: dict[str, Any] = {}
    steps = len(suite) + len(recipients) + 1
    try:
        for report, rendered in _write_all(recipients, workers or default_workers()):
            reports.append(report)
            if rendered is not None:
                pdfs[report.party] = rendered
            if progress:
                progress(len(suite) + len(reports), steps, f"report for {report.party}")
    finally:
        _JOB = None
    run_manifest = {
        "month": period.label,
        "engine": runner.name,
        "min_cohort": min_cohort,
        "created_at": created_at.isoformat(timespec="seconds"),
        "lake_days": days,
        "definitions": [d.key for d in suite],
        "recipients": {r.party: r.content_hash for r in reports},
    }
    if pdf:
        run_manifest["pdfs"] = {
            p: {"path": r.path.name, "sha256": r.sha256} for p, r in pdfs.items()
        }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").write_text(json.dumps(run_manifest, indent=2) + "\n")
    if progress:
        progress(steps, steps, "reports written")
    return RunResult(period.label, runner.name, run_dir, reports)
