"""The traffic plan: how many of each stream start in each minute, the day's campaigns, power
outages and CSP incidents, all drawn from the master seed, cut into chunks of minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from meterhub.errors import InvalidInput
from meterhub.lake.simulate.estate import Estate
from meterhub.lake.simulate.mix import (
    F64,
    MS_PER_DAY,
    MS_PER_MINUTE,
    STEPS_PER_ITEM,
    TrafficSettings,
)
from meterhub.network.model import REGIONS


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
        return int((self.counts.sum(axis=1) * STEPS_PER_ITEM).sum())


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
    items = total_requests * shares / STEPS_PER_ITEM
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
    per_minute = (counts * STEPS_PER_ITEM[:, None]).sum(axis=0)
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
