"""Install forecast rules.

MP176 measures "daily total volume of installs for the period against the predicted number of
installs based upon historic install volumes". The prediction is the supplier's: each supplier
(user roles IS, ES, GS) tells the DCC how many installs (successful 8.14.1) it expects to send
per month and CSP region, working from its own install history and plans. The business process
report then sets what it actually sent against it (``business_process.installs_vs_forecast``).

Rules:

* A forecast is for a month that has **not begun** (UTC): a number given once the month is
  under way is no longer a prediction. Up to ``MONTHS_AHEAD`` months ahead.
* Submitting again for the same supplier, role, month and region **supersedes**: the old row is
  kept with ``superseded_at`` and the new one points back at it, so what was predicted when
  stays on record. Submitting the number already in force changes nothing.
* Who may submit and read: the supplier itself, an agent (RSA) the supplier appoints on the day
  (``parties.service.may_act_for``), and the DCC operator (bulk loads). Anyone else gets a 404
  for the supplier or the forecast, never a hint that it exists.
* The report reads the forecasts **in force when the month began** (``in_force``), so a run made
  later gives the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.errors import Conflict, InvalidInput, NotFound
from meterhub.forecasts.models import InstallForecast
from meterhub.inventory.catalogue import CspRegion
from meterhub.kit.clock import as_utc, utcnow
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.parties.roles import SUPPLIER_ROLES
from meterhub.parties.service import (
    may_act_for,
    party_by_code,
    party_by_id,
    party_codes,
    party_roles,
    suppliers_represented_by,
)

if TYPE_CHECKING:
    from meterhub.parties.models import Party

#: How far ahead a forecast may be given, in months after the current one.
MONTHS_AHEAD: Final = 24
#: More installs than this in one month and region for one supplier is a typing mistake.
MAX_INSTALLS: Final = 10_000_000
FORECAST_ROLES: Final = tuple(sorted(SUPPLIER_ROLES))
REGIONS: Final = tuple(r.value for r in CspRegion)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> str:
    """``"2024-06"`` (a real month), else ``bad_month``."""
    m = _MONTH.match(text.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise InvalidInput(f"month {text!r} is not written YYYY-MM", code="bad_month")
    return m.group(0)


def month_start(month: str) -> datetime:
    """The first instant of ``month`` (UTC)."""
    year, number = (int(x) for x in parse_month(month).split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _check_role(supplier: Party, role: str) -> str:
    value = role.strip().upper()
    if value not in FORECAST_ROLES:
        raise InvalidInput(
            f"role {role!r} is not a supplier role; one of {', '.join(FORECAST_ROLES)}",
            code="bad_role",
        )
    if value not in party_roles(supplier):
        raise InvalidInput(f"{supplier.code} does not hold role {value}", code="role_not_held")
    return value


def _check_region(region: str) -> str:
    for r in REGIONS:
        if r.lower() == region.strip().lower():
            return r
    raise InvalidInput(
        f"CSP region {region!r} is not one of {', '.join(REGIONS)}", code="bad_region"
    )


def _check_installs(installs: int) -> int:
    if not 0 <= installs <= MAX_INSTALLS:
        raise InvalidInput(f"installs must be between 0 and {MAX_INSTALLS:,}", code="bad_installs")
    return installs


def _check_month_open(month: str, now: datetime) -> str:
    month = parse_month(month)
    start = month_start(month)
    if start <= now:
        raise InvalidInput(
            f"{month} has begun; a forecast is for a month that has not started",
            code="month_started",
        )
    if _months_between(now.date(), start.date()) > MONTHS_AHEAD:
        raise InvalidInput(
            f"{month} is more than {MONTHS_AHEAD} months ahead", code="month_too_far_ahead"
        )
    return month


def acting_supplier(session: Session, *, actor: Actor, code: str | None, day: date) -> Party:
    """The supplier the actor submits or reads for: its own party when ``code`` is empty; else
    a supplier that is the actor's party or appoints it on ``day``. Others are a 404."""
    if code is None or not code.strip():
        if actor.party_id is None:
            raise InvalidInput("say which supplier the forecast is for", code="missing_supplier")
        party = party_by_id(session, actor.party_id)
        if party is None:
            raise NotFound("no such party")
        return party
    party = party_by_code(session, code)
    if party is None:
        raise NotFound(f"no party {code.strip().upper()}")
    if actor.is_operator:
        return party
    if actor.party_id is None or not may_act_for(
        session, agent_party_id=actor.party_id, supplier_party_id=party.id, day=day
    ):
        raise NotFound(f"no party {party.code}")
    return party


def _in_force_row(
    session: Session, *, supplier_id: int, role: str, month: str, region: str
) -> InstallForecast | None:
    stmt = (
        select(InstallForecast)
        .where(
            InstallForecast.supplier_party_id == supplier_id,
            InstallForecast.role == role,
            InstallForecast.month == month,
            InstallForecast.csp_region == region,
            InstallForecast.superseded_at.is_(None),
        )
        .with_for_update(of=InstallForecast)
    )
    return session.scalar(stmt)


def submit(
    session: Session,
    *,
    actor: Actor,
    supplier: str | None,
    role: str,
    month: str,
    csp_region: str,
    installs: int,
    now: datetime,
) -> InstallForecast:
    """Record a forecast (see the module docstring); returns the row now in force."""
    now = as_utc(now)
    party = acting_supplier(session, actor=actor, code=supplier, day=now.date())
    role = _check_role(party, role)
    month = _check_month_open(month, now)
    region = _check_region(csp_region)
    installs = _check_installs(installs)
    current = _in_force_row(session, supplier_id=party.id, role=role, month=month, region=region)
    if current is not None and current.installs == installs:
        return current
    if current is not None:
        current.superseded_at = now
        session.flush()
    row = InstallForecast(
        supplier_party_id=party.id,
        role=role,
        month=month,
        csp_region=region,
        installs=installs,
        submitted_at=now,
        submitted_by_party_id=actor.party_id,
        submitted_by=actor.name[:120],
        supersedes_id=current.id if current is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a submission for the same key committed since we looked
        raise Conflict(
            f"another forecast for {party.code} {role} {month} {region} was submitted at the "
            "same time; look at it and submit again if it is not what you meant",
            code="concurrent_submission",
        ) from None
    record(
        session,
        actor=actor,
        action="forecast.submitted" if current is None else "forecast.superseded",
        object_type="install_forecast",
        object_id=str(row.id),
        changes={
            "supplier": party.code,
            "role": role,
            "month": month,
            "csp_region": region,
            "installs": installs,
            "previous": None if current is None else current.installs,
        },
        now=now,
    )
    return row


def _visible_clause(session: Session, actor: Actor, day: date) -> ColumnElement[bool]:
    """The supplier is the actor's party or appoints it on ``day``; the operator sees all."""
    if actor.is_operator:
        return true()
    if actor.party_id is None:
        return false()
    represented = suppliers_represented_by(session, agent_party_id=actor.party_id, day=day)
    return or_(
        InstallForecast.supplier_party_id == actor.party_id,
        InstallForecast.supplier_party_id.in_(represented),
    )


@dataclass(frozen=True)
class ForecastFilter:
    supplier: str | None = None
    month: str | None = None
    role: str | None = None
    csp_region: str | None = None
    history: bool = False


def list_forecasts(
    session: Session, *, actor: Actor, flt: ForecastFilter, now: datetime | None = None
) -> Sequence[InstallForecast]:
    """Forecasts the actor may see, in force only unless ``history`` (newest first then)."""
    day = (as_utc(now) if now is not None else utcnow()).date()
    stmt = select(InstallForecast).where(_visible_clause(session, actor, day))
    if flt.supplier:
        party = acting_supplier(session, actor=actor, code=flt.supplier, day=day)
        stmt = stmt.where(InstallForecast.supplier_party_id == party.id)
    if flt.month:
        stmt = stmt.where(InstallForecast.month == parse_month(flt.month))
    if flt.role:
        stmt = stmt.where(InstallForecast.role == flt.role.strip().upper())
    if flt.csp_region:
        stmt = stmt.where(InstallForecast.csp_region == _check_region(flt.csp_region))
    if not flt.history:
        stmt = stmt.where(InstallForecast.superseded_at.is_(None))
    stmt = stmt.order_by(
        InstallForecast.month,
        InstallForecast.supplier_party_id,
        InstallForecast.role,
        InstallForecast.csp_region,
        InstallForecast.id.desc(),
    )
    return session.scalars(stmt).all()


def get_forecast(
    session: Session, *, actor: Actor, forecast_id: int, now: datetime | None = None
) -> InstallForecast:
    if not 0 < forecast_id <= MAX_ROW_ID:  # no such id on either database
        raise NotFound(f"no forecast {forecast_id}")
    day = (as_utc(now) if now is not None else utcnow()).date()
    row = session.scalar(
        select(InstallForecast).where(
            InstallForecast.id == forecast_id, _visible_clause(session, actor, day)
        )
    )
    if row is None:
        raise NotFound(f"no forecast {forecast_id}")
    return row


@dataclass(frozen=True)
class ForecastInForce:
    party: str
    role: str
    month: str
    csp_region: str
    installs: int


def in_force(session: Session, *, month: str) -> list[ForecastInForce]:
    """Every supplier's forecasts for ``month`` as they stood when the month began: per key, the
    last submission made before then. (Submissions are refused once the month has begun, so this
    is also what is in force today, unless a row was loaded outside the rules.)"""
    month = parse_month(month)
    cutoff = month_start(month)
    rows = session.execute(
        select(
            InstallForecast.supplier_party_id,
            InstallForecast.role,
            InstallForecast.csp_region,
            InstallForecast.installs,
            InstallForecast.submitted_at,
            InstallForecast.id,
        )
        .where(InstallForecast.month == month)
        .order_by(InstallForecast.id)
    ).all()
    code_of = party_codes(session)
    latest: dict[tuple[str, str, str], tuple[datetime, int, int]] = {}
    for supplier_party_id, role, region, installs, submitted_at, row_id in rows:
        code = code_of[supplier_party_id]
        at = as_utc(submitted_at)
        if at >= cutoff:
            continue
        key = (code, role, region)
        if key not in latest or (at, row_id) > latest[key][:2]:
            latest[key] = (at, row_id, installs)
    return [
        ForecastInForce(party, role, month, region, installs)
        for (party, role, region), (_, _, installs) in sorted(latest.items())
    ]


@dataclass(frozen=True)
class LoadedForecast:
    """A forecast loaded in bulk: the figure in force and, when it revised one, the first
    figure (kept in the history, superseded when the revision was submitted)."""

    supplier_party_id: int
    role: str
    month: str
    csp_region: str
    submitted_by: str
    installs: int
    submitted_at: datetime
    first_installs: int | None = None
    first_submitted_at: datetime | None = None


def load_forecasts(session: Session, *, forecasts: Sequence[LoadedForecast]) -> int:
    """Bulk-load forecasts past ``submit``'s checks and audit (a call each would cost seconds
    on a big demo estate; the caller writes one audit entry), as the rules would have left
    them: each revision superseding its first figure. Returns the rows written."""
    firsts: list[InstallForecast | None] = []
    for f in forecasts:
        first = None
        if f.first_installs is not None:
            first = InstallForecast(
                supplier_party_id=f.supplier_party_id,
                role=f.role,
                month=f.month,
                csp_region=f.csp_region,
                submitted_by=f.submitted_by,
                installs=f.first_installs,
                submitted_at=f.first_submitted_at,
                superseded_at=f.submitted_at,
            )
        firsts.append(first)
    session.add_all(first for first in firsts if first is not None)
    session.flush()
    finals = [
        InstallForecast(
            supplier_party_id=f.supplier_party_id,
            role=f.role,
            month=f.month,
            csp_region=f.csp_region,
            submitted_by=f.submitted_by,
            installs=f.installs,
            submitted_at=f.submitted_at,
            supersedes_id=first.id if first is not None else None,
        )
        for f, first in zip(forecasts, firsts, strict=True)
    ]
    session.add_all(finals)
    session.flush()
    return len(finals) + sum(first is not None for first in firsts)
