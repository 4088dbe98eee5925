"""The Communications Hub variants a party may order: make, model, firmware and CHTS version, and
the CSP regions each is made for.

A hub speaks to one Communications Service Provider's network, so a variant is offered only in
the regions of that network (a North hub does not work in the South). The list is the
operator's catalogue, kept here as data: the codes are what an order names and what the API
and the portal offer; adding a variant is adding a row. The rows below are the project's
working catalogue, not a statement of what the DCC stocks today.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterhub.errors import InvalidInput
from meterhub.inventory.catalogue import CspRegion


@dataclass(frozen=True)
class HubVariant:
    """One orderable hub: what every hub delivered for it is recorded as in the inventory."""

    code: str
    manufacturer: str
    model: str
    firmware_version: str
    chts_version: str
    regions: frozenset[CspRegion]
    title: str

    def offered_in(self, region: CspRegion) -> bool:
        return region in self.regions


_NORTH = frozenset({CspRegion.NORTH})
_CENTRAL_SOUTH = frozenset({CspRegion.CENTRAL, CspRegion.SOUTH})
_4G = frozenset({CspRegion.NORTH_4G, CspRegion.CENTRAL_4G, CspRegion.SOUTH_4G})

VARIANTS: tuple[HubVariant, ...] = (
    HubVariant("N-SM", "Toshiba", "CH-N-SM", "3.1.0", "CHTS", _NORTH, "North, single-band"),
    HubVariant("N-DB", "Toshiba", "CH-N-DB", "3.2.0", "CHTS", _NORTH, "North, dual-band"),
    HubVariant("CS-SM", "WNC", "CH-CS-SM", "2.4.1", "CHTS", _CENTRAL_SOUTH, "Central/South"),
    HubVariant(
        "CS-DB", "WNC", "CH-CS-DB", "2.5.0", "CHTS", _CENTRAL_SOUTH, "Central/South, dual-band"
    ),
    HubVariant("4G", "EDMI", "CH-4G", "1.0.3", "CHTS", _4G, "4G, every 4G region"),
)
VARIANTS_BY_CODE = {v.code: v for v in VARIANTS}


def variant(code: str) -> HubVariant:
    """The variant with this code, or InvalidInput naming the codes there are."""
    found = VARIANTS_BY_CODE.get(code.strip().upper())
    if found is None:
        known = ", ".join(VARIANTS_BY_CODE)
        raise InvalidInput(f"no hub variant {code!r}; one of {known}", code="unknown_variant")
    return found
