"""A deterministic synthetic GB smart-metering estate, shaped like the real market.

What makes it look like Great Britain:

* the **14 distribution areas** with their distributor IDs 10-23 (the first two digits of every
  MPAN), each served by one of six distribution network operator groups, each in one of the
  three CSP regions (North: Scotland and northern England; Central: Midlands, Wales, East;
  South: London and the south), with 4G hubs among the newest installs;
* tens of suppliers with a **long-tailed market**: Zipf-like shares, so a handful hold most
  meter points and many hold very few; the larger ones also supply gas through a shipper
  affiliate, small gas suppliers through independent shippers;
* gas on four distribution networks and a share on independent gas transporters (IGTs);
* meter points that **changed supplier** over the years: each a chain of registration periods,
  each closing the day before the next starts;
* premises kit: a Communications Hub (held by the supplier that installed it), an electricity
  meter, for dual fuel a gas meter and the hub's gas proxy, an in-home display, some prepayment
  displays and load switches; SMETS1 for older installs, a handful of makes per device type with
  the newest firmware the most common, and a few per cent of stock hubs still ``Pending``.

Everything here is a pure function of ``(seed, devices, as_of)``: ``random.Random`` instances
seeded from those, never global randomness or the clock, so the same seed gives the same rows.
All names are invented; none is a real company.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from meterhub.kit.ids import make_mpan
from meterhub.parties.roles import PartyKind, Role
from meterhub.registration.fuels import Fuel

OPERATOR_CODE = "DCC"
RECCO_CODE = "RECCO"

# ---------------------------------------------------------------- geography and networks


@dataclass(frozen=True)
class DistributionArea:
    """A GB electricity distribution area: ``distributor_id`` starts every MPAN in it."""

    distributor_id: int
    name: str
    network_operator: str
    csp_region: str
    gas_network: str
    meter_points_millions: float
    dual_fuel_share: float
    postcode_areas: tuple[str, ...]


@dataclass(frozen=True)
class NetworkOperatorGroup:
    code: str
    name: str


DNO_GROUPS = (
    NetworkOperatorGroup("EAPN", "Eastern & Capital Power Networks (demo)"),
    NetworkOperatorGroup("MWDN", "Midlands & Western Distribution (demo)"),
    NetworkOperatorGroup("CMPN", "Caledonia & Mersey Power Networks (demo)"),
    NetworkOperatorGroup("NPGR", "Northern Powerlines Group (demo)"),
    NetworkOperatorGroup("NWEN", "North West Electricity Networks (demo)"),
    NetworkOperatorGroup("HSEN", "Highland & Southern Electric Networks (demo)"),
)

GAS_NETWORKS = (
    NetworkOperatorGroup("CGDN", "Central Gas Distribution (demo)"),
    NetworkOperatorGroup("NGTN", "Northern Gas Transport Networks (demo)"),
    NetworkOperatorGroup("SCGN", "Scotia & Southern Gas Networks (demo)"),
    NetworkOperatorGroup("WWGN", "Wales & West Gas Networks (demo)"),
)

INDEPENDENT_GAS_TRANSPORTERS = (
    NetworkOperatorGroup("IPLG", "Independent Pipelines (demo)"),
    NetworkOperatorGroup("GFGT", "Greenfield Gas Transporters (demo)"),
    NetworkOperatorGroup("MUNG", "Meridian Utility Networks (demo)"),
    NetworkOperatorGroup("HGPL", "Harbour Gas Pipelines (demo)"),
    NetworkOperatorGroup("BKSN", "Brookside Networks (demo)"),
    NetworkOperatorGroup("FGCN", "Fenland Gas Connections (demo)"),
)
IGT_SHARE_OF_GAS = 0.08

DISTRIBUTION_AREAS = (
    DistributionArea(10, "Eastern", "EAPN", "Central", "CGDN", 3.6, 0.62,
                     ("CB", "CM", "CO", "IP", "NR", "PE", "SG", "LU", "AL", "MK")),
    DistributionArea(11, "East Midlands", "MWDN", "Central", "CGDN", 2.6, 0.70,
                     ("DE", "LE", "NG", "NN", "LN")),
    DistributionArea(12, "London", "EAPN", "South", "CGDN", 2.4, 0.66,
                     ("E", "EC", "N", "NW", "SE", "SW", "W", "WC")),
    DistributionArea(13, "Merseyside and North Wales", "CMPN", "North", "CGDN", 1.5, 0.64,
                     ("L", "CH", "LL", "WA")),
    DistributionArea(14, "West Midlands", "MWDN", "Central", "CGDN", 2.5, 0.70,
                     ("B", "CV", "DY", "WS", "WV", "ST", "TF", "WR")),
    DistributionArea(15, "North Eastern", "NPGR", "North", "NGTN", 1.6, 0.72,
                     ("NE", "DH", "SR", "TS", "DL")),
    DistributionArea(16, "North Western", "NWEN", "North", "CGDN", 2.4, 0.71,
                     ("M", "BL", "OL", "PR", "BB", "LA", "CA", "WN", "SK")),
    DistributionArea(17, "North of Scotland", "HSEN", "North", "SCGN", 0.8, 0.38,
                     ("AB", "IV", "PH", "DD", "KW", "HS", "ZE")),
    DistributionArea(18, "South of Scotland", "CMPN", "North", "SCGN", 2.0, 0.66,
                     ("G", "EH", "KA", "ML", "PA", "FK", "KY", "DG", "TD")),
    DistributionArea(19, "South Eastern", "EAPN", "South", "SCGN", 2.3, 0.60,
                     ("BN", "CT", "ME", "TN", "RH", "DA")),
    DistributionArea(20, "Southern", "HSEN", "South", "SCGN", 3.0, 0.61,
                     ("SO", "PO", "RG", "OX", "GU", "SL", "BH", "SP")),
    DistributionArea(21, "South Wales", "MWDN", "Central", "WWGN", 1.1, 0.65,
                     ("CF", "SA", "NP", "LD")),
    DistributionArea(22, "South Western", "MWDN", "South", "WWGN", 1.6, 0.55,
                     ("BS", "EX", "PL", "TQ", "TR", "TA", "BA")),
    DistributionArea(23, "Yorkshire", "NPGR", "North", "NGTN", 2.3, 0.72,
                     ("LS", "BD", "HD", "HX", "HG", "HU", "S", "DN", "WF", "YO")),
)  # fmt: skip

# ---------------------------------------------------------------- the device catalogue


@dataclass(frozen=True)
class Make:
    """A manufacturer's line of one device type: models (most sold first), each with firmware
    versions newest first, and how common the make is in each CSP region (North, Central,
    South; the 4G regions use the 4G makes)."""

    manufacturer: str
    oui: str
    models: tuple[tuple[str, tuple[str, ...]], ...]
    regions: Mapping[str, float]


_ALL3 = {"North": 1.0, "Central": 1.0, "South": 1.0}
_4G = {"North4G": 1.0, "Central4G": 1.0, "South4G": 1.0}

# Keyed by (device type, generation). Generation is SMETS1 or SMETS2 (the hub of a SMETS2 install
# is CHTS). GPFs are part of the hub and copy its make, model and firmware.
CATALOGUE: Mapping[tuple[str, str], tuple[Make, ...]] = {
    ("CHF", "SMETS2"): (
        Make("Northwave Telemetry", "70-B3-D5",
             (("NWH-200", ("3.2.1", "3.1.4", "3.0.9", "2.8.2")), ("NWH-210", ("1.4.0", "1.3.2"))),
             {"North": 1.0}),
        Make("Meridian Comms", "58-8E-81",
             (("MCH-S2", ("5.0.3", "4.9.1", "4.7.0")), ("MCH-S2D", ("2.1.0", "2.0.5", "1.9.8"))),
             {"Central": 1.0, "South": 1.0}),
        Make("Kestrel Networks", "A4-7E-39",
             (("K4G-100", ("1.2.0", "1.1.3", "1.0.8")), ("K4G-110", ("0.9.4", "0.9.1"))),
             {"North4G": 1.0, "Central4G": 0.6, "South4G": 0.6}),
        Make("Meridian Comms", "58-8E-81",
             (("MCH-4G", ("1.3.1", "1.2.2", "1.1.0")),),
             {"Central4G": 0.4, "South4G": 0.4}),
    ),
    ("CHF", "SMETS1"): (
        Make("Legacy Link Systems", "00-13-50",
             (("LLS-GW1", ("6.1", "6.0", "5.8")), ("LLS-GW2", ("2.3", "2.1"))), _ALL3),
        Make("Archer Metering", "D0-52-A8", (("AMG-1", ("2.4", "2.2", "2.0")),), _ALL3),
    ),
    ("ESME", "SMETS2"): (
        Make("Albion Meters", "00-DB-12",
             (("ALB-E2", ("4.1.0", "4.0.2", "3.9.7", "3.8.1")), ("ALB-E1", ("2.7.3", "2.6.0")),
              ("ALB-E3P", ("1.5.2", "1.4.9"))),
             {"North": 1.0, "Central": 1.4, "South": 1.2}),
        Make("Severn Instruments", "3C-2D-B7",
             (("SV-230", ("7.2.0", "7.1.1", "7.0.4")), ("SV-210", ("5.9.3", "5.8.8"))),
             {"North": 0.6, "Central": 1.0, "South": 1.3}),
        Make("Hallam Electric", "84-F1-2A",
             (("HE-S2B", ("2.0.1", "1.9.6", "1.9.0")), ("HE-S2A", ("1.6.4", "1.6.1"))),
             {"North": 1.3, "Central": 0.8, "South": 0.5}),
        Make("Coriander Metering", "10-4F-C2", (("CM-1000", ("3.3.0", "3.2.5", "3.1.2")),),
             {"North": 0.4, "Central": 0.5, "South": 0.7}),
        Make("Pennine Smart", "6C-A1-9E",
             (("PS-E6", ("1.1.0", "1.0.7")), ("PS-E5", ("0.9.12", "0.9.10", "0.9.4"))),
             {"North": 0.7, "Central": 0.3, "South": 0.2}),
    ),
    ("ESME", "SMETS1"): (
        Make("Legacy Link Systems", "00-13-50", (("LLS-E1", ("3.4", "3.3", "3.1")),), _ALL3),
        Make("Archer Metering", "D0-52-A8", (("AM-E10", ("1.9", "1.8")),), _ALL3),
        Make("Fenwick Controls", "2C-95-6D", (("FC-S1", ("4.02", "4.00", "3.95")),),
             {"North": 0.5, "Central": 1.0, "South": 1.0}),
    ),
    ("GSME", "SMETS2"): (
        Make("Albion Meters", "00-DB-12",
             (("ALB-G2", ("3.0.4", "2.9.9", "2.9.1")), ("ALB-G1", ("1.8.0", "1.7.5"))),
             {"North": 1.0, "Central": 1.2, "South": 1.2}),
        Make("Vale Gas Meters", "F4-8C-50",
             (("VG-260", ("6.5.1", "6.4.0", "6.2.3")), ("VG-250", ("5.1.7", "5.0.9"))), _ALL3),
        Make("Hallam Electric", "84-F1-2A", (("HE-G4", ("1.3.2", "1.3.0", "1.2.5")),),
             {"North": 1.2, "Central": 0.6, "South": 0.4}),
        Make("Quill Flow", "B8-27-EB", (("QF-1", ("0.8.3", "0.8.1")),),
             {"North": 0.3, "Central": 0.4, "South": 0.5}),
    ),
    ("GSME", "SMETS1"): (
        Make("Legacy Link Systems", "00-13-50", (("LLS-G1", ("2.2", "2.1")),), _ALL3),
        Make("Archer Metering", "D0-52-A8", (("AM-G4", ("1.5", "1.4", "1.2")),), _ALL3),
    ),
    ("IHD", "SMETS2"): (
        Make("Glowbox Displays", "E8-6A-64",
             (("GB-8", ("2.6.0", "2.5.3", "2.4.1")), ("GB-7", ("1.9.2", "1.9.0"))),
             {"North": 1.0, "Central": 1.3, "South": 1.3}),
        Make("Lumen Home", "40-B0-76",
             (("LH-IHD4", ("4.0.2", "3.9.5")), ("LH-IHD3", ("3.2.7", "3.2.1", "3.1.0"))), _ALL3),
        Make("Tally Devices", "CC-50-E3", (("TD-100", ("1.0.3", "1.0.1")),),
             {"North": 0.8, "Central": 0.5, "South": 0.5}),
        Make("Geode Displays", "9C-8E-99", (("GD-2", ("5.5", "5.4", "5.2")),),
             {"North": 0.3, "Central": 0.4, "South": 0.6}),
    ),
    ("PPMID", "SMETS2"): (
        Make("Glowbox Displays", "E8-6A-64", (("GB-PP1", ("1.4.0", "1.3.8", "1.3.2")),), _ALL3),
        Make("Tally Devices", "CC-50-E3", (("TD-PAY", ("2.0.0", "1.9.4")),), _ALL3),
        Make("Prepay Tech", "5C-CF-7F", (("PT-20", ("3.1.1", "3.0.6", "2.9.9")),),
             {"North": 0.5, "Central": 1.0, "South": 1.0}),
    ),
    ("HCALCS", "SMETS2"): (
        Make("Switchgear Home", "14-D1-1F", (("SH-ALCS", ("1.2.0", "1.1.4")),), _ALL3),
        Make("Pennine Smart", "6C-A1-9E", (("PS-HC1", ("0.7.2", "0.7.0")),),
             {"North": 1.0, "Central": 0.4, "South": 0.3}),
    ),
}  # fmt: skip

CSP_REGIONS = ("North", "Central", "South", "North4G", "Central4G", "South4G")
_MODEL_WEIGHTS = (0.6, 0.3, 0.1)
_FIRMWARE_WEIGHTS = (0.55, 0.25, 0.12, 0.08)  # newest first: most of the fleet is upgraded


@dataclass(frozen=True)
class DeviceKind:
    """One drawable (make, model, firmware) of a device type, with its EUI-64 prefix."""

    manufacturer: str
    model: str
    firmware_version: str
    oui: str


def _kinds_for(
    device_type: str, generation: str, region: str
) -> tuple[list[DeviceKind], list[float]]:
    """Every (make, model, firmware) of a type in a region, with cumulative weights for bisect."""
    base = region.removesuffix("4G")
    kinds: list[DeviceKind] = []
    weights: list[float] = []
    for make in CATALOGUE[(device_type, generation)]:
        make_weight = make.regions.get(region, make.regions.get(base, 0.0))
        if region.endswith("4G") and device_type == "CHF" and generation == "SMETS2":
            make_weight = make.regions.get(region, 0.0)  # a 4G hub is a 4G model
        if make_weight <= 0:
            continue
        for m_i, (model, firmwares) in enumerate(make.models):
            fw_weights = _FIRMWARE_WEIGHTS[: len(firmwares)]
            fw_total = sum(fw_weights)
            for f_i, firmware in enumerate(firmwares):
                kinds.append(DeviceKind(make.manufacturer, model, firmware, make.oui))
                weights.append(make_weight * _MODEL_WEIGHTS[m_i] * fw_weights[f_i] / fw_total)
    return kinds, list(accumulate(weights))


# ---------------------------------------------------------------- parties

_SUPPLIER_NAMES = (
    "Brightwater", "Kestrel", "Halcyon", "Northlight", "Saltire", "Meadowbank", "Copperleaf",
    "Ironbridge", "Silverbirch", "Larkspur", "Bluebell", "Thistledown", "Harbourside", "Oakfield",
    "Riverbend", "Summit", "Foxglove", "Heron", "Westwind", "Amberline", "Puffin", "Cobalt",
    "Juniper", "Granite", "Lantern", "Marigold", "Orchard", "Pebble", "Quayside", "Rowan",
    "Skylark", "Tidal", "Umber", "Valley", "Willow", "Yarrow", "Zephyr", "Beacon", "Chalkhill",
    "Dovecote",
)  # fmt: skip
_SUPPLIER_SUFFIXES = ("Energy", "Power", "Energy Supply", "Home Energy", "Utilities", "Power & Gas")
_AGENT_NAMES = (
    "Metrix", "Fieldcraft", "Installwise", "Gauge", "Calibre", "Voltline", "Meterforce",
    "Proserve", "Tradewell", "Linkup", "Swiftfit", "Arclight", "Boltons", "Crestway", "Dynamo",
    "Eddystone", "Fulcrum", "Gridwise", "Hexham", "Inchcape", "Jetstream", "Kingsway", "Lodestar",
    "Mainline", "Nimbus", "Outpost", "Paragon", "Quadrant", "Redline", "Sentinel", "Trident",
    "Unity", "Vantage", "Wayfarer",
)  # fmt: skip
_AGENT_SUFFIXES = (
    "Metering Services", "Smart Installations", "Meter Services", "Field Services",
    "Energy Services",
)  # fmt: skip
_INDEPENDENT_SHIPPERS = (
    ("NSGT", "Northsea Gas Trading (demo)"),
    ("ALGS", "Albion Gas Shipping (demo)"),
    ("PENT", "Pennant Energy Trading (demo)"),
)

SUPPLIER_COUNT = 34
AGENT_COUNT = 30
SHIPPER_AFFILIATES = 6  # the largest gas suppliers ship through their own affiliate


@dataclass(frozen=True)
class PartyPlan:
    """A party the estate needs: who it is and what it may act as. ``market_share`` is the
    supplier's share of meter points; ``shipper`` the code of the shipper its gas goes through."""

    code: str
    name: str
    kind: str
    roles: tuple[str, ...]
    market_share: float = 0.0
    shipper: str | None = None


@dataclass(frozen=True)
class AppointmentPlan:
    supplier: str
    agent: str
    valid_from: date
    valid_to: date | None


# ---------------------------------------------------------------- the rows

# Rows in the column order of each owner's bulk load: registration's
# ``METER_POINT_COLUMNS`` and ``REGISTRATION_COLUMNS``, inventory's ``DEVICE_COLUMNS`` and
# ``DEVICE_HISTORY_COLUMNS``.
Row = tuple[Any, ...]


@dataclass
class RowBatch:
    """Rows for a run of premises, in an order that satisfies the foreign keys when written
    table by table: meter points, registrations, devices (each hub before its meters), history."""

    meter_points: list[Row] = field(default_factory=list)
    registrations: list[Row] = field(default_factory=list)
    devices: list[Row] = field(default_factory=list)
    device_history: list[Row] = field(default_factory=list)
    premises: int = 0


def _identity(value: Any) -> Any:
    return value


# Installs and switching behaviour.
SMETS1_UNTIL = date(2018, 12, 5)  # SMETS1 installs stopped around the end of 2018
SMETS1_SHARE_BEFORE = 0.8
FIRST_INSTALL = date(2013, 6, 1)
FOURG_FROM = date(2023, 3, 1)
FOURG_SHARE = 0.45
MEAN_YEARS_BETWEEN_SWITCHES = 4.2
STOCK_HUB_SHARE = 0.02
PPMID_SHARE = 0.14
HCALCS_SHARE = 0.02
# Premises status: all Commissioned, installed but not commissioned, meters suspended, all
# decommissioned (the cumulative thresholds of one draw).
_STATUS_THRESHOLDS = (0.925, 0.955, 0.975)
_FIRST_INSTALL = FIRST_INSTALL.toordinal()
_SMETS1_UNTIL = SMETS1_UNTIL.toordinal()
_FOURG_FROM = FOURG_FROM.toordinal()
_LOW_OCTETS = tuple(f"{i >> 8:02X}-{i & 0xFF:02X}" for i in range(1 << 16))


class Estate:
    """The plan of a synthetic estate of about ``devices`` devices, as of ``as_of``.

    ``parties`` and ``appointments`` are small and loaded through the parties service;
    ``rows`` streams the bulk tables for a fast loader, given the database ids of the parties.
    """

    def __init__(self, *, seed: int, devices: int, as_of: date) -> None:
        self.seed = seed
        self.devices = devices
        self.as_of = as_of
        self.parties, self.appointments = self._plan_parties()

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"meterhub-estate:{self.seed}:{stream}")

    # ------------------------------------------------------------ parties

    def _plan_parties(self) -> tuple[tuple[PartyPlan, ...], tuple[AppointmentPlan, ...]]:
        rng = self._rng("parties")
        plans = [
            PartyPlan(OPERATOR_CODE, "Data Communications Company (demo hub operator)",
                      PartyKind.OPERATOR, (Role.OPERATOR,)),
            PartyPlan(RECCO_CODE, "Retail Energy Code Company (demo)", PartyKind.RECCO,
                      (Role.RECCO,)),
        ]  # fmt: skip
        plans += [
            PartyPlan(g.code, g.name, PartyKind.NETWORK_OPERATOR, (Role.ELECTRICITY_DISTRIBUTOR,))
            for g in DNO_GROUPS
        ]
        plans += [
            PartyPlan(g.code, g.name, PartyKind.GAS_TRANSPORTER, (Role.GAS_TRANSPORTER, Role.DN))
            for g in GAS_NETWORKS
        ]
        plans += [
            PartyPlan(g.code, g.name, PartyKind.GAS_TRANSPORTER, (Role.GAS_TRANSPORTER, Role.IGT))
            for g in INDEPENDENT_GAS_TRANSPORTERS
        ]

        # Zipf-like shares with a little noise: a few big suppliers, a long tail of small ones.
        raw = sorted(
            (rng.lognormvariate(0.0, 0.25) / (rank**1.15) for rank in range(1, SUPPLIER_COUNT + 1)),
            reverse=True,
        )
        total = sum(raw)
        names = rng.sample(_SUPPLIER_NAMES, SUPPLIER_COUNT)
        suppliers: list[PartyPlan] = []
        shippers: list[PartyPlan] = []
        gas_ranks = 0
        for rank, (stem, weight) in enumerate(zip(names, raw, strict=True)):
            big = rank < 8
            roles: list[str] = [Role.IMPORT_SUPPLIER]
            gas = big or rng.random() < 0.6
            if (rank < 5 or rng.random() < 0.35) if big else rng.random() < 0.25:
                roles.append(Role.EXPORT_SUPPLIER)
            shipper: str | None = None
            if gas:
                roles.append(Role.GAS_SUPPLIER)
                if gas_ranks < SHIPPER_AFFILIATES:
                    shipper = stem[:4].upper() + "SH"
                    shippers.append(
                        PartyPlan(shipper, f"{stem} Gas Shipping (demo)", PartyKind.SHIPPER,
                                  (Role.SHIPPER,))
                    )  # fmt: skip
                else:
                    shipper = rng.choice(_INDEPENDENT_SHIPPERS)[0]
                gas_ranks += 1
            suffix = rng.choice(_SUPPLIER_SUFFIXES if gas else _SUPPLIER_SUFFIXES[:-1])
            suppliers.append(
                PartyPlan(stem[:4].upper(), f"{stem} {suffix} (demo)", PartyKind.SUPPLIER,
                          tuple(roles), market_share=weight / total, shipper=shipper)
            )  # fmt: skip
        plans += shippers
        plans += [
            PartyPlan(code, name, PartyKind.SHIPPER, (Role.SHIPPER,))
            for code, name in _INDEPENDENT_SHIPPERS
        ]
        plans += suppliers

        agents = [
            PartyPlan(stem[:4].upper(), f"{stem} {rng.choice(_AGENT_SUFFIXES)} (demo)",
                      PartyKind.AGENT, (Role.REGISTERED_SUPPLIER_AGENT,))
            for stem in rng.sample(_AGENT_NAMES, AGENT_COUNT)
        ]  # fmt: skip
        plans += agents

        appointments: list[AppointmentPlan] = []
        appointed: set[str] = set()
        for supplier in suppliers:
            count = 1 + min(4, int(supplier.market_share * 20))
            for agent in rng.sample(agents, count):
                appointments.append(self._appointment(rng, supplier.code, agent.code))
                appointed.add(agent.code)
        for agent in agents:
            if agent.code not in appointed:
                supplier = rng.choice(suppliers[len(suppliers) // 2 :])
                appointments.append(self._appointment(rng, supplier.code, agent.code))
        return tuple(plans), tuple(appointments)

    def _appointment(self, rng: random.Random, supplier: str, agent: str) -> AppointmentPlan:
        """An appointment that started in the past; about a quarter have already ended."""
        valid_from = self.as_of - timedelta(days=rng.randint(90, 3000))
        valid_to = None
        if rng.random() < 0.25:
            valid_to = valid_from + timedelta(
                days=rng.randint(30, (self.as_of - valid_from).days - 1)
            )
        return AppointmentPlan(supplier, agent, valid_from, valid_to)

    @property
    def suppliers(self) -> list[PartyPlan]:
        return [p for p in self.parties if p.kind == PartyKind.SUPPLIER]

    # ------------------------------------------------------------ bulk rows

    def rows(
        self,
        party_ids: Mapping[str, int],
        *,
        actor: str = "system",
        batch_devices: int = 25_000,
        encode_day: Callable[[date], Any] = _identity,
        encode_instant: Callable[[datetime], Any] = _identity,
    ) -> Iterator[RowBatch]:
        """Stream the estate's premises and stock hubs in batches of about ``batch_devices``.

        ``encode_day`` and ``encode_instant`` turn dates and UTC timestamps into what the loader
        writes (a driver that takes ``date`` objects, or SQLite's text form); each distinct
        value is encoded once.
        """
        return _RowMaker(self, party_ids, actor, batch_devices, encode_day, encode_instant).run()


class _RowMaker:
    """The tight loop behind ``Estate.rows``: one premises at a time, draws by bisect."""

    def __init__(
        self,
        estate: Estate,
        party_ids: Mapping[str, int],
        actor: str,
        batch_devices: int,
        encode_day: Callable[[date], Any],
        encode_instant: Callable[[datetime], Any],
    ) -> None:
        self.estate = estate
        self.rng = estate._rng("premises")
        self.ids = party_ids
        self.actor = actor
        self.reason = f"added to inventory (synthetic estate, seed {estate.seed})"
        self.batch_devices = batch_devices
        self._encode_day = encode_day
        self._encode_instant = encode_instant
        self._days: dict[int, Any] = {}
        self._instants: dict[tuple[int, int], Any] = {}
        self.as_of = estate.as_of.toordinal()

        self.areas = DISTRIBUTION_AREAS
        self.area_cw = list(accumulate(a.meter_points_millions for a in self.areas))
        suppliers = estate.suppliers
        self.supplier_ids = [party_ids[s.code] for s in suppliers]
        self.supplier_shipper = [party_ids[s.shipper] if s.shipper else None for s in suppliers]
        self.all_pool = list(range(len(suppliers)))
        self.all_cw = list(accumulate(s.market_share for s in suppliers))
        self.gas_pool = [i for i, s in enumerate(suppliers) if Role.GAS_SUPPLIER in s.roles]
        self.gas_cw = list(accumulate(suppliers[i].market_share for i in self.gas_pool))
        self.igt_ids = [party_ids[g.code] for g in INDEPENDENT_GAS_TRANSPORTERS]

        # Serials per EUI-64 prefix, per area for MPANs, one run for MPRNs: unique and ascending.
        rng = self.rng
        self.serials: dict[str, int] = {}
        for makes in CATALOGUE.values():
            for make in makes:
                self.serials.setdefault(make.oui, rng.randrange(1 << 24, 1 << 36))
        self.mpan_serial = {a.distributor_id: rng.randrange(10**8, 4 * 10**9) for a in self.areas}
        self.mprn_serial = rng.randrange(10**9, 5 * 10**9)
        self._prefixes: dict[tuple[str, int], str] = {}
        self.kinds: dict[tuple[str, str, str], tuple[list[DeviceKind], list[float]]] = {}
        for device_type, generation in CATALOGUE:
            for region in CSP_REGIONS:
                if generation == "SMETS1" and region.endswith("4G"):
                    continue
                self.kinds[(device_type, generation, region)] = _kinds_for(
                    device_type, generation, region
                )

    # helpers ------------------------------------------------------------

    def day(self, ordinal: int) -> Any:
        value = self._days.get(ordinal)
        if value is None:
            value = self._days[ordinal] = self._encode_day(date.fromordinal(ordinal))
        return value

    def instant(self, ordinal: int, hour: int) -> Any:
        key = (ordinal, hour)
        value = self._instants.get(key)
        if value is None:
            at = datetime.combine(date.fromordinal(ordinal), time(hour), tzinfo=UTC)
            value = self._instants[key] = self._encode_instant(at)
        return value

    def draw(self, device_type: str, generation: str, region: str) -> DeviceKind:
        kinds, cw = self.kinds[(device_type, generation, region)]
        return kinds[bisect(cw, self.rng.random() * cw[-1])]

    def device_id(self, oui: str) -> str:
        serial = self.serials[oui] + 1
        self.serials[oui] = serial
        high = serial >> 16
        prefix = self._prefixes.get((oui, high))
        if prefix is None:
            h = f"{high:06X}"
            prefix = self._prefixes[(oui, high)] = f"{oui}-{h[0:2]}-{h[2:4]}-{h[4:6]}-"
        return prefix + _LOW_OCTETS[serial & 0xFFFF]

    def supplier(self, pool: Sequence[int], cw: Sequence[float]) -> int:
        return pool[bisect(cw, self.rng.random() * cw[-1])]

    # the loop ------------------------------------------------------------

    def run(self) -> Iterator[RowBatch]:
        target = self.estate.devices
        stock = round(target * STOCK_HUB_SHARE)
        made = 0
        batch = RowBatch()
        while made < target - stock:
            made += self.premises(batch)
            if len(batch.devices) >= self.batch_devices:
                yield batch
                batch = RowBatch()
        for _ in range(max(0, target - made)):
            self.stock_hub(batch)
            if len(batch.devices) >= self.batch_devices:
                yield batch
                batch = RowBatch()
        if batch.devices or batch.meter_points:
            yield batch

    def premises(self, batch: RowBatch) -> int:
        """One home: its meter points, their registration history, and its devices."""
        rng = self.rng
        r = rng.random
        area = self.areas[bisect(self.area_cw, r() * self.area_cw[-1])]
        dual = r() < area.dual_fuel_share
        pool, cw = (self.gas_pool, self.gas_cw) if dual else (self.all_pool, self.all_cw)
        postcode = area.postcode_areas[int(r() * len(area.postcode_areas))]

        # Registration history: since some day in the last twelve years, switching now and then.
        since = self.as_of - 200 - int(r() * 4200)
        chain = [(since, self.supplier(pool, cw))]
        at = since
        while True:
            at += max(28, int(rng.expovariate(1.0 / (MEAN_YEARS_BETWEEN_SWITCHES * 365))))
            if at > self.as_of:
                break
            nxt = self.supplier(pool, cw)
            while nxt == chain[-1][1]:
                nxt = self.supplier(pool, cw)
            chain.append((at, nxt))

        # Installed some time after the meter point was first registered, most of it recently.
        lo = max(since, _FIRST_INSTALL)
        hi = self.as_of - 3
        installed = hi - int((hi - lo) * r() ** 1.6) if hi > lo else hi
        generation = "SMETS2"
        if installed < _SMETS1_UNTIL and r() < SMETS1_SHARE_BEFORE:
            generation = "SMETS1"
        installer = chain[0][1]
        for start, supplier_index in chain:
            if start <= installed:
                installer = supplier_index
        region = area.csp_region
        if generation == "SMETS2" and installed >= _FOURG_FROM and r() < FOURG_SHARE:
            region += "4G"

        x = r()
        if x < _STATUS_THRESHOLDS[0]:
            hub_status = meter_status = "Commissioned"
        elif x < _STATUS_THRESHOLDS[1]:
            hub_status = meter_status = "InstalledNotCommissioned"
        elif x < _STATUS_THRESHOLDS[2]:
            hub_status, meter_status = "Commissioned", "Suspended"
        else:
            hub_status = meter_status = "Decommissioned"

        # Meter points and registrations.
        serial = self.mpan_serial[area.distributor_id] + 1 + int(r() * 37)
        self.mpan_serial[area.distributor_id] = serial
        mpan = make_mpan(f"{area.distributor_id:02d}{serial:010d}")
        batch.meter_points.append((mpan, Fuel.ELECTRICITY.value, postcode))
        dno = self.ids[area.network_operator]
        ids = self.supplier_ids
        day = self.day
        for i, (start, s_index) in enumerate(chain):
            end = day(chain[i + 1][0] - 1) if i + 1 < len(chain) else None
            batch.registrations.append((mpan, ids[s_index], None, dno, day(start), end))
        mprn = None
        if dual:
            self.mprn_serial += 1 + int(r() * 23)
            mprn = str(self.mprn_serial)
            batch.meter_points.append((mprn, Fuel.GAS.value, postcode))
            network = self.ids[area.gas_network]
            if r() < IGT_SHARE_OF_GAS:
                network = self.igt_ids[int(r() * len(self.igt_ids))]
            ship = self.supplier_shipper
            for i, (start, s_index) in enumerate(chain):
                end = day(chain[i + 1][0] - 1) if i + 1 < len(chain) else None
                batch.registrations.append(
                    (mprn, ids[s_index], ship[s_index], network, day(start), end)
                )

        # Devices: the hub first (the meters name it), all stamped at the install.
        stamp = self.instant(installed, 8 + int(r() * 10))
        hub_kind = self.draw("CHF", generation, region)
        hub = self.device_id(hub_kind.oui)
        hub_version = "CHTS" if generation == "SMETS2" else "SMETS1"
        devices = batch.devices
        devices.append(
            (hub, "CHF", hub_kind.manufacturer, hub_kind.model, hub_kind.firmware_version,
             hub_version, region, hub_status, ids[installer], mpan, None, stamp, stamp)
        )  # fmt: skip
        self.meter(devices, "ESME", generation, region, meter_status, mpan, hub, stamp)
        if mprn is not None:
            self.meter(devices, "GSME", generation, region, meter_status, mprn, hub, stamp)
            devices.append(
                (self.device_id(hub_kind.oui), "GPF", hub_kind.manufacturer, hub_kind.model,
                 hub_kind.firmware_version, hub_version, region, hub_status, None, mprn, hub,
                 stamp, stamp)
            )  # fmt: skip
        type2 = hub_status
        self.meter(devices, "IHD", "SMETS2", region, type2, mpan, hub, stamp)
        if r() < PPMID_SHARE:
            self.meter(devices, "PPMID", "SMETS2", region, type2, mpan, hub, stamp)
        if r() < HCALCS_SHARE:
            self.meter(devices, "HCALCS", "SMETS2", region, type2, mpan, hub, stamp)
        count = len(devices) - len(batch.device_history)
        self.history(batch, count, stamp)
        batch.premises += 1
        return count

    def meter(
        self,
        devices: list[Row],
        device_type: str,
        generation: str,
        region: str,
        status: str,
        mpxn: str,
        hub: str,
        stamp: Any,
    ) -> None:
        kind = self.draw(device_type, generation, region.removesuffix("4G"))
        version = "SMETS1" if generation == "SMETS1" else "SMETS2"
        devices.append(
            (self.device_id(kind.oui), device_type, kind.manufacturer, kind.model,
             kind.firmware_version, version, region, status, None, mpxn, hub, stamp, stamp)
        )  # fmt: skip

    def history(self, batch: RowBatch, count: int, stamp: Any) -> None:
        """Each new device's first history row: it entered the inventory in its status."""
        for device in batch.devices[-count:]:
            batch.device_history.append(
                (device[0], stamp, "status", None, device[7], self.actor, self.reason)
            )

    def stock_hub(self, batch: RowBatch) -> None:
        """A hub a supplier ordered and holds in stock: no meter point yet, mostly ``Pending``."""
        r = self.rng.random
        owner = self.supplier_ids[self.supplier(self.all_pool, self.all_cw)]
        area = self.areas[bisect(self.area_cw, r() * self.area_cw[-1])]
        region = area.csp_region + ("4G" if r() < 0.5 else "")
        kind = self.draw("CHF", "SMETS2", region)
        status = "Withdrawn" if r() < 0.03 else "Pending"
        stamp = self.instant(self.as_of - 1 - int(r() * 300), 8 + int(r() * 10))
        batch.devices.append(
            (self.device_id(kind.oui), "CHF", kind.manufacturer, kind.model,
             kind.firmware_version, "CHTS", region, status, owner, None, None, stamp, stamp)
        )  # fmt: skip
        self.history(batch, 1, stamp)
