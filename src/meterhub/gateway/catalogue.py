"""The SRV catalogue: every Service Reference Variant of DUIS 5.4 and who may send it, by date.

The base catalogue (``data/srv_catalogue.json``) is DUIS 5.4 as published: for each SRV its
service reference, name, flags and the DUIS user roles eligible to send it. SEC modifications
that change eligibility are kept apart as *overlays* (``data/srv_overlays.json``), each with the
date it comes into force, because a request must be judged by the rules of the day it was sent:
an RSA's 8.14.3 Fault Return is refused on 1 November 2023 and accepted on 2 November under
SECMP0039 (with the project's assumed effective date).

An overlay may add a role *on behalf of a supplier*: SECMP0039 lets an RSA return a
Communications Hub (8.14.3, 8.14.4) only for a supplier that appointed it, so
:meth:`SrvCatalogue.needs_appointment` tells the request store to check the appointment before
treating the RSA as entitled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from meterhub.parties.roles import DUIS_ROLES

DUIS_ROLE_CODES = frozenset(str(role) for role in DUIS_ROLES)


class FutureDatedPattern(StrEnum):
    """Where a future-dated request waits: not allowed, at the DCC (DSP), on the device, either."""

    NONE = "none"
    DSP = "dsp"
    DEVICE = "device"
    DSP_AND_DEVICE = "dsp+device"


@dataclass(frozen=True)
class Srv:
    """One Service Reference Variant as DUIS 5.4 defines it (before any SEC modification)."""

    srv: str
    service_reference: str
    name: str
    critical: bool
    on_demand: bool
    future_dated_pattern: FutureDatedPattern
    dcc_scheduled: bool
    non_device: bool
    eligible_roles: frozenset[str]
    command_variants: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RoleChange:
    """One role made eligible for one SRV by a modification."""

    srv: str
    role: str
    on_behalf_of_supplier: bool


@dataclass(frozen=True)
class SrvOverlay:
    """A SEC modification's change to SRV eligibility, in force from ``effective_from`` (inclusive)
    until ``effective_to`` (exclusive; ``None`` for open-ended)."""

    modification: str
    title: str
    effective_from: date
    effective_to: date | None
    changes: tuple[RoleChange, ...] = field(default=())

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class SrvCatalogue:
    """All SRVs, with the overlays that change their eligible roles over time."""

    def __init__(self, srvs: Iterable[Srv], overlays: Iterable[SrvOverlay] = ()) -> None:
        self._srvs = {s.srv: s for s in srvs}
        self._overlays = tuple(overlays)
        for overlay in self._overlays:
            for change in overlay.changes:
                if change.srv not in self._srvs:
                    raise ValueError(f"{overlay.modification} changes unknown SRV {change.srv}")
                if change.role not in DUIS_ROLE_CODES:
                    raise ValueError(f"{overlay.modification} adds unknown role {change.role}")

    @classmethod
    def from_files(
        cls,
        catalogue: Path,
        overlays: Path | None = None,
        *,
        effective_from: Mapping[str, date] | None = None,
    ) -> SrvCatalogue:
        """Load the catalogue and overlays; ``effective_from`` overrides a modification's date."""
        srvs = _srvs_from_json(json.loads(catalogue.read_text(encoding="utf-8")))
        found = (
            _overlays_from_json(json.loads(overlays.read_text(encoding="utf-8")), effective_from)
            if overlays is not None
            else ()
        )
        return cls(srvs, found)

    @property
    def overlays(self) -> tuple[SrvOverlay, ...]:
        return self._overlays

    def get(self, srv: str) -> Srv | None:
        return self._srvs.get(srv)

    def all(self) -> list[Srv]:
        """Every SRV, in DUIS order (by service reference, then variant)."""
        return list(self._srvs.values())

    def __len__(self) -> int:
        return len(self._srvs)

    def __contains__(self, srv: object) -> bool:
        return srv in self._srvs

    def _changes_on(self, srv: str, day: date) -> Iterable[RoleChange]:
        for overlay in self._overlays:
            if overlay.in_force_on(day):
                yield from (c for c in overlay.changes if c.srv == srv)

    def eligible_roles(self, srv: str, day: date) -> frozenset[str]:
        """The DUIS roles that may send ``srv`` on ``day``; empty for an unknown SRV."""
        base = self._srvs.get(srv)
        if base is None:
            return frozenset()
        return base.eligible_roles | {c.role for c in self._changes_on(srv, day)}

    def needs_appointment(self, srv: str, role: str, day: date) -> bool:
        """True when ``role`` may send ``srv`` on ``day`` only for a supplier that appointed it.

        A role the base catalogue already allows never needs an appointment, whatever an
        overlay says; a role no overlay in force adds is simply not eligible (False here, and
        :meth:`eligible_roles` leaves it out).
        """
        base = self._srvs.get(srv)
        if base is None or role in base.eligible_roles:
            return False
        return any(c.role == role and c.on_behalf_of_supplier for c in self._changes_on(srv, day))


def _srvs_from_json(doc: Mapping[str, Any]) -> list[Srv]:
    return [
        Srv(
            srv=row["srv"],
            service_reference=row["service_reference"],
            name=row["name"],
            critical=bool(row["critical"]),
            on_demand=bool(row["on_demand"]),
            future_dated_pattern=FutureDatedPattern(row["future_dated"]),
            dcc_scheduled=bool(row["dcc_scheduled"]),
            non_device=bool(row["non_device"]),
            eligible_roles=frozenset(row["roles"]),
            command_variants=frozenset(row.get("command_variants", ())),
        )
        for row in doc["srvs"]
    ]


def _overlays_from_json(
    doc: Mapping[str, Any], effective_from: Mapping[str, date] | None
) -> list[SrvOverlay]:
    overrides = effective_from or {}
    overlays = []
    for row in doc["overlays"]:
        name = row["modification"]
        until = row.get("effective_to")
        overlays.append(
            SrvOverlay(
                modification=name,
                title=row.get("title", ""),
                effective_from=overrides.get(name) or date.fromisoformat(row["effective_from"]),
                effective_to=date.fromisoformat(until) if until else None,
                changes=tuple(
                    RoleChange(
                        srv=c["srv"],
                        role=role,
                        on_behalf_of_supplier=bool(c.get("on_behalf_of_supplier")),
                    )
                    for c in row["changes"]
                    for role in c["add_roles"]
                ),
            )
        )
    return overlays


def data_path(name: str) -> Path:
    """A file shipped in ``meterhub/gateway/data``."""
    return Path(str(resources.files("meterhub.gateway") / "data" / name))


@cache
def load_catalogue() -> SrvCatalogue:
    """The shipped DUIS 5.4 catalogue with its SEC overlays, loaded once per process."""
    return SrvCatalogue.from_files(data_path("srv_catalogue.json"), data_path("srv_overlays.json"))
