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
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterhub.errors import InvalidInput
from meterhub.reporting.definitions import Definition, Period, Registry, Sources
from meterhub.reporting.disclosure import (
    DEFAULT_MIN_COHORT,
    PeerLabeller,
    population,
    recipient_roles,
    recipient_view,
)
from meterhub.reporting.engines import (
    Engine,
    EngineName,
    Row,
    event_partitions,
    normalise,
    open_engine,
    scratch_dir,
)
from meterhub.reporting.inventory import write_device_snapshot, write_empty_snapshot
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
    """Run every definition once over the bound tables: normalised rows by definition id."""
    sources = Sources()
    results: dict[str, list[Row]] = {}
    for i, d in enumerate(suite, start=1):
        results[d.id] = normalise(d, engine.rows(d.expression(sources, period)))
        if progress:
            progress(offset + i, total or len(suite), d.id)
    return results


def bind_inputs(
    engine: Engine,
    *,
    lake: Path,
    period: Period,
    suite: Registry,
    database_url: str | None,
    scratch: Path,
    devices_snapshot: Path | None = None,
) -> list[str]:
    """Bind the lake days and the device snapshot (``devices_snapshot`` if given, else exported
    from the database, else empty); returns the lake days bound."""
    events_root, days = event_partitions(lake, suite.window(period), scratch)
    devices = scratch / "devices.parquet"
    if devices_snapshot is not None:
        devices = devices_snapshot
    elif database_url:
        from meterhub.db.session import get_engine

        write_device_snapshot(get_engine(database_url), on=period.last, path=devices)
    else:
        write_empty_snapshot(devices)
    engine.bind(event_days=days, events_root=events_root, devices=devices)
    return [p.name.removeprefix("day=") for p in days if events_root == lake / "events"]


def _csv_bytes(definition: Definition, month: str, rows: list[Row]) -> bytes:
    columns = ["month", "series", *(c for c in definition.columns if c != "scope")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if v is None else v for v in (month, *(r[c] for c in columns[1:]))])
    return buffer.getvalue().encode()


def _series_order(row: Row) -> tuple[int, ...]:
    return ({"own": 0, "industry": 1, "peer": 2}[row["series"]],)


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
) -> RecipientReport:
    """Write one recipient's CSVs and manifest; returns what was written."""
    roles = recipient_roles(results, recipient)
    labeller = PeerLabeller(
        secret=secret,
        recipient=recipient,
        month=period.label,
        population=population(suite, results),
    )
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    used: list[Definition] = []
    paths: list[Path] = []
    for d in suite:
        rows = recipient_view(
            d,
            results[d.id],
            recipient=recipient,
            roles=roles,
            labeller=labeller,
            min_cohort=min_cohort,
        )
        if rows is None:
            continue
        rows.sort(key=_series_order)
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


def run_reports(
    *,
    lake: Path,
    month: str,
    out: Path,
    engine: EngineName | Engine = "duckdb",
    database_url: str | None = None,
    devices_snapshot: Path | None = None,
    party: str | None = None,
    secret: bytes,
    min_cohort: int = DEFAULT_MIN_COHORT,
    suite: Registry = SUITE,
    progress: Progress | None = None,
    now: datetime | None = None,
    pdf: bool = False,
) -> RunResult:
    """Compute the suite for ``month`` and write every recipient's report (or ``party``'s)."""
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
            )
            results = compute(
                runner, period=period, suite=suite, progress=progress, total=len(suite) + 1
            )
    finally:
        if owned:
            runner.close()

    everyone = sorted(
        {r["party"] for rows in results.values() for r in rows if r["scope"] == "party"}
    )
    if party is not None and party not in everyone:
        raise InvalidInput(
            f"party {party} has no requests, alerts or devices in {period.label}",
            code="no_such_recipient",
        )
    recipients = [party] if party else everyone
    run_dir = out / period.label
    reports = [
        write_recipient(
            recipient=p,
            period=period,
            suite=suite,
            results=results,
            secret=secret,
            min_cohort=min_cohort,
            directory=run_dir / p,
            engine_name=runner.name,
            created_at=created_at,
        )
        for p in recipients
    ]
    if pdf:
        from meterhub.reporting.pdf import render_recipient_pdf

        pdfs = {r.party: render_recipient_pdf(r.directory) for r in reports}
        reports = [replace(r, pdf=pdfs[r.party].path) for r in reports]
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
        progress(len(suite) + 1, len(suite) + 1, "reports written")
    return RunResult(period.label, runner.name, run_dir, reports)
