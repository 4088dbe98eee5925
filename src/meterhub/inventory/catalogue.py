"""The inventory's vocabularies: device types, statuses, CSP regions, and the status workflow."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypeVar

from meterhub.errors import InvalidInput
from meterhub.registration.fuels import Fuel


class DeviceType(StrEnum):
    CHF = "CHF"  # Communications Hub Function
    ESME = "ESME"  # electricity smart meter
    GSME = "GSME"  # gas smart meter
    GPF = "GPF"  # gas proxy function (part of the hub)
    PPMID = "PPMID"  # prepayment meter interface device
    HCALCS = "HCALCS"  # HAN-connected auxiliary load control switch
    IHD = "IHD"  # in-home display
    CAD = "CAD"  # consumer access device


#: The gas devices: the gas meter and the gas proxy function in the hub that speaks for it.
GAS_DEVICE_TYPES: Final[frozenset[str]] = frozenset({DeviceType.GSME.value, DeviceType.GPF.value})
#: The electricity devices: the electricity meter.
ELECTRICITY_DEVICE_TYPES: Final[frozenset[str]] = frozenset({DeviceType.ESME.value})
#: The meters: what a meter point is metered by, electricity first.
METER_TYPES: Final[tuple[str, ...]] = (DeviceType.ESME.value, DeviceType.GSME.value)


def fuel_of_device_type(device_type: str) -> Fuel | None:
    """The fuel a device of this type meters (gas meters and gas proxies gas, electricity
    meters electricity); None for a device that serves either (hubs, displays, switches)."""
    if device_type in GAS_DEVICE_TYPES:
        return Fuel.GAS
    if device_type in ELECTRICITY_DEVICE_TYPES:
        return Fuel.ELECTRICITY
    return None


class DeviceStatus(StrEnum):
    PENDING = "Pending"
    WHITELISTED = "Whitelisted"
    INSTALLED_NOT_COMMISSIONED = "InstalledNotCommissioned"
    COMMISSIONED = "Commissioned"
    DECOMMISSIONED = "Decommissioned"
    WITHDRAWN = "Withdrawn"
    SUSPENDED = "Suspended"
    RECOVERY = "Recovery"
    RECOVERED = "Recovered"


class CspRegion(StrEnum):
    NORTH = "North"
    CENTRAL = "Central"
    SOUTH = "South"
    NORTH_4G = "North4G"
    CENTRAL_4G = "Central4G"
    SOUTH_4G = "South4G"


SMETS_VERSIONS = ("SMETS1", "SMETS2", "CHTS")

S = DeviceStatus
# The whole status workflow in one place: from each status, where a device may go next.
ALLOWED_TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    S.PENDING: frozenset({S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED, S.WITHDRAWN}),
    S.WHITELISTED: frozenset({S.INSTALLED_NOT_COMMISSIONED, S.PENDING, S.WITHDRAWN}),
    S.INSTALLED_NOT_COMMISSIONED: frozenset({S.COMMISSIONED, S.DECOMMISSIONED, S.WITHDRAWN}),
    S.COMMISSIONED: frozenset({S.SUSPENDED, S.DECOMMISSIONED, S.RECOVERY}),
    S.SUSPENDED: frozenset({S.COMMISSIONED, S.DECOMMISSIONED}),
    S.RECOVERY: frozenset({S.RECOVERED, S.COMMISSIONED}),
    S.RECOVERED: frozenset({S.COMMISSIONED, S.DECOMMISSIONED}),
    S.DECOMMISSIONED: frozenset(),
    S.WITHDRAWN: frozenset(),
}


E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], value: str, what: str) -> E:
    """``kind(value)``, or an InvalidInput naming the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        code = "bad_" + what.replace(" ", "_")
        raise InvalidInput(f"unknown {what} {value!r}; one of {allowed}", code=code) from None
