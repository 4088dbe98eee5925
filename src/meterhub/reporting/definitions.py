"""What a report metric is, as data: the MP176 suite is a list of these (``reporting/suite.py``).

A ``Definition`` names a metric (stable ``id`` and a ``version`` that goes up whenever its
meaning changes, so a frozen run says exactly what its numbers mean), the report it belongs to,
its grain (month, day, or the month-end snapshot), its dimensions and measures, the MP176 SRV
groups (business processes) it covers, who receives it, and how it may be disclosed.

The numbers come from two functions over **unbound** Ibis tables (``Sources``): ``facts`` picks
the rows (one per request outcome, alert or device, carrying ``party`` and ``role``), and each
``Measure`` aggregates them. ``expression`` groups the facts twice, per party and for the whole
industry (per user role, as MP176 compares users "operating in the same User Role"), and unions
the two, so one query per definition gives everything a run needs. Because the tables are
unbound, the same expression compiles for DuckDB and for Spark (``reporting/engines.py``).

Adding a metric is adding a ``Definition`` to the suite; nothing else changes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from meterhub.lake.schema import EVENT_SCHEMA, PROCESSES
from meterhub.parties.roles import DUIS_ROLE_ORDER

Report = Literal["inventory", "business_process", "alerts", "league_tables"]
Grain = Literal["month", "day", "snapshot"]
#: How a definition's numbers may reach a recipient (``reporting/disclosure.py``):
#: ``benchmark`` own rows, industry rows and anonymised peer rows (when the cohort is big
#: enough); ``versus_industry`` own rows and industry rows only; ``own`` the recipient's own
#: rows only (the only kind that may carry device-level columns); ``league`` every party's
#: aggregate ranked, the recipient's row named and every other anonymised.
Disclosure = Literal["benchmark", "versus_industry", "own", "league"]
REPORTS: Final[tuple[Report, ...]] = ("inventory", "business_process", "alerts", "league_tables")

#: Columns that identify a device or a meter point: never in another party's view.
DEVICE_LEVEL_COLUMNS: Final = frozenset({"device_id", "mpxn"})


def _ibis_events_schema() -> ibis.Schema:
    fields: dict[str, str] = {}
    for f in EVENT_SCHEMA:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        fields[f.name] = str(ibis.dtype(t))
    fields["day"] = "date"
    return ibis.schema(fields)


#: The device estate at the end of the month, one row per device and responsible party: the
#: registered supplier (IS for electricity, GS for gas) and the network operator (ED or GT);
#: hubs with no meter point go to the party holding them. Written by ``reporting/inventory.py``.
DEVICE_SNAPSHOT_SCHEMA: Final = pa.schema(
    [
        pa.field("party", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("device_type", pa.string(), nullable=False),
        pa.field("manufacturer", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("firmware_version", pa.string(), nullable=False),
        pa.field("smets_version", pa.string(), nullable=False),
        pa.field("csp_region", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("mpxn", pa.string()),
    ]
)
#: Suppliers' install forecasts for the month, as in force when it began: one row per
#: supplier, role and CSP region (``forecasts.service.in_force``; ``reporting/inventory.py``).
FORECAST_SNAPSHOT_SCHEMA: Final = pa.schema(
    [
        pa.field("party", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("month", pa.string(), nullable=False),
        pa.field("csp_region", pa.string(), nullable=False),
        pa.field("installs", pa.int64(), nullable=False),
    ]
)
EVENTS_TABLE: Final = "events"
DEVICES_TABLE: Final = "devices"
FORECASTS_TABLE: Final = "forecasts"


def _ibis_schema(schema: pa.Schema) -> ibis.Schema:
    return ibis.schema({f.name: str(ibis.dtype(f.type)) for f in schema})


@dataclass(frozen=True)
class Sources:
    """The unbound tables every definition reads; an engine binds them by name."""

    events: ir.Table = field(
        default_factory=lambda: ibis.table(_ibis_events_schema(), name=EVENTS_TABLE)
    )
    devices: ir.Table = field(
        default_factory=lambda: ibis.table(_ibis_schema(DEVICE_SNAPSHOT_SCHEMA), name=DEVICES_TABLE)
    )
    forecasts: ir.Table = field(
        default_factory=lambda: ibis.table(
            _ibis_schema(FORECAST_SNAPSHOT_SCHEMA), name=FORECASTS_TABLE
        )
    )


@dataclass(frozen=True)
class Period:
    """A calendar month being reported, first and last day inclusive (UTC days)."""

    first: date
    last: date

    @classmethod
    def month(cls, text: str) -> Period:
        """``"2024-06"`` -> 1 to 30 June 2024."""
        year, month = (int(x) for x in text.split("-"))
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    def days(self, *, before: int = 0, after: int = 0) -> list[date]:
        """Every day of the month, widened by ``before`` and ``after`` days."""
        start = self.first - timedelta(days=before)
        n = (self.last - start).days + 1 + after
        return [start + timedelta(days=i) for i in range(n)]

    def contains(self, day: ir.DateValue) -> ir.BooleanValue:
        return day.between(ibis.literal(self.first), ibis.literal(self.last))


@dataclass(frozen=True)
class Measure:
    """One number per group. ``aggregate`` runs over the facts; a measure without it is
    ``derived`` from other measures after aggregation (a rate, a share, a rank).
    ``decimals`` is how the number is presented, and where engines are compared."""

    name: str
    title: str
    aggregate: Callable[[ir.Table], ir.Value] | None = None
    decimals: int | None = None


Facts = Callable[[Sources, Period], ir.Table]
#: Adds derived measures to an aggregated table. ``owner`` is the grouping that says whose
#: numbers a row holds: ``("party", "role")`` for parties, ``("role",)`` for the industry.
Finish = Callable[[ir.Table, tuple[str, ...]], ir.Table]


@dataclass(frozen=True)
class Definition:
    """One metric or data file of the MP176 suite. See the module docstring."""

    id: str
    version: int
    report: Report
    title: str
    description: str
    grain: Grain
    dimensions: tuple[str, ...]
    measures: tuple[Measure, ...]
    disclosure: Disclosure
    facts: Facts
    srv_groups: tuple[str, ...] = ()
    recipient_roles: tuple[str, ...] = DUIS_ROLE_ORDER
    #: Dimensions that hold another party's code (e.g. the supplier in an N42 split): they
    #: are replaced by peer labels in every recipient's view.
    party_columns: tuple[str, ...] = ()
    finish: Finish | None = None
    lookback_days: int = 0
    lookahead_days: int = 0
    source: Literal["events", "devices", "forecasts"] = "events"

    def __post_init__(self) -> None:
        unknown = set(self.srv_groups) - set(PROCESSES)
        if unknown:
            raise ValueError(f"{self.id}: unknown SRV groups {sorted(unknown)}")
        if DEVICE_LEVEL_COLUMNS & set(self.dimensions) and self.disclosure != "own":
            raise ValueError(f"{self.id}: device-level columns may only be disclosed as 'own'")

    @property
    def key(self) -> str:
        return f"{self.id}@v{self.version}"

    @property
    def time_columns(self) -> tuple[str, ...]:
        return ("day",) if self.grain == "day" else ()

    @property
    def aggregated(self) -> bool:
        return any(m.aggregate is not None for m in self.measures)

    @property
    def columns(self) -> tuple[str, ...]:
        """The result's columns, in order: scope, party, role, time, dimensions, measures."""
        return (
            "scope",
            "party",
            "role",
            *self.time_columns,
            *self.dimensions,
            *(m.name for m in self.measures),
        )

    def expression(self, sources: Sources, period: Period) -> ir.Table:
        """The query: party rows (``scope = 'party'``) unioned with industry rows per role
        (``scope = 'industry'``, ``party`` null). ``own`` definitions, seen only by their own
        party, get party rows only; one without aggregate measures is a data file: its facts."""
        facts = self.facts(sources, period)
        keys = [*self.time_columns, *self.dimensions]
        if not self.aggregated:
            rows = facts.mutate(scope=ibis.literal("party"))
            return rows.select(*self.columns)
        aggregates = {m.name: m.aggregate for m in self.measures if m.aggregate is not None}

        def grouped(owner: tuple[str, ...]) -> ir.Table:
            t = facts.group_by([*owner, *keys]).aggregate(
                **{name: fn(facts) for name, fn in aggregates.items()}
            )
            if self.finish is not None:
                t = self.finish(t, owner)
            return t

        party = grouped(("party", "role")).mutate(scope=ibis.literal("party"))
        if self.disclosure == "own":
            return party.select(*self.columns)
        industry = grouped(("role",)).mutate(
            scope=ibis.literal("industry"), party=ibis.null().cast("string")
        )
        return party.select(*self.columns).union(industry.select(*self.columns))


class Registry:
    """The suite: definitions by id, each id once, in the order reports present them."""

    def __init__(self, definitions: Sequence[Definition]) -> None:
        seen: dict[str, Definition] = {}
        for d in definitions:
            if d.id in seen:
                raise ValueError(f"definition {d.id} is registered twice")
            seen[d.id] = d
        self._by_id = seen

    def __iter__(self) -> Iterator[Definition]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __getitem__(self, definition_id: str) -> Definition:
        return self._by_id[definition_id]

    def for_report(self, report: Report) -> list[Definition]:
        return [d for d in self if d.report == report]

    def window(self, period: Period) -> list[date]:
        """Every lake day any definition needs for ``period``."""
        before = max((d.lookback_days for d in self), default=0)
        after = max((d.lookahead_days for d in self), default=0)
        return period.days(before=before, after=after)
