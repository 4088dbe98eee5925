"""What a user asks of the interactive reports: a period of UTC days, the user role to
report on, dimension filters and the dimension to break down by, read from a query string and
checked before any query runs (the portal's form, ``/api/v1/reports`` and the benchmark build
the same :class:`ExploreQuery`).

A filter value reaches DuckDB only as a bound parameter, but it is still checked for shape here
so that a mistyped SRV or region is an ``InvalidInput`` the caller can read, not an empty page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Final

from meterhub.errors import InvalidInput
from meterhub.inventory.catalogue import SMETS_VERSIONS, CspRegion, DeviceType
from meterhub.lake.schema import PROCESS_OF_SRV, PROCESSES, ROLES

#: Dimension filters, in the order the form shows them; the last two are the "reason code".
FILTERS: Final = (
    "process",
    "srv",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "response_code",
    "failure_reason",
)
FILTER_TITLES: Final = {
    "process": "Business process",
    "srv": "SRV",
    "device_type": "Device type",
    "model": "Model",
    "firmware_version": "Firmware",
    "smets_version": "SMETS version",
    "csp_region": "CSP region",
    "response_code": "Response code",
    "failure_reason": "Failure reason",
}
#: The filters that also apply to alerts (alerts have no SRV, process or response code).
ALERT_FILTERS: Final = ("device_type", "model", "firmware_version", "smets_version", "csp_region")
BREAKDOWNS: Final = (
    "csp_region",
    "device_type",
    "model",
    "firmware_version",
    "smets_version",
    "process",
    "srv",
)
MAX_DAYS: Final = 366
#: Fewer complete days than this in the month so far, and the default period reaches back to
#: the start of the previous month as well (see :func:`default_period`).
MIN_DEFAULT_DAYS: Final = 7
_SRV = re.compile(r"^\d{1,2}(\.\d{1,2}){1,2}$")
_FREE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+\-/]{0,63}$")


def _srv_key(srv: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in srv.split("."))


#: Values offered for the filters that are fixed lists (an SRV outside the MP176 table is still
#: accepted if it looks like one; the rest are free text, checked for shape).
CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "process": PROCESSES,
    "srv": tuple(sorted(PROCESS_OF_SRV, key=_srv_key)),
    "device_type": tuple(t.value for t in DeviceType),
    "smets_version": SMETS_VERSIONS,
    "csp_region": tuple(r.value for r in CspRegion),
}


def default_period(held: tuple[date, date] | None, *, today: date) -> tuple[date, date]:
    """The period a report opens on: the month so far, up to the newest complete day held.

    A day is complete once it is over (UTC): today's figures are still arriving, and a day after
    today (a simulated future) is not one anybody has lived, so neither ends the default period,
    and a daily chart never falls to nothing at its end for want of data. The period starts on
    the 1st of that day's month, the way MP176 counts; until ``MIN_DEFAULT_DAYS`` days of the
    month are complete it starts on the 1st of the month before, so the page opens on
    a whole month and the days since, not on one day. When the cube holds no day before today,
    the period ends on the newest day it holds (there is nothing complete to show instead).
    ``held`` is the first and last day the cube holds, ``None`` for an empty cube.
    """
    yesterday = today - timedelta(days=1)
    if held is None:
        last = yesterday
    else:
        oldest, newest = held
        last = min(newest, yesterday) if oldest <= yesterday else newest
    first = last.replace(day=1)
    if (last - first).days + 1 < MIN_DEFAULT_DAYS:
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last


@dataclass(frozen=True)
class ExploreQuery:
    """What the caller asked for: a period (UTC days, inclusive), a user role (``None``: the
    first the caller acted in), dimension filters and the dimension to break down by."""

    first: date
    last: date
    role: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    breakdown: str = "csp_region"

    @property
    def filter_map(self) -> dict[str, str]:
        return dict(self.filters)

    @property
    def period_label(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string that asks for this view again."""
        q = replace(self, **changes)
        out = {"from": q.first.isoformat(), "to": q.last.isoformat()}
        if q.role:
            out["role"] = q.role
        out.update(q.filters)
        if q.breakdown != "csp_region":
            out["breakdown"] = q.breakdown
        return out

    @classmethod
    def parse(
        cls, params: Mapping[str, str], *, held: tuple[date, date] | None, today: date
    ) -> ExploreQuery:
        """Read and check a query string. Without dates the period is
        :func:`default_period` of the days the cube holds (``held``) as of ``today``; with only
        ``to``, the same rule counted back from that day."""

        def text(name: str) -> str:
            return (params.get(name) or "").strip()

        def day(name: str) -> date | None:
            raw = text(name)
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput(
                    f"{name} must be a date, YYYY-MM-DD", code=f"bad_{name}_date"
                ) from None

        to = day("to")
        try:
            if to is None:
                default_first, last = default_period(held, today=today)
            else:
                default_first, last = default_period((to, to), today=to + timedelta(days=1))
        except (OverflowError, ValueError):  # 'to' within the first days of year 1
            raise InvalidInput("'to' is before any day reports hold", code="bad_period") from None
        first = day("from") or default_first
        if first > last:
            raise InvalidInput("'from' is after 'to'", code="bad_period")
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidInput(f"a period is at most {MAX_DAYS} days", code="bad_period")
        role = text("role") or None
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="bad_role")
        filters: list[tuple[str, str]] = []
        for name in FILTERS:
            value = text(name)
            if not value:
                continue
            allowed = None if name == "srv" else CHOICES.get(name)
            if name == "srv" and not _SRV.match(value):
                raise InvalidInput(f"SRV {value!r} is not one like 4.1.1", code="bad_srv")
            if allowed is not None and value not in allowed:
                raise InvalidInput(
                    f"{FILTER_TITLES[name]} {value!r} is not one the hub knows",
                    code=f"bad_{name}",
                )
            if allowed is None and not _FREE_TEXT.match(value):
                raise InvalidInput(
                    f"{FILTER_TITLES[name]} must be 1-64 letters, digits, spaces or . _ + - /",
                    code=f"bad_{name}",
                )
            filters.append((name, value))
        breakdown = text("breakdown") or "csp_region"
        if breakdown not in BREAKDOWNS:
            raise InvalidInput(
                f"breakdown must be one of {', '.join(BREAKDOWNS)}", code="bad_breakdown"
            )
        return cls(first, last, role, tuple(filters), breakdown)
