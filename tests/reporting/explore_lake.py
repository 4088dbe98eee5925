"""A hand-written lake for the report portal: six electricity suppliers (a cohort big enough
for peers), four gas suppliers (too few), one network operator, numbers chosen so the tests
can work them out.

* ``ESUP1``..``ESUP6`` (IS): on 3, 4 and 5 June, supplier *n* sends *n* successful 4.1.1 reads
  (RTT *n* x 500 ms) and one that times out (E21, 30 s) from its North ``ACME-1`` meter; on
  6 June one successful 1.1.1 (tariff, 1.5 s) to its South ``ACME-2`` meter (firmware 2.0.0).
  Each gets an N13 for each failure, delivered in *n* s (``ESUP1``'s on 5 June late, in 90 s).
* ``ESUP1`` and ``ESUP2`` only also read a ``RARE-9`` meter on 7 June: a filter on that model
  leaves a cohort of two.
* ``ESUP1`` has one request refused at validation (E4) on 7 June.
* ``GSUP1``..``GSUP4`` (GS): one successful 4.1.1 each on 3 June (800 ms): a cohort of four.
* ``DNOA`` (ED): one 6.5 that fails (E20, hub offline) on 4 June.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.reporting.lakes import LakeBuilder, Meter, meter

SUPPLIERS = [f"ESUP{i}" for i in range(1, 7)]
GAS_SUPPLIERS = [f"GSUP{i}" for i in range(1, 5)]
NETWORK = "DNOA"
FIRST, LAST = "2024-06-01", "2024-06-30"

NORTH_METER = {p: meter(i + 1) for i, p in enumerate(SUPPLIERS)}
SOUTH_METER = {
    p: meter(20 + i, model="ACME-2", csp_region="South", firmware_version="2.0.0")
    for i, p in enumerate(SUPPLIERS)
}
RARE_METER = {p: meter(40 + i, model="RARE-9") for i, p in enumerate(SUPPLIERS[:2])}
GAS_METER = {
    p: meter(50 + i, device_type="GSME", model="GAS-1", mpxn=f"{7_000_000 + i}")
    for i, p in enumerate(GAS_SUPPLIERS)
}
NETWORK_METER = meter(60, csp_region="Central")


def EVERYONE_BUT(party: str) -> list[str]:
    return [p for p in (*SUPPLIERS, *GAS_SUPPLIERS, NETWORK) if p != party]


def device_ids_of(party: str) -> set[str]:
    meters: list[Meter] = [
        m
        for table in (NORTH_METER, SOUTH_METER, RARE_METER, GAS_METER)
        for p, m in table.items()
        if p == party
    ]
    if party == NETWORK:
        meters.append(NETWORK_METER)
    return {m.device_id for m in meters} | {m.mpxn for m in meters if m.mpxn}


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=UTC)


def build_explore_lake(root: Path) -> Path:
    b = LakeBuilder()
    for i, party in enumerate(SUPPLIERS):
        n = i + 1
        north = NORTH_METER[party]
        for day in (3, 4, 5):
            for k in range(n):
                b.request(
                    party=party,
                    role="IS",
                    srv="4.1.1",
                    at=at(day, minute=k),
                    device=north,
                    rtt_ms=500 * n,
                )
            rid = b.request(
                party=party,
                role="IS",
                srv="4.1.1",
                at=at(day, hour=11),
                device=north,
                code="E21",
                rtt_ms=30_000,
                failure_reason="timeout",
            )
            late = party == "ESUP1" and day == 5
            b.alert(
                party=party,
                role="IS",
                code="N13",
                at=at(day, hour=11, minute=1),
                device=north,
                delivery_ms=90_000 if late else 1000 * n,
                request_id=rid,
            )
        b.request(
            party=party,
            role="IS",
            srv="1.1.1",
            at=at(6),
            device=SOUTH_METER[party],
            rtt_ms=1500,
        )
    for party, rare in RARE_METER.items():
        b.request(party=party, role="IS", srv="4.1.1", at=at(7), device=rare, rtt_ms=700)
    b.request(
        party="ESUP1",
        role="IS",
        srv="4.1.1",
        at=at(7, hour=12),
        device=NORTH_METER["ESUP1"],
        code="E4",
        refused=True,
    )
    for party, gas in GAS_METER.items():
        b.request(party=party, role="GS", srv="4.1.1", at=at(3), device=gas, rtt_ms=800)
    b.request(
        party=NETWORK,
        role="ED",
        srv="6.5",
        at=at(4),
        device=NETWORK_METER,
        code="E20",
        rtt_ms=5000,
        failure_reason="hub_offline",
    )
    return b.write(root)
