"""Monthly hub charge statements, derived from the custody ledger day by day.

A party's statement for a month has three kinds of line:

* **stock**: one line per day, the hubs it held as stock at the end of that day (the ledger's
  day convention, ``comms_hubs.ledger``) times the stock-level charge in force that day;
* **return**: per day, kind and charge, the hubs returned from its holding that day, at the
  explicit charge recorded with each return (the tariff in force when it was returned);
* **adjustment**: each correction recorded in the month (``record_charge_adjustment``).

Only a month that has ended has a statement, and nothing can change a past day: history rows,
returns and adjustments are stamped with the time they happen, and a tariff only ever changes
from today on. So a month's statement is the same bytes, CSV and PDF, every time it is drawn,
and a correction made after it shows in the next month's statement as an adjustment line.

The whole estate's statements come from one pass over its custody history in SQL
(``ledger.stock_counts``) and one aggregate over the month's returns; what Python then does is
per party and day, never per hub.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session

from meterhub.comms_hubs import ledger
from meterhub.comms_hubs import service as hubs
from meterhub.comms_hubs.models import HubReturn
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow
from meterhub.parties import service as parties

CSV_COLUMNS: Final = (
    "section",
    "date",
    "description",
    "quantity",
    "unit_charge_pence",
    "amount_pence",
    "reference",
)
RETURN_WHAT: Final = {"fault": "fault returns (8.14.3)", "no_fault": "no-fault returns (8.14.4)"}


@dataclass(frozen=True)
class StatementLine:
    section: str  # stock | return | adjustment
    day: date
    description: str
    quantity: int
    unit_millipence: int | None
    amount_pence: int
    reference: str = ""


@dataclass(frozen=True)
class Statement:
    party_id: int
    party_code: str
    party_name: str
    month: str
    lines: tuple[StatementLine, ...]

    @property
    def total_pence(self) -> int:
        return sum(line.amount_pence for line in self.lines)

    def section_total(self, section: str) -> int:
        return sum(line.amount_pence for line in self.lines if line.section == section)

    @property
    def stock_hub_days(self) -> int:
        return sum(line.quantity for line in self.lines if line.section == "stock")


def parse_month(text: str) -> date:
    """``YYYY-MM`` as the month's first day."""
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise InvalidInput(f"{text!r} is not a month (YYYY-MM)", code="bad_month") from None
    if f"{first:%Y-%m}" != text:
        raise InvalidInput(f"{text!r} is not a month (YYYY-MM)", code="bad_month")
    return first


def month_bounds(month: str) -> tuple[date, date]:
    start = parse_month(month)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _check_ended(month: str, end: date, now: datetime) -> None:
    if end > now.date():
        raise InvalidInput(
            f"{month} has not ended: its statement is drawn once the month is over",
            code="month_not_ended",
        )


def _utc_day(session: Session, at: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", at), "YYYY-MM-DD")
    return func.substr(cast(at, String), 1, 10)


def _returns(
    session: Session, *, start: date, end: date, party_id: int | None
) -> dict[int, list[StatementLine]]:
    rows = select(
        HubReturn.holder_party_id,
        _utc_day(session, HubReturn.created_at).label("day"),
        HubReturn.kind,
        HubReturn.charge_pence,
    ).where(
        HubReturn.created_at >= datetime.combine(start, datetime.min.time(), UTC),
        HubReturn.created_at < datetime.combine(end, datetime.min.time(), UTC),
    )
    if party_id is not None:
        rows = rows.where(HubReturn.holder_party_id == party_id)
    r = rows.subquery("r")
    stmt: Select[Any] = select(*r.c, func.count()).group_by(*r.c)
    lines: dict[int, list[StatementLine]] = defaultdict(list)
    for holder, d, kind, charge, n in session.execute(stmt):
        lines[holder].append(
            StatementLine(
                section="return",
                day=date.fromisoformat(d),
                description=RETURN_WHAT.get(kind, kind),
                quantity=n,
                unit_millipence=charge * hubs.MILLIPENCE_PER_PENNY,
                amount_pence=n * charge,
            )
        )
    return lines


def statements_for_month(
    session: Session, *, month: str, party_id: int | None = None, now: datetime | None = None
) -> list[Statement]:
    """Every party's statement for ``month`` (or ``party_id``'s), in party code order: those
    with any line, and ``party_id``'s even when empty. The month must have ended."""
    start, end = month_bounds(month)
    _check_ended(month, end, now or utcnow())
    rates = _daily_rates(session, start=start, end=end)
    one = parties.party_by_id(session, party_id) if party_id is not None else None
    counts = ledger.stock_counts(
        session, start=start, end=end, party=(one.id, one.code) if one is not None else None
    )
    returns = _returns(session, start=start, end=end, party_id=party_id)
    adjustments: dict[int, list[StatementLine]] = defaultdict(list)
    for a in hubs.adjustments_in(
        session,
        party_id=party_id,
        start=datetime.combine(start, datetime.min.time(), UTC),
        end=datetime.combine(end, datetime.min.time(), UTC),
    ):
        adjustments[a.party_id].append(
            StatementLine(
                section="adjustment",
                day=a.recorded_at.date(),
                description=a.reason,
                quantity=1,
                unit_millipence=None,
                amount_pence=a.amount_pence,
                reference=a.reference,
            )
        )
    codes = parties.party_codes_by_id(session)
    ids = {code: pid for pid, code in codes.items()}
    wanted = {ids[c] for c in counts if c in ids} | set(returns) | set(adjustments)
    if party_id is not None:
        wanted = {party_id}
    statements = []
    for pid in sorted(wanted, key=lambda p: codes.get(p, "")):
        party = parties.party_by_id(session, pid)
        if party is None:
            continue
        stock = [
            StatementLine(
                section="stock",
                day=start + timedelta(days=i),
                description="hubs held as stock",
                quantity=n,
                unit_millipence=rates[i],
                amount_pence=hubs.pence_of(n * rates[i]),
            )
            for i, n in enumerate(counts.get(party.code, ()))
            if n
        ]
        lines = stock + sorted(returns.get(pid, []), key=lambda r: (r.day, r.description))
        lines += adjustments.get(pid, [])
        statements.append(
            Statement(
                party_id=pid,
                party_code=party.code,
                party_name=party.name,
                month=month,
                lines=tuple(lines),
            )
        )
    return statements


def statement_for(session: Session, *, party_id: int, month: str, now: datetime) -> Statement:
    """``party_id``'s statement for ``month`` (empty lines when it had no charges)."""
    [statement] = statements_for_month(session, month=month, party_id=party_id, now=now)
    return statement


def _daily_rates(session: Session, *, start: date, end: date) -> list[int]:
    periods = hubs.tariff_periods(session, kind=hubs.TariffKind.STOCK, start=start, end=end)
    rates = []
    for i in range((end - start).days):
        day = start + timedelta(days=i)
        rates.append([amount for first, amount in periods if first <= day][-1])
    return rates


# --- the two renderings: CSV and PDF, the same bytes for the same statement ------------------


def pence_text(millipence: int | None) -> str:
    """Thousandths of a penny as pence with three decimals (``669.643``); nothing for none."""
    if millipence is None:
        return ""
    whole, part = divmod(abs(millipence), hubs.MILLIPENCE_PER_PENNY)
    sign = "-" if millipence < 0 else ""
    return f"{sign}{whole}.{part:03d}"


def file_name(statement: Statement) -> str:
    """``<PARTY>-hub-charges-<YYYY-MM>``, the statement's files' name without the suffix."""
    return f"{statement.party_code}-hub-charges-{statement.month}"


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: one row per line, then the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines:
        writer.writerow(
            [
                line.section,
                line.day.isoformat(),
                line.description,
                line.quantity,
                pence_text(line.unit_millipence),
                line.amount_pence,
                line.reference,
            ]
        )
    writer.writerow(
        [
            "total",
            "",
            f"{statement.party_code} {statement.month}",
            "",
            "",
            statement.total_pence,
            "",
        ]
    )
    return out.getvalue().encode()


def _pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) / 100:,.2f}"


RC: Final[dict[str, Any]] = {
    "pdf.use14corefonts": True,
    "pdf.compression": 6,
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica", "DejaVu Sans"],
    "font.monospace": ["Courier", "DejaVu Sans Mono"],
    "font.weight": "medium",
    "font.size": 8,
}
A4: Final = (8.27, 11.69)
ROWS_PER_PAGE: Final = 48


def statement_pdf(statement: Statement) -> bytes:
    """The statement as a PDF, reproducible as the MP176 reports' are (``reporting.pdf``): the
    PDF standard fonts (nothing embedded) and a creation date that is the day after the month,
    never the clock; so the same statement is the same bytes."""
    _, end = month_bounds(statement.month)
    stamp = datetime.combine(end, datetime.min.time(), UTC)
    metadata = {
        "Title": f"Communications Hub charges {statement.month} {statement.party_code}",
        "Author": "DCC (meterhub)",
        "Creator": "meterhub",
        "CreationDate": stamp,
        "ModDate": stamp,
    }
    rows = [
        (
            line.day.isoformat(),
            line.section,
            (line.description + (f" [{line.reference}]" if line.reference else ""))[:60],
            str(line.quantity),
            pence_text(line.unit_millipence),
            _pounds(line.amount_pence),
        )
        for line in statement.lines
    ]
    pages = [rows[i : i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    buffer = io.BytesIO()
    with (
        matplotlib.rc_context(RC),  # type: ignore[arg-type]
        PdfPages(buffer, metadata=metadata) as pdf,
    ):
        fig = Figure(figsize=A4)
        for number, page in enumerate(pages, start=1):
            if number == 1:
                _summary(fig, statement)
                top = 0.70
            else:
                top = 0.92
            _table(fig, page, top=top)
            fig.text(
                0.5,
                0.02,
                f"{statement.party_code} · {statement.month} · page {number} of {len(pages)}",
                ha="center",
                fontsize=7,
                color="#555555",
            )
            pdf.savefig(fig)
            fig.clear()
    return buffer.getvalue()


def _summary(fig: Figure, statement: Statement) -> None:
    fig.text(0.08, 0.93, "Communications Hub charges", fontsize=18, weight="bold")
    fig.text(0.08, 0.90, f"{statement.party_name} ({statement.party_code})", fontsize=11)
    fig.text(0.08, 0.875, f"Statement for {statement.month}", fontsize=11)
    y = 0.83
    for label, value in (
        ("Stock-level charges", _pounds(statement.section_total("stock"))),
        ("Hub-days held as stock", f"{statement.stock_hub_days:,}"),
        ("Return charges", _pounds(statement.section_total("return"))),
        ("Adjustments", _pounds(statement.section_total("adjustment"))),
        ("Total", _pounds(statement.total_pence)),
    ):
        fig.text(0.08, y, label, fontsize=9, color="#555555")
        fig.text(0.45, y, value, fontsize=9, ha="right", family="monospace")
        y -= 0.022


def _table(fig: Figure, rows: Sequence[tuple[str, ...]], *, top: float) -> None:
    """The lines as a fixed-width table, one text per row (drawing each cell on its own made
    a statement several times slower to render)."""
    widths = (10, 10, 60, 8, 10, 14)
    header = ("Date", "Line", "Description", "Qty", "Unit (p)", "Amount")

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    fig.text(0.06, top, line(header), fontsize=6.5, family="monospace", weight="bold")
    y = top - 0.016
    if not rows:
        fig.text(0.06, y, "No charges this month.", fontsize=8)
    for row in rows:
        fig.text(0.06, y, line(row), fontsize=6.5, family="monospace")
        y -= 0.0135
