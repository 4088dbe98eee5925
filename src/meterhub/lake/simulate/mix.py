"""The traffic mix: every share and rate (``TrafficSettings``), the streams, which SRVs each
sends to which devices from which sender, and the lake's response and alert codes, with the
indices the plan and the chunk generator work in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meterhub.lake import schema as S
from meterhub.network.model import NON_DEVICE_SRVS

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MS_PER_MINUTE = 60_000
MS_PER_DAY = 86_400_000

#: Who sends a request: the registered supplier, the network operator, the supplier's agent.
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
REFUSAL_CODES = ("E1", "E2", "E3", "E4", "E5", "E19", "E65")
_REFUSAL_WEIGHTS = (0.04, 0.10, 0.03, 0.35, 0.20, 0.08, 0.20)
REFUSALS = np.array([RESPONSE_CODES.index(c) for c in REFUSAL_CODES], dtype=np.int32)
REFUSAL_P = np.array(_REFUSAL_WEIGHTS) / sum(_REFUSAL_WEIGHTS)
ALERT_CODES: tuple[str, ...] = ("N13", "N55", "N16", "N42", "AD1", "0x8F35")


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


# (srv, weight, target devices, sender); targets: ESME, GSME, METER (either), CHF.
DAILY_READS: tuple[tuple[str, float, str, int], ...] = (
    ("4.6.1", 30, "ESME", SUPPLIER),
    ("4.6.1", 18, "GSME", SUPPLIER),
    ("4.8.1", 25, "ESME", SUPPLIER),
    ("4.17", 6, "GSME", SUPPLIER),
    ("4.14", 5, "METER", SUPPLIER),
    ("4.8.1", 4, "ESME", NETWORK),
    ("4.10", 2, "ESME", NETWORK),
    ("4.17", 1, "GSME", NETWORK),
)
ON_DEMAND: tuple[tuple[str, float, str, int], ...] = (
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
INSTALL_STEPS = ("8.11", "8.1.1", "6.21", "8.7", "6.20.1", "8.14.1")
COS_STEPS = ("6.23", "1.1.1", "6.8", "4.1.1")

SRVS: tuple[str, ...] = tuple(
    sorted(
        {s for s, *_ in DAILY_READS + ON_DEMAND}
        | set(INSTALL_STEPS[:3] + INSTALL_STEPS[4:])
        | {"8.7.1", "8.7.2", "8.14.2", "6.8", "6.23", "11.1", "11.3"},
        key=lambda s: tuple(int(p) for p in s.split(".")),
    )
)
SRV_INDEX = {s: i for i, s in enumerate(SRVS)}
SERVICE_REFERENCE_OF_SRV = np.array(
    [sorted(set(map(S.service_reference, SRVS))).index(S.service_reference(s)) for s in SRVS]
)
SERVICE_REFERENCES = sorted(set(map(S.service_reference, SRVS)))
PROCESS_INDEX = {p: i for i, p in enumerate(S.PROCESSES)}
PROCESS_OF_SRV = np.array([PROCESS_INDEX[S.process_of(s)] for s in SRVS], dtype=np.int32)
NON_DEVICE = np.array([s in NON_DEVICE_SRVS for s in SRVS])

# Stream order in the minute plan.
STREAMS = ("daily_reads", "on_demand", "installs", "change_of_supplier", "tariff", "firmware")
STEPS_PER_ITEM = np.array([1, 1, len(INSTALL_STEPS), len(COS_STEPS), 2, 2], dtype=np.float64)
