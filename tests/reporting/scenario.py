"""One hand-written month (June 2024) whose numbers are worked out in the tests.

* Six electricity suppliers (IS) ``ESUP1``..``ESUP6``: ESUP1 sends three successful 4.1.1 reads
  (RTT 1, 2 and 6 s), one that times out (E21) and one refused at validation (E4); the others
  one successful 4.1.1 each (0.5 s). ESUP1 installs hub MPAN-1 (8.14.1, 5 June), reads it on
  20 June; ESUP2 installs MPAN-2 and never reads it; ESUP3 gains MPAN-1 (6.23, 25 June).
  ESUP1 and ESUP2 each commission a meter (8.1.1), raising N16 to the network operator.
* Four gas suppliers (GS) ``GSUP1``..``GSUP4``, one successful 4.1.1 each: a cohort of four.
* One network operator ``DNOA`` (ED): N16 for ESUP1's meter followed by N42 two days later, N16
  for ESUP2's meter followed by N42 nine days later (late); AD1 from meter A restored by 0x8F35,
  AD1 from meter B never restored; one N16 delivered in 90 s (late against the 60 s target).
* ``DNOA`` sends a 6.5 that fails (E20, hub offline), raising N13 to it.
* Rows on 31 May and 1 July that must not count in June (reads by ESUP1).
* Install forecasts for June (``build_forecasts``, written beside the device snapshot): ESUP1
  2 in North and 1 in South, ESUP2 1 in North, ESUP3 4 in North, GSUP1 5 in Central; and ESUP1
  100 for July, which must not count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from meterhub.reporting.definitions import DEVICE_SNAPSHOT_SCHEMA, FORECAST_SNAPSHOT_SCHEMA
from tests.reporting.lakes import LakeBuilder, Meter, meter

ELECTRICITY_SUPPLIERS = [f"ESUP{i}" for i in range(1, 7)]
GAS_SUPPLIERS = [f"GSUP{i}" for i in range(1, 5)]
NETWORK = "DNOA"
MONTH = "2024-06"


def at(day: int, hour: int = 10, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


#: Each supplier's own meter (device ids differ per party, so leaks can be spotted).
OWN_METER = {p: meter(i + 1) for i, p in enumerate(ELECTRICITY_SUPPLIERS)}
GAS_METER = {
    p: meter(50 + i, device_type="GSME", mpxn=f"{7_000_000 + i}", model="GAS-1")
    for i, p in enumerate(GAS_SUPPLIERS)
}
HUB_1 = meter(101, device_type="CHF", model="HUB-1", mpxn="1200000000101")
HUB_2 = meter(102, device_type="CHF", model="HUB-1", mpxn="1200000000102")
METER_ON_HUB_1 = meter(111, mpxn="1200000000101")
COMMISSIONED_1 = meter(121, mpxn="1200000000121")
COMMISSIONED_2 = meter(122, mpxn="1200000000122")
OUTAGE_A = meter(131, csp_region="South", mpxn="1200000000131")
OUTAGE_B = meter(132, csp_region="South", mpxn="1200000000132")


def build_lake(root: Path) -> Path:
    b = LakeBuilder()
    s1 = ELECTRICITY_SUPPLIERS[0]
    m1 = OWN_METER[s1]
    for i, rtt in enumerate((1000, 2000, 6000)):
        b.request(party=s1, role="IS", srv="4.1.1", at=at(3, minute=i), device=m1, rtt_ms=rtt)
    b.request(
        party=s1,
        role="IS",
        srv="4.1.1",
        at=at(4),
        device=m1,
        code="E21",
        rtt_ms=30_000,
        failure_reason="timeout",
        category=1,
    )
    b.request(party=s1, role="IS", srv="4.1.1", at=at(4, 11), device=m1, code="E4", refused=True)
    b.request(party=s1, role="IS", srv="4.1.1", at=at(31, 23, 59, month=5), device=m1)
    b.request(party=s1, role="IS", srv="4.1.1", at=at(1, 0, 1, month=7), device=m1)
    for p in ELECTRICITY_SUPPLIERS[1:]:
        b.request(party=p, role="IS", srv="4.1.1", at=at(3, 12), device=OWN_METER[p], rtt_ms=500)
    for p in GAS_SUPPLIERS:
        b.request(party=p, role="GS", srv="4.1.1", at=at(3, 12), device=GAS_METER[p], rtt_ms=800)

    # installs, a read after one of them, and a change of supplier on that meter point
    b.request(party=s1, role="IS", srv="8.14.1", at=at(5), device=HUB_1)
    b.request(party="ESUP2", role="IS", srv="8.14.1", at=at(5), device=HUB_2)
    b.request(party=s1, role="IS", srv="4.6.1", at=at(20), device=METER_ON_HUB_1)
    b.request(party="ESUP3", role="IS", srv="6.23", at=at(25), device=METER_ON_HUB_1)

    # commissions -> N16 to the network operator; N42 within and beyond seven days
    r1 = b.request(party=s1, role="IS", srv="8.1.1", at=at(10), device=COMMISSIONED_1)
    r2 = b.request(party="ESUP2", role="IS", srv="8.1.1", at=at(20), device=COMMISSIONED_2)
    b.alert(
        party=NETWORK, role="ED", code="N16", at=at(10, 11), device=COMMISSIONED_1, request_id=r1
    )
    b.alert(
        party=NETWORK,
        role="ED",
        code="N16",
        at=at(20, 11),
        device=COMMISSIONED_2,
        request_id=r2,
        delivery_ms=90_000,
    )
    b.alert(party=NETWORK, role="ED", code="N42", at=at(12), device=COMMISSIONED_1)
    b.alert(party=NETWORK, role="ED", code="N42", at=at(29, 12), device=COMMISSIONED_2)

    # a network operator's request that fails raises N13 to it
    r3 = b.request(
        party=NETWORK,
        role="ED",
        srv="6.5",
        at=at(8),
        device=OUTAGE_A,
        code="E20",
        failure_reason="hub_offline",
    )
    b.alert(party=NETWORK, role="ED", code="N13", at=at(8, 11), device=OUTAGE_A, request_id=r3)

    # power outages
    b.alert(party=NETWORK, role="ED", code="AD1", at=at(15), device=OUTAGE_A)
    b.alert(party=NETWORK, role="ED", code="0x8F35", at=at(15, 14), device=OUTAGE_A)
    b.alert(party=NETWORK, role="ED", code="AD1", at=at(16), device=OUTAGE_B)
    return b.write(root)


def _device_rows(party: str, role: str, device: Meter, firmware: str) -> dict[str, object]:
    return {
        "party": party,
        "role": role,
        "device_id": device.device_id,
        "device_type": device.device_type,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "firmware_version": firmware,
        "smets_version": device.smets_version,
        "csp_region": device.csp_region,
        "status": "Commissioned",
        "mpxn": device.mpxn,
    }


def build_devices(path: Path) -> Path:
    """A month-end snapshot: each electricity supplier holds its own meter on firmware 1.0.0
    except ESUP1, whose meter is on 2.0.0, plus three more meters on 1.0.0: ESUP1's ACME-1 mix
    is 3/4 on 1.0.0, 1/4 on 2.0.0; the network operator is responsible for all of them."""
    rows = []
    for i, p in enumerate(ELECTRICITY_SUPPLIERS):
        firmware = "2.0.0" if i == 0 else "1.0.0"
        rows.append(_device_rows(p, "IS", OWN_METER[p], firmware))
        rows.append(_device_rows(NETWORK, "ED", OWN_METER[p], firmware))
    for n in (201, 202, 203):
        extra = meter(n)
        rows.append(_device_rows("ESUP1", "IS", extra, "1.0.0"))
        rows.append(_device_rows(NETWORK, "ED", extra, "1.0.0"))
    for p in GAS_SUPPLIERS:
        rows.append(_device_rows(p, "GS", GAS_METER[p], "5.1"))
    table = pa.Table.from_pylist(rows, schema=DEVICE_SNAPSHOT_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


#: The forecasts file sits beside the device snapshot: ``forecasts_beside(devices)``.
FORECASTS_FILE = "forecasts.parquet"
FORECASTS = [
    ("ESUP1", "IS", MONTH, "North", 2),
    ("ESUP1", "IS", MONTH, "South", 1),
    ("ESUP2", "IS", MONTH, "North", 1),
    ("ESUP3", "IS", MONTH, "North", 4),
    ("GSUP1", "GS", MONTH, "Central", 5),
    ("ESUP1", "IS", "2024-07", "North", 100),
]


def forecasts_beside(devices: Path) -> Path:
    return devices.with_name(FORECASTS_FILE)


def build_forecasts(path: Path) -> Path:
    columns = ("party", "role", "month", "csp_region", "installs")
    table = pa.Table.from_pylist(
        [dict(zip(columns, f, strict=True)) for f in FORECASTS], schema=FORECAST_SNAPSHOT_SCHEMA
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path
