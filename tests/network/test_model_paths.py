"""The live gateway draws one request at a time in plain Python; the lake simulator draws
millions with numpy. Both must be the same network: the same outcome mix and RTT spread."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from meterhub.network.model import OUTCOMES, REGIONS, NetworkModel, NetworkProfile

N = 40_000


@dataclass
class Device:
    csp_region: str
    smets_version: str
    model: str = "ACME-1"
    firmware_version: str = "1.0.0"


def _scalar(
    model: NetworkModel, device: Device, srv: str, *, degraded: bool
) -> tuple[Counter[str], list[float]]:
    outcomes: Counter[str] = Counter()
    rtts = []
    for i in range(N):
        d = model.deliver(device, srv, random.Random(i), degraded=degraded)
        outcomes[d.outcome] += 1
        rtts.append(d.rtt_ms)
    return outcomes, rtts


def _vector(
    model: NetworkModel, device: Device, srv: str, *, degraded: bool
) -> tuple[Counter[str], list[float]]:
    result = model.deliver_many(
        region=np.full(N, REGIONS.index(device.csp_region), dtype=np.int8),
        smets1=np.full(N, device.smets_version == "SMETS1"),
        rtt_factor=np.full(N, model.model_rtt_factor(device.model) * model.srv_rtt_factor(srv)),
        failure_factor=np.full(N, model.failure_factor(device.model, device.firmware_version)),
        timeout_ms=np.full(N, model.srv_timeout_ms(srv)),
        non_device=np.zeros(N, dtype=bool),
        degraded=np.full(N, degraded),
        rng=np.random.default_rng(5),
    )
    return Counter(OUTCOMES[int(o)] for o in result.outcome), [float(r) for r in result.rtt_ms]


@pytest.mark.parametrize(
    ("device", "degraded"),
    [
        (Device("North", "SMETS2"), False),
        (Device("South", "SMETS1"), False),
        (Device("Central", "SMETS2"), True),
    ],
)
def test_one_at_a_time_and_vectorised_draw_the_same_network(device: Device, degraded: bool) -> None:
    # Failure rates raised so that every outcome occurs often enough to compare.
    profile = NetworkProfile.from_mapping({"device_busy_rate": 0.03})
    model = NetworkModel(profile)
    one, one_rtt = _scalar(model, device, "4.1.1", degraded=degraded)
    many, many_rtt = _vector(model, device, "4.1.1", degraded=degraded)
    for outcome in OUTCOMES:
        a, b = one[outcome] / N, many[outcome] / N
        assert abs(a - b) <= 0.005 + 0.1 * max(a, b), (outcome, a, b)
    for q in (0.5, 0.9):
        a = statistics.quantiles(one_rtt, n=100)[int(q * 100) - 1]
        b = statistics.quantiles(many_rtt, n=100)[int(q * 100) - 1]
        assert abs(a - b) <= 0.05 * b, (q, a, b)


def test_one_at_a_time_is_deterministic_per_seed() -> None:
    model = NetworkModel.default()
    device = Device("North", "SMETS2")
    a = [model.deliver(device, "4.1.1", random.Random(i)) for i in range(50)]
    b = [model.deliver(device, "4.1.1", random.Random(i)) for i in range(50)]
    assert a == b
    assert len({d.rtt_ms for d in a}) > 40  # different seeds, different answers (timeouts aside)
