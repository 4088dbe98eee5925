"""Posting accepted Supplier Theft of Gas shares to settlement, and invoicing the shippers.

UNC Modification 0734: confirmed theft energy is added in settlement (UK Link) and the shipper
registered over the theft period is invoiced for its share. Each accepted share is one
**energy adjustment** on the ledger (MPRN, period, kWh, shipper) and one **invoice line** at the
unit rate in force on the posting day, taken from a dated rate table the operator keeps
(``meterhub settlement rate set``); until the operator sets one, ``DEFAULT_PENCE_PER_KWH``
applies. A share the operator withdraws after a dispute is **reversed** (a negative adjustment
and a credit line at the original's rate); an amended share is a reversal and a new posting.

Nothing is posted twice: every posting carries the caller's ``posting_key`` (e.g. the claim's
reference and the shipper), unique on the ledger, so a retried or replayed posting returns the
first one, and a share is reversed at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record, record_many
from meterhub.db import bulk
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.parties import service as parties
from meterhub.parties.roles import Role
from meterhub.registration import service as registration
from meterhub.registration.fuels import Fuel
from meterhub.settlement.models import EnergyAdjustment, InvoiceLine, UnitRate

#: The unit rate before the operator sets any (pence per kWh): the hub's documented default
#: (docs/settlement.md), to be replaced by the operator's dated rates.
DEFAULT_PENCE_PER_KWH: Final = Decimal("3.500")
#: The invoice charge type of a theft line.
CHARGE_TYPE: Final = "SUT"
POSTING_KEY_LENGTH: Final = 120
_WH_PER_KWH = 1000
_MAX_ENERGY_WH = 10**15  # a petawatt-hour: past any meter point's theft


def _operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise PermissionDenied("only the hub operator posts to settlement", code="operator_only")


def _to_wh(energy_kwh: Decimal) -> int:
    """kWh to whole Wh; more than three decimals is refused, not rounded away."""
    try:
        wh = Decimal(energy_kwh) * _WH_PER_KWH
    except InvalidOperation:
        raise InvalidInput("energy must be a number of kWh", code="bad_energy") from None
    if not wh.is_finite() or wh != wh.to_integral_value() or not 0 < wh <= _MAX_ENERGY_WH:
        raise InvalidInput(
            "energy must be more than 0 kWh, with at most three decimals", code="bad_energy"
        )
    return int(wh)


def _to_pence_per_mwh(pence_per_kwh: Decimal) -> int:
    try:
        per_mwh = Decimal(pence_per_kwh) * 1000
    except InvalidOperation:
        raise InvalidInput("the rate must be pence per kWh", code="bad_rate") from None
    if not per_mwh.is_finite() or per_mwh != per_mwh.to_integral_value() or per_mwh <= 0:
        raise InvalidInput(
            "the rate must be more than 0 pence per kWh, with at most three decimals",
            code="bad_rate",
        )
    return int(per_mwh)


def amount_pence(energy_wh: int, pence_per_mwh: int) -> int:
    """The charge for ``energy_wh`` at ``pence_per_mwh``, to the nearest penny (halves away from
    zero, so a reversal credits exactly what the posting charged)."""
    exact = Decimal(energy_wh) * Decimal(pence_per_mwh) / Decimal(1_000_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- the rate table


@dataclass(frozen=True)
class RateInForce:
    """The unit rate on a day, and the day it took effect (None: the hub's default)."""

    pence_per_mwh: int
    effective_from: date | None

    @property
    def pence_per_kwh(self) -> Decimal:
        return Decimal(self.pence_per_mwh) / 1000


def set_unit_rate(
    session: Session, *, actor: Actor, effective_from: date, pence_per_kwh: Decimal, now: datetime
) -> UnitRate:
    """The operator sets the rate from ``effective_from`` (a rate for that day already set is
    replaced; lines already invoiced keep the rate they were priced at)."""
    _operator(actor)
    per_mwh = _to_pence_per_mwh(pence_per_kwh)
    row = session.scalar(select(UnitRate).where(UnitRate.effective_from == effective_from))
    old = row.pence_per_mwh if row is not None else None
    if row is None:
        row = UnitRate(effective_from=effective_from, pence_per_mwh=per_mwh, set_at=now)
        session.add(row)
    else:
        row.pence_per_mwh, row.set_at = per_mwh, now
    session.flush()
    record(
        session,
        actor=actor,
        action="settlement.rate_set",
        object_type="unit_rate",
        object_id=effective_from.isoformat(),
        changes={"pence_per_mwh": [old, per_mwh]},
        now=now,
    )
    return row


def unit_rate_on(session: Session, *, day: date) -> RateInForce:
    """The rate in force on ``day``: the latest set from that day or before, else the default."""
    row = session.scalar(
        select(UnitRate)
        .where(UnitRate.effective_from <= day)
        .order_by(UnitRate.effective_from.desc())
        .limit(1)
    )
    if row is None:
        return RateInForce(_to_pence_per_mwh(DEFAULT_PENCE_PER_KWH), None)
    return RateInForce(row.pence_per_mwh, row.effective_from)


def unit_rates(session: Session) -> Sequence[UnitRate]:
    return session.scalars(select(UnitRate).order_by(UnitRate.effective_from)).all()


# ---------------------------------------------------------------- postings


@dataclass(frozen=True)
class Posting:
    """A ledger entry and its invoice line; ``created`` is False when the key was posted before."""

    adjustment: EnergyAdjustment
    invoice_line: InvoiceLine
    created: bool


def _check_key(posting_key: str) -> str:
    key = posting_key.strip()
    if not key or len(key) > POSTING_KEY_LENGTH:
        raise InvalidInput(
            f"the posting key must be 1-{POSTING_KEY_LENGTH} characters", code="bad_posting_key"
        )
    return key


def _by_key(session: Session, key: str) -> Posting | None:
    adjustment = session.scalar(select(EnergyAdjustment).where(EnergyAdjustment.posting_key == key))
    if adjustment is None:
        return None
    line = session.scalar(select(InvoiceLine).where(InvoiceLine.adjustment_id == adjustment.id))
    assert line is not None  # written together, in one transaction
    return Posting(adjustment, line, created=False)


def _insert(session: Session, adjustment: EnergyAdjustment, line: InvoiceLine) -> Posting | None:
    """Write both rows, or None when a concurrent posting took the key (or the reversal) first."""
    try:
        with session.begin_nested():
            session.add(adjustment)
            session.flush()
            line.adjustment_id = adjustment.id
            session.add(line)
            session.flush()
    except IntegrityError:
        return None
    return Posting(adjustment, line, created=True)


def post_adjustment(
    session: Session,
    *,
    actor: Actor,
    posting_key: str,
    mprn: str,
    period_start: date,
    period_end: date,
    energy_kwh: Decimal,
    shipper_code: str,
    now: datetime,
) -> Posting:
    """Post an accepted share: ``energy_kwh`` at the gas meter point ``mprn`` over the period
    (inclusive) to the shipper, and its invoice line at the rate in force today.

    The same ``posting_key`` again returns the first posting unchanged; with different figures
    it is a conflict (``posting_key_reused``): a key names one share, and a changed share is an
    amendment (``amend_adjustment``)."""
    _operator(actor)
    key = _check_key(posting_key)
    if period_end < period_start:
        raise InvalidInput("the period ends before it starts", code="bad_period")
    energy_wh = _to_wh(energy_kwh)
    point = registration.meter_point(session, mpxn=mprn.strip())
    if point is None or point.fuel != Fuel.GAS:
        raise InvalidInput(f"{mprn} is not a known gas meter point", code="unknown_mprn")
    shipper = parties.party_by_code(session, shipper_code)
    if shipper is None or Role.SHIPPER.value not in parties.party_roles(shipper):
        raise InvalidInput(f"{shipper_code} is not a shipper", code="not_a_shipper")
    wanted = (point.mpxn, period_start, period_end, energy_wh, shipper.id)
    found = _by_key(session, key)
    if found is None:
        rate = unit_rate_on(session, day=now.date())
        found = _insert(
            session,
            EnergyAdjustment(
                posting_key=key,
                mprn=point.mpxn,
                period_start=period_start,
                period_end=period_end,
                energy_wh=energy_wh,
                shipper_party_id=shipper.id,
                posted_at=now,
            ),
            InvoiceLine(
                shipper_party_id=shipper.id,
                charge_type=CHARGE_TYPE,
                energy_wh=energy_wh,
                pence_per_mwh=rate.pence_per_mwh,
                rate_effective_from=rate.effective_from,
                amount_pence=amount_pence(energy_wh, rate.pence_per_mwh),
                created_at=now,
            ),
        ) or _by_key(session, key)
        assert found is not None
        if found.created:
            record(
                session,
                actor=actor,
                action="settlement.posted",
                object_type="settlement_adjustment",
                object_id=key,
                changes={
                    "mprn": point.mpxn,
                    "period": [period_start.isoformat(), period_end.isoformat()],
                    "energy_wh": energy_wh,
                    "shipper": shipper.code,
                    "amount_pence": found.invoice_line.amount_pence,
                },
                now=now,
            )
            return found
    a = found.adjustment
    if (a.mprn, a.period_start, a.period_end, a.energy_wh, a.shipper_party_id) != wanted:
        raise Conflict(f"posting {key} was made with other figures", code="posting_key_reused")
    return found


@dataclass(frozen=True)
class Share:
    """One accepted share to post: ``energy_wh`` at ``mprn`` over the period to the shipper."""

    posting_key: str
    mprn: str
    period_start: date
    period_end: date
    energy_wh: int
    shipper_party_id: int


#: Keys read or written per statement by ``post_shares``.
_SHARES_CHUNK = 5_000
_ADJUSTMENT_COLUMNS = (
    "posting_key",
    "mprn",
    "period_start",
    "period_end",
    "energy_wh",
    "shipper_party_id",
    "reason",
    "posted_at",
)
_LINE_COLUMNS = (
    "adjustment_id",
    "shipper_party_id",
    "charge_type",
    "energy_wh",
    "pence_per_mwh",
    "rate_effective_from",
    "amount_pence",
    "created_at",
)


def post_shares(session: Session, *, actor: Actor, shares: Sequence[Share], now: datetime) -> int:
    """Post many accepted shares at once, as ``post_adjustment`` would each, in set statements:
    what the deadline sweep's deemed acceptances need, a batch at a time. Every share is priced
    at the one rate in force today. A key posted before with the same figures is left as it
    is (nothing is posted twice); with other figures it is a conflict. The caller vouches for
    the meter points (a theft claim's MPRN was checked as gas when it was submitted); the
    shippers are checked here. Returns how many were posted now."""
    _operator(actor)
    if not shares:
        return 0
    roles = parties.party_role_lists(session)
    for share in shares:
        _check_key(share.posting_key)
        if not 0 < share.energy_wh <= _MAX_ENERGY_WH or share.period_end < share.period_start:
            raise InvalidInput(f"{share.posting_key}: bad energy or period", code="bad_energy")
        if Role.SHIPPER.value not in roles.get(share.shipper_party_id, ()):
            raise InvalidInput(f"{share.posting_key}: not a shipper", code="not_a_shipper")
    rate = unit_rate_on(session, day=now.date())
    posted = 0
    for start in range(0, len(shares), _SHARES_CHUNK):
        chunk = {s.posting_key: s for s in shares[start : start + _SHARES_CHUNK]}
        known = session.execute(
            select(
                EnergyAdjustment.posting_key,
                EnergyAdjustment.mprn,
                EnergyAdjustment.period_start,
                EnergyAdjustment.period_end,
                EnergyAdjustment.energy_wh,
                EnergyAdjustment.shipper_party_id,
            ).where(EnergyAdjustment.posting_key.in_(list(chunk)))
        ).all()
        for key, *figures in known:
            s = chunk.pop(key)
            wanted = [s.mprn, s.period_start, s.period_end, s.energy_wh, s.shipper_party_id]
            if figures != wanted:
                raise Conflict(
                    f"posting {key} was made with other figures", code="posting_key_reused"
                )
        if not chunk:
            continue
        day, stamp = bulk.encoders(session)
        at = stamp(now)
        bulk.write_rows(
            session,
            EnergyAdjustment.__table__,  # type: ignore[arg-type]
            _ADJUSTMENT_COLUMNS,
            [
                (
                    s.posting_key,
                    s.mprn,
                    day(s.period_start),
                    day(s.period_end),
                    s.energy_wh,
                    s.shipper_party_id,
                    "",
                    at,
                )
                for s in chunk.values()
            ],
        )
        ids = dict(
            session.execute(
                select(EnergyAdjustment.posting_key, EnergyAdjustment.id).where(
                    EnergyAdjustment.posting_key.in_(list(chunk))
                )
            ).all()
        )
        rate_from = day(rate.effective_from) if rate.effective_from else None
        lines = [
            (
                ids[s.posting_key],
                s.shipper_party_id,
                CHARGE_TYPE,
                s.energy_wh,
                rate.pence_per_mwh,
                rate_from,
                amount_pence(s.energy_wh, rate.pence_per_mwh),
                at,
            )
            for s in chunk.values()
        ]
        bulk.write_rows(
            session,
            InvoiceLine.__table__,  # type: ignore[arg-type]
            _LINE_COLUMNS,
            lines,
        )
        record_many(
            session,
            actor=actor,
            action="settlement.posted",
            object_type="settlement_adjustment",
            entries=[
                (
                    line_key,
                    {
                        "mprn": s.mprn,
                        "period": [s.period_start.isoformat(), s.period_end.isoformat()],
                        "energy_wh": s.energy_wh,
                        "shipper_party_id": s.shipper_party_id,
                        "amount_pence": line[6],
                    },
                )
                for (line_key, s), line in zip(chunk.items(), lines, strict=True)
            ],
            now=now,
        )
        posted += len(chunk)
    return posted


def reverse_adjustment(
    session: Session, *, actor: Actor, posting_key: str, reason: str, now: datetime
) -> Posting:
    """Reverse the posting ``posting_key`` (the operator withdrew the share, or amends it): a
    negative adjustment and a credit line for exactly the amount charged. A posting is reversed
    once; reversing it again returns that reversal."""
    _operator(actor)
    key = _check_key(posting_key)
    original = _by_key(session, key)
    if original is None:
        raise NotFound(f"no posting {key}")
    if original.adjustment.reverses_id is not None:
        raise InvalidInput(f"{key} is itself a reversal", code="reversal_of_reversal")
    reversal_key = f"{key}:reversal"[:POSTING_KEY_LENGTH]
    found = _by_key(session, reversal_key)
    if found is not None:
        return found
    a, line = original.adjustment, original.invoice_line
    found = _insert(
        session,
        EnergyAdjustment(
            posting_key=reversal_key,
            mprn=a.mprn,
            period_start=a.period_start,
            period_end=a.period_end,
            energy_wh=-a.energy_wh,
            shipper_party_id=a.shipper_party_id,
            reverses_id=a.id,
            reason=reason.strip()[:200],
            posted_at=now,
        ),
        InvoiceLine(
            shipper_party_id=line.shipper_party_id,
            charge_type=line.charge_type,
            energy_wh=-line.energy_wh,
            pence_per_mwh=line.pence_per_mwh,
            rate_effective_from=line.rate_effective_from,
            amount_pence=-line.amount_pence,
            created_at=now,
        ),
    )
    if found is None:  # reversed concurrently
        again = _by_key(session, reversal_key)
        assert again is not None
        return again
    record(
        session,
        actor=actor,
        action="settlement.reversed",
        object_type="settlement_adjustment",
        object_id=key,
        changes={
            "reason": found.adjustment.reason,
            "amount_pence": found.invoice_line.amount_pence,
        },
        now=now,
    )
    return found


def amend_adjustment(
    session: Session,
    *,
    actor: Actor,
    posting_key: str,
    amended_key: str,
    energy_kwh: Decimal,
    reason: str,
    now: datetime,
) -> Posting:
    """The operator amends a disputed share: the posting is reversed and the amended energy
    posted under ``amended_key`` for the same MPRN, period and shipper. Repeating it posts
    nothing more."""
    reversal = reverse_adjustment(
        session, actor=actor, posting_key=posting_key, reason=reason, now=now
    )
    a = reversal.adjustment
    shipper = parties.party_by_id(session, a.shipper_party_id)
    assert shipper is not None
    return post_adjustment(
        session,
        actor=actor,
        posting_key=amended_key,
        mprn=a.mprn,
        period_start=a.period_start,
        period_end=a.period_end,
        energy_kwh=energy_kwh,
        shipper_code=shipper.code,
        now=now,
    )


# ---------------------------------------------------------------- reading


def posting(session: Session, *, posting_key: str) -> Posting | None:
    """The posting made under ``posting_key``, if any: what a caller reads to tell whether a
    share it is about to withdraw or amend was posted (reversing needs a posting)."""
    return _by_key(session, _check_key(posting_key))


def ledger(session: Session, *, actor: Actor, mprn: str) -> Sequence[EnergyAdjustment]:
    """The MPRN's postings in order (a shipper sees its own; the operator all)."""
    stmt = select(EnergyAdjustment).where(EnergyAdjustment.mprn == mprn.strip())
    if not actor.is_operator:
        stmt = stmt.where(EnergyAdjustment.shipper_party_id == actor.party_id)
    return session.scalars(stmt.order_by(EnergyAdjustment.id)).all()


def invoice_lines(session: Session, *, actor: Actor, shipper_code: str) -> Sequence[InvoiceLine]:
    """The shipper's invoice lines in order; another party's shipper is a 404."""
    shipper = parties.party_by_code(session, shipper_code)
    if shipper is None or not (actor.is_operator or actor.party_id == shipper.id):
        raise NotFound(f"no shipper {shipper_code}")
    return session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.shipper_party_id == shipper.id)
        .order_by(InvoiceLine.id)
    ).all()
