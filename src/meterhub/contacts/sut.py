"""Supplier Theft of Gas (SUT, UNC Modification 0734S): RECCo logs a theft its investigation
confirmed on a supplier's report, and every shipper registered at the meter point over the theft
period answers for its share of the stolen energy.

The claim names the MPRN, the theft period (both days included), the estimated energy in kWh,
the method, the evidence and the reporting supplier. On submit it is checked field by field:
the MPRN is a gas meter point the hub knows; the period is not back to front, ends before today
and had a shipper registered on every day of it; the energy is at most
``Settings.sut_max_kwh_per_day`` (the operator's to set) a day of the period; and no other claim
on the MPRN overlaps it (a claim the operator withdrew in full no longer counts). That last check
runs once the SUT reference counter is taken (``exclusive_check``), so two claims submitted at
the same moment queue there and the second sees the first.

**Routing**: one part per shipper registered over the period, with its days held (the
registration history's count, periods of one shipper added up) and its share of the energy in
whole Wh, in proportion to the days: each share is rounded down, and the Wh left over (fewer
than the number of shippers) go one each to the shares with the largest remainders, the earlier
shipper first on a tie, so the shares add up exactly to the claim.

**Answering**: each shipper accepts or disputes (with a reason) within the response window,
10 GB business days by default: the hub's own default, not an industry rule, and the
operator's to set (``windows`` below). No answer by the deadline is deemed acceptance, applied
by the deadline sweep with the same "accept" a shipper's user would make. A disputed share
awaits the operator, who upholds it, amends its energy or withdraws it, each with a reason.

**Settlement**: an accepted, deemed, upheld or amended share is posted once through
``settlement.service`` (an energy adjustment and an invoice line to the shipper, at the unit
rate in force, the hub's default rate until the operator sets one), under the posting key
``<reference>/<shipper code>``, from the engine's ``on_step`` hook, so a person's step and the
sweep's post alike and the ledger's unique key makes a second posting impossible. A withdrawn
share posts nothing; one that had been posted is reversed. A share of 0 Wh posts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from meterhub.audit.service import Actor
from meterhub.config import get_settings
from meterhub.contacts.definitions import (
    ContactType,
    Field,
    FieldErrors,
    FieldKind,
    Involved,
    PartMoved,
    Side,
    Status,
    Step,
    StepTaken,
)
from meterhub.contacts.models import Contact, ContactInvolvement
from meterhub.contacts.tog import METHODS
from meterhub.parties import service as parties
from meterhub.parties.roles import Role
from meterhub.registration import service as registration
from meterhub.registration.fuels import Fuel
from meterhub.settlement import service as settlement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CODE = "SUT"
#: The response window's default, in GB business days (the operator's to set).
RESPONSE_DAYS = 10
#: The statuses a posted share is in.
POSTED = ("accepted", "upheld", "amended")
_WH_PER_KWH = 1000
#: Who posts to settlement for the engine (the audit log names it).
_POSTER = Actor(name="contacts (SUT)", party_id=None, interface="system", is_operator=True)


def _period(values: Mapping[str, Any]) -> tuple[date, date]:
    return date.fromisoformat(values["theft_from"]), date.fromisoformat(values["theft_to"])


def _first_gap(session: Session, *, mprn: str, start: date, end: date) -> date | None:
    """The first day of ``start``..``end`` no shipper was registered at ``mprn``, if any."""
    day = start
    for row in registration.history(session, mpxn=mprn):
        if row.shipper_party_id is None or (row.effective_to and row.effective_to < day):
            continue
        if row.effective_from > day:
            return day
        if row.effective_to is None or row.effective_to >= end:
            return None
        day = row.effective_to + timedelta(days=1)
    return day


def _overlapping(session: Session, *, mprn: str, start: date, end: date) -> str | None:
    """The reference of a submitted claim on ``mprn`` whose period overlaps, if any (one the
    operator withdrew in full does not count)."""
    rows = session.execute(
        select(Contact.reference, Contact.values, Contact.headline_status)
        .where(
            Contact.contact_type == CODE,
            Contact.status != "draft",
            Contact.values["mprn"].as_string() == mprn,
        )
        .order_by(Contact.id)
    ).all()
    for reference, values, headline in rows:
        if headline == "withdrawn":
            continue
        other_start, other_end = _period(values)
        if other_start <= end and start <= other_end:
            return f"overlaps claim {reference} ({other_start} to {other_end}) on this MPRN"
    return None


def _check(
    session: Session, values: Mapping[str, Any], raising_party_id: int, day: date
) -> dict[str, str]:
    """Field by field: the MPRN, the period, the energy's plausibility, the reporting
    supplier, and no overlapping claim."""
    errors: dict[str, str] = {}
    mprn = values["mprn"]
    point = registration.meter_point(session, mpxn=mprn)
    if point is None:
        errors["mprn"] = "is not a meter point the hub knows"
    elif point.fuel != Fuel.GAS:
        errors["mprn"] = "is not a gas meter point"
    start, end = _period(values)
    if end < start:
        errors["theft_to"] = "is before the theft period starts"
    elif end >= day:
        errors["theft_to"] = "must be in the past (before today)"
    supplier = parties.party_by_code(session, values["reporting_supplier"])
    if supplier is None or not parties.party_roles(supplier) & {
        Role.SUPPLIER.value,
        Role.GAS_SUPPLIER.value,
    }:
        errors["reporting_supplier"] = "is not a gas supplier the hub knows"
    if errors.keys() & {"mprn", "theft_to"}:
        return errors
    gap = _first_gap(session, mprn=mprn, start=start, end=end)
    if gap is not None:
        errors["theft_from" if gap == start else "theft_to"] = (
            f"is outside the meter point's registration history: no shipper on {gap}"
        )
        return errors
    days = (end - start).days + 1
    ceiling = get_settings().sut_max_kwh_per_day
    if values["estimated_kwh"] > ceiling * days:
        errors["estimated_kwh"] = (
            f"is not plausible: more than {ceiling:,} kWh a day over {days:,} days"
            f" (at most {ceiling * days:,} kWh)"
        )
    overlap = _overlapping(session, mprn=mprn, start=start, end=end)
    if overlap:
        errors["theft_from"] = overlap
    return errors


def split_by_days(total_wh: int, days: list[int]) -> list[int]:
    """``total_wh`` shared in proportion to ``days``, in whole Wh adding up exactly: each share
    rounded down, then the Wh left over one each to the largest remainders (the earlier on a
    tie)."""
    whole = sum(days)
    shares = [total_wh * d // whole for d in days]
    left = total_wh - sum(shares)
    by_remainder = sorted(range(len(days)), key=lambda i: (-(total_wh * days[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def _route(session: Session, values: Mapping[str, Any], raising_party_id: int) -> list[Involved]:
    """Every shipper registered over the period, with its days held and share of the energy."""
    start, end = _period(values)
    held = registration.shippers_over(session, mpxn=values["mprn"], start=start, end=end)
    if not held:
        raise FieldErrors({"mprn": f"had no shipper registered from {start} to {end}"})
    energy = split_by_days(values["estimated_kwh"] * _WH_PER_KWH, [h.days for h in held])
    return [
        Involved(
            party_id=h.shipper.id,
            role=Role.SHIPPER,
            share={
                "days": h.days,
                "first_day": h.first_day.isoformat(),
                "last_day": h.last_day.isoformat(),
                "energy_wh": wh,
            },
        )
        for h, wh in zip(held, energy, strict=True)
    ]


def _kwh(wh: int) -> Decimal:
    return Decimal(wh) / _WH_PER_KWH


def posting_key(reference: str, shipper_code: str) -> str:
    """The settlement posting of one share: ``SUT-000123/SHPA``."""
    return f"{reference}/{shipper_code}"


def _post(
    session: Session, part: PartMoved, *, shipper: str, energy_wh: int, now: datetime
) -> None:
    if energy_wh <= 0:
        return
    start, end = _period(part.values)
    settlement.post_adjustment(
        session,
        actor=_POSTER,
        posting_key=posting_key(part.reference, shipper),
        mprn=part.values["mprn"],
        period_start=start,
        period_end=end,
        energy_kwh=_kwh(energy_wh),
        shipper_code=shipper,
        now=now,
    )


def _on_step(session: Session, taken: StepTaken) -> None:
    """The ledger follows the share's outcome: posted when accepted (by the shipper or by the
    deadline: the sweep's whole batch in set statements) or upheld, its amended energy posted
    when amended, reversed when withdrawn after a posting."""
    to = taken.step.to_status
    if to not in (*POSTED, "withdrawn"):
        return
    codes = parties.party_codes(session, ids={p.party_id for p in taken.parts})
    if to in ("accepted", "upheld"):
        settlement.post_shares(
            session,
            actor=_POSTER,
            shares=[
                settlement.Share(
                    posting_key=posting_key(part.reference, codes[part.party_id]),
                    mprn=part.values["mprn"],
                    period_start=_period(part.values)[0],
                    period_end=_period(part.values)[1],
                    energy_wh=int(part.share["energy_wh"]),
                    shipper_party_id=part.party_id,
                )
                for part in taken.parts
                if int(part.share["energy_wh"]) > 0
            ],
            now=taken.now,
        )
        return
    for part in taken.parts:
        shipper = codes[part.party_id]
        key = posting_key(part.reference, shipper)
        posted = settlement.posting(session, posting_key=key)
        if to == "amended":
            amended_wh = int(taken.inputs["amended_kwh"]) * _WH_PER_KWH
            session.execute(
                update(ContactInvolvement)
                .where(ContactInvolvement.id == part.involvement_id)
                .values(share={**part.share, "amended_energy_wh": amended_wh})
                .execution_options(synchronize_session=False)
            )
            if posted is None:
                _post(session, part, shipper=shipper, energy_wh=amended_wh, now=taken.now)
            else:
                settlement.amend_adjustment(
                    session,
                    actor=_POSTER,
                    posting_key=key,
                    amended_key=f"{key}/amended",
                    energy_kwh=_kwh(amended_wh),
                    reason=taken.reason,
                    now=taken.now,
                )
        elif posted is not None:
            settlement.reverse_adjustment(
                session, actor=_POSTER, posting_key=key, reason=taken.reason, now=taken.now
            )


def _share_words(share: Mapping[str, Any]) -> str:
    words = (
        f"{share['days']:,} days ({share['first_day']} to {share['last_day']}),"
        f" {_kwh(int(share['energy_wh'])):,.3f} kWh"
    )
    if "amended_energy_wh" in share:
        words += f"; amended to {_kwh(int(share['amended_energy_wh'])):,.3f} kWh"
    return words


SUPPLIER_THEFT_OF_GAS = ContactType(
    code=CODE,
    title="Supplier Theft of Gas",
    description=(
        "RECCo logs a theft of gas its investigation confirmed on a supplier's report; every"
        " shipper registered over the theft period accepts or disputes its share of the"
        " energy, which is then posted to settlement and invoiced."
    ),
    prefix=CODE,
    raised_by=frozenset({Role.RECCO}),
    fields=(
        Field("mprn", "MPRN", FieldKind.MPRN, max_length=10),
        Field("theft_from", "Theft from", FieldKind.DATE, help="The first day of the theft"),
        Field("theft_to", "Theft until", FieldKind.DATE, help="The last day of the theft"),
        Field(
            "estimated_kwh",
            "Estimated energy (kWh)",
            FieldKind.INTEGER,
            minimum=1,
            maximum=100_000_000,
        ),
        Field("method", "Method", FieldKind.CHOICE, max_length=32, choices=METHODS),
        Field(
            "evidence",
            "Evidence",
            FieldKind.LONG_TEXT,
            max_length=4000,
            help="What the investigation found; attach the documents to the contact",
        ),
        Field(
            "reporting_supplier",
            "Reporting supplier",
            max_length=16,
            help="The market participant ID of the supplier that reported the theft",
        ),
    ),
    statuses=(
        Status("awaiting_response", "Awaiting the shipper's acceptance or dispute", Side.INVOLVED),
        Status("accepted", "Accepted: posted to settlement", None),
        Status("disputed", "Disputed by the shipper: awaiting the operator", Side.OPERATOR),
        Status("upheld", "Dispute resolved: share upheld and posted", None),
        Status("amended", "Dispute resolved: share amended and posted", None),
        Status("withdrawn", "Withdrawn by the operator: nothing to pay", None),
    ),
    initial_status="awaiting_response",
    submit_window="response",
    workflow=(
        Step("accept", "Accept the share", "awaiting_response", "accepted", Side.INVOLVED),
        Step(
            "dispute",
            "Dispute the share",
            "awaiting_response",
            "disputed",
            Side.INVOLVED,
            needs_reason=True,
        ),
        Step(
            "uphold",
            "Uphold the share",
            "disputed",
            "upheld",
            Side.OPERATOR,
            needs_reason=True,
        ),
        Step(
            "amend",
            "Amend the share's energy",
            "disputed",
            "amended",
            Side.OPERATOR,
            needs_reason=True,
            inputs=(
                Field(
                    "amended_kwh",
                    "Amended energy (kWh)",
                    FieldKind.INTEGER,
                    minimum=1,
                    maximum=100_000_000,
                ),
            ),
        ),
        Step(
            "withdraw",
            "Withdraw the share",
            "disputed",
            "withdrawn",
            Side.OPERATOR,
            needs_reason=True,
        ),
    ),
    windows={"response": RESPONSE_DAYS},
    on_expiry={"awaiting_response": "accept"},
    check=_check,
    route=_route,
    summary_fields=("mprn", "theft_from", "theft_to"),
    on_step=_on_step,
    share_words=_share_words,
    exclusive_check=True,
)
