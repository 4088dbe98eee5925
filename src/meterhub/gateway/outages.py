"""Power outages in the live gateway: AD1 when a street loses power, 0x8F35 when it comes back.

Nobody asks for these alerts: the worker's sweep asks the device network model which outages
started since the last sweep (``NetworkModel.outages_between``, drawn from the seed and the hour
alone) and raises them.

* **Who is hit.** An outage falls in one CSP region and hits a street there: a run of
  commissioned comms hubs next to each other in the MPxN order of their electricity meters
  (MPANs of one area are handed out in runs), starting at the outage's ``position`` in the
  region, ``hubs`` long. Only hubs with a commissioned electricity meter joined to them count:
  the meter is what reports the supply back. A hub still dark from an earlier outage is not
  hit again (one whose meter never reported the supply back counts as back).
* **What is raised.** For each hub, the DCC alert ``AD1`` (power outage: the hub's ID, the
  start, the MPAN) at the start of the outage; when power comes back, the device alert
  ``0x8F35`` (supply outage restored) from the meter, except for the share
  (``restoration_missing_rate``) whose meter never sends it.
* **Who receives them.** The meter point's network operator on that day, through its users in
  the ``ED`` role (``outage_alert_roles``; ``IS`` adds the registered import supplier). DUIS
  sends AD1 to the Electricity Distributor, and MP176 reports "power outage alerts with no
  restoration alert" to network operators; the DNO is the party that acts on an outage. Each
  receiving party gets one copy, through its first active user in that role (the DCC knows a
  party's role by one DUIS user ID). A party with no such user receives nothing; the outage is
  still recorded. Restorations go to whoever holds the meter point on the day power returns.
* **Durable, exactly once.** Raising an outage stores one ``PowerOutage`` row per hub and owes
  the alerts as ``OutboundMessage`` rows, polled and pushed like any other, in the same
  transaction that moves ``OutageClock.raised_until`` forward to ``now``. A crash before the
  commit raises the same outages again from the seed; after it, never again. Restorations are a
  deadline column (``restore_at``) released by the same kind of idempotent sweep as device
  answers (``release_due``).

Both alerts carry the premises' electricity meter as their ``device_id`` (the AD1's XML names
the hub), so the lake and MP176 match an outage with its restoration by meter, as the traffic
simulator writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from meterhub.gateway import messages
from meterhub.gateway.models import Callback, OutageClock, OutboundMessage, PowerOutage
from meterhub.gateway.service import lock_cursors
from meterhub.inventory.service import PremisesOnSupply, premises_run
from meterhub.network.model import NetworkModel, PlannedOutage
from meterhub.parties.service import UserInRole, first_active_user
from meterhub.registration.service import registered_parties_on

POWER_OUTAGE = "AD1"
SUPPLY_RESTORED = "0x8F35"
_CLOCK_ID = 1


@dataclass(frozen=True)
class OutageSweep:
    """What one sweep did: outages raised, hubs they hit, restorations released, alerts owed."""

    outages: int = 0
    hubs: int = 0
    restored: int = 0
    alerts: int = 0


@dataclass(frozen=True)
class _Owed:
    recipient: UserInRole
    code: str
    device_id: str
    at: datetime
    xml: bytes


def sweep_outages(
    session: Session, *, network: NetworkModel, seed: int, now: datetime
) -> OutageSweep:
    """Raise the outages that started since the last sweep and the restorations now due.

    Take the database's write lock first (``session_scope``): the outage clock is read and moved
    in this transaction."""
    raised = raise_outages(session, network=network, seed=seed, now=now)
    restored, restoration_alerts = restore_due(
        session, now=now, roles=network.profile.outage_alert_roles
    )
    return OutageSweep(
        outages=raised.outages,
        hubs=raised.hubs,
        restored=restored,
        alerts=raised.alerts + restoration_alerts,
    )


def _claim_clock(session: Session, now: datetime) -> OutageClock | None:
    """The outage clock, locked for this transaction; None when this is its first sweep (the
    clock then starts at ``now``: outages from before the hub first ran are not raised)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = session.execute(
        insert(OutageClock)
        .values(id=_CLOCK_ID, raised_until=now)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(OutageClock.id)
    ).first()
    if created is not None:
        return None
    return session.scalars(
        select(OutageClock)
        .where(OutageClock.id == _CLOCK_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def raise_outages(
    session: Session, *, network: NetworkModel, seed: int, now: datetime
) -> OutageSweep:
    """Raise every outage starting in ``(raised_until, now]`` and move the clock to ``now``."""
    clock = _claim_clock(session, now)
    if clock is None or now <= clock.raised_until:
        return OutageSweep()
    planned = network.outages_between(seed, clock.raised_until, now)
    clock.raised_until = now
    owed: list[_Owed] = []
    hubs = 0
    recipients = _Recipients(session, network.profile.outage_alert_roles)
    for outage in planned:
        hubs += _raise(session, network, outage, recipients, owed, now)
    _owe_all(session, owed)
    return OutageSweep(outages=len(planned), hubs=hubs, alerts=len(owed))


def _street(session: Session, outage: PlannedOutage) -> list[PremisesOnSupply]:
    """(hub, electricity meter, MPAN) of the premises the outage hits, in MPAN order."""
    return premises_run(
        session, csp_region=outage.region, position=outage.position, length=outage.hubs
    )


def _raise(
    session: Session,
    network: NetworkModel,
    outage: PlannedOutage,
    recipients: _Recipients,
    owed: list[_Owed],
    now: datetime,
) -> int:
    street = _street(session, outage)
    if not street:
        return 0
    # Dark at the start: an earlier outage whose power comes back later. Asked of the times,
    # not of the rows' states, so the answer does not depend on when restorations were swept.
    dark = set(
        session.scalars(
            select(PowerOutage.comms_hub_id).where(
                PowerOutage.comms_hub_id.in_([hub for hub, _, _ in street]),
                PowerOutage.restore_at > outage.start,
            )
        )
    )
    # Drawn for the whole street, so each hub's duration does not depend on which are dark.
    durations = network.outage_restorations_ms(outage, len(street))
    at = outage.start
    hit = 0
    for (hub_id, meter_id, mpxn), duration in zip(street, durations, strict=True):
        if hub_id in dark:
            continue
        restore_at = None if math.isinf(duration) else at + timedelta(milliseconds=int(duration))
        session.add(
            PowerOutage(
                outage_key=outage.key,
                csp_region=outage.region,
                comms_hub_id=hub_id,
                meter_id=meter_id,
                mpxn=mpxn,
                started_at=at,
                restore_at=restore_at,
                state="out" if restore_at is not None else "unrestored",
                raised_at=now,
            )
        )
        hit += 1
        for recipient in recipients.of(mpxn, at.date()):
            xml = messages.dcc_alert(POWER_OUTAGE, hub_id, at, outage_start=at, mpxn=mpxn)
            owed.append(_Owed(recipient, POWER_OUTAGE, meter_id, at, xml))
    session.flush()
    return hit


def restore_due(
    session: Session, *, now: datetime, roles: tuple[str, ...] = ("ED",), limit: int = 500
) -> tuple[int, int]:
    """Meters whose power came back by ``now`` send 0x8F35. Returns (restored, alerts owed).

    Idempotent and crash-safe: a row moves from ``out`` to ``restored`` in the transaction that
    owes its alerts."""
    rows = session.scalars(
        select(PowerOutage)
        .where(PowerOutage.state == "out", PowerOutage.restore_at <= now)
        .order_by(PowerOutage.restore_at, PowerOutage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0, 0
    recipients = _Recipients(session, roles)
    owed: list[_Owed] = []
    for row in rows:
        assert row.restore_at is not None
        at = row.restore_at
        row.state = "restored"
        for recipient in recipients.of(row.mpxn, at.date()):
            xml = messages.device_alert(
                SUPPLY_RESTORED,
                row.meter_id,
                at,
                recipient=recipient.duis_user_id,
                counter=row.id if recipient.duis_user_id else None,
            )
            owed.append(_Owed(recipient, SUPPLY_RESTORED, row.meter_id, at, xml))
    _owe_all(session, owed)
    return len(rows), len(owed)


class _Recipients:
    """Who receives a meter point's outage alerts on a day, looked up once per party and role."""

    def __init__(self, session: Session, roles: tuple[str, ...]) -> None:
        self.session = session
        self.roles = roles
        self._users: dict[tuple[int, str], UserInRole | None] = {}

    def of(self, mpxn: str, day: date) -> list[UserInRole]:
        parties = registered_parties_on(self.session, mpxn=mpxn, day=day)
        if parties is None:
            return []
        found = []
        for role in self.roles:
            party_id = (
                parties.network_operator_party_id if role == "ED" else parties.supplier_party_id
            )
            recipient = self._user(party_id, role)
            if recipient is not None:
                found.append(recipient)
        return found

    def _user(self, party_id: int, role: str) -> UserInRole | None:
        key = (party_id, role)
        if key not in self._users:
            self._users[key] = first_active_user(self.session, party_id=party_id, role=role)
        return self._users[key]


def _owe_all(session: Session, owed: list[_Owed]) -> None:
    """Owe the alerts, in time order, their recipients' cursors locked first (``lock_cursors``)."""
    if not owed:
        return
    user_ids = sorted({o.recipient.id for o in owed})
    lock_cursors(session, user_ids)
    with_callback = set(
        session.scalars(select(Callback.user_id).where(Callback.user_id.in_(user_ids)))
    )
    for o in sorted(owed, key=lambda o: o.at):
        pushed = o.recipient.id in with_callback
        session.add(
            OutboundMessage(
                user_id=o.recipient.id,
                party_id=o.recipient.party_id,
                kind="alert",
                code=o.code,
                device_id=o.device_id,
                created_at=o.at,
                xml=o.xml.decode(),
                push_state="pending" if pushed else "none",
                next_attempt_at=o.at if pushed else None,
                recipient_role=o.recipient.role,
            )
        )
    session.flush()
