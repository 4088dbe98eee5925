"""The estate the traffic reaches, read once from the database as columns.

Each domain's own export gives its rows (``inventory.service.device_export_query``,
``registration.service.registrations_in_force_query``, ``parties.service.party_codes_query``
and ``appointments_in_force_query``); this module runs them on the driver's cursor and joins
them in Arrow and numpy.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Select

from meterhub.inventory import service as inventory
from meterhub.lake.simulate.mix import F64, I32, I64
from meterhub.network.model import REGIONS, NetworkModel
from meterhub.parties import service as parties
from meterhub.registration import service as registration


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
        party_id, party_code = _columns(raw, engine, parties.party_codes_query(), "is")
        reg_mpxn, reg_supplier, reg_network = _columns(
            raw, engine, registration.registrations_in_force_query(day=on), "sii"
        )
        appointments = _columns(raw, engine, parties.appointments_in_force_query(day=on), "ii")
        # Table order, not ORDER BY: walking the device_id index would visit the table's pages
        # at random; sorting the ids afterwards is a fraction of a second.
        columns = _columns(
            raw,
            engine,
            inventory.device_export_query(
                columns=(
                    "device_id",
                    "device_type",
                    "manufacturer",
                    "model",
                    "firmware_version",
                    "smets_version",
                    "csp_region",
                    "status",
                    "mpxn",
                    "comms_hub_id",
                    "owner_party_id",
                )
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
