"""``meterhub import KIND FILE.csv``: load an operator's file all or nothing (docs/import.md).

Exit status: 0 every row imported and committed; 2 the file or some of its rows were refused
and nothing was written; 1 the database could not be used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from meterhub.bulk.csvfile import write_report
from meterhub.bulk.importers import IMPORTERS, Importer, importer_for
from meterhub.bulk.service import ImportOutcome, check_file, import_actor, import_file
from meterhub.cli.common import console, err_console, fail, friendly_errors
from meterhub.config import get_settings
from meterhub.db.session import begin_write, get_sessionmaker
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow

SHOWN_REJECTIONS = 50


def default_report_path(path: Path) -> Path:
    """``devices.csv`` -> ``devices.report.csv`` in the same folder as the input."""
    return path.with_name(f"{path.stem}.report.csv")


@contextmanager
def _progress(kind: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; silent in scripts and pipes."""
    with Progress(
        TextColumn(f"importing {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(kind, total=total)
        yield lambda: progress.advance(task)


def _show_rejections(outcome: ImportOutcome) -> None:
    table = Table(title=f"{len(outcome.rejected)} rejected {outcome.kind} rows")
    for name in ("line", "key", "code", "message"):
        table.add_column(name, overflow="fold")
    for row in outcome.rejected[:SHOWN_REJECTIONS]:
        table.add_row(str(row.line), row.key, row.code, row.message)
    console.print(table, highlight=False)
    hidden = len(outcome.rejected) - SHOWN_REJECTIONS
    if hidden > 0:
        console.print(f"... and {hidden} more in the report file", highlight=False)


def run_import(importer: Importer, file: Path, report: Path | None) -> None:
    """Check the file, load it in one transaction, commit only if no row was refused."""
    settings = get_settings()
    shape = check_file(file, importer=importer, max_bytes=settings.max_csv_bytes)
    report_path = report or default_report_path(file)
    if report_path.resolve() == file.resolve():
        raise InvalidInput("the report file would overwrite the input file", code="bad_report")
    started = time.perf_counter()
    session = get_sessionmaker(settings.database_url)()
    try:
        # Queue for the write lock before the first read, as the server's writers do: a
        # transaction that read first would fail at once if the hub wrote meanwhile.
        begin_write(session)
        with _progress(importer.kind, shape.rows) as advance:
            outcome = import_file(
                session,
                actor=import_actor(file),
                importer=importer,
                path=file,
                shape=shape,
                max_bytes=settings.max_csv_bytes,
                on_row=advance,
                now=utcnow(),
            )
        if outcome.accepted:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    elapsed = time.perf_counter() - started

    if outcome.accepted:
        rate = outcome.rows / elapsed if elapsed > 0 else 0.0
        console.print(
            f"imported {outcome.rows} {importer.kind} from {file.name}"
            f" in {elapsed:.1f} s ({rate:,.0f} rows/s)",
            highlight=False,
        )
        return

    _show_rejections(outcome)
    summary = (
        f"{len(outcome.rejected)} of {outcome.rows} {importer.kind} rows rejected;"
        " nothing was imported"
    )
    try:
        write_report(report_path, ((r.line, r.key, r.code, r.message) for r in outcome.rejected))
    except OSError as exc:
        raise fail(f"{summary}; could not write {report_path}: {exc.strerror}", 2) from None
    raise fail(f"{summary}; report: {report_path}", 2)


def _columns_help(importer: Importer) -> str:
    lines = [importer.summary, "", "Columns (a header row naming them comes first):", ""]
    lines += [
        f"* {c.name} ({'required' if c.required else 'optional'}): {c.meaning}"
        f" (e.g. {c.example or 'empty'})"
        for c in importer.columns
    ]
    lines += ["", "All or nothing: any rejected row leaves the database unchanged (exit 2)."]
    return "\n".join(lines)


def _kind_command(importer: Importer) -> Callable[[Path, Path | None], None]:
    def command(
        file: Path = typer.Argument(
            ..., metavar="FILE.csv", help="CSV UTF-8 file with a header row"
        ),
        report: Path | None = typer.Option(
            None,
            "--report",
            help="Where to write the rejected rows (default: FILE.report.csv beside FILE)",
        ),
    ) -> None:
        run_import(importer, file, report)

    command.__name__ = f"import_{importer.kind}"
    return friendly_errors(command)


def register(app: typer.Typer) -> None:
    import_app = typer.Typer(
        help="Load records from CSV files, all or nothing (docs/import.md).",
        no_args_is_help=True,
        rich_markup_mode="markdown",
    )
    app.add_typer(import_app, name="import")

    for importer in IMPORTERS.values():
        import_app.command(
            importer.kind,
            help=_columns_help(importer),
            short_help=importer.summary.split(".")[0] + ".",
        )(_kind_command(importer))

    @import_app.command("columns")
    @friendly_errors
    def columns(kind: str = typer.Argument(..., help=", ".join(IMPORTERS))) -> None:
        """The columns a file of KIND has, with meaning and example."""
        importer = importer_for(kind)
        table = Table(title=f"meterhub import {importer.kind}: {importer.summary}")
        for name in ("column", "required", "meaning", "example"):
            table.add_column(name, overflow="fold")
        for c in importer.columns:
            table.add_row(c.name, "yes" if c.required else "no", c.meaning, c.example)
        console.print(table, highlight=False)
        console.print("header: " + ",".join(importer.column_names), highlight=False, soft_wrap=True)
