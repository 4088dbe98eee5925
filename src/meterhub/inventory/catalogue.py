"""The inventory's vocabularies: device types, statuses, CSP regions, and the status workflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


#: A hub in one of these is held as stock: delivered (or received) and not yet installed, nor
#: withdrawn. The stock-level charge is for each day a hub spends here.
BEFORE_INSTALLATION: Final = frozenset({DeviceStatus.PENDING, DeviceStatus.WHITELISTED})


class CspRegion(StrEnum):
    NORTH = "North"
    CENTRAL = "Central"
    SOUTH = "South"
    NORTH_4G = "North4G"
    CENTRAL_4G = "Central4G"
    SOUTH_4G = "South4G"


SMETS_VERSIONS = ("SMETS1", "SMETS2", "CHTS")


class StatusEvent(StrEnum):
    """What moves a device along the SMI status workflow, in DUIS's and SMI's words.

    * ``whitelisted``: a HAN device is added to its hub's device log (8.11 Update HAN Device
      Log), so the hub will let it join; ``removed_from_device_log`` is the way back to stock.
    * ``installed``: the device is fitted at the premises but not yet commissioned.
    * ``commissioned``: the device is commissioned into the DCC's service (8.1.1 Commission
      Device for a meter, or the hub's own commissioning).
    * ``suspended`` / ``restored``: the device is taken out of service while it stays fitted (a
      security or SMETS1 migration hold), then put back.
    * ``recovery_started`` / ``recovered``: the SMKI recovery procedure replaces a compromised
      device's credentials; a recovered device is commissioned again when its supplier is back
      in control (``recommissioned``).
    * ``8.3``: Decommission Device, the device leaves service for good.
    * ``withdrawn``: a device never commissioned is taken out of the inventory.
    * ``8.14.1`` Communications Hub Status Update - Install Success, "install and commission":
      the installer reports the hub fitted with its SM WAN working, and the DCC commissions it in
      the same step. There is no separate commissioning request for a hub (8.1.1 commissions the
      HAN devices that join it), so a hub goes from stock (``Pending``) straight to
      ``Commissioned``, or from ``InstalledNotCommissioned`` when the SM WAN arrives later.
    * ``8.14.2`` Install No SM WAN, "install and leave": the hub is fitted but cannot reach the
      DCC yet, so it is ``InstalledNotCommissioned``; it may be reported again while it is so
      (moved to another meter point before it is commissioned), which leaves its status as is.
    * ``8.14.3`` Fault Return and ``8.14.4`` No Fault Return: the hub goes back to the DCC from
      wherever it is, in stock or off a wall, and is ``Withdrawn``; a hub already withdrawn is
      already at the DCC and cannot be returned again (SECMP0039 returns notification).
    * ``8.4`` Update Inventory: a user corrects a device's SMI status to one DUIS allows (a
      device other than a hub to ``Pending`` or ``InstalledNotCommissioned``; a hub to
      ``Commissioned``, ``Withdrawn`` or ``InstalledNotCommissioned``), along the same lifecycle
      moves a person could record; ``8.4 delete`` (DeleteDevice) withdraws a device never
      installed.
    """

    WHITELISTED = "whitelisted"
    REMOVED_FROM_DEVICE_LOG = "removed_from_device_log"
    INSTALLED = "installed"
    COMMISSIONED = "commissioned"
    SUSPENDED = "suspended"
    RESTORED = "restored"
    RECOVERY_STARTED = "recovery_started"
    RECOVERED = "recovered"
    RECOMMISSIONED = "recommissioned"
    DECOMMISSIONED = "8.3"
    WITHDRAWN = "withdrawn"
    INSTALL_AND_COMMISSION = "8.14.1"
    INSTALL_AND_LEAVE = "8.14.2"
    FAULT_RETURN = "8.14.3"
    NO_FAULT_RETURN = "8.14.4"
    UPDATE_INVENTORY = "8.4"
    DELETE_FROM_INVENTORY = "8.4 delete"


@dataclass(frozen=True)
class Transition:
    """One row of the workflow: ``event`` moves a device in any of ``from_statuses`` to ``to``."""

    event: StatusEvent
    from_statuses: frozenset[DeviceStatus]
    to: DeviceStatus


def _row(event: StatusEvent, from_statuses: set[DeviceStatus], to: DeviceStatus) -> Transition:
    return Transition(event, frozenset(from_statuses), to)


S = DeviceStatus
V = StatusEvent
_ANY_BUT_WITHDRAWN = set(DeviceStatus) - {S.WITHDRAWN}

#: The whole status workflow in one place: every status move any interface may make is a row
#: here, and ``inventory.service.transition`` is the one function that makes it.
WORKFLOW: tuple[Transition, ...] = (
    _row(V.WHITELISTED, {S.PENDING}, S.WHITELISTED),
    _row(V.REMOVED_FROM_DEVICE_LOG, {S.WHITELISTED}, S.PENDING),
    _row(V.INSTALLED, {S.PENDING, S.WHITELISTED}, S.INSTALLED_NOT_COMMISSIONED),
    _row(V.COMMISSIONED, {S.INSTALLED_NOT_COMMISSIONED}, S.COMMISSIONED),
    _row(V.SUSPENDED, {S.COMMISSIONED}, S.SUSPENDED),
    _row(V.RESTORED, {S.SUSPENDED}, S.COMMISSIONED),
    _row(V.RECOVERY_STARTED, {S.COMMISSIONED}, S.RECOVERY),
    _row(V.RECOVERED, {S.RECOVERY}, S.RECOVERED),
    _row(V.RECOMMISSIONED, {S.RECOVERY, S.RECOVERED}, S.COMMISSIONED),
    _row(
        V.DECOMMISSIONED,
        {S.INSTALLED_NOT_COMMISSIONED, S.COMMISSIONED, S.SUSPENDED, S.RECOVERED},
        S.DECOMMISSIONED,
    ),
    _row(V.WITHDRAWN, {S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED}, S.WITHDRAWN),
    _row(
        V.INSTALL_AND_COMMISSION,
        {S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED},
        S.COMMISSIONED,
    ),
    _row(
        V.INSTALL_AND_LEAVE,
        {S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED},
        S.INSTALLED_NOT_COMMISSIONED,
    ),
    _row(V.FAULT_RETURN, _ANY_BUT_WITHDRAWN, S.WITHDRAWN),
    _row(V.NO_FAULT_RETURN, _ANY_BUT_WITHDRAWN, S.WITHDRAWN),
    _row(V.UPDATE_INVENTORY, {S.WHITELISTED}, S.PENDING),
    _row(V.UPDATE_INVENTORY, {S.PENDING, S.WHITELISTED}, S.INSTALLED_NOT_COMMISSIONED),
    _row(V.UPDATE_INVENTORY, {S.INSTALLED_NOT_COMMISSIONED}, S.COMMISSIONED),
    _row(V.UPDATE_INVENTORY, {S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED}, S.WITHDRAWN),
    _row(V.DELETE_FROM_INVENTORY, {S.PENDING, S.WHITELISTED}, S.WITHDRAWN),
)

#: The moves a person records by naming the status a device goes to (the API's and the portal's
#: status change): the device lifecycle, without the SRVs, which carry effects of their own.
LIFECYCLE_EVENTS = frozenset(
    {
        V.WHITELISTED,
        V.REMOVED_FROM_DEVICE_LOG,
        V.INSTALLED,
        V.COMMISSIONED,
        V.SUSPENDED,
        V.RESTORED,
        V.RECOVERY_STARTED,
        V.RECOVERED,
        V.RECOMMISSIONED,
        V.DECOMMISSIONED,
        V.WITHDRAWN,
    }
)


def find_transition(
    events: Iterable[StatusEvent], current: DeviceStatus, to: DeviceStatus | None = None
) -> Transition | None:
    """The row by which one of ``events`` moves a device from ``current`` (to ``to``, when the
    event may lead to several statuses), or None when the workflow has no such move."""
    wanted = frozenset(events)
    for row in WORKFLOW:
        if row.event in wanted and current in row.from_statuses and to in (None, row.to):
            return row
    return None


def statuses_after(events: Iterable[StatusEvent], current: DeviceStatus) -> frozenset[DeviceStatus]:
    """Where ``events`` may take a device now ``current``: for the refusal's message."""
    wanted = frozenset(events)
    return frozenset(
        row.to for row in WORKFLOW if row.event in wanted and current in row.from_statuses
    )


E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], value: str, what: str) -> E:
    """``kind(value)``, or an InvalidInput naming the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        code = "bad_" + what.replace(" ", "_")
        raise InvalidInput(f"unknown {what} {value!r}; one of {allowed}", code=code) from None
