"""The month-end device snapshot the inventory reports read, exported from the database.

MP176 inventory reporting is "a snapshot view for the end of the calendar month" for import,
export and gas suppliers and electricity distributors. Each device is attributed to the parties
responsible for its meter point on the month's last day: the registered supplier (role IS for
electricity, GS for gas) and the network operator (ED or GT). A device with no meter point of
its own takes its hub's; a hub takes the meter point of a meter that joined it; a device with
no registered meter point (a hub in stock) goes to the party holding it, in that party's first
role. Withdrawn and decommissioned devices are no longer in anyone's estate.

Device attributes (model, firmware, status) are as the database holds them when the export
runs: the inventory keeps no history of firmware versions, so a run made long after the month
shows later firmware. The snapshot is written to Parquet so DuckDB and Spark read the same rows.

Beside it, the suppliers' install forecasts for the month (``forecasts/``) are exported the same
way: the forecasts in force when the month began, one row per supplier, role and CSP region.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from meterhub.forecasts import service as forecasts
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, DeviceType, fuel_of_device_type
from meterhub.parties import service as parties
from meterhub.parties.roles import ELECTRICITY_ROLES, GAS_ROLES, Role
from meterhub.registration import service as registration
from meterhub.registration.fuels import Fuel, fuel_of_mpxn
from meterhub.reporting.definitions import DEVICE_SNAPSHOT_SCHEMA, FORECAST_SNAPSHOT_SCHEMA

OUT_OF_ESTATE: Final = frozenset({DeviceStatus.WITHDRAWN.value, DeviceStatus.DECOMMISSIONED.value})
#: The role a device held in stock is reported under: the holder's first role in this order.
ROLE_PRIORITY: Final = tuple(
    r.value
    for r in (
        Role.IMPORT_SUPPLIER,
        Role.GAS_SUPPLIER,
        Role.EXPORT_SUPPLIER,
        Role.ELECTRICITY_DISTRIBUTOR,
        Role.GAS_TRANSPORTER,
        Role.REGISTERED_SUPPLIER_AGENT,
        Role.OTHER_USER,
    )
)
#: The device columns the snapshot carries as the database holds them (the rest it works out).
DEVICE_ATTRIBUTES: Final = tuple(
    n for n in DEVICE_SNAPSHOT_SCHEMA.names if n not in ("party", "role", "mpxn")
)


def _is_gas(device_type: str, mpxn: str | None) -> bool:
    """Gas meters and gas proxies are gas; anything else follows its meter point."""
    fuel = fuel_of_device_type(device_type)
    if fuel is not None or mpxn is None:
        return fuel is Fuel.GAS
    return fuel_of_mpxn(mpxn) is Fuel.GAS


def device_snapshot(engine: Engine, *, on: date) -> pa.Table:
    """One row per device and responsible party on ``on`` (``DEVICE_SNAPSHOT_SCHEMA``)."""
    with engine.connect() as conn:
        code_of = parties.party_codes(conn)
        roles = parties.party_role_lists(conn)
        registered = {
            mpxn: (supplier, network)
            for mpxn, supplier, network in registration.registrations_in_force(conn, day=on)
        }
        devices = conn.execute(
            inventory.device_export_query(
                columns=(*DEVICE_ATTRIBUTES, "mpxn", "comms_hub_id", "owner_party_id"),
                excluding_statuses=sorted(OUT_OF_ESTATE),
                by_device_id=True,
            )
        ).all()

    # Positions in each device row, as selected above.
    device_id, device_type = (
        DEVICE_ATTRIBUTES.index("device_id"),
        DEVICE_ATTRIBUTES.index("device_type"),
    )
    mpxn_at, hub_at, owner_at = range(len(DEVICE_ATTRIBUTES), len(DEVICE_ATTRIBUTES) + 3)
    hub_mpxn: dict[str, str] = {}
    for d in devices:
        if d[mpxn_at] and d[hub_at]:
            hub_mpxn.setdefault(d[hub_at], d[mpxn_at])

    # One (device, party, role, meter point) per row of the snapshot, then each column at once.
    picked: list[int] = []
    party_of_row: list[str | None] = []
    role_of_row: list[str | None] = []
    mpxns: list[str | None] = []
    for i, d in enumerate(devices):
        mpxn = d[mpxn_at]
        if mpxn is None:
            hub = d[device_id] if d[device_type] == DeviceType.CHF else d[hub_at]
            mpxn = hub_mpxn.get(hub or "")
        in_force = registered.get(mpxn) if mpxn else None
        if in_force is not None:
            gas = _is_gas(d[device_type], mpxn)
            supplier, network = in_force
            picked += (i, i)
            party_of_row += (code_of[supplier], code_of[network])
            role_of_row += GAS_ROLES if gas else ELECTRICITY_ROLES
            mpxns += (mpxn, mpxn)
        elif d[owner_at] is not None:
            held = roles.get(d[owner_at], [])
            picked.append(i)
            party_of_row.append(code_of[d[owner_at]])
            role_of_row.append(next((r for r in ROLE_PRIORITY if r in held), "OU"))
            mpxns.append(mpxn)
    columns: dict[str, list[str | None]] = {
        "party": party_of_row,
        "role": role_of_row,
        "mpxn": mpxns,
    }
    for position, name in enumerate(DEVICE_ATTRIBUTES):
        columns[name] = [devices[i][position] for i in picked]
    columns = {f.name: columns[f.name] for f in DEVICE_SNAPSHOT_SCHEMA}
    return pa.table(columns, schema=DEVICE_SNAPSHOT_SCHEMA)


def _write(table: pa.Table, path: Path) -> int:
    """Write ``table`` to ``path`` (Parquet, parent folders made); returns its row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return int(table.num_rows)


def write_device_snapshot(engine: Engine, *, on: date, path: Path) -> int:
    """Export the snapshot to ``path`` (Parquet); returns how many rows it holds."""
    return _write(device_snapshot(engine, on=on), path)


def write_empty_snapshot(path: Path) -> None:
    """For a run with no database (lake only): inventory reports come out empty."""
    _write(DEVICE_SNAPSHOT_SCHEMA.empty_table(), path)


def forecast_snapshot(engine: Engine, *, month: str) -> pa.Table:
    """The forecasts for ``month`` in force when it began (``FORECAST_SNAPSHOT_SCHEMA``)."""
    with Session(engine) as session:
        rows = forecasts.in_force(session, month=month)
    return pa.Table.from_pylist(
        [
            {
                "party": r.party,
                "role": r.role,
                "month": r.month,
                "csp_region": r.csp_region,
                "installs": r.installs,
            }
            for r in rows
        ],
        schema=FORECAST_SNAPSHOT_SCHEMA,
    )


def write_forecast_snapshot(engine: Engine, *, month: str, path: Path) -> int:
    """Export the month's forecasts to ``path`` (Parquet); returns how many rows it holds."""
    return _write(forecast_snapshot(engine, month=month), path)


def write_empty_forecasts(path: Path) -> None:
    """For a run with no database: the forecast measure then shows installs against nothing."""
    _write(FORECAST_SNAPSHOT_SCHEMA.empty_table(), path)
