"""The simulated SM WAN and device network: how long a service request takes and how it fails.

The live gateway asks it about one request (``NetworkModel.deliver(device, srv, rng)``); the
traffic simulator asks about millions at once (``NetworkModel.deliver_many``). Both draw from
the same ``NetworkProfile``, so what the portal shows and what the lake holds agree.

Assumptions (each one a field of ``NetworkProfile``, overridable from a dict, TOML or JSON):

* **Round-trip time is log-normal with a heavy tail.** Each CSP region has a median and a
  log-normal shape; a small share of requests (``tail_share``) is multiplied by a Pareto factor,
  the congested cell, the retried radio hop. The 4G variants of a region are faster than the
  legacy long-range radio / 2G links of North, Central and South.
* **SMETS1 is slower.** SMETS1 devices are reached through the SMETS1 service provider (S1SP),
  which translates DUIS into its own protocol: RTT is multiplied by ``smets1_rtt_factor`` plus a
  fixed ``smets1_extra_ms``, and the S1SP can reject the translated request (``N55``).
* **Some models and firmware versions are worse.** ``model_rtt_factor`` and
  ``model_failure_factor`` name known-bad models; any model not named gets a small, stable
  factor derived from its name (CRC-32, never Python's salted ``hash``), so the same estate
  always shows the same spread. ``firmware_failure_factor`` does the same per firmware version.
* **The SRV matters.** Profile reads and firmware images are larger (``srv_rtt_factor``);
  non-device SRVs (8.4, 8.14.x, 12.2 ...) are answered by DCC systems without touching the WAN,
  so they never fail on the network. A response later than the SRV's target response time
  (``timeout_ms``, ``srv_timeout_ms``) is a timeout.
* **Failure modes, in the order they are tried:** the hub is offline / not reachable
  (``hub_offline``), the device does not answer (``no_response``), the device is busy with
  another command (``device_busy``), the S1SP rejects the request (``s1sp_validation``, SMETS1
  only), or the answer comes too late (``timeout``). The user sees the response code in
  ``response_codes`` (E20 unable to communicate for an unreachable hub, E21 no response from
  device for silence, a busy device or a late answer, E65 for an S1SP rejection) and the DCC
  alert in ``outcome_alerts``: N13 "failure to receive response from device" when nothing usable
  came back (offline hub, no response, timeout) and N55 for an S1SP validation failure. Which
  E code DUIS uses for a busy device is our reading, not a quotation.
* **A degraded region** (a Category 1 or 2 incident at a CSP) multiplies RTTs and makes the hub
  unreachable for a share of requests (``incident_rtt_factor``, ``incident_offline_rate``).
* **Alerts that follow requests:** a successful 8.1.1 commission raises N16 (device identity
  confirmation) to the network operator; a successful 6.23 change-of-supplier credential update
  raises N42 (security credentials updated on the device) after a log-normal delay, mostly
  within the seven-day service level, sometimes not at all (``n42_missing_rate``).
* **Power outages** raise AD1 on every affected electricity meter within seconds; when power
  comes back each raises device alert 0x8F35 (supply outage restored), except a share
  (``restoration_missing_rate``) that never does (the hub lost its state, the meter died).
  In the live gateway (``gateway/outages.py``) outages start at random, ``outages_per_day``
  across the network (0 turns them off), each in one CSP region and hitting one street: a run
  of about ``outage_hubs_median`` commissioned hubs next to each other in MPxN order. When they
  start, where, and how big they are depends on the seed and the hour alone
  (``outages_between``), never on when or how often the worker asks.

Everything is drawn from the ``numpy.random.Generator`` the caller passes: the same seed gives
the same outcomes. Codes are plain strings ("I0", "N13", "AD1", "0x8F35").
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import tomllib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from meterhub.errors import InvalidInput

REGIONS: tuple[str, ...] = ("North", "Central", "South", "North4G", "Central4G", "South4G")

SUCCESS = "success"
HUB_OFFLINE = "hub_offline"
NO_RESPONSE = "no_response"
DEVICE_BUSY = "device_busy"
S1SP_VALIDATION = "s1sp_validation"
TIMEOUT = "timeout"
#: Outcome vocabulary; ``deliver_many`` returns indices into this tuple.
OUTCOMES: tuple[str, ...] = (
    SUCCESS,
    HUB_OFFLINE,
    NO_RESPONSE,
    DEVICE_BUSY,
    S1SP_VALIDATION,
    TIMEOUT,
)

#: SRVs answered by DCC systems, not by a device across the SM WAN.
NON_DEVICE_SRVS: frozenset[str] = frozenset(
    {"8.4", "8.14.1", "8.14.2", "8.14.3", "8.14.4", "12.1", "12.2", "8.2", "8.3"}
)

AlertCode = str

#: The roles that may be sent power outage alerts (see ``NetworkProfile.outage_alert_roles``).
OUTAGE_ALERT_ROLES: tuple[str, ...] = ("ED", "IS")
#: Outages are drawn per hour of the clock: the hour's number since the epoch seeds its draws.
OUTAGE_HOUR_MS = 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RegionLink:
    """The WAN in one CSP region: median RTT and spread, and how often the hub is unreachable."""

    median_rtt_ms: float
    sigma: float
    hub_offline_rate: float
    no_response_rate: float


def _default_regions() -> dict[str, RegionLink]:
    return {
        "North": RegionLink(4200.0, 0.55, 0.004, 0.012),
        "Central": RegionLink(3600.0, 0.50, 0.003, 0.010),
        "South": RegionLink(3800.0, 0.50, 0.003, 0.010),
        "North4G": RegionLink(1700.0, 0.40, 0.002, 0.005),
        "Central4G": RegionLink(1500.0, 0.40, 0.0015, 0.004),
        "South4G": RegionLink(1550.0, 0.40, 0.0015, 0.004),
    }


@dataclass(frozen=True)
class NetworkProfile:
    """Every rate and parameter of the network model. Defaults are plausible, not measured."""

    regions: dict[str, RegionLink] = field(default_factory=_default_regions)
    tail_share: float = 0.03
    tail_pareto_alpha: float = 1.6
    smets1_rtt_factor: float = 2.2
    smets1_extra_ms: float = 2500.0
    s1sp_validation_rate: float = 0.015
    device_busy_rate: float = 0.003
    timeout_ms: float = 60_000.0
    srv_timeout_ms: dict[str, float] = field(
        default_factory=lambda: {"11.1": 5 * 86_400_000.0, "11.3": 5 * 86_400_000.0}
    )
    srv_rtt_factor: dict[str, float] = field(
        default_factory=lambda: {
            "4.8.1": 2.0,
            "4.8.2": 2.0,
            "4.8.3": 2.0,
            "4.6.1": 1.4,
            "4.6.2": 1.4,
            "4.17": 1.4,
            "6.13": 1.6,
            "11.1": 900.0,
            "11.3": 3.0,
        }
    )
    non_device_median_ms: float = 350.0
    model_rtt_factor: dict[str, float] = field(default_factory=dict)
    model_failure_factor: dict[str, float] = field(default_factory=dict)
    firmware_failure_factor: dict[str, float] = field(default_factory=dict)
    unnamed_model_spread: float = 0.35
    unnamed_firmware_spread: float = 0.8
    incident_rtt_factor: float = 3.0
    incident_offline_rate: float = 0.25
    response_codes: dict[str, str] = field(
        default_factory=lambda: {
            SUCCESS: "I0",
            HUB_OFFLINE: "E20",
            NO_RESPONSE: "E21",
            DEVICE_BUSY: "E21",
            S1SP_VALIDATION: "E65",
            TIMEOUT: "E21",
        }
    )
    outcome_alerts: dict[str, str] = field(
        default_factory=lambda: {
            HUB_OFFLINE: "N13",
            NO_RESPONSE: "N13",
            TIMEOUT: "N13",
            S1SP_VALIDATION: "N55",
        }
    )
    alert_delivery_median_ms: float = 1800.0
    alert_delivery_sigma: float = 0.6
    n42_missing_rate: float = 0.04
    n42_delay_median_hours: float = 20.0
    n42_delay_sigma: float = 1.2
    restoration_missing_rate: float = 0.08
    outage_minutes_median: float = 45.0
    outage_minutes_sigma: float = 1.0
    outages_per_day: float = 4.0
    outage_hubs_median: float = 12.0
    outage_hubs_sigma: float = 1.0
    outage_hubs_max: int = 500
    #: Who gets AD1 and 0x8F35: ``ED`` the meter point's network operator (DNO), ``IS`` its
    #: registered import supplier.
    outage_alert_roles: tuple[str, ...] = ("ED",)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NetworkProfile:
        """The defaults with ``values`` laid over them; ``regions`` may override single fields."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InvalidInput(
                f"unknown network profile setting(s): {', '.join(sorted(unknown))}",
                code="bad_network_profile",
            )
        base = cls()
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name == "regions":
                regions = dict(base.regions)
                for region, link in value.items():
                    if region not in REGIONS:
                        raise InvalidInput(
                            f"unknown CSP region {region!r}", code="bad_network_profile"
                        )
                    regions[region] = replace(regions[region], **link)
                changes[name] = regions
            elif isinstance(getattr(base, name), dict):
                changes[name] = {**getattr(base, name), **value}
            elif name == "outage_alert_roles":
                roles = tuple(value)
                if not roles or not set(roles) <= set(OUTAGE_ALERT_ROLES):
                    raise InvalidInput(
                        f"outage_alert_roles must name some of {', '.join(OUTAGE_ALERT_ROLES)}",
                        code="bad_network_profile",
                    )
                changes[name] = roles
            else:
                changes[name] = value
        return replace(base, **changes)

    @classmethod
    def load(cls, path: Path) -> NetworkProfile:
        """Read overrides from a ``.toml`` or ``.json`` file."""
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return cls.from_mapping(data)

    @classmethod
    def load_or_default(cls, path: str) -> NetworkProfile:
        """The profile in ``path`` (``METERHUB_NETWORK_PROFILE``), or the defaults when empty."""
        return cls.load(Path(path)) if path else cls()


@dataclass(frozen=True)
class PlannedOutage:
    """One power outage as the seed and the clock have it: when it starts, in which CSP region,
    where in the region's hubs (ordered by MPxN) its street begins, and how many hubs it hits."""

    key: str  # "<hour>-<n>": unique for a seed, stable across runs
    start: datetime
    region: str
    position: float  # in [0, 1): the street begins at this fraction of the region's hubs
    hubs: int
    entropy: tuple[int, ...]  # seeds the per-hub draws (how long each one stays dark)


def _ms(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(milliseconds=1)


class DeviceOnNetwork(Protocol):
    """What the model needs to know of a device (``inventory.models.Device`` has it all)."""

    @property
    def csp_region(self) -> str: ...
    @property
    def smets_version(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def firmware_version(self) -> str: ...


@dataclass(frozen=True)
class Delivery:
    """What happened to one request on the network, and the response the user gets."""

    outcome: str
    response_code: str
    rtt_ms: float
    alerts: tuple[AlertCode, ...]

    @property
    def succeeded(self) -> bool:
        return self.outcome == SUCCESS

    @property
    def failure_reason(self) -> str | None:
        return None if self.outcome == SUCCESS else self.outcome

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for keeping the planned answer on a queued request."""
        return {
            "outcome": self.outcome,
            "response_code": self.response_code,
            "rtt_ms": self.rtt_ms,
            "failure_reason": self.failure_reason,
            "alerts": list(self.alerts),
        }


@dataclass(frozen=True)
class Deliveries:
    """The vectorised form: ``outcome`` indexes ``OUTCOMES``; ``rtt_ms`` is milliseconds."""

    outcome: npt.NDArray[np.int8]
    rtt_ms: npt.NDArray[np.float64]


def request_rng(seed: int, request_id: str) -> random.Random:
    """The draws behind one service request's answer, fixed by the network's seed and the
    RequestID alone: a restarted hub plans the same answer again, and a test can pick a
    RequestID for the outcome it needs."""
    digest = hashlib.sha256(f"{seed}:{request_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _stable_unit(name: str) -> float:
    """A number in [0, 1) fixed by ``name`` alone, the same in every process and run."""
    return zlib.crc32(name.encode()) / 2**32


class NetworkModel:
    """Draws delivery outcomes from a ``NetworkProfile``."""

    @classmethod
    def default(cls) -> NetworkModel:
        return cls(NetworkProfile())

    def __init__(self, profile: NetworkProfile | None = None) -> None:
        self.profile = profile or NetworkProfile()
        p = self.profile
        self._median = np.array([p.regions[r].median_rtt_ms for r in REGIONS])
        self._sigma = np.array([p.regions[r].sigma for r in REGIONS])
        self._offline = np.array([p.regions[r].hub_offline_rate for r in REGIONS])
        self._no_response = np.array([p.regions[r].no_response_rate for r in REGIONS])
        self._region_index = {r: i for i, r in enumerate(REGIONS)}

    # ---- per-attribute factors -------------------------------------------------------------
    def model_rtt_factor(self, model: str) -> float:
        """How much slower than the region's median a device model answers (1.0 = typical)."""
        named = self.profile.model_rtt_factor.get(model)
        if named is not None:
            return named
        return 1.0 + self.profile.unnamed_model_spread * _stable_unit("rtt:" + model) ** 2

    def failure_factor(self, model: str, firmware_version: str) -> float:
        """Multiplier on the device-side failure rates for this model and firmware."""
        m = self.profile.model_failure_factor.get(model)
        if m is None:
            m = 1.0 + self.profile.unnamed_model_spread * _stable_unit("fail:" + model) ** 2
        f = self.profile.firmware_failure_factor.get(firmware_version)
        if f is None:
            f = 1.0 + self.profile.unnamed_firmware_spread * _stable_unit(firmware_version) ** 3
        return m * f

    def srv_rtt_factor(self, srv: str) -> float:
        return self.profile.srv_rtt_factor.get(srv, 1.0)

    def srv_timeout_ms(self, srv: str) -> float:
        return self.profile.srv_timeout_ms.get(srv, self.profile.timeout_ms)

    def region_index(self, region: str) -> int:
        try:
            return self._region_index[region]
        except KeyError:
            raise InvalidInput(f"unknown CSP region {region!r}", code="bad_csp_region") from None

    def response_code(self, outcome: str) -> str:
        return self.profile.response_codes[outcome]

    def alerts_for(self, srv: str, outcome: str) -> tuple[AlertCode, ...]:
        """DCC alerts that follow directly from one request's outcome."""
        if outcome != SUCCESS:
            alert = self.profile.outcome_alerts.get(outcome)
            return (alert,) if alert else ()
        if srv == "8.1.1":
            return ("N16",)
        if srv == "6.23":
            return ("N42",)
        return ()

    # ---- one request ----------------------------------------------------------------------
    def deliver(
        self,
        device: DeviceOnNetwork,
        srv: str,
        rng: np.random.Generator | random.Random,
        *,
        degraded: bool = False,
    ) -> Delivery:
        """Send one service request to ``device`` and say what came back, and when.

        ``rng`` may be a ``random.Random`` (the gateway seeds one per RequestID): then the same
        model is drawn in plain Python (``_deliver_one``), a tenth of the cost of numpy on one
        request; a numpy generator takes the vectorised path. Either way one seed, one answer.
        """
        if isinstance(rng, random.Random):
            return self._deliver_one(device, srv, rng, degraded=degraded)
        result = self.deliver_many(
            region=np.array([self.region_index(device.csp_region)], dtype=np.int8),
            smets1=np.array([device.smets_version == "SMETS1"]),
            rtt_factor=np.array([self.model_rtt_factor(device.model) * self.srv_rtt_factor(srv)]),
            failure_factor=np.array([self.failure_factor(device.model, device.firmware_version)]),
            timeout_ms=np.array([self.srv_timeout_ms(srv)]),
            non_device=np.array([srv in NON_DEVICE_SRVS]),
            degraded=np.array([degraded]),
            rng=rng,
        )
        outcome = OUTCOMES[int(result.outcome[0])]
        return Delivery(
            outcome=outcome,
            response_code=self.response_code(outcome),
            rtt_ms=float(result.rtt_ms[0]),
            alerts=self.alerts_for(srv, outcome),
        )

    def _deliver_one(
        self, device: DeviceOnNetwork, srv: str, rng: random.Random, *, degraded: bool
    ) -> Delivery:
        """``deliver_many`` for one request, in scalars: the same draws in the same order
        (normal, tail, Pareto, failure) and the same arithmetic, from a ``random.Random``."""
        p = self.profile
        i = self.region_index(device.csp_region)
        smets1 = device.smets_version == "SMETS1"
        failure = self.failure_factor(device.model, device.firmware_version)
        timeout = self.srv_timeout_ms(srv)
        z = rng.gauss(0.0, 1.0)
        u_tail = rng.random()
        pareto = rng.paretovariate(p.tail_pareto_alpha)  # Pareto with minimum 1
        u_fail = rng.random()

        rtt = float(self._median[i]) * math.exp(float(self._sigma[i]) * z)
        rtt *= self.model_rtt_factor(device.model) * self.srv_rtt_factor(srv)
        if u_tail < p.tail_share:
            rtt *= pareto
        if smets1:
            rtt = rtt * p.smets1_rtt_factor + p.smets1_extra_ms
        offline = float(self._offline[i]) * failure
        if degraded:
            rtt *= p.incident_rtt_factor
            offline = max(offline, p.incident_offline_rate)
        c1 = offline
        c2 = c1 + float(self._no_response[i]) * failure
        c3 = c2 + p.device_busy_rate * failure
        c4 = c3 + (p.s1sp_validation_rate if smets1 else 0.0)
        if srv in NON_DEVICE_SRVS:
            outcome, rtt = SUCCESS, p.non_device_median_ms * math.exp(0.5 * z)
        elif u_fail < c1:
            outcome, rtt = HUB_OFFLINE, timeout
        elif u_fail < c2:
            outcome, rtt = NO_RESPONSE, timeout
        elif u_fail < c3:
            outcome = DEVICE_BUSY
        elif u_fail < c4:
            outcome = S1SP_VALIDATION
        elif rtt > timeout:
            outcome, rtt = TIMEOUT, timeout
        else:
            outcome = SUCCESS
        return Delivery(
            outcome=outcome,
            response_code=self.response_code(outcome),
            rtt_ms=rtt,
            alerts=self.alerts_for(srv, outcome),
        )

    # ---- many requests --------------------------------------------------------------------
    def deliver_many(
        self,
        *,
        region: npt.NDArray[np.integer[Any]],
        smets1: npt.NDArray[np.bool_],
        rtt_factor: npt.NDArray[np.floating[Any]],
        failure_factor: npt.NDArray[np.floating[Any]],
        timeout_ms: npt.NDArray[np.floating[Any]],
        non_device: npt.NDArray[np.bool_],
        degraded: npt.NDArray[np.bool_] | None,
        rng: np.random.Generator,
    ) -> Deliveries:
        """Outcomes and RTTs for ``len(region)`` requests; ``region`` indexes ``REGIONS``.

        ``rtt_factor`` combines model and SRV factors, ``failure_factor`` model and firmware.
        The number of draws does not depend on the outcomes, so one seed gives one answer.
        """
        p = self.profile
        n = len(region)
        z = rng.standard_normal(n)
        u_tail = rng.random(n)
        pareto = rng.pareto(p.tail_pareto_alpha, n) + 1.0
        u_fail = rng.random(n)

        rtt = self._median[region] * np.exp(self._sigma[region] * z) * rtt_factor
        rtt = np.where(u_tail < p.tail_share, rtt * pareto, rtt)
        rtt = np.where(smets1, rtt * p.smets1_rtt_factor + p.smets1_extra_ms, rtt)
        if degraded is not None:
            rtt = np.where(degraded, rtt * p.incident_rtt_factor, rtt)

        offline = self._offline[region] * failure_factor
        if degraded is not None:
            offline = np.where(degraded, np.maximum(offline, p.incident_offline_rate), offline)
        no_resp = self._no_response[region] * failure_factor
        busy = p.device_busy_rate * failure_factor
        s1sp = np.where(smets1, p.s1sp_validation_rate, 0.0)
        c1 = offline
        c2 = c1 + no_resp
        c3 = c2 + busy
        c4 = c3 + s1sp
        outcome = np.zeros(n, dtype=np.int8)
        outcome[u_fail < c4] = OUTCOMES.index(S1SP_VALIDATION)
        outcome[u_fail < c3] = OUTCOMES.index(DEVICE_BUSY)
        outcome[u_fail < c2] = OUTCOMES.index(NO_RESPONSE)
        outcome[u_fail < c1] = OUTCOMES.index(HUB_OFFLINE)
        late = (outcome == 0) & (rtt > timeout_ms)
        outcome[late] = OUTCOMES.index(TIMEOUT)
        # Nothing came back: the DCC gives up at the target response time.
        silent = (outcome == OUTCOMES.index(HUB_OFFLINE)) | (outcome == OUTCOMES.index(NO_RESPONSE))
        rtt = np.where(silent | late, timeout_ms, rtt)

        nd = non_device.astype(bool)
        if nd.any():
            outcome[nd] = 0
            rtt[nd] = p.non_device_median_ms * np.exp(0.5 * z[nd])
        return Deliveries(outcome=outcome, rtt_ms=rtt)

    # ---- alert timing ---------------------------------------------------------------------
    def alert_delivery_ms(self, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """Time from the event on the device to the alert reaching the user."""
        p = self.profile
        return p.alert_delivery_median_ms * np.exp(p.alert_delivery_sigma * rng.standard_normal(n))

    def n42_delay_ms(self, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """Delay from a 6.23 credential update to the N42 alert; ``inf`` when none comes."""
        p = self.profile
        hours = p.n42_delay_median_hours * np.exp(p.n42_delay_sigma * rng.standard_normal(n))
        missing = rng.random(n) < p.n42_missing_rate
        return np.where(missing, np.inf, hours * 3_600_000.0)

    def outage_duration_ms(self, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """How long each power outage lasts; ``inf`` where no restoration alert will come."""
        p = self.profile
        minutes = p.outage_minutes_median * np.exp(p.outage_minutes_sigma * rng.standard_normal(n))
        missing = rng.random(n) < p.restoration_missing_rate
        return np.where(missing, np.inf, minutes * 60_000.0)

    # ---- power outages in the live gateway ------------------------------------------------
    def outages_between(self, seed: int, after: datetime, until: datetime) -> list[PlannedOutage]:
        """The outages starting in ``(after, until]``, in time order.

        Each hour of the clock draws its own outages from ``(seed, hour)``, so the answer for
        any stretch of time is the same however it is cut into sweeps."""
        if self.profile.outages_per_day <= 0 or until <= after:
            return []
        first, last = _ms(after), _ms(until)
        found: list[PlannedOutage] = []
        for hour in range(first // OUTAGE_HOUR_MS, last // OUTAGE_HOUR_MS + 1):
            found.extend(
                o for o in self._outages_in_hour(seed, hour) if first < _ms(o.start) <= last
            )
        return sorted(found, key=lambda o: (o.start, o.key))

    def _outages_in_hour(self, seed: int, hour: int) -> list[PlannedOutage]:
        p = self.profile
        entropy = (seed % 2**63, 0xAD1, hour)
        rng = np.random.default_rng(np.random.SeedSequence(entropy))
        outages = []
        for n in range(int(rng.poisson(p.outages_per_day / 24))):
            offset = int(rng.integers(OUTAGE_HOUR_MS))
            region = REGIONS[int(rng.integers(len(REGIONS)))]
            position = float(rng.random())
            size = p.outage_hubs_median * float(np.exp(p.outage_hubs_sigma * rng.standard_normal()))
            outages.append(
                PlannedOutage(
                    key=f"{hour}-{n}",
                    start=_EPOCH + timedelta(milliseconds=hour * OUTAGE_HOUR_MS + offset),
                    region=region,
                    position=position,
                    hubs=int(np.clip(round(size), 1, max(p.outage_hubs_max, 1))),
                    entropy=(*entropy, n),
                )
            )
        return outages

    def outage_restorations_ms(self, outage: PlannedOutage, n: int) -> npt.NDArray[np.float64]:
        """How long each of the ``n`` hubs the outage hit stays dark; ``inf`` for those whose
        meter never sends the restoration alert. Drawn from the outage's own seed."""
        return self.outage_duration_ms(
            n, np.random.default_rng(np.random.SeedSequence(outage.entropy))
        )
