"""The custody ledger: who held each Communications Hub, and in what state, read from the
inventory's device history in one pass.

Nothing here is a second copy of the holder. The inventory records every change of a hub's
status and holder as a history row (``inventory.service.hub_custody_query``); the ledger reads
those rows in order per hub, with window functions, and works out after each row the hub's
status and holder (the latest status row, the latest owner row; before the hub's first change
of hands, the party the first owner row took it from, or, for a hub that never changed hands,
the party holding it now). Whole estates are read the same way, in SQL, set-based.

**The day convention.** Days are UTC days. A hub's state on day D is its state at the end of
D: after the last change made on D. So when custody moves on D the receiver holds the hub on
D (ownership and the stock charge move to the receiver from the receipt day, MP140), the
sender's last day is D-1, and a hub installed or returned on D is no longer stock on D; a hub
delivered on D is stock from D. A hub that comes and goes on one day is nobody's stock that day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, String, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import coalesce

from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import BEFORE_INSTALLATION, DeviceStatus
from meterhub.parties import service as parties

#: Characters of a row's sort key: its UTC time (26) and its id, zero-padded (12).
KEY_LENGTH: Final = 38
STOCK_STATUSES: Final = tuple(sorted(s.value for s in BEFORE_INSTALLATION))
INSTALLED_STATUSES: Final = frozenset(
    {DeviceStatus.INSTALLED_NOT_COMMISSIONED.value, DeviceStatus.COMMISSIONED.value}
)


def _key(session: Session, at: ColumnElement[Any], row_id: ColumnElement[Any]) -> Any:
    """A text that orders a hub's history rows by time and then id, whose first ten
    characters are the row's UTC day: so "the latest row's value" is one ``max`` over the key
    and the value written after it, in the same window."""
    if session.get_bind().dialect.name == "postgresql":
        stamp = func.to_char(func.timezone("UTC", at), "YYYY-MM-DD HH24:MI:SS.US", type_=String)
        return stamp + func.lpad(cast(row_id, String), 12, "0", type_=String)
    return cast(at, String) + func.printf("%012d", row_id)


def _after(keyed: Any) -> Any:
    return func.substr(keyed, KEY_LENGTH + 1)


def custody_states(
    session: Session, *, device_id: str | None = None, party_code: str | None = None
) -> Select[Any]:
    """Every custody row of the hubs asked for, with the hub's status and holder after it and
    before it, its UTC day and the next row's day: one window over the rows, per hub."""
    h = inventory.hub_custody_query(device_id=device_id, party_code=party_code).subquery("h")
    key = _key(session, h.c.at, h.c.id)
    order: dict[str, Any] = {"partition_by": h.c.device_id, "order_by": (h.c.at, h.c.id)}
    status_keyed = case((h.c.field == "status", key + coalesce(h.c.new_value, "")))
    owner_keyed = case((h.c.field == "owner", key + coalesce(h.c.new_value, "")))
    first_taken_from = _after(
        func.min(case((h.c.field == "owner", key + coalesce(h.c.old_value, "")))).over(
            **order, rows=(None, None)
        )
    )

    def holder(frame: tuple[int | None, int | None]) -> Any:
        latest = _after(func.max(owner_keyed).over(**order, rows=frame))
        return coalesce(func.nullif(latest, ""), func.nullif(first_taken_from, ""), h.c.holder_now)

    states = select(
        h.c.device_id,
        h.c.at,
        h.c.id,
        h.c.field,
        h.c.old_value,
        h.c.new_value,
        h.c.actor,
        h.c.reason,
        func.substr(key, 1, 10).label("day"),
        func.substr(func.lead(key).over(**order), 1, 10).label("next_day"),
        _after(func.max(status_keyed).over(**order, rows=(None, 0))).label("status"),
        holder((None, 0)).label("holder"),
        _after(func.max(status_keyed).over(**order, rows=(None, -1))).label("status_before"),
        holder((None, -1)).label("holder_before"),
    )
    return states


@dataclass(frozen=True)
class CustodyRow:
    """One row of a hub's custody chain: the hub's status and holder after it."""

    device_id: str
    at: Any
    id: int
    field: str
    old_value: str | None
    new_value: str | None
    actor: str
    reason: str
    day: date
    status: str | None
    holder: str | None
    status_before: str | None
    holder_before: str | None


def chain_rows(session: Session, *, device_id: str) -> list[CustodyRow]:
    """The hub's custody rows in order, each with its state after and before."""
    s = custody_states(session, device_id=device_id).subquery("s")
    stmt = select(
        s.c.device_id,
        s.c.at,
        s.c.id,
        s.c.field,
        s.c.old_value,
        s.c.new_value,
        s.c.actor,
        s.c.reason,
        s.c.day,
        s.c.status,
        s.c.holder,
        s.c.status_before,
        s.c.holder_before,
    ).order_by(s.c.at, s.c.id)
    rows = []
    for r in session.execute(stmt):
        values = r._asdict()
        values["day"] = date.fromisoformat(values["day"])
        rows.append(CustodyRow(**values))
    return rows


def held_on_query(session: Session, *, party_code: str, day: date) -> Select[Any]:
    """``device_id, status`` of every hub ``party_code`` held at the end of ``day``."""
    s = custody_states(session, party_code=party_code).subquery("s")
    iso = day.isoformat()
    return select(s.c.device_id, s.c.status).where(
        s.c.day <= iso,
        (s.c.next_day.is_(None)) | (s.c.next_day > iso),
        s.c.holder == party_code,
    )


def _day(session: Session, at: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", at), "YYYY-MM-DD")
    return func.substr(cast(at, String), 1, 10)


def _in_stock(value: Any) -> Any:
    return case((value.in_(STOCK_STATUSES), 1), else_=0)


def stock_counts(
    session: Session, *, start: date, end: date, party: tuple[int, str] | None = None
) -> dict[str, list[int]]:
    """How many hubs each party (by code) held as stock at the end of each day from ``start``
    to ``end`` (exclusive): ``{code: [count on start, count on start + 1, ...]}``.

    Set-based, over the whole estate's custody history: each history row that takes a hub
    into a party's stock is a +1 on its day, each that takes one out a -1 (rows before
    ``start`` all count on the opening day), summed in SQL per party, day and kind of move;
    what comes back is a few rows per party and day, accumulated here. Two aggregates:

    * every status row, for the party that held the hub then (the one holding it now, unless
      a later owner row took it from another);
    * each change of hands of a hub in stock: -1 for the party it left, +1 for the receiver.

    Only the hubs whose custody may have moved since the month began are read (in stock now,
    or changed since: ``inventory.service.hub_status_rows_query``): any other hub has been out
    of stock since before the month, and its rows add up to nothing for every party. With
    ``party`` (its id and code), only the hubs it holds now or once held are read, and only
    its counts are complete.
    """
    opening = start.isoformat()
    since = datetime.combine(start, datetime.min.time(), UTC)
    before = datetime.combine(end, datetime.min.time(), UTC)
    codes = parties.party_codes_by_id(session)
    deltas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def grouped(stmt: Select[Any], *keys: Any) -> Any:
        # Grouped by the columns of a subquery, not by the expressions: PostgreSQL takes two
        # copies of an expression with bound values for two different expressions.
        rows = stmt.subquery("r")
        day = case((rows.c.at < since, literal(opening)), else_=_day(session, rows.c.at))
        keyed = select(
            day.label("d"), *(k(rows).label(f"k{i}") for i, k in enumerate(keys))
        ).subquery("keyed")
        return session.execute(select(*keyed.c, func.count()).group_by(*keyed.c))

    status_rows = inventory.hub_status_rows_query(since=since, before=before, party=party)
    for d, holder_id, then, into, out_of, n in grouped(
        status_rows,
        lambda r: r.c.holder_id_now,
        lambda r: r.c.holder_then,
        lambda r: _in_stock(r.c.new_value),
        lambda r: _in_stock(r.c.old_value),
    ):
        holder = then if then is not None else codes.get(holder_id)
        if holder is not None:
            deltas[holder][d] += (into - out_of) * n
    owner_rows = inventory.hub_owner_rows_query(since=since, before=before, party=party)
    for d, old, new, stock, n in grouped(
        owner_rows,
        lambda r: r.c.old_value,
        lambda r: r.c.new_value,
        lambda r: _in_stock(r.c.status_then),
    ):
        if stock:
            if old is not None:
                deltas[old][d] -= n
            if new is not None:
                deltas[new][d] += n
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days)]
    counts: dict[str, list[int]] = {}
    for code, by_day in deltas.items():
        running, series = 0, []
        for d in days:
            running += by_day.get(d, 0)
            series.append(running)
        if any(series):
            counts[code] = series
    return counts
