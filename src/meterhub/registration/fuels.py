"""The fuels of a meter point: an MPAN core is electricity, an MPRN gas.

The vocabulary lives here, beside the registration data that records each meter point's fuel
(``MeterPoint.fuel``); other domains take a meter point's fuel from registration, or from what
they know themselves (a gas meter's meter point is gas), never from the shape of the number.
"""

from __future__ import annotations

from enum import StrEnum

from meterhub.kit.ids import fuel_of


class Fuel(StrEnum):
    ELECTRICITY = "electricity"  # an MPAN core, 13 digits
    GAS = "gas"  # an MPRN, 6 to 10 digits


def fuel_of_mpxn(mpxn: str) -> Fuel:
    """The fuel an MPxN names by its kind (MPAN core or MPRN), for a meter point registration
    is told about for the first time, when nothing better says."""
    return Fuel(fuel_of(mpxn))
