"""Install forecasts for the demo estate, roughly what ``meterhub simulate traffic`` will install.

The simulator's install waves do not grow with the estate: at ``rate`` requests a second, a
share ``share_installs`` of them are install journeys of six steps (8.11 -> 8.1.1 -> 6.21 ->
8.7.x -> 6.20.1 -> 8.14.x), about 94 % of which end in 8.14.1 rather than 8.14.2, and most of
which get that far. Each journey picks a commissioned meter at random and ends with the 8.14.1
sent to its hub, so a supplier's share of the installs in a region is its share of the
commissioned meters behind the hubs it is registered to there (``_meters``). Each supplier
forecasts that share of the expected national volume, off by up to 15 % either way (forecasts
are never exact), for the month of ``as_of``, the one before and the two after. A third of the
forecasts were revised once: the first figure stays in the history. Figures and times depend
only on the seed and ``as_of``.
"""

from __future__ import annotations

import calendar
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Final

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.forecasts.service import LoadedForecast, load_forecasts
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import METER_TYPES, DeviceStatus, DeviceType
from meterhub.lake.simulate import TrafficSettings
from meterhub.parties import service as parties
from meterhub.parties.roles import Role
from meterhub.registration import service as registration

#: ``meterhub simulate traffic``'s default rate (requests a second).
SIMULATED_RATE: Final = 850.0
#: Steps of an install journey in the simulator, 8.11 to 8.14.x.
INSTALL_JOURNEY_STEPS: Final = 6
#: Roughly how many journeys get through all their steps on the simulated network.
JOURNEY_SUCCESS: Final = 0.9


def expected_installs(month: str, *, rate: float = SIMULATED_RATE) -> float:
    """Successful 8.14.1 the simulator sends nationally in ``month`` at ``rate``."""
    year, number = (int(x) for x in month.split("-"))
    days = calendar.monthrange(year, number)[1]
    s = TrafficSettings()
    journeys = rate * 86_400 * days * s.share_installs / INSTALL_JOURNEY_STEPS
    return journeys * (1 - s.install_and_leave_rate) * JOURNEY_SUCCESS


def _shift(month: date, months: int) -> date:
    n = month.year * 12 + month.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


def _meters(session: Session, on: date) -> Counter[tuple[str, str, str]]:
    """Commissioned meters per (supplier code, role, CSP region) of the 8.14.1 an install at
    the meter would send, as the simulator sends it: to the meter's hub, by the supplier
    registered to the hub's meter point, in role IS (a hub is no gas device); a meter with no
    hub is the target itself (GS for a gas meter)."""
    columns = ("device_id", "device_type", "status", "csp_region", "mpxn", "comms_hub_id")
    device = inventory.device_export_query(columns=columns).subquery()
    hub = inventory.device_export_query(columns=columns).subquery()
    held = registration.registrations_in_force_query(day=on).subquery()
    role = case(
        (hub.c.device_id.is_not(None), Role.IMPORT_SUPPLIER.value),
        (device.c.device_type == DeviceType.GSME.value, Role.GAS_SUPPLIER.value),
        else_=Role.IMPORT_SUPPLIER.value,
    )
    region = func.coalesce(hub.c.csp_region, device.c.csp_region)
    rows = session.execute(
        select(held.c.supplier_party_id, role, region, func.count())
        .select_from(device)
        .outerjoin(hub, hub.c.device_id == device.c.comms_hub_id)
        .join(held, held.c.mpxn == func.coalesce(hub.c.mpxn, device.c.mpxn))
        .where(
            device.c.device_type.in_(METER_TYPES),
            device.c.status == DeviceStatus.COMMISSIONED.value,
        )
        .group_by(held.c.supplier_party_id, role, region)
    ).all()
    code_of = parties.party_codes(session)
    meters: Counter[tuple[str, str, str]] = Counter()
    for supplier, r, g, n in rows:
        meters[(code_of[supplier], r, g)] += n
    return meters


def seed_forecasts(session: Session, *, actor: Actor, seed: int, as_of: date, now: datetime) -> int:
    """Write the estate's forecasts; returns rows written. Like the devices, they are inserted
    in bulk (a service call each would cost seconds on a big estate) with one audit entry, made
    to obey the forecast rules: each submitted before its month began, a revision superseding
    the first figure (``forecasts/service.py``)."""
    meters = _meters(session, as_of)
    total = sum(meters.values())
    if not total:
        return 0
    party_ids = {code: party_id for party_id, code in parties.party_codes(session).items()}
    this_month = as_of.replace(day=1)
    ceiling = datetime.combine(as_of, time(9), tzinfo=UTC)
    loaded: list[LoadedForecast] = []
    for offset in (-1, 0, 1, 2):
        month = _shift(this_month, offset)
        label = f"{month:%Y-%m}"
        national = expected_installs(label)
        first_at = datetime.combine(_shift(month, -2).replace(day=10), time(9), tzinfo=UTC)
        final_at = min(
            datetime.combine(_shift(month, -1).replace(day=10), time(9), tzinfo=UTC), ceiling
        )
        for (code, role, region), count in sorted(meters.items()):
            rng = random.Random(f"{seed}:forecast:{code}:{role}:{region}:{label}")
            share = national * count / total
            final = LoadedForecast(
                supplier_party_id=party_ids[code],
                role=role,
                month=label,
                csp_region=region,
                submitted_by=actor.name[:120],
                installs=round(share * rng.uniform(0.85, 1.15)),
                submitted_at=final_at,
            )
            if rng.random() < 1 / 3 and first_at < final_at:
                final = replace(
                    final,
                    first_installs=round(share * rng.uniform(0.7, 1.3)),
                    first_submitted_at=first_at,
                )
            loaded.append(final)
    written = load_forecasts(session, forecasts=loaded)
    record(
        session,
        actor=actor,
        action="forecasts.seeded",
        object_type="estate",
        object_id=f"seed-{seed}",
        changes={"forecasts": written, "as_of": as_of.isoformat()},
        now=now,
    )
    return written
