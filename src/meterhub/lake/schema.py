"""The event lake's schema: one row per event in a service request's life, or per alert.

A request leaves up to four rows: ``received`` when the hub reads it, then ``acknowledged``
(I99) or ``refused`` (an E code, and nothing more), then ``sent`` when it goes out across the SM
WAN, then ``response`` with the device network's answer and the round-trip time. Alerts (DCC
alerts N13, N16, N42, N55, AD1 and device alerts such as 0x8F35) are rows of kind ``alert``.
Every row carries the device's attributes as they were at the time (type, model, firmware,
SMETS version, CSP region, MPxN) so the MP176 reports can slice without joining the inventory.

The ``day`` column is the Hive partition (``events/day=YYYY-MM-DD/``), derived from
``event_time`` in UTC; it is in the path, not in the files. docs/lake.md describes each column.

``PROCESS_OF_SRV`` groups SRVs into the business processes of the MP176 reports. An SRV sent as
one step of a journey (1.1.1 during change of supplier) is recorded with the journey's process;
the table gives the process of an SRV sent on its own.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from meterhub.parties.roles import DUIS_ROLE_ORDER

KINDS: Final = ("received", "acknowledged", "refused", "sent", "response", "alert")
RECEIVED, ACKNOWLEDGED, REFUSED, SENT, RESPONSE, ALERT = range(len(KINDS))

ROLES: Final = DUIS_ROLE_ORDER

PROCESSES: Final = (
    "install_commission",
    "change_of_supplier",
    "change_of_tenancy",
    "tariff",
    "prepayment",
    "security",
    "firmware",
    "ch_ordering_returns",
    "reads",
    "scheduling",
    "network_operation",
    "fleet_management",
    "other",
)
PROCESS_TITLES: Final = {
    "install_commission": "Install and Commission",
    "change_of_supplier": "Change of Supplier (Gain)",
    "change_of_tenancy": "Change of Tenancy",
    "tariff": "Tariff Updates",
    "prepayment": "Prepayment",
    "security": "Security and Key Management",
    "firmware": "Update Device Firmware",
    "ch_ordering_returns": "Communications Hub Ordering and Returns",
    "reads": "Meter Reads and Read Registers",
    "scheduling": "Scheduling",
    "network_operation": "Distribution Networks Post I&C Activity",
    "fleet_management": "Read Device Information (fleet management)",
    "other": "Other SRVs",
}


def _group(process: str, srvs: str) -> dict[str, str]:
    return dict.fromkeys(srvs.split(), process)


#: From the MP176 table of business processes and SRVs; reads, security and fleet management
#: also take the SRVs of the same family that MP176 does not list.
PROCESS_OF_SRV: Final[dict[str, str]] = {
    **_group("install_commission", "8.11 8.1.1 8.7.1 8.7.2 6.20.1 6.20.2 8.14.1 8.14.2"),
    **_group("change_of_supplier", "6.23"),
    **_group("change_of_tenancy", "3.2"),
    **_group("tariff", "1.1.1 1.1.2 1.2.1 1.2.2 1.7 6.26"),
    **_group("prepayment", "1.5 1.6 2.1 2.2 2.3 2.5"),
    **_group("security", "6.15.2 6.17 6.21 6.24.1 6.24.2"),
    **_group("firmware", "11.1 11.3 11.4"),
    **_group("ch_ordering_returns", "8.14.3 8.14.4"),
    **_group(
        "reads",
        "4.1.1 4.1.2 4.1.3 4.1.4 4.2 4.3 4.4.3 4.4.4 4.4.5 4.6.1 4.6.2 4.8.1 4.8.2 4.8.3 "
        "4.10 4.11.1 4.11.2 4.12.1 4.12.2 4.13 4.14 4.15 4.16 4.17 4.18",
    ),
    **_group("scheduling", "5.1 5.2 5.3"),
    **_group("network_operation", "6.15.1 6.5 6.22 6.18.1 6.18.2"),
    **_group(
        "fleet_management",
        "6.2.1 6.2.2 6.2.3 6.2.4 6.2.5 6.2.7 6.2.8 6.2.9 6.2.10 6.13 7.4 8.2 8.9 11.2",
    ),
    **_group("other", "4.4.2 6.27 8.4 12.1 12.2 7.7 7.14 7.15"),
}


def process_of(srv: str) -> str:
    """The MP176 business process of an SRV sent on its own; ``other`` when MP176 has none."""
    return PROCESS_OF_SRV.get(srv, "other")


def service_reference(srv: str) -> str:
    """The Service Reference an SRV belongs to: ``4.1.1`` -> ``4.1``, ``6.8`` -> ``6.8``."""
    parts = srv.split(".")
    return ".".join(parts[:2])


def _dict() -> pa.DataType:
    return pa.dictionary(pa.int32(), pa.string())


#: Columns as stored in each Parquet file (``day`` is added from the partition path).
EVENT_SCHEMA: Final = pa.schema(
    [
        pa.field("event_id", pa.int64(), nullable=False),
        pa.field("event_time", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("kind", _dict(), nullable=False),
        pa.field("request_id", pa.int64()),
        pa.field("originator_party", _dict()),
        pa.field("originator_role", _dict()),
        pa.field("srv", _dict()),
        pa.field("service_reference", _dict()),
        pa.field("process", _dict()),
        pa.field("device_id", pa.string()),
        pa.field("device_type", _dict()),
        pa.field("manufacturer", _dict()),
        pa.field("model", _dict()),
        pa.field("firmware_version", _dict()),
        pa.field("smets_version", _dict()),
        pa.field("csp_region", _dict()),
        pa.field("mpxn", pa.string()),
        pa.field("response_code", _dict()),
        pa.field("rtt_ms", pa.int32()),
        pa.field("failure_reason", _dict()),
        pa.field("alert_code", _dict()),
        pa.field("category", pa.int8()),
    ]
)

#: Columns Parquet should dictionary-encode (the low-cardinality strings).
DICTIONARY_COLUMNS: Final = tuple(f.name for f in EVENT_SCHEMA if pa.types.is_dictionary(f.type))
PARTITION_COLUMN: Final = "day"
