"""Registration rules: one holder per meter point per day, history kept.

A change of supplier is a new period starting on the gain date; the loser's open period is
closed the day before. Anything else that would overlap is refused. Theft claims split by
``shippers_over``: each shipper registered in the period, with its number of days.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    exists,
    false,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from meterhub.audit.service import Actor, record
from meterhub.db import bulk
from meterhub.db.direct import Direct
from meterhub.errors import InvalidInput, NotFound, OverlappingPeriod, PermissionDenied
from meterhub.kit.ids import normalise_mpxn
from meterhub.parties.service import party_by_code, suppliers_represented_by
from meterhub.registration.fuels import Fuel, fuel_of_mpxn
from meterhub.registration.models import MeterPoint, Registration

if TYPE_CHECKING:
    from meterhub.parties.models import Party


@dataclass(frozen=True)
class ShipperShare:
    shipper: Party
    first_day: date
    last_day: date
    days: int


def _party(session: Session, code: str | None, what: str) -> Party | None:
    if code is None or code == "":
        return None
    party = party_by_code(session, code)
    if party is None:
        raise InvalidInput(f"no party {code} to be {what}", code="unknown_party")
    return party


def register(
    session: Session,
    *,
    actor: Actor,
    mpxn: str,
    supplier: str,
    network_operator: str,
    effective_from: date,
    effective_to: date | None = None,
    shipper: str | None = None,
    now: datetime,
) -> Registration:
    """Record that ``supplier`` holds ``mpxn`` from ``effective_from`` (registration data comes
    from the industry's registration services, so only the hub operator loads it)."""
    if not actor.is_operator:
        raise PermissionDenied("registration data is loaded by the hub operator")
    mpxn = normalise_mpxn(mpxn)
    fuel = fuel_of_mpxn(mpxn)
    supplier_party = _party(session, supplier, "supplier")
    network_party = _party(session, network_operator, "network operator")
    shipper_party = _party(session, shipper, "shipper")
    assert supplier_party is not None and network_party is not None
    if fuel == "gas" and shipper_party is None:
        raise InvalidInput(f"gas meter point {mpxn} needs a shipper", code="shipper_required")
    if fuel == "electricity" and shipper_party is not None:
        raise InvalidInput(f"electricity meter point {mpxn} has no shipper", code="no_shipper")
    if effective_to is not None and effective_to < effective_from:
        raise InvalidInput("effective_to is before effective_from", code="bad_period")

    ensure_meter_point(session, mpxn=mpxn, fuel=fuel)
    periods = history(session, mpxn=mpxn)
    closed: Registration | None = None
    for other in periods:
        if not _overlaps(effective_from, effective_to, other.effective_from, other.effective_to):
            continue
        is_gain = other.effective_to is None and other.effective_from < effective_from
        if is_gain and closed is None:
            closed = other
            continue
        raise OverlappingPeriod(
            f"{mpxn} is already registered from {other.effective_from}"
            f" to {other.effective_to or 'open'}",
            details={"registration_id": other.id},
        )
    if closed is not None:
        closed.effective_to = effective_from - timedelta(days=1)
    row = Registration(
        mpxn=mpxn,
        supplier_party_id=supplier_party.id,
        shipper_party_id=shipper_party.id if shipper_party else None,
        network_operator_party_id=network_party.id,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="registration.created",
        object_type="meter_point",
        object_id=mpxn,
        changes={
            "supplier": supplier_party.code,
            "shipper": shipper_party.code if shipper_party else None,
            "network_operator": network_party.code,
            "effective_from": effective_from.isoformat(),
            "effective_to": effective_to.isoformat() if effective_to else None,
            "closed_previous": closed.id if closed else None,
        },
        now=now,
    )
    return row


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def history(session: Session, *, mpxn: str) -> Sequence[Registration]:
    stmt = (
        select(Registration).where(Registration.mpxn == mpxn).order_by(Registration.effective_from)
    )
    return session.scalars(stmt).all()


def _in_force(day: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL condition on ``Registration``: the period covers ``day`` (both ends inclusive)."""
    return and_(
        Registration.effective_from <= day,
        or_(Registration.effective_to.is_(None), Registration.effective_to >= day),
    )


def registered_on(session: Session, *, mpxn: str, day: date) -> Registration | None:
    """Who held ``mpxn`` on ``day``: its registration period then, or None."""
    stmt = select(Registration).where(Registration.mpxn == mpxn, _in_force(day))
    return session.scalar(stmt)


@dataclass(frozen=True)
class RegisteredParties:
    """Who held a meter point on a day, as ids only (what access checks need)."""

    mpxn: str
    supplier_party_id: int
    network_operator_party_id: int


_PARTIES_ON = Direct(
    select(Registration.supplier_party_id, Registration.network_operator_party_id).where(
        Registration.mpxn == bindparam("mpxn"), _in_force(bindparam("day"))
    )
)


def registered_parties_on(session: Session, *, mpxn: str, day: date) -> RegisteredParties | None:
    """``registered_on`` without loading the parties: one indexed query built once, for hot
    paths (the DUIS gateway checks entitlement on every request)."""
    row = _PARTIES_ON.first(session, {"mpxn": mpxn, "day": day})
    if row is None:
        return None
    return RegisteredParties(mpxn=mpxn, supplier_party_id=row[0], network_operator_party_id=row[1])


def registered_supplier_on(session: Session, *, mpxn: str, day: date) -> Party | None:
    row = registered_on(session, mpxn=mpxn, day=day)
    return row.supplier if row else None


def shippers_over(session: Session, *, mpxn: str, start: date, end: date) -> list[ShipperShare]:
    """Each shipper registered to ``mpxn`` between ``start`` and ``end`` (inclusive), with its days.

    A shipper registered in two separate periods gets one share with the days added up."""
    if end < start:
        raise InvalidInput("period ends before it starts", code="bad_period")
    shares: dict[int, ShipperShare] = {}
    for row in history(session, mpxn=mpxn):
        if row.shipper is None:
            continue
        first = max(start, row.effective_from)
        last = min(end, row.effective_to) if row.effective_to else end
        if last < first:
            continue
        days = (last - first).days + 1
        prev = shares.get(row.shipper.id)
        if prev is None:
            shares[row.shipper.id] = ShipperShare(row.shipper, first, last, days)
        else:
            shares[row.shipper.id] = ShipperShare(
                row.shipper, min(prev.first_day, first), max(prev.last_day, last), prev.days + days
            )
    return sorted(shares.values(), key=lambda s: s.first_day)


def visible_history(session: Session, *, actor: Actor, mpxn: str) -> Sequence[Registration]:
    """The periods of ``mpxn`` the actor took part in (the operator sees all); none is a 404."""
    mpxn = normalise_mpxn(mpxn)
    rows = history(session, mpxn=mpxn)
    if not actor.is_operator:
        rows = [
            r
            for r in rows
            if actor.party_id
            in (r.supplier_party_id, r.shipper_party_id, r.network_operator_party_id)
        ]
    if not rows:
        raise NotFound(f"no meter point {mpxn}")
    return rows


# ---- for other domains: meter points, who holds them, and the estate in bulk ----------------


def meter_point(session: Session, *, mpxn: str) -> MeterPoint | None:
    """The meter point ``mpxn`` names, if registration knows it."""
    return session.get(MeterPoint, mpxn)


def ensure_meter_point(session: Session, *, mpxn: str, fuel: Fuel | None = None) -> MeterPoint:
    """The meter point ``mpxn``, recorded now if registration did not know it yet (a device is
    linked to it before its registration arrives). Its fuel is ``fuel`` when the caller knows
    it (a gas meter's meter point is gas), else what the MPxN is (an MPAN core or an MPRN); a
    meter point already known keeps the fuel it has."""
    known = session.get(MeterPoint, mpxn)
    if known is not None:
        return known
    row = MeterPoint(mpxn=mpxn, fuel=(fuel or fuel_of_mpxn(mpxn)).value)
    session.add(row)
    session.flush()
    return row


def held_by_clause(
    session: Session,
    mpxn: ColumnElement[str | None] | InstrumentedAttribute[str | None],
    *,
    party_id: int,
    day: date,
) -> ColumnElement[bool]:
    """SQL condition: the meter point in column ``mpxn`` is registered on ``day`` with
    ``party_id`` as its supplier, shipper or network operator, or to a supplier that appoints
    ``party_id`` as its agent that day. Correlated, so a device listing filters in one query."""
    represented = suppliers_represented_by(session, agent_party_id=party_id, day=day)
    return exists().where(
        Registration.mpxn == mpxn,
        _in_force(day),
        or_(
            Registration.supplier_party_id == party_id,
            Registration.shipper_party_id == party_id,
            Registration.network_operator_party_id == party_id,
            Registration.supplier_party_id.in_(represented) if represented else false(),
        ),
    )


def holds(session: Session, *, mpxn: str, party_id: int, day: date) -> bool:
    """Does ``party_id`` hold ``mpxn`` on ``day``, as ``held_by_clause`` means it?"""
    clause = held_by_clause(session, literal(mpxn), party_id=party_id, day=day)
    return bool(session.scalar(select(clause)))


def registrations_in_force_query(*, day: date) -> Select[str, int, int]:
    """Every registration in force on ``day`` as ``(mpxn, supplier_party_id,
    network_operator_party_id)``, one row per meter point, in no particular order: the
    statement, for readers of the whole estate that run it their own fast way (the lake
    simulator on the driver's cursor) or join it into one query of their own."""
    return select(
        Registration.mpxn, Registration.supplier_party_id, Registration.network_operator_party_id
    ).where(_in_force(day))


def registrations_in_force(
    connection: Connection | Session, *, day: date
) -> Iterator[tuple[str, int, int]]:
    """``registrations_in_force_query`` run: one query, its rows streamed as they come."""
    return iter(connection.execute(registrations_in_force_query(day=day)))


#: The columns of a bulk-loaded meter point row, and of a registration row.
METER_POINT_COLUMNS: Final = ("mpxn", "fuel", "postcode_area")
REGISTRATION_COLUMNS: Final = (
    "mpxn",
    "supplier_party_id",
    "shipper_party_id",
    "network_operator_party_id",
    "effective_from",
    "effective_to",
)


def load_meter_points(session: Session, *, rows: Sequence[bulk.Row]) -> None:
    """Bulk-load meter points (tuples in ``METER_POINT_COLUMNS`` order) past ``register``'s
    checks and audit, for the demo estate: rows correct by construction, the database still
    checking every key (docs/decisions/0010-demo-estate-bulk-load.md)."""
    bulk.write_rows(session, MeterPoint.__table__, METER_POINT_COLUMNS, rows)  # type: ignore[arg-type]


def load_registrations(session: Session, *, rows: Sequence[bulk.Row]) -> None:
    """Bulk-load registration periods (tuples in ``REGISTRATION_COLUMNS`` order, dates encoded
    by ``db.bulk.encoders``), as ``load_meter_points``; their meter points first."""
    bulk.write_rows(session, Registration.__table__, REGISTRATION_COLUMNS, rows)  # type: ignore[arg-type]
