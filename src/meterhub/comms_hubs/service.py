"""Hub returns and who may ask for one, the hub tariff and charge adjustments.

``may_return`` is the one rule of who may return a hub (SECMP0039), asked by the gateway for
DUIS and by ``return_hub`` for the API and the portal.

A returned hub leaves its holder's stock: it is withdrawn and the DCC holds it, and the holder's
users are told (inbox and e-mail), since the holder is charged for it, at the return charge of
the tariff in force on the day.

The tariff is dated data (``HubTariff``): each figure is in force from its ``effective_from``
day until a later one of its kind. Setting a figure adds a row from a day not yet past, audited;
nothing already charged or stated can change. A correction (after a dispute) is a
``ChargeAdjustment``, which appears in the statement of the month it is recorded in: always a
month whose statement has not been issued, so an issued statement is never rewritten."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs import ledger
from meterhub.comms_hubs.models import ChargeAdjustment, HubReturn, HubTariff
from meterhub.db import bulk
from meterhub.db.base import text_length
from meterhub.errors import InvalidInput, NotFound, PermissionDenied
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, DeviceType, StatusEvent
from meterhub.kit.clock import as_utc
from meterhub.kit.ids import normalise_eui64
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from meterhub.parties.roles import SUPPLIER_ROLES, Role

if TYPE_CHECKING:
    from meterhub.inventory.models import Device

RETURN_EVENTS = {"fault": StatusEvent.FAULT_RETURN, "no_fault": StatusEvent.NO_FAULT_RETURN}


class TariffKind(StrEnum):
    """The hub charges the tariff dates: the stock-level charge per hub per day held before
    installation, and the explicit charge per hub returned, by kind of return."""

    STOCK = "stock"
    FAULT_RETURN = "fault_return"
    NO_FAULT_RETURN = "no_fault_return"


RETURN_TARIFFS: Final = {"fault": TariffKind.FAULT_RETURN, "no_fault": TariffKind.NO_FAULT_RETURN}
MILLIPENCE_PER_PENNY: Final = 1000
#: Largest figure a tariff or an adjustment may hold: £1,000,000 per hub (or per adjustment), far
#: above any real charge and well inside a 32-bit integer on either database.
MAX_MILLIPENCE: Final = 100_000_000_000
MAX_ADJUSTMENT_PENCE: Final = 100_000_000
REFERENCE_LENGTH: Final = text_length(ChargeAdjustment.__table__.c.reference)


def pence_of(millipence: int) -> int:
    """Whole pence, half a penny rounded away from zero: how a charge line is billed."""
    return int(
        (Decimal(millipence) / MILLIPENCE_PER_PENNY).to_integral_value(rounding=ROUND_HALF_UP)
    )


def parse_pence(text: str) -> int:
    """A tariff figure typed in pence (``"669.643"``, ``"0.5"``) as thousandths of a penny."""
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise InvalidInput(f"{text!r} is not an amount in pence", code="bad_amount") from None
    millipence = value * MILLIPENCE_PER_PENNY
    if not value.is_finite() or millipence != millipence.to_integral_value():
        raise InvalidInput(
            f"{text!r}: a tariff is in pence to at most three decimal places", code="bad_amount"
        )
    return int(millipence)


@dataclass(frozen=True)
class TariffFigure:
    id: int
    kind: str
    effective_from: date
    amount_millipence: int
    reason: str
    set_by: str
    recorded_at: datetime


def _figure(row: HubTariff) -> TariffFigure:
    return TariffFigure(
        id=row.id,
        kind=row.kind,
        effective_from=row.effective_from,
        amount_millipence=row.amount_millipence,
        reason=row.reason,
        set_by=row.set_by,
        recorded_at=row.recorded_at,
    )


def _kind(value: str) -> TariffKind:
    try:
        return TariffKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in TariffKind)
        raise InvalidInput(
            f"no tariff of kind {value!r}; one of {allowed}", code="bad_tariff_kind"
        ) from None


def tariff_history(session: Session) -> list[TariffFigure]:
    """Every figure ever set, by kind and then in the order they take effect (and, for one
    day, in the order they were set: the later one is the one in force)."""
    stmt = select(HubTariff).order_by(HubTariff.kind, HubTariff.effective_from, HubTariff.id)
    return [_figure(row) for row in session.scalars(stmt)]


def tariff_in_force(session: Session, *, kind: str, day: date) -> TariffFigure:
    """The figure of ``kind`` in force on ``day``: the latest to take effect on or before it."""
    stmt = (
        select(HubTariff)
        .where(HubTariff.kind == _kind(kind).value, HubTariff.effective_from <= day)
        .order_by(HubTariff.effective_from.desc(), HubTariff.id.desc())
        .limit(1)
    )
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"no {kind} tariff is in force on {day}", code="no_tariff")
    return _figure(row)


def tariff_periods(
    session: Session, *, kind: str, start: date, end: date
) -> list[tuple[date, int]]:
    """The figures of ``kind`` in force over the days ``start`` to ``end`` (exclusive), as
    ``(first day, millipence)`` in day order: the first from ``start``, then one per change."""
    periods = [(start, tariff_in_force(session, kind=kind, day=start).amount_millipence)]
    stmt = (
        select(HubTariff.effective_from, HubTariff.amount_millipence)
        .where(
            HubTariff.kind == _kind(kind).value,
            HubTariff.effective_from > start,
            HubTariff.effective_from < end,
        )
        .order_by(HubTariff.effective_from, HubTariff.id)
    )
    for day, amount in session.execute(stmt):
        if periods[-1][0] == day:
            periods[-1] = (day, amount)
        else:
            periods.append((day, amount))
    return periods


def set_tariff(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    effective_from: date,
    amount_millipence: int,
    reason: str,
    now: datetime,
) -> TariffFigure:
    """The operator sets a hub charge from a day on: a new, audited row, never an edit.

    The day may not be past (today is allowed): a figure for a day already gone would change
    charges already incurred and statements already issued. Setting the same kind again for
    the same day replaces the earlier setting from that day, and both stay on record."""
    if not actor.is_operator:
        raise PermissionDenied("only the operator sets the hub tariff")
    tariff_kind = _kind(kind)
    if effective_from < now.date():
        raise InvalidInput(
            f"a tariff takes effect from today ({now.date()}) or later, not {effective_from}:"
            " the past is not edited",
            code="tariff_in_past",
        )
    if not 0 <= amount_millipence <= MAX_MILLIPENCE:
        raise InvalidInput("a tariff is from 0p to £1,000,000", code="bad_amount")
    if not reason.strip():
        raise InvalidInput("a tariff change needs a reason", code="reason_required")
    row = HubTariff(
        kind=tariff_kind.value,
        effective_from=effective_from,
        amount_millipence=amount_millipence,
        reason=reason.strip(),
        set_by=actor.name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="hub.tariff_set",
        object_type="hub_tariff",
        object_id=str(row.id),
        changes={
            "kind": tariff_kind.value,
            "effective_from": effective_from.isoformat(),
            "amount_millipence": amount_millipence,
            "reason": row.reason,
        },
        now=now,
    )
    return _figure(row)


@dataclass(frozen=True)
class Adjustment:
    id: int
    party_id: int
    amount_pence: int
    reason: str
    reference: str
    recorded_by: str
    recorded_at: datetime


def _adjustment(row: ChargeAdjustment) -> Adjustment:
    return Adjustment(
        id=row.id,
        party_id=row.party_id,
        amount_pence=row.amount_pence,
        reason=row.reason,
        reference=row.reference,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def record_charge_adjustment(
    session: Session,
    *,
    party_id: int,
    amount_pence: int,
    reason: str,
    reference: str,
    actor: Actor,
    now: datetime,
) -> Adjustment:
    """Correct a party's hub charges (a dispute's outcome, say) by ``amount_pence``: positive
    charges it more, negative credits it. The line appears in the statement of the month of
    ``now``, the party's next statement, and never in one already issued; the party's users
    are told. ``reference`` names what it corrects (a dispute or transfer reference)."""
    if not actor.is_operator:
        raise PermissionDenied("only the operator adjusts hub charges")
    if parties.party_by_id(session, party_id) is None:
        raise InvalidInput(f"no party {party_id}", code="unknown_party")
    if amount_pence == 0 or abs(amount_pence) > MAX_ADJUSTMENT_PENCE:
        raise InvalidInput(
            "an adjustment is a non-zero amount of at most £1,000,000", code="bad_amount"
        )
    if not reason.strip():
        raise InvalidInput("an adjustment needs a reason", code="reason_required")
    if len(reference) > REFERENCE_LENGTH:
        raise InvalidInput(
            f"a reference is at most {REFERENCE_LENGTH} characters", code="bad_reference"
        )
    row = ChargeAdjustment(
        party_id=party_id,
        amount_pence=amount_pence,
        reason=reason.strip(),
        reference=reference.strip(),
        recorded_by=actor.name,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="hub.charge_adjusted",
        object_type="hub_charge_adjustment",
        object_id=str(row.id),
        changes={
            "party_id": party_id,
            "amount_pence": amount_pence,
            "reason": row.reason,
            "reference": row.reference,
        },
        now=now,
    )
    what = "credit" if amount_pence < 0 else "charge"
    notifications.notify(
        session,
        party_id=party_id,
        kind="hub.charge_adjusted",
        subject=f"Hub charges adjusted: {what} of £{abs(amount_pence) / 100:,.2f}",
        body="\n".join(
            [
                f"An adjustment of £{amount_pence / 100:,.2f} to your Communications Hub charges"
                f" was recorded at {now:%Y-%m-%d %H:%M} UTC. It appears on your statement for"
                f" {now:%Y-%m}.",
                f"Reason: {row.reason}",
            ]
            + ([f"Reference: {row.reference}"] if row.reference else [])
        ),
        now=now,
    )
    return _adjustment(row)


def adjustments_in(
    session: Session, *, party_id: int | None, start: datetime, end: datetime
) -> Sequence[Adjustment]:
    """Adjustments recorded from ``start`` to ``end`` (exclusive), of one party or all."""
    stmt = (
        select(ChargeAdjustment)
        .where(ChargeAdjustment.recorded_at >= start, ChargeAdjustment.recorded_at < end)
        .order_by(ChargeAdjustment.recorded_at, ChargeAdjustment.id)
    )
    if party_id is not None:
        stmt = stmt.where(ChargeAdjustment.party_id == party_id)
    return [_adjustment(row) for row in session.scalars(stmt)]


def record_return(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    kind: str,
    reason: str,
    request_id: str | None,
    dcc_party_id: int | None,
    now: datetime,
) -> HubReturn:
    """Return ``device`` to the DCC: charge its holder, withdraw it, pass custody to the DCC.

    ``kind`` is ``fault`` (8.14.3) or ``no_fault`` (8.14.4); the withdrawal is that SRV's row of
    the inventory's workflow, so a hub already withdrawn is refused before anything is charged.
    The charge is the return charge of ``kind`` in the tariff in force on the day.
    The holder's users are notified in the same transaction: under SECMP0039 an RSA may return
    a supplier's hub, and the supplier pays for it, so it learns of the return when it happens,
    not from next month's charges."""
    assert device.owner_party_id is not None and actor.party_id is not None
    event = RETURN_EVENTS.get(kind)
    if event is None:
        raise InvalidInput(f"no hub return of kind {kind!r}", code="bad_return_kind")
    inventory.check_transition(device, event=event)
    tariff = tariff_in_force(session, kind=RETURN_TARIFFS[kind], day=now.date())
    charge_pence = pence_of(tariff.amount_millipence)
    hub_return = HubReturn(
        device_id=device.device_id,
        holder_party_id=device.owner_party_id,
        requested_by_party_id=actor.party_id,
        kind=kind,
        reason=reason,
        request_id=request_id,
        charge_pence=charge_pence,
        created_at=now,
    )
    session.add(hub_return)
    inventory.withdraw_returned(
        session,
        actor=actor,
        device=device,
        event=event,
        dcc_party_id=dcc_party_id,
        reason=f"{kind.replace('_', '-')} return: {reason}".strip(": "),
        now=now,
    )
    record(
        session,
        actor=actor,
        action="hub.returned",
        object_type="device",
        object_id=device.device_id,
        changes={"kind": kind, "charge_pence": charge_pence, "request_id": request_id},
        now=now,
    )
    _tell_holder(session, hub_return=hub_return, now=now)
    return hub_return


#: The columns of a bulk-loaded hub return row.
RETURN_COLUMNS: Final = (
    "device_id",
    "holder_party_id",
    "requested_by_party_id",
    "kind",
    "reason",
    "request_id",
    "charge_pence",
    "created_at",
)


def load_returns(session: Session, *, rows: Sequence[bulk.Row]) -> None:
    """Bulk-load hub returns (tuples in ``RETURN_COLUMNS`` order, timestamps encoded by
    ``db.bulk.encoders``) past ``record_return``'s checks, audit and notices: for building
    large estates (the statements benchmark), whose devices' history the inventory's own bulk
    load writes."""
    bulk.write_rows(session, HubReturn.__table__, RETURN_COLUMNS, rows)  # type: ignore[arg-type]


def _tell_holder(session: Session, *, hub_return: HubReturn, now: datetime) -> None:
    codes = parties.party_codes(
        session, ids={hub_return.holder_party_id, hub_return.requested_by_party_id}
    )
    by = codes.get(hub_return.requested_by_party_id, "?")
    holder = codes.get(hub_return.holder_party_id, "?")
    what = "fault" if hub_return.kind == "fault" else "no-fault"
    srv = "8.14.3" if hub_return.kind == "fault" else "8.14.4"
    on_behalf = "" if by == holder else f" on behalf of {holder}"
    lines = [
        f"Communications Hub {hub_return.device_id} was returned to the DCC ({what} return,"
        f" SRV {srv}) by {by}{on_behalf} at {now:%Y-%m-%d %H:%M} UTC.",
        f"{holder} is charged £{hub_return.charge_pence / 100:.2f} for it (an explicit charge).",
    ]
    if hub_return.reason:
        lines.append(f"Reason given: {hub_return.reason}")
    if hub_return.request_id:
        lines.append(f"RequestID: {hub_return.request_id}")
    notifications.notify(
        session,
        party_id=hub_return.holder_party_id,
        kind="hub.returned",
        subject=f"Hub {hub_return.device_id} returned ({what}) by {by}",
        body="\n".join(lines),
        now=now,
    )


# ---------------------------------------------------------------- who may return a hub


def may_return(
    session: Session, *, party_id: int, role: str, holder_party_id: int | None, day: date
) -> bool:
    """May ``party_id``, acting in ``role``, return the hub ``holder_party_id`` holds on ``day``?

    The one rule for 8.14.3 and 8.14.4, whichever way the return comes (DUIS, the API, the
    portal): a supplier role returns only hubs its own party holds; an RSA returns hubs its
    own party holds, or hubs of a supplier that appointed it on that day (SECMP0039: "the RSA
    was submitting a request on behalf of a Supplier for which it was confirmed they were
    working for"). No other role returns hubs. Which roles may send the SRV on a day at all
    (SECMP0039's dated overlay) is the DUIS catalogue's question, asked by the gateway first."""
    if holder_party_id is None:
        return False
    if role in SUPPLIER_ROLES:
        return party_id == holder_party_id
    if role == Role.REGISTERED_SUPPLIER_AGENT.value:
        return parties.may_act_for(
            session, agent_party_id=party_id, supplier_party_id=holder_party_id, day=day
        )
    return False


def return_hub(
    session: Session,
    *,
    actor: Actor,
    device_id: str,
    kind: str,
    reason: str,
    dcc_party_code: str | None,
    now: datetime,
) -> HubReturn:
    """A fault (8.14.3) or no-fault (8.14.4) return asked through the API or the portal, by a
    user of the holder or of an RSA the holder appointed that day, in any role the user acts in.

    The answer is the acceptance (the return, its explicit charge) or a validation failure with
    its reason: an unknown hub and a hub the requester may not return are the same 404, naming
    the rule but not the holder, so a party cannot learn whose a hub is; a hub whose status
    does not allow a return is the workflow's refusal. The holder is told as for a DUIS return;
    an agent's users are told their return was accepted."""
    if kind not in RETURN_EVENTS:
        allowed = ", ".join(RETURN_EVENTS)
        raise InvalidInput(
            f"no hub return of kind {kind!r}; one of {allowed}", code="bad_return_kind"
        )
    text = reason.strip()
    if len(text) > RETURN_REASON_LENGTH or any(ord(c) < 32 for c in text):
        raise InvalidInput(
            f"a return's reason is one line of at most {RETURN_REASON_LENGTH} characters",
            code="bad_reason",
        )
    guid = normalise_eui64(device_id)
    if actor.party_id is None or actor.user_id is None:
        raise PermissionDenied("a hub is returned by a user of a party")
    day = now.date()
    device = inventory.device_by_id(session, device_id=guid)
    user = parties.user_by_id(session, actor.user_id)
    roles = sorted({r.role for r in user.roles}) if user is not None else []
    if (
        device is None
        or device.device_type != DeviceType.CHF.value
        or not any(
            may_return(
                session,
                party_id=actor.party_id,
                role=role,
                holder_party_id=device.owner_party_id,
                day=day,
            )
            for role in roles
        )
    ):
        code = parties.party_codes(session, ids={actor.party_id}).get(actor.party_id, "?")
        raise NotFound(
            f"{code} may not return {guid} on {day}: no Communications Hub by that ID is held by"
            f" {code}, or by a supplier that appointed {code} as its agent (RSA) on that day",
            code="hub_not_returnable",
        )
    dcc = parties.party_by_code(session, dcc_party_code) if dcc_party_code else None
    hub_return = record_return(
        session,
        actor=actor,
        device=device,
        kind=kind,
        reason=text,
        request_id=None,
        dcc_party_id=dcc.id if dcc is not None else None,
        now=now,
    )
    if hub_return.requested_by_party_id != hub_return.holder_party_id:
        _tell_requester(session, hub_return=hub_return, now=now)
    return hub_return


RETURN_REASON_LENGTH = 500


def _tell_requester(session: Session, *, hub_return: HubReturn, now: datetime) -> None:
    codes = parties.party_codes(
        session, ids={hub_return.holder_party_id, hub_return.requested_by_party_id}
    )
    holder = codes.get(hub_return.holder_party_id, "?")
    what = "fault" if hub_return.kind == "fault" else "no-fault"
    notifications.notify(
        session,
        party_id=hub_return.requested_by_party_id,
        kind="hub.return_accepted",
        subject=f"Return of hub {hub_return.device_id} accepted ({what})",
        body=(
            f"Your {what} return of Communications Hub {hub_return.device_id} on behalf of"
            f" {holder} was accepted at {now:%Y-%m-%d %H:%M} UTC. {holder} is charged for it."
        ),
        now=now,
    )


# --- the custody ledger (a read of the inventory's history: comms_hubs.ledger) ---------------


class StepKind(StrEnum):
    """What a step of a hub's custody chain was."""

    DELIVERY = "delivery"  # the hub entered the inventory, held by the party it was delivered to
    STOCK = "stock"  # back to (or on within) stock before installation
    INSTALL = "install"  # installed at a premises
    RETURN = "return"  # withdrawn and passed back to the DCC
    TRANSFER = "transfer"  # passed from one party to another (MP140)
    SERVICE = "service"  # any other status move once installed (decommissioned, suspended ...)


@dataclass(frozen=True)
class CustodyStep:
    """One step of a hub's custody: what happened, when, who did it (``user``, the actor's
    name) and why; and who held the hub after it (``party``), in what status."""

    device_id: str
    kind: StepKind
    at: datetime
    day: date
    party: str | None
    party_id: int | None
    from_party: str | None
    status: str | None
    in_stock: bool
    user: str
    reason: str


def _step_kind(row: ledger.CustodyRow) -> StepKind:
    if row.field == "owner":
        withdrawn = row.status == DeviceStatus.WITHDRAWN.value
        return StepKind.RETURN if withdrawn else StepKind.TRANSFER
    if row.old_value is None and row.status_before is None:
        return StepKind.DELIVERY
    if row.status == DeviceStatus.WITHDRAWN.value:
        return StepKind.RETURN
    if row.status in ledger.STOCK_STATUSES:
        return StepKind.STOCK
    if row.status in ledger.INSTALLED_STATUSES and row.old_value not in ledger.INSTALLED_STATUSES:
        return StepKind.INSTALL
    return StepKind.SERVICE


def _steps(session: Session, rows: Sequence[ledger.CustodyRow]) -> list[CustodyStep]:
    ids = _ids_by_code(session)
    return [
        CustodyStep(
            device_id=r.device_id,
            kind=_step_kind(r),
            at=as_utc(r.at),
            day=r.day,
            party=r.holder,
            party_id=ids.get(r.holder) if r.holder else None,
            from_party=r.holder_before if r.holder_before != r.holder else None,
            status=r.status,
            in_stock=r.status in ledger.STOCK_STATUSES,
            user=r.actor,
            reason=r.reason,
        )
        for r in rows
    ]


def _visible_chain(session: Session, *, actor: Actor, device_id: str) -> list[CustodyStep]:
    device_id = normalise_eui64(device_id)
    steps = _steps(session, ledger.chain_rows(session, device_id=device_id))
    if actor.is_operator:
        visible = bool(steps)
    else:
        # A party sees the chain of a hub it holds or once held, or one it sees in the inventory.
        ids = _ids_by_code(session)
        held = {s.party_id for s in steps} | {ids.get(s.from_party or "") for s in steps}
        visible = actor.party_id in held
        if steps and not visible:
            try:
                inventory.get_device(session, actor=actor, device_id=device_id)
                visible = True
            except NotFound:
                visible = False
    if not visible:
        raise NotFound(f"no communications hub {device_id}")
    return steps


def _ids_by_code(session: Session) -> dict[str, int]:
    return {code: party_id for party_id, code in parties.party_codes_by_id(session).items()}


def custody_chain(session: Session, *, actor: Actor, device_id: str) -> list[CustodyStep]:
    """Hub ``device_id``'s custody, step by step: its delivery, time in stock, installation,
    return and every transfer, each with the party holding it after the step, the user, the
    time and the reason. A party sees the chain of a hub it holds, once held or sees in the
    inventory; any other hub is a 404."""
    return _visible_chain(session, actor=actor, device_id=device_id)


@dataclass(frozen=True)
class Holding:
    device_id: str
    day: date
    party: str
    party_id: int | None
    status: str | None
    in_stock: bool


def holder_on(session: Session, *, actor: Actor, device_id: str, day: date) -> Holding | None:
    """Who held hub ``device_id`` on ``day`` (at the end of it: the ledger's day convention),
    or None when it was not yet in the inventory or held by nobody."""
    steps = _visible_chain(session, actor=actor, device_id=device_id)
    on_day = [s for s in steps if s.day <= day]
    if not on_day or on_day[-1].party is None:
        return None
    last = on_day[-1]
    assert last.party is not None
    return Holding(
        device_id=last.device_id,
        day=day,
        party=last.party,
        party_id=last.party_id,
        status=last.status,
        in_stock=last.in_stock,
    )


def holdings_on(
    session: Session,
    *,
    actor: Actor,
    party_id: int,
    day: date,
    after: str | None = None,
    limit: int | None = None,
) -> list[Holding]:
    """What party ``party_id`` held on ``day`` (at its end), in Device ID order; from just
    past ``after`` and at most ``limit`` hubs when paging. A party asks only about itself (any
    other party is a 404); the operator about anyone."""
    if not actor.is_operator and actor.party_id != party_id:
        raise NotFound(f"no party {party_id}")
    party = parties.party_by_id(session, party_id)
    if party is None:
        raise NotFound(f"no party {party_id}")
    held = ledger.held_on_query(session, party_code=party.code, day=day).subquery("held")
    stmt = select(held.c.device_id, held.c.status).order_by(held.c.device_id)
    if after is not None:
        stmt = stmt.where(held.c.device_id > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Holding(
            device_id=device_id,
            day=day,
            party=party.code,
            party_id=party.id,
            status=status,
            in_stock=status in ledger.STOCK_STATUSES,
        )
        for device_id, status in session.execute(stmt)
    ]
