"""National-shaped DUIS traffic, simulated over the estate in the database, written to the lake.

What the traffic looks like (``TrafficSettings`` holds every share and rate):

* ``rate`` is the mean number of service requests a second over the whole simulated period.
* **Daily reads** (4.6.1, 4.8.1, 4.17, 4.14 ...) arrive mostly between 01:00 and 05:00 UTC, when
  suppliers schedule their overnight collection: the burst hours carry several times the rate.
* **On-demand traffic** (reads, top-ups, tariff and configuration changes, schedules, network
  operators' voltage and alert configuration, hub returns) follows an intra-day curve: quiet
  overnight, rising from 07:00, peaking in the evening when customers top up.
* **Install waves** on working days, 08:00-18:00: 8.11 (hub's HAN log) -> 8.1.1 commission ->
  6.21 handover -> 8.7.1/8.7.2 join -> 6.20.1 set MPxN -> 8.14.1 install success (8.14.2
  install and leave now and then); a step that fails ends the journey.
* **Change of supplier** (gain): 6.23 credential update -> 1.1.1 tariff -> 6.8 billing calendar,
  then a read within 30 days (dropped when it falls after the simulated period).
* **Tariff campaigns**: each day one supplier, chosen by estate size, pushes 1.1.1 and 1.2.1.
* **Firmware campaigns**: each day one hub model gets 11.1; hubs that took it get 11.3 hours to
  days later.
* **Power outages**: bursts of AD1 from electricity meters in one CSP region; each meter sends
  0x8F35 (supply outage restored) when power is back, except the share that never does.
* **CSP incidents**: some days one region is degraded for a while; requests there are slower,
  fail more, and carry the incident's category (1 or 2).

Senders are the parties entitled to the device: its registered supplier (IS for electricity, GS
for gas) for most SRVs, its network operator (ED/GT) for network SRVs and some reads, the
supplier's appointed agent (RSA) for hub returns and some installs where one is appointed.
Each request leaves received -> acknowledged (or refused with an E code, nothing after) ->
sent -> response rows; failures raise N13/N55, commissions N16, credential updates N42.

Determinism: the plan (how many requests of each stream in each minute, campaigns, outages,
incidents) is drawn from the master seed; each chunk of minutes then draws from its own
generator seeded by ``(seed, chunk number)``, so the output does not depend on how many worker
processes ran or in which order chunks finished. ``request_id`` and ``event_id`` carry the chunk
number in their upper 32 bits. The estate snapshot is read once, as registered on the start day.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Select, and_, or_, select

from meterhub.errors import InvalidInput
from meterhub.inventory.models import Device
from meterhub.lake import schema as S
from meterhub.lake.writer import EventLakeWriter
from meterhub.network.model import NON_DEVICE_SRVS, OUTCOMES, REGIONS, NetworkModel
from meterhub.parties.models import AgentAppointment, Party
from meterhub.registration.models import Registration

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MS_PER_MINUTE = 60_000
MS_PER_DAY = 86_400_000
GAS_TYPES = frozenset({"GSME", "GPF"})

SUPPLIER, NETWORK, AGENT = 0, 1, 2

#: Response-code vocabulary of the lake (indices used while generating).
RESPONSE_CODES: tuple[str, ...] = (
    "I99",
    "I0",
    "E1",
    "E2",
    "E3",
    "E4",
    "E5",
    "E19",
    "E20",
    "E21",
    "E65",
)
_REFUSAL_CODES = ("E1", "E2", "E3", "E4", "E5", "E19", "E65")
_REFUSAL_WEIGHTS = (0.04, 0.10, 0.03, 0.35, 0.20, 0.08, 0.20)
_REFUSALS = np.array([RESPONSE_CODES.index(c) for c in _REFUSAL_CODES], dtype=np.int32)
_REFUSAL_P = np.array(_REFUSAL_WEIGHTS) / sum(_REFUSAL_WEIGHTS)
ALERT_CODES: tuple[str, ...] = ("N13", "N55", "N16", "N42", "AD1", "0x8F35")


# ---- settings and the estate ---------------------------------------------------------------


@dataclass(frozen=True)
class TrafficSettings:
    """Shares of the request rate by stream, and the rates of everything that is not a request."""

    share_daily_reads: float = 0.40
    share_on_demand: float = 0.48
    share_installs: float = 0.03
    share_change_of_supplier: float = 0.03
    share_tariff_campaign: float = 0.03
    share_firmware_campaign: float = 0.03
    refusal_rate: float = 0.015
    install_and_leave_rate: float = 0.06
    weekend_install_factor: float = 0.35
    outages_per_100k_meters_per_day: float = 5.0
    outage_meters_median: float = 120.0
    incident_probability_per_day: float = 0.2
    category1_share: float = 0.25
    ack_median_ms: float = 40.0
    queue_median_ms: float = 150.0
    chunk_requests: int = 1_000_000


@dataclass
class Estate:
    """The devices that traffic can reach, as columns in ``device_id`` order; every ``*_code``
    indexes its vocabulary. ``device_ids`` and ``mpxns`` are Arrow string arrays, so a chunk
    gathers millions of them with one ``take``."""

    device_ids: pa.Array
    mpxns: pa.Array
    device_type: I32
    manufacturer: I32
    model: I32
    firmware: I32
    smets: I32
    region: I32
    supplier: I32
    network: I32
    agent: I32
    hub: I32
    live: npt.NDArray[np.bool_]
    vocab: dict[str, list[str]]
    rtt_factor: F64 = field(default_factory=lambda: np.zeros(0))
    failure_factor: F64 = field(default_factory=lambda: np.zeros(0))

    @property
    def size(self) -> int:
        return len(self.device_type)

    def type_code(self, device_type: str) -> int:
        types = self.vocab["device_type"]
        return types.index(device_type) if device_type in types else -1


def _columns(
    raw: Any, engine: Engine, stmt: Select[*tuple[Any, ...]], types: str
) -> list[pa.Array]:
    """Run ``stmt`` on a raw DBAPI connection and return its result as Arrow columns.

    A million devices through SQLAlchemy's row objects cost seconds of Python; the driver's own
    tuples, turned into columns by Arrow in one pass (as a struct array), do not. ``types``
    has a letter per column: ``s`` string, ``i`` integer. Parameters (dates) are rendered as
    literals by the dialect.
    """
    arrow = {"s": pa.string(), "i": pa.int64()}
    struct = pa.struct([(str(i), arrow[t]) for i, t in enumerate(types)])
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    cursor = raw.cursor()
    # A million fresh tuples would set off the cycle collector over and over; none are cyclic.
    collecting = gc.isenabled()
    gc.disable()
    try:
        cursor.execute(sql)
        table = pa.array(cursor.fetchall(), type=struct)
        return [table.field(i) for i in range(len(types))]
    finally:
        if collecting:
            gc.enable()
        cursor.close()


def _codes(values: pa.Array, order: pa.Array) -> tuple[I32, list[str]]:
    """Codes into the sorted vocabulary of ``values``, taken in ``order``."""
    encoded = values.dictionary_encode()
    seen: list[str] = encoded.dictionary.to_pylist()
    vocab = sorted(seen)
    rank = np.array([vocab.index(v) for v in seen] or [0], dtype=np.int32)
    indices = encoded.indices.take(order).to_numpy(zero_copy_only=False)
    return rank[indices], vocab


def _int_column(values: pa.Array) -> I64:
    """Integers, with ``-1`` for NULL."""
    return values.fill_null(-1).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _truthy(strings: pa.Array) -> npt.NDArray[np.bool_]:
    """Present and not empty."""
    lengths = pc.binary_length(strings).fill_null(0)
    return np.asarray(lengths.to_numpy(zero_copy_only=False) > 0)


def load_estate(engine: Engine, *, on: date, network: NetworkModel | None = None) -> Estate:
    """Read devices, registrations on ``on``, parties and agent appointments with plain SELECTs.

    A device with no MPxN of its own takes its hub's (a CHF takes the MPxN of a meter that joined
    it). The supplier is the one registered to that MPxN on ``on``, else the party holding the
    device; devices with neither get no traffic. Devices are ordered by ``device_id`` (bytewise,
    whatever the database's collation), so a seed gives the same traffic on SQLite and
    PostgreSQL. The rows come through the driver's cursor and are turned into columns by Arrow
    and numpy; no per-device Python beyond the driver's own tuples.
    """
    network = network or NetworkModel()
    raw = engine.raw_connection()
    try:
        party_id, party_code = _columns(
            raw, engine, select(Party.id, Party.code).order_by(Party.code), "is"
        )
        reg_mpxn, reg_supplier, reg_network = _columns(
            raw,
            engine,
            select(
                Registration.mpxn,
                Registration.supplier_party_id,
                Registration.network_operator_party_id,
            ).where(
                Registration.effective_from <= on,
                or_(Registration.effective_to.is_(None), Registration.effective_to >= on),
            ),
            "sii",
        )
        appointments = _columns(
            raw,
            engine,
            select(AgentAppointment.supplier_party_id, AgentAppointment.agent_party_id)
            .where(
                and_(
                    AgentAppointment.valid_from <= on,
                    or_(AgentAppointment.valid_to.is_(None), AgentAppointment.valid_to >= on),
                )
            )
            .order_by(AgentAppointment.supplier_party_id, AgentAppointment.agent_party_id),
            "ii",
        )
        # Table order, not ORDER BY: walking the device_id index would visit the table's pages
        # at random; sorting the ids afterwards is a fraction of a second.
        columns = _columns(
            raw,
            engine,
            select(
                Device.device_id,
                Device.device_type,
                Device.manufacturer,
                Device.model,
                Device.firmware_version,
                Device.smets_version,
                Device.csp_region,
                Device.status,
                Device.mpxn,
                Device.comms_hub_id,
                Device.owner_party_id,
            ),
            "ssssssssssi",
        )
    finally:
        raw.close()

    # Party ids -> positions in code order (-1 for NULL).
    ids_by_code = _int_column(party_id)
    by_id = np.argsort(ids_by_code)

    def party_index(ids: I64) -> I32:
        if not len(ids_by_code):
            return np.full(len(ids), -1, dtype=np.int32)
        at = np.minimum(np.searchsorted(ids_by_code[by_id], ids), len(ids_by_code) - 1)
        return np.where(ids >= 0, by_id[at], -1).astype(np.int32)

    agent_of = np.full(len(party_id) + 1, -1, dtype=np.int32)  # the extra slot serves -1
    if len(appointments[0]):
        suppliers = party_index(_int_column(appointments[0]))
        agents = party_index(_int_column(appointments[1]))
        for s, a in zip(suppliers[::-1], agents[::-1], strict=True):
            agent_of[s] = a  # reversed: the first appointment per supplier wins

    order = pc.sort_indices(columns[0])
    ids = columns[0].take(order)
    n = len(ids)

    hub_ref = columns[9].take(order)
    hub_at = pc.index_in(hub_ref, value_set=ids).fill_null(-1).to_numpy(zero_copy_only=False)
    hub = np.where(_truthy(hub_ref), hub_at, -1).astype(np.int32)

    device_type, types = _codes(columns[1], order)
    manufacturer, manufacturers = _codes(columns[2], order)
    model, models = _codes(columns[3], order)
    firmware, firmwares = _codes(columns[4], order)
    smets, smets_versions = _codes(columns[5], order)
    region_codes, region_seen = _codes(columns[6], order)
    status, statuses = _codes(columns[7], order)
    region_of = np.array([network.region_index(r) for r in region_seen] or [0], dtype=np.int32)
    region = region_of[region_codes]

    # MPxN: the device's own; else a hub's (or its CHF's) first joined meter's, in id order.
    own = columns[8].take(order)
    own_missing = np.asarray(own.is_null().to_numpy(zero_copy_only=False))
    position = np.arange(n, dtype=np.int64)
    donors = np.flatnonzero(_truthy(own) & (hub >= 0))
    hubs, first = np.unique(hub[donors], return_index=True)
    donor_of_hub = np.full(n + 1, -1, dtype=np.int64)  # the extra slot serves -1
    donor_of_hub[hubs] = donors[first]
    chf = device_type == (types.index("CHF") if "CHF" in types else -1)
    source = np.where(own_missing, donor_of_hub[np.where(chf, position, hub)], position)
    mpxns = own.take(pa.array(source, mask=source < 0))

    # Supplier and network operator registered to that MPxN on the day; the last row wins, as
    # a dict built in row order would.
    backwards = np.arange(len(reg_mpxn) - 1, -1, -1)
    registered = reg_mpxn.take(backwards)
    reg_at = pc.index_in(mpxns, value_set=registered).fill_null(-1).to_numpy(zero_copy_only=False)
    reg_at = np.where(_truthy(mpxns) & (reg_at >= 0), reg_at, -1)
    found = reg_at >= 0
    reg_supplier_index = party_index(_int_column(reg_supplier.take(backwards)))
    reg_network_index = party_index(_int_column(reg_network.take(backwards)))
    owner = party_index(_int_column(columns[10])[order.to_numpy()])
    supplier = np.where(found, reg_supplier_index[reg_at], owner).astype(np.int32)
    network_op = np.where(found, reg_network_index[reg_at], -1).astype(np.int32)
    agent = agent_of[supplier]

    commissioned = statuses.index("Commissioned") if "Commissioned" in statuses else -1
    live = (status == commissioned) & (supplier >= 0)
    rtt_by_model = np.array([network.model_rtt_factor(m) for m in models] or [1.0])
    width = max(len(firmwares), 1)
    pairs, pair_of = np.unique(model.astype(np.int64) * width + firmware, return_inverse=True)
    by_pair = np.array(
        [network.failure_factor(models[p // width], firmwares[p % width]) for p in pairs] or [1.0]
    )
    return Estate(
        device_ids=ids,
        mpxns=mpxns,
        device_type=device_type,
        manufacturer=manufacturer,
        model=model,
        firmware=firmware,
        smets=smets,
        region=region,
        supplier=supplier,
        network=network_op,
        agent=agent,
        hub=hub,
        live=live,
        vocab={
            "device_type": types,
            "manufacturer": manufacturers,
            "model": models,
            "firmware_version": firmwares,
            "smets_version": smets_versions,
            "csp_region": list(REGIONS),
            "party": party_code.to_pylist(),
        },
        rtt_factor=rtt_by_model[model] if n else np.zeros(0),
        failure_factor=by_pair[pair_of] if n else np.zeros(0),
    )


# ---- the traffic mix -----------------------------------------------------------------------

# (srv, weight, target devices, sender); targets: ESME, GSME, METER (either), CHF.
_DAILY_READS: tuple[tuple[str, float, str, int], ...] = (
    ("4.6.1", 30, "ESME", SUPPLIER),
    ("4.6.1", 18, "GSME", SUPPLIER),
    ("4.8.1", 25, "ESME", SUPPLIER),
    ("4.17", 6, "GSME", SUPPLIER),
    ("4.14", 5, "METER", SUPPLIER),
    ("4.8.1", 4, "ESME", NETWORK),
    ("4.10", 2, "ESME", NETWORK),
    ("4.17", 1, "GSME", NETWORK),
)
_ON_DEMAND: tuple[tuple[str, float, str, int], ...] = (
    ("4.1.1", 16, "METER", SUPPLIER),
    ("4.1.2", 3, "ESME", SUPPLIER),
    ("4.1.3", 1, "ESME", SUPPLIER),
    ("4.18", 4, "METER", SUPPLIER),
    ("4.4.2", 1, "METER", SUPPLIER),
    ("4.8.2", 1, "ESME", NETWORK),
    ("4.12.1", 1, "ESME", NETWORK),
    ("4.15", 0.5, "ESME", SUPPLIER),
    ("4.16", 1, "ESME", SUPPLIER),
    ("2.2", 14, "METER", SUPPLIER),
    ("2.1", 1, "METER", SUPPLIER),
    ("2.3", 1, "METER", SUPPLIER),
    ("1.6", 0.6, "METER", SUPPLIER),
    ("1.1.1", 2, "METER", SUPPLIER),
    ("1.2.1", 2, "METER", SUPPLIER),
    ("3.2", 0.5, "METER", SUPPLIER),
    ("3.1", 1, "METER", SUPPLIER),
    ("5.1", 2, "METER", SUPPLIER),
    ("5.2", 1, "METER", SUPPLIER),
    ("5.3", 0.5, "METER", SUPPLIER),
    ("6.2.2", 0.5, "ESME", SUPPLIER),
    ("6.2.4", 0.5, "METER", SUPPLIER),
    ("6.2.7", 0.5, "METER", NETWORK),
    ("6.13", 1, "METER", SUPPLIER),
    ("6.11", 0.5, "METER", SUPPLIER),
    ("7.4", 1, "ESME", SUPPLIER),
    ("8.2", 2, "CHF", SUPPLIER),
    ("11.2", 2, "METER", SUPPLIER),
    ("6.15.2", 0.3, "METER", SUPPLIER),
    ("6.17", 0.2, "METER", SUPPLIER),
    ("6.15.1", 0.3, "ESME", NETWORK),
    ("6.5", 0.3, "ESME", NETWORK),
    ("6.22", 0.3, "ESME", NETWORK),
    ("6.18.1", 0.1, "ESME", NETWORK),
    ("6.18.2", 0.1, "ESME", NETWORK),
    ("6.27", 0.1, "ESME", NETWORK),
    ("7.7", 0.1, "ESME", SUPPLIER),
    ("8.4", 0.4, "CHF", SUPPLIER),
    ("12.2", 0.3, "CHF", SUPPLIER),
    ("12.1", 0.1, "CHF", SUPPLIER),
    ("8.14.3", 0.1, "CHF", AGENT),
    ("8.14.4", 0.1, "CHF", AGENT),
)
_INSTALL_STEPS = ("8.11", "8.1.1", "6.21", "8.7", "6.20.1", "8.14.1")
_COS_STEPS = ("6.23", "1.1.1", "6.8", "4.1.1")

SRVS: tuple[str, ...] = tuple(
    sorted(
        {s for s, *_ in _DAILY_READS + _ON_DEMAND}
        | set(_INSTALL_STEPS[:3] + _INSTALL_STEPS[4:])
        | {"8.7.1", "8.7.2", "8.14.2", "6.8", "6.23", "11.1", "11.3"},
        key=lambda s: tuple(int(p) for p in s.split(".")),
    )
)
_SRV = {s: i for i, s in enumerate(SRVS)}
_SR_OF_SRV = np.array(
    [sorted(set(map(S.service_reference, SRVS))).index(S.service_reference(s)) for s in SRVS]
)
SERVICE_REFERENCES = sorted(set(map(S.service_reference, SRVS)))
_PROCESS = {p: i for i, p in enumerate(S.PROCESSES)}
_PROCESS_OF_SRV = np.array([_PROCESS[S.process_of(s)] for s in SRVS], dtype=np.int32)
_NON_DEVICE = np.array([s in NON_DEVICE_SRVS for s in SRVS])

# Stream order in the minute plan.
STREAMS = ("daily_reads", "on_demand", "installs", "change_of_supplier", "tariff", "firmware")
_STEPS_PER_ITEM = np.array([1, 1, len(_INSTALL_STEPS), len(_COS_STEPS), 2, 2], dtype=np.float64)


def _hourly(values: list[float]) -> F64:
    return np.repeat(np.array(values, dtype=np.float64), 60)


#: Relative intensity over the 1,440 minutes of a day, per stream.
_NIGHT_READS = 0.12 + np.where((np.arange(1440) >= 60) & (np.arange(1440) < 300), 5.0, 0.0)
_DAYTIME = _hourly(
    [
        *(0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0),
        *(1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3, 1.1, 0.8, 0.5, 0.3),
    ]
)
_WORKING_HOURS = _hourly([0.02] * 8 + [1.0] * 10 + [0.05] * 6)
_CAMPAIGN_HOURS = _hourly([0.1] * 9 + [1.0] * 12 + [0.3] * 3)


# ---- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    minute: int  # minutes from the simulation start
    region: int
    meters: int


@dataclass(frozen=True)
class Incident:
    start_ms: int
    end_ms: int
    region: int
    category: int


@dataclass(frozen=True)
class Chunk:
    """A run of minutes within one day, and how many of each stream start in each minute."""

    index: int
    day: int
    first_minute: int  # from the simulation start
    counts: npt.NDArray[np.int64]  # (streams, minutes)
    outages: tuple[Outage, ...]

    @property
    def requests(self) -> int:
        return int((self.counts.sum(axis=1) * _STEPS_PER_ITEM).sum())


@dataclass(frozen=True)
class TrafficPlan:
    start: date
    days: int
    rate: float
    seed: int
    chunks: tuple[Chunk, ...]
    incidents: tuple[Incident, ...]
    tariff_supplier: tuple[int, ...]  # per day, a party index
    firmware_model: tuple[int, ...]  # per day, a model code (-1: no hubs)

    @property
    def start_ms(self) -> int:
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
            * 1000
        )

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * MS_PER_DAY

    @property
    def planned_requests(self) -> int:
        return sum(c.requests for c in self.chunks)


def plan_traffic(
    estate: Estate,
    *,
    start: date,
    days: int,
    rate: float,
    seed: int,
    settings: TrafficSettings,
) -> TrafficPlan:
    """Draw how much of each stream happens in each minute, and the day's campaigns and events."""
    if days < 1:
        raise InvalidInput("days must be at least 1", code="bad_days")
    if rate <= 0:
        raise InvalidInput("rate must be positive", code="bad_rate")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0FFEE]))
    weekday = np.array([(start + timedelta(days=d)).weekday() for d in range(days)])
    install_day = np.where(weekday >= 5, settings.weekend_install_factor, 1.0)
    shapes = np.stack(
        [
            np.tile(_NIGHT_READS, days),
            np.tile(_DAYTIME, days),
            np.repeat(install_day, 1440) * np.tile(_WORKING_HOURS, days),
            np.tile(_DAYTIME, days),
            np.tile(_CAMPAIGN_HOURS, days),
            np.tile(_CAMPAIGN_HOURS, days),
        ]
    )
    shares = np.array(
        [
            settings.share_daily_reads,
            settings.share_on_demand,
            settings.share_installs,
            settings.share_change_of_supplier,
            settings.share_tariff_campaign,
            settings.share_firmware_campaign,
        ]
    )
    total_requests = rate * days * 86_400
    items = total_requests * shares / _STEPS_PER_ITEM
    expected = shapes / shapes.sum(axis=1, keepdims=True) * items[:, None]
    counts = rng.poisson(expected).astype(np.int64)

    # Campaign choices per day: a supplier weighted by its estate, a hub model.
    live_suppliers = estate.supplier[estate.live]
    supplier_weights = np.bincount(live_suppliers, minlength=len(estate.vocab["party"])).astype(
        float
    )
    chf = estate.type_code("CHF")
    hub_models = (
        estate.model[estate.live & (estate.device_type == chf)]
        if chf >= 0
        else np.zeros(0, np.int32)
    )
    tariff_supplier: list[int] = []
    firmware_model: list[int] = []
    for _ in range(days):
        total = supplier_weights.sum()
        tariff_supplier.append(
            int(rng.choice(len(supplier_weights), p=supplier_weights / total)) if total else -1
        )
        firmware_model.append(
            int(hub_models[rng.integers(len(hub_models))]) if len(hub_models) else -1
        )

    # Power outages and CSP incidents.
    esme = estate.type_code("ESME")
    n_esme = int((estate.live & (estate.device_type == esme)).sum()) if esme >= 0 else 0
    outages: list[Outage] = []
    if n_esme:
        per_day = settings.outages_per_100k_meters_per_day * max(n_esme, 20_000) / 100_000
        for d in range(days):
            for _ in range(int(rng.poisson(per_day))):
                size = int(
                    np.clip(settings.outage_meters_median * np.exp(rng.standard_normal()), 1, 5000)
                )
                outages.append(
                    Outage(
                        d * 1440 + int(rng.integers(1440)), int(rng.integers(len(REGIONS))), size
                    )
                )
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    incidents: list[Incident] = []
    for d in range(days):
        if rng.random() < settings.incident_probability_per_day:
            begin = start_ms + d * MS_PER_DAY + int(rng.integers(1440)) * MS_PER_MINUTE
            length = int(rng.integers(30, 240)) * MS_PER_MINUTE
            category = 1 if rng.random() < settings.category1_share else 2
            incidents.append(
                Incident(begin, begin + length, int(rng.integers(len(REGIONS))), category)
            )

    # Chunks: runs of minutes within a day holding about ``chunk_requests`` requests.
    per_minute = (counts * _STEPS_PER_ITEM[:, None]).sum(axis=0)
    chunks: list[Chunk] = []
    outage_at: dict[int, list[Outage]] = {}
    for o in outages:
        outage_at.setdefault(o.minute, []).append(o)
    for d in range(days):
        m = d * 1440
        end = m + 1440
        while m < end:
            cumulative = np.cumsum(per_minute[m:end])
            stop = m + int(np.searchsorted(cumulative, settings.chunk_requests)) + 1
            stop = min(stop, end)
            chunk_outages = tuple(o for k in range(m, stop) for o in outage_at.get(k, []))
            chunks.append(Chunk(len(chunks), d, m, counts[:, m:stop], chunk_outages))
            m = stop
    return TrafficPlan(
        start=start,
        days=days,
        rate=rate,
        seed=seed,
        chunks=tuple(chunks),
        incidents=tuple(incidents),
        tariff_supplier=tuple(tariff_supplier),
        firmware_model=tuple(firmware_model),
    )


# ---- one chunk -----------------------------------------------------------------------------


@dataclass
class _Requests:
    """A block of requests; each array has one entry per request."""

    t: I64
    srv: I32
    dev: I32
    sender: npt.NDArray[np.int8]
    process: I32

    def __len__(self) -> int:
        return len(self.t)


#: One journey step: SRV (or per-journey SRV indices), target devices, sender (or per-journey
#: senders), delay in ms after the previous step's response.
_Step = tuple[str | npt.NDArray[np.int32], I32, int | npt.NDArray[np.int8], F64]


@dataclass
class _Delivered:
    t: I64
    srv: I32
    dev: I32
    party: I32
    role: I32
    process: I32
    refusal: I32  # index into RESPONSE_CODES, -1 when acknowledged
    outcome: npt.NDArray[np.int8]
    rtt: F64
    category: npt.NDArray[np.int8]


@dataclass
class _Alerts:
    t: I64
    dev: I32
    party: I32
    role: I32
    code: I32
    request: I64
    delay: F64


class ChunkGenerator:
    """Turns one ``Chunk`` of the plan into a table of events."""

    def __init__(
        self,
        estate: Estate,
        plan: TrafficPlan,
        network: NetworkModel,
        settings: TrafficSettings,
    ) -> None:
        self.estate = estate
        self.plan = plan
        self.network = network
        self.settings = settings
        e = estate
        code = e.type_code
        meter = (e.device_type == code("ESME")) | (e.device_type == code("GSME"))
        self.pools: dict[str, I32] = {
            "ESME": np.flatnonzero(e.live & (e.device_type == code("ESME"))).astype(np.int32),
            "GSME": np.flatnonzero(e.live & (e.device_type == code("GSME"))).astype(np.int32),
            "METER": np.flatnonzero(e.live & meter).astype(np.int32),
            "CHF": np.flatnonzero(e.live & (e.device_type == code("CHF"))).astype(np.int32),
        }
        gas = np.array([t in GAS_TYPES for t in e.vocab["device_type"]] or [False])
        self.is_gas = gas[e.device_type] if e.size else np.zeros(0, bool)
        roles = {r: i for i, r in enumerate(S.ROLES)}
        self._role_table = np.array(
            [
                [roles["IS"], roles["GS"]],
                [roles["ED"], roles["GT"]],
                [roles["RSA"], roles["RSA"]],
            ],
            dtype=np.int32,
        )
        self._srv_rtt = np.array([network.srv_rtt_factor(s) for s in SRVS])
        self._srv_timeout = np.array([network.srv_timeout_ms(s) for s in SRVS])
        self._response_code = np.array(
            [RESPONSE_CODES.index(network.response_code(o)) for o in OUTCOMES], dtype=np.int32
        )
        alert_of = [network.profile.outcome_alerts.get(o) for o in OUTCOMES]
        self._outcome_alert = np.array(
            [ALERT_CODES.index(a) if a else -1 for a in alert_of], dtype=np.int32
        )
        vocabularies: dict[str, tuple[str, ...] | list[str]] = {
            "kind": S.KINDS,
            "party": e.vocab["party"],
            "role": S.ROLES,
            "srv": SRVS,
            "service_reference": SERVICE_REFERENCES,
            "process": S.PROCESSES,
            "device_type": e.vocab["device_type"],
            "manufacturer": e.vocab["manufacturer"],
            "model": e.vocab["model"],
            "firmware_version": e.vocab["firmware_version"],
            "smets_version": e.vocab["smets_version"],
            "csp_region": e.vocab["csp_region"],
            "response_code": RESPONSE_CODES,
            "failure_reason": OUTCOMES,
            "alert_code": ALERT_CODES,
        }
        self._vocabulary = {
            name: pa.array(list(values), type=pa.string()) for name, values in vocabularies.items()
        }

    @cache  # noqa: B019  (one generator per process, lives as long as the process)
    def _pool_of(self, key: str, value: int) -> I32:
        e = self.estate
        if key == "supplier":
            pool = self.pools["METER"]
            return pool[e.supplier[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        if key == "hub_model":
            pool = self.pools["CHF"]
            return pool[e.model[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        if key == "region_esme":
            pool = self.pools["ESME"]
            return pool[e.region[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        raise ValueError(key)

    # -- request streams ----------------------------------------------------------------------
    def _times(self, chunk: Chunk, stream: int, rng: np.random.Generator) -> I64:
        counts = chunk.counts[stream]
        minute_ms = (
            self.plan.start_ms + (chunk.first_minute + np.arange(len(counts))) * MS_PER_MINUTE
        )
        starts = np.repeat(minute_ms, counts)
        return np.sort(starts + rng.integers(0, MS_PER_MINUTE, len(starts)))

    def _mix(
        self, t: I64, mix: tuple[tuple[str, float, str, int], ...], rng: np.random.Generator
    ) -> _Requests:
        weights = np.array([w for _s, w, _t, _r in mix])
        entry = rng.choice(len(mix), size=len(t), p=weights / weights.sum())
        dev = np.full(len(t), -1, dtype=np.int32)
        u = rng.random(len(t))
        for k, (_srv, _w, target, _sender) in enumerate(mix):
            pool = self.pools[target]
            where = entry == k
            if len(pool):
                dev[where] = pool[(u[where] * len(pool)).astype(np.int64)]
        srv = np.array([_SRV[s] for s, *_ in mix], dtype=np.int32)[entry]
        sender = np.array([r for *_x, r in mix], dtype=np.int8)[entry]
        return self._keep(_Requests(t, srv, dev, sender, _PROCESS_OF_SRV[srv]), dev >= 0)

    @staticmethod
    def _keep(r: _Requests, mask: npt.NDArray[np.bool_]) -> _Requests:
        return _Requests(r.t[mask], r.srv[mask], r.dev[mask], r.sender[mask], r.process[mask])

    def _single(self, t: I64, srv: str, dev: I32, sender: int, process: str) -> _Requests:
        n = len(t)
        return _Requests(
            t.astype(np.int64),
            np.full(n, _SRV[srv], dtype=np.int32),
            dev.astype(np.int32),
            np.full(n, sender, dtype=np.int8),
            np.full(n, _PROCESS[process], dtype=np.int32),
        )

    # -- delivery -----------------------------------------------------------------------------
    def _deliver(self, r: _Requests, rng: np.random.Generator) -> _Delivered:
        e = self.estate
        n = len(r)
        dev = r.dev
        gas = self.is_gas[dev].astype(np.int64)
        party = np.where(r.sender == NETWORK, e.network[dev], e.supplier[dev])
        party = np.where(r.sender == AGENT, np.where(e.agent[dev] >= 0, e.agent[dev], party), party)
        sender = np.where((r.sender == AGENT) & (e.agent[dev] < 0), SUPPLIER, r.sender)
        sender = np.where((sender == NETWORK) & (party < 0), SUPPLIER, sender)
        party = np.where(party < 0, e.supplier[dev], party)
        role = self._role_table[sender, gas]

        refused = rng.random(n) < self.settings.refusal_rate
        refusal_pick = rng.choice(
            len(_REFUSAL_CODES), size=n, p=np.array(_REFUSAL_WEIGHTS) / sum(_REFUSAL_WEIGHTS)
        )
        refusal_codes = np.array([RESPONSE_CODES.index(c) for c in _REFUSAL_CODES], dtype=np.int32)
        refusal = np.where(refused, refusal_codes[refusal_pick], -1).astype(np.int32)

        region = e.region[dev]
        category = np.zeros(n, dtype=np.int8)
        degraded = np.zeros(n, dtype=bool)
        for inc in self.plan.incidents:
            hit = (region == inc.region) & (r.t >= inc.start_ms) & (r.t < inc.end_ms)
            degraded |= hit
            category[hit] = inc.category
        smets1_code = (
            e.vocab["smets_version"].index("SMETS1") if "SMETS1" in e.vocab["smets_version"] else -1
        )
        result = self.network.deliver_many(
            region=region,
            smets1=e.smets[dev] == smets1_code,
            rtt_factor=e.rtt_factor[dev] * self._srv_rtt[r.srv],
            failure_factor=e.failure_factor[dev],
            timeout_ms=self._srv_timeout[r.srv],
            non_device=_NON_DEVICE[r.srv],
            degraded=degraded,
            rng=rng,
        )
        return _Delivered(
            r.t,
            r.srv,
            dev,
            party.astype(np.int32),
            role.astype(np.int32),
            r.process,
            refusal,
            result.outcome,
            result.rtt_ms,
            category,
        )

    @staticmethod
    def _succeeded(d: _Delivered) -> npt.NDArray[np.bool_]:
        return np.asarray((d.refusal < 0) & (d.outcome == 0), dtype=bool)

    # -- journeys -----------------------------------------------------------------------------
    def _journey(
        self,
        t0: I64,
        steps: list[_Step],
        process: str,
        rng: np.random.Generator,
        out: list[_Delivered],
    ) -> _Delivered | None:
        """Run steps in order; each step goes only to journeys whose previous steps succeeded.

        A step is (srv or per-journey SRV indices, target devices, sender, delay after the
        previous step's response in ms). Steps falling after the simulated period are dropped.
        """
        alive = np.ones(len(t0), dtype=bool)
        t = t0.astype(np.float64)
        last: _Delivered | None = None
        for srv, dev, sender, delay in steps:
            t = t + delay
            ok = alive & (t < self.plan.end_ms) & (dev >= 0)
            if not ok.any():
                return last
            srv_idx = np.full(len(t0), _SRV[srv], dtype=np.int32) if isinstance(srv, str) else srv
            senders = np.full(len(t0), sender, np.int8) if isinstance(sender, int) else sender
            req = _Requests(
                t[ok].astype(np.int64),
                srv_idx[ok],
                dev[ok],
                senders[ok],
                np.full(int(ok.sum()), _PROCESS[process], dtype=np.int32),
            )
            d = self._deliver(req, rng)
            out.append(d)
            last = d
            done = np.zeros(len(t0), dtype=bool)
            done[ok] = self._succeeded(d)
            alive = done
            finished = np.zeros(len(t0))
            finished[ok] = d.rtt + self.settings.ack_median_ms + self.settings.queue_median_ms
            t = t + finished
        return last

    def _installs(self, t0: I64, rng: np.random.Generator, out: list[_Delivered]) -> None:
        e = self.estate
        pool = self.pools["METER"]
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]
        hub = np.where(e.hub[meter] >= 0, e.hub[meter], meter).astype(np.int32)
        gas = self.is_gas[meter]
        join = np.where(gas, _SRV["8.7.2"], _SRV["8.7.1"]).astype(np.int32)
        leave = rng.random(len(t0)) < self.settings.install_and_leave_rate
        status = np.where(leave, _SRV["8.14.2"], _SRV["8.14.1"]).astype(np.int32)
        agent_led = (e.agent[meter] >= 0) & (rng.random(len(t0)) < 0.5)

        def gap() -> F64:
            return 20_000 + rng.exponential(90_000, len(t0))

        installer = np.where(agent_led, AGENT, SUPPLIER).astype(np.int8)
        steps: list[_Step] = [
            ("8.11", hub, installer, np.zeros(len(t0))),
            ("8.1.1", meter, SUPPLIER, gap()),
            ("6.21", meter, SUPPLIER, gap()),
            (join, meter, SUPPLIER, gap()),
            ("6.20.1", meter, SUPPLIER, gap()),
            (status, hub, SUPPLIER, gap()),
        ]
        self._journey(t0, steps, "install_commission", rng, out)

    def _change_of_supplier(self, t0: I64, rng: np.random.Generator, out: list[_Delivered]) -> None:
        pool = self.pools["METER"]
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]

        def gap() -> F64:
            return 5_000 + rng.exponential(60_000, len(t0))

        read_after = np.exp(np.log(3 * MS_PER_DAY) + 1.0 * rng.standard_normal(len(t0)))
        steps: list[_Step] = [
            ("6.23", meter, SUPPLIER, np.zeros(len(t0))),
            ("1.1.1", meter, SUPPLIER, gap()),
            ("6.8", meter, SUPPLIER, gap()),
            ("4.1.1", meter, SUPPLIER, read_after),
        ]
        self._journey(t0, steps, "change_of_supplier", rng, out)

    def _tariff(
        self, chunk: Chunk, t0: I64, rng: np.random.Generator, out: list[_Delivered]
    ) -> None:
        supplier = self.plan.tariff_supplier[chunk.day]
        pool = self._pool_of("supplier", supplier) if supplier >= 0 else np.zeros(0, np.int32)
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]
        gap = 2_000 + rng.exponential(30_000, len(t0))
        steps: list[_Step] = [
            ("1.1.1", meter, SUPPLIER, np.zeros(len(t0))),
            ("1.2.1", meter, SUPPLIER, gap),
        ]
        self._journey(t0, steps, "tariff", rng, out)

    def _firmware(
        self, chunk: Chunk, t0: I64, rng: np.random.Generator, out: list[_Delivered]
    ) -> None:
        model = self.plan.firmware_model[chunk.day]
        pool = self._pool_of("hub_model", model) if model >= 0 else np.zeros(0, np.int32)
        if not len(pool) or not len(t0):
            return
        hub = pool[rng.integers(0, len(pool), len(t0))]
        activate_after = np.exp(np.log(12 * 3_600_000) + 0.8 * rng.standard_normal(len(t0)))
        steps: list[_Step] = [
            ("11.1", hub, SUPPLIER, np.zeros(len(t0))),
            ("11.3", hub, SUPPLIER, activate_after),
        ]
        self._journey(t0, steps, "firmware", rng, out)

    # -- alerts -------------------------------------------------------------------------------
    def _request_alerts(
        self, d: _Delivered, request_id: I64, t_response: I64, rng: np.random.Generator
    ) -> _Alerts:
        e = self.estate
        acknowledged = d.refusal < 0
        code = np.where(acknowledged, self._outcome_alert[d.outcome], -1)
        ok = acknowledged & (d.outcome == 0)
        commission = ok & (d.srv == _SRV["8.1.1"])
        credentials = ok & (d.srv == _SRV["6.23"])
        code = np.where(commission, ALERT_CODES.index("N16"), code)
        code = np.where(credentials, ALERT_CODES.index("N42"), code)
        idx = np.flatnonzero(code >= 0)
        delay = self.network.alert_delivery_ms(len(idx), rng)
        n42 = code[idx] == ALERT_CODES.index("N42")
        delay = np.where(n42, delay + self.network.n42_delay_ms(len(idx), rng), delay)
        dev = d.dev[idx]
        to_network = code[idx] >= ALERT_CODES.index("N16")
        party = np.where(to_network & (e.network[dev] >= 0), e.network[dev], d.party[idx])
        gas = self.is_gas[dev].astype(np.int64)
        role = np.where(
            to_network & (e.network[dev] >= 0), self._role_table[NETWORK, gas], d.role[idx]
        )
        t = t_response[idx] + delay
        # Alerts of a request follow it past the period's end, as its response does; a late N42
        # belongs to a later period.
        keep = np.isfinite(t) & (~n42 | (t < self.plan.end_ms))
        return _Alerts(
            t[keep].astype(np.int64),
            dev[keep],
            party[keep].astype(np.int32),
            role[keep].astype(np.int32),
            code[idx][keep].astype(np.int32),
            request_id[idx][keep],
            delay[keep],
        )

    def _outage_alerts(self, chunk: Chunk, rng: np.random.Generator) -> _Alerts:
        e = self.estate
        parts: list[_Alerts] = []
        for outage in chunk.outages:
            pool = self._pool_of("region_esme", outage.region)
            if not len(pool):
                continue
            meters = rng.choice(pool, size=min(outage.meters, len(pool)), replace=False).astype(
                np.int32
            )
            n = len(meters)
            start = self.plan.start_ms + outage.minute * MS_PER_MINUTE + rng.integers(0, 60_000, n)
            back = start + self.network.outage_duration_ms(n, rng)
            d1 = self.network.alert_delivery_ms(n, rng)
            d2 = self.network.alert_delivery_ms(n, rng)
            party = np.where(e.network[meters] >= 0, e.network[meters], e.supplier[meters]).astype(
                np.int32
            )
            role = np.where(
                e.network[meters] >= 0, S.ROLES.index("ED"), S.ROLES.index("IS")
            ).astype(np.int32)
            restored = np.isfinite(back) & (back + d2 < self.plan.end_ms)
            t = np.concatenate([start + d1, (back + d2)[restored]])
            keep = t < self.plan.end_ms
            parts.append(
                _Alerts(
                    t[keep].astype(np.int64),
                    np.concatenate([meters, meters[restored]])[keep],
                    np.concatenate([party, party[restored]])[keep],
                    np.concatenate([role, role[restored]])[keep],
                    np.concatenate(
                        [
                            np.full(n, ALERT_CODES.index("AD1")),
                            np.full(int(restored.sum()), ALERT_CODES.index("0x8F35")),
                        ]
                    ).astype(np.int32)[keep],
                    np.full(int(keep.sum()), -1, dtype=np.int64),
                    np.concatenate([d1, d2[restored]])[keep],
                )
            )
        return _concat_alerts(parts)

    # -- the whole chunk ----------------------------------------------------------------------
    def generate(self, chunk: Chunk) -> pa.Table:
        rng = np.random.default_rng(np.random.SeedSequence([self.plan.seed, chunk.index]))
        delivered: list[_Delivered] = []
        delivered.append(
            self._deliver(self._mix(self._times(chunk, 0, rng), _DAILY_READS, rng), rng)
        )
        delivered.append(self._deliver(self._mix(self._times(chunk, 1, rng), _ON_DEMAND, rng), rng))
        self._installs(self._times(chunk, 2, rng), rng, delivered)
        self._change_of_supplier(self._times(chunk, 3, rng), rng, delivered)
        self._tariff(chunk, self._times(chunk, 4, rng), rng, delivered)
        self._firmware(chunk, self._times(chunk, 5, rng), rng, delivered)
        d = _concat_delivered(delivered)
        return self._events(chunk, d, rng)

    def _events(self, chunk: Chunk, d: _Delivered, rng: np.random.Generator) -> pa.Table:
        """Lay the requests out as rows: each request's events together, in order of receipt,
        then the chunk's alerts. Keeping a request's rows adjacent lets Parquet run-length
        encode the repeated device and sender columns.

        Columns that are the same on every row of a request (sender, SRV, device and its
        attributes) are built once per *item*, a request or an alert, and spread to rows with
        one gather along ``item``: it walks memory in order, where gathering a random device per
        row would miss the cache on every request."""
        n = len(d.t)
        base = np.int64(chunk.index) << np.int64(32)
        request_id = base + np.arange(n, dtype=np.int64)
        s = self.settings
        ack_lat = np.maximum(1, s.ack_median_ms * np.exp(0.5 * rng.standard_normal(n)))
        queue = np.maximum(1, s.queue_median_ms * np.exp(0.7 * rng.standard_normal(n)))
        t_ack = d.t + ack_lat.astype(np.int64)
        t_sent = t_ack + queue.astype(np.int64)
        t_resp = t_sent + np.maximum(1, d.rtt).astype(np.int64)
        accepted = d.refusal < 0
        alerts = _concat_alerts(
            [self._request_alerts(d, request_id, t_resp, rng), self._outage_alerts(chunk, rng)]
        )

        rows = np.where(accepted, 4, 2)
        ends = np.cumsum(rows)
        m = int(ends[-1]) if n else 0
        k = len(alerts.t)
        first = ends - rows
        acc_first = first[accepted]
        item = np.concatenate([np.repeat(np.arange(n), rows), np.arange(n, n + k)])

        # Per row: 0 received, 1 acknowledged or refused, 2 sent, 3 response; then the alerts.
        kinds = np.full(m + k, S.ALERT, dtype=np.int32)
        kinds[first] = S.RECEIVED
        kinds[first + 1] = np.where(accepted, S.ACKNOWLEDGED, S.REFUSED)
        kinds[acc_first + 2] = S.SENT
        kinds[acc_first + 3] = S.RESPONSE
        times = np.empty(m + k, dtype=np.int64)
        times[first] = d.t
        times[first + 1] = t_ack
        times[acc_first + 2] = t_sent[accepted]
        times[acc_first + 3] = t_resp[accepted]
        times[m:] = alerts.t
        response_code = np.full(m + k, -1, dtype=np.int32)
        response_code[first + 1] = np.where(accepted, RESPONSE_CODES.index("I99"), d.refusal)
        response_code[acc_first + 3] = self._response_code[d.outcome[accepted]]
        rtt = np.full(m + k, -1, dtype=np.int64)
        rtt[acc_first + 3] = (t_resp - d.t)[accepted]
        rtt[m:] = alerts.delay.astype(np.int64)
        failure = np.full(m + k, -1, dtype=np.int32)
        failed = accepted & (d.outcome > 0)
        failure[first[failed] + 3] = d.outcome[failed]
        alert_code = np.full(m + k, -1, dtype=np.int32)
        alert_code[m:] = alerts.code

        none = np.full(k, -1, dtype=np.int32)
        srv = np.concatenate([d.srv, none])
        dev = np.concatenate([d.dev, alerts.dev])
        e = self.estate
        vocab = self._vocabulary

        def per_item(codes: npt.NDArray[Any], name: str) -> pa.Array:
            return _dictionary(codes[item], vocab[name])

        columns: dict[str, pa.Array] = {
            "event_id": pa.array(base + np.arange(m + k, dtype=np.int64)),
            "event_time": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
            "kind": _dictionary(kinds, vocab["kind"]),
            "request_id": _nullable(np.concatenate([request_id, alerts.request])[item], pa.int64()),
            "originator_party": per_item(np.concatenate([d.party, alerts.party]), "party"),
            "originator_role": per_item(np.concatenate([d.role, alerts.role]), "role"),
            "srv": per_item(srv, "srv"),
            "service_reference": per_item(
                np.where(srv >= 0, _SR_OF_SRV[srv], -1), "service_reference"
            ),
            "process": per_item(np.concatenate([d.process, none]), "process"),
            "device_id": e.device_ids.take(dev).take(item),
            "device_type": per_item(e.device_type[dev], "device_type"),
            "manufacturer": per_item(e.manufacturer[dev], "manufacturer"),
            "model": per_item(e.model[dev], "model"),
            "firmware_version": per_item(e.firmware[dev], "firmware_version"),
            "smets_version": per_item(e.smets[dev], "smets_version"),
            "csp_region": per_item(e.region[dev], "csp_region"),
            "mpxn": e.mpxns.take(dev).take(item),
            "response_code": _dictionary(response_code, vocab["response_code"]),
            "rtt_ms": _nullable(np.minimum(rtt, 2**31 - 1).astype(np.int32), pa.int32()),
            "failure_reason": _dictionary(failure, vocab["failure_reason"]),
            "alert_code": _dictionary(alert_code, vocab["alert_code"]),
            "category": _nullable(
                np.concatenate([d.category, np.zeros(k, dtype=np.int8)])[item], pa.int8(), null=0
            ),
        }
        return pa.Table.from_pydict(columns, schema=S.EVENT_SCHEMA)


def _dictionary(codes: npt.NDArray[Any], vocabulary: pa.Array) -> pa.Array:
    """A dictionary array straight from integer codes; a negative code is a null."""
    codes = codes.astype(np.int32, copy=False)
    mask = codes < 0
    indices = pa.array(codes, mask=mask) if mask.any() else pa.array(codes)
    return pa.DictionaryArray.from_arrays(indices, vocabulary)


def _nullable(values: npt.NDArray[Any], type_: pa.DataType, null: int = -1) -> pa.Array:
    mask = values == null
    return pa.array(values, type=type_, mask=mask) if mask.any() else pa.array(values, type=type_)


def _concat_delivered(parts: list[_Delivered]) -> _Delivered:
    names = ("t", "srv", "dev", "party", "role", "process", "refusal", "outcome", "rtt", "category")
    merged = {name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
    order = np.argsort(merged["t"], kind="stable")
    return _Delivered(**{name: values[order] for name, values in merged.items()})


def _concat_alerts(parts: list[_Alerts]) -> _Alerts:
    names = ("t", "dev", "party", "role", "code", "request", "delay")
    if not parts:
        empty_i = np.zeros(0, dtype=np.int32)
        return _Alerts(
            np.zeros(0, np.int64),
            empty_i,
            empty_i,
            empty_i,
            empty_i,
            np.zeros(0, np.int64),
            np.zeros(0),
        )
    return _Alerts(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in names})


# ---- running it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficSummary:
    """What a simulation wrote."""

    requests: int
    events: int
    files: int
    bytes_written: int
    seconds: float
    chunks: int
    estate_seconds: float = 0.0  # of ``seconds``, reading the estate from the database


_WORKER: tuple[ChunkGenerator, EventLakeWriter] | None = None


def _init_worker(generator: ChunkGenerator, writer: EventLakeWriter) -> None:
    global _WORKER
    _WORKER = (generator, writer)


def _run_chunk(chunk: Chunk) -> tuple[int, int, int, int, int]:
    assert _WORKER is not None
    generator, writer = _WORKER
    table = generator.generate(chunk)
    kinds = table.column("kind").combine_chunks().indices.to_numpy(zero_copy_only=False)
    requests = int((kinds == S.RECEIVED).sum())
    paths = writer.write(table, part=f"sim-{generator.plan.seed}-{chunk.index:06d}")
    size = sum(p.stat().st_size for p in paths)
    return chunk.index, requests, table.num_rows, len(paths), size


def simulate_traffic(
    engine: Engine,
    *,
    lake: Path,
    start: date,
    days: int,
    rate: float,
    seed: int = 0,
    workers: int | None = None,
    network: NetworkModel | None = None,
    settings: TrafficSettings | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> TrafficSummary:
    """Simulate ``days`` of traffic from ``start`` at ``rate`` requests/s into ``lake``.

    ``progress(requests_done, requests_planned, events_done)`` is called after each chunk.
    """
    began = time.perf_counter()
    network = network or NetworkModel()
    settings = settings or TrafficSettings()
    estate = load_estate(engine, on=start, network=network)
    estate_seconds = time.perf_counter() - began
    if not estate.live.any():
        raise InvalidInput(
            "the estate has no commissioned device with a registered supplier to send traffic to",
            code="empty_estate",
        )
    plan = plan_traffic(estate, start=start, days=days, rate=rate, seed=seed, settings=settings)
    generator = ChunkGenerator(estate, plan, network, settings)
    writer = EventLakeWriter(lake)
    workers = workers or min(2, os.cpu_count() or 1)
    planned = plan.planned_requests
    totals = [0, 0, 0, 0]

    def results() -> Iterator[tuple[int, int, int, int, int]]:
        if workers == 1 or len(plan.chunks) == 1:
            _init_worker(generator, writer)
            yield from map(_run_chunk, plan.chunks)
            return
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(generator, writer)) as pool:
            yield from pool.imap_unordered(_run_chunk, plan.chunks)

    for _index, requests, events, files, size in results():
        totals[0] += requests
        totals[1] += events
        totals[2] += files
        totals[3] += size
        if progress is not None:
            progress(totals[0], planned, totals[1])
    return TrafficSummary(
        requests=totals[0],
        events=totals[1],
        files=totals[2],
        bytes_written=totals[3],
        seconds=time.perf_counter() - began,
        chunks=len(plan.chunks),
        estate_seconds=estate_seconds,
    )
