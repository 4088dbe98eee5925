"""The simulated device network: deterministic, plausible, and configurable."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from meterhub.errors import InvalidInput
from meterhub.network.model import (
    OUTCOMES,
    REGIONS,
    NetworkModel,
    NetworkProfile,
)


@dataclass
class FakeDevice:
    csp_region: str = "North"
    smets_version: str = "SMETS2"
    model: str = "ACME-1"
    firmware_version: str = "1.0.0"


def _many(
    model: NetworkModel, n: int, *, region: str, smets1: bool = False, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    result = model.deliver_many(
        region=np.full(n, REGIONS.index(region), dtype=np.int8),
        smets1=np.full(n, smets1),
        rtt_factor=np.ones(n),
        failure_factor=np.ones(n),
        timeout_ms=np.full(n, model.profile.timeout_ms),
        non_device=np.zeros(n, dtype=bool),
        degraded=None,
        rng=np.random.default_rng(seed),
    )
    return result.outcome, result.rtt_ms


class TestDeliver:
    def test_same_seed_same_answer(self) -> None:
        model = NetworkModel()
        a = model.deliver(FakeDevice(), "4.1.1", np.random.default_rng(7))
        b = model.deliver(FakeDevice(), "4.1.1", np.random.default_rng(7))
        assert a == b

    def test_accepts_a_seeded_random_random(self) -> None:
        model = NetworkModel()
        a = model.deliver(FakeDevice(), "4.1.1", random.Random(3))
        b = model.deliver(FakeDevice(), "4.1.1", random.Random(3))
        assert a == b
        assert a.as_dict()["response_code"] == a.response_code

    def test_no_response_raises_n13(self) -> None:
        profile = NetworkProfile.from_mapping(
            {"regions": {"North": {"no_response_rate": 1.0, "hub_offline_rate": 0.0}}}
        )
        delivery = NetworkModel(profile).deliver(FakeDevice(), "4.1.1", np.random.default_rng(1))
        assert delivery.outcome == "no_response"
        assert delivery.alerts == ("N13",)
        assert delivery.response_code == "E21"
        assert delivery.failure_reason == "no_response"

    def test_s1sp_rejection_raises_n55_only_for_smets1(self) -> None:
        profile = NetworkProfile.from_mapping({"s1sp_validation_rate": 1.0})
        model = NetworkModel(profile)
        smets1 = model.deliver(
            FakeDevice(csp_region="Central4G", smets_version="SMETS1"),
            "4.1.1",
            np.random.default_rng(1),
        )
        smets2 = model.deliver(
            FakeDevice(csp_region="Central4G"), "4.1.1", np.random.default_rng(1)
        )
        assert smets1.alerts == ("N55",)
        assert smets2.outcome != "s1sp_validation"

    def test_commission_and_credential_update_raise_follow_up_alerts(self) -> None:
        quiet = NetworkProfile.from_mapping(
            {
                "regions": {r: {"no_response_rate": 0.0, "hub_offline_rate": 0.0} for r in REGIONS},
                "device_busy_rate": 0.0,
                "tail_share": 0.0,
            }
        )
        model = NetworkModel(quiet)
        assert model.deliver(FakeDevice(), "8.1.1", np.random.default_rng(1)).alerts == ("N16",)
        assert model.deliver(FakeDevice(), "6.23", np.random.default_rng(1)).alerts == ("N42",)

    def test_non_device_srv_never_fails_on_the_network(self) -> None:
        profile = NetworkProfile.from_mapping({"regions": {"North": {"hub_offline_rate": 1.0}}})
        delivery = NetworkModel(profile).deliver(FakeDevice(), "8.14.1", np.random.default_rng(1))
        assert delivery.succeeded
        assert delivery.rtt_ms < 5_000


class TestDeliverMany:
    def test_4g_median_rtt_below_legacy(self) -> None:
        model = NetworkModel()
        _, legacy = _many(model, 50_000, region="North")
        _, fourg = _many(model, 50_000, region="North4G")
        assert np.median(fourg) < np.median(legacy)

    def test_smets1_slower_than_smets2(self) -> None:
        model = NetworkModel()
        _, s2 = _many(model, 50_000, region="Central")
        _, s1 = _many(model, 50_000, region="Central", smets1=True)
        assert np.median(s1) > np.median(s2)

    def test_rtt_has_a_heavy_tail(self) -> None:
        _, rtt = _many(NetworkModel(), 100_000, region="South")
        assert np.percentile(rtt, 99.5) > 4 * np.median(rtt)

    def test_failure_rate_within_configured_bounds(self) -> None:
        model = NetworkModel()
        outcome, _ = _many(model, 100_000, region="North")
        link = model.profile.regions["North"]
        configured = link.hub_offline_rate + link.no_response_rate + model.profile.device_busy_rate
        observed = float((outcome != 0).mean())
        # Timeouts from the heavy tail add a little on top of the configured device failures.
        assert configured * 0.85 < observed < configured * 1.5

    def test_each_failure_mode_appears(self) -> None:
        outcome, _ = _many(NetworkModel(), 200_000, region="North", smets1=True)
        seen = {OUTCOMES[i] for i in np.unique(outcome)}
        assert seen == set(OUTCOMES)

    def test_degraded_region_fails_more(self) -> None:
        model = NetworkModel()
        n = 20_000
        common = {
            "region": np.zeros(n, dtype=np.int8),
            "smets1": np.zeros(n, dtype=bool),
            "rtt_factor": np.ones(n),
            "failure_factor": np.ones(n),
            "timeout_ms": np.full(n, 60_000.0),
            "non_device": np.zeros(n, dtype=bool),
        }
        normal = model.deliver_many(**common, degraded=None, rng=np.random.default_rng(2))
        bad = model.deliver_many(
            **common, degraded=np.ones(n, dtype=bool), rng=np.random.default_rng(2)
        )
        assert (bad.outcome != 0).mean() > 5 * (normal.outcome != 0).mean()

    def test_deterministic_under_a_seed(self) -> None:
        model = NetworkModel()
        a = _many(model, 1000, region="South", seed=9)
        b = _many(model, 1000, region="South", seed=9)
        c = _many(model, 1000, region="South", seed=10)
        assert np.array_equal(a[1], b[1])
        assert not np.array_equal(a[1], c[1])


class TestDeviceFactors:
    def test_named_bad_model_is_slower(self) -> None:
        """Answers from a model named 2.5 times slower arrive about 2.5 times later, request
        for request, over the seeds the gateway draws from (one ``random.Random`` each)."""
        model = NetworkModel(NetworkProfile.from_mapping({"model_rtt_factor": {"SLOWCO-9": 2.5}}))
        typical, slow = FakeDevice(model="ACME-1"), FakeDevice(model="SLOWCO-9")
        pairs = [
            (
                model.deliver(typical, "4.1.1", random.Random(n)),
                model.deliver(slow, "4.1.1", random.Random(n)),
            )
            for n in range(2000)
        ]
        answered = [(a.rtt_ms, b.rtt_ms) for a, b in pairs if a.succeeded and b.succeeded]
        assert len(answered) > 1800
        typical_rtt = np.array([a for a, _ in answered])
        slow_rtt = np.array([b for _, b in answered])
        assert (slow_rtt > typical_rtt).all()
        assert 2.0 < np.median(slow_rtt) / np.median(typical_rtt) < 3.0
        assert np.percentile(slow_rtt, 95) > 2.0 * np.percentile(typical_rtt, 95)

    def test_unnamed_factors_are_the_same_in_every_process(self) -> None:
        """The lake simulator's processes and the live hub must agree on how an unnamed model
        and firmware behave: a factor drawn from Python's per-process hash would not."""
        pairs = [("X", "1.2"), ("Y", "1.2"), ("X", "9.9")]
        here = [NetworkModel().failure_factor(m, f) for m, f in pairs]
        script = (
            "from meterhub.network.model import NetworkModel; "
            f"print([NetworkModel().failure_factor(m, f) for m, f in {pairs!r}])"
        )
        for hash_seed in ("1", "2"):
            there = subprocess.run(
                [sys.executable, "-c", script],
                env={**os.environ, "PYTHONHASHSEED": hash_seed},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert ast.literal_eval(there) == here
        assert len(set(here)) == 3, "different models and firmware should differ"


class TestNetworkProfile:
    def test_overrides_from_json_file(self, tmp_path: Path) -> None:
        path = tmp_path / "net.json"
        path.write_text(json.dumps({"device_busy_rate": 0.5, "regions": {"South": {"sigma": 0.1}}}))
        profile = NetworkProfile.load(path)
        assert profile.device_busy_rate == 0.5
        assert profile.regions["South"].sigma == 0.1
        assert profile.regions["North"] == NetworkProfile().regions["North"]

    def test_overrides_from_toml_file(self, tmp_path: Path) -> None:
        path = tmp_path / "net.toml"
        path.write_text("timeout_ms = 30000.0\n[regions.North4G]\nmedian_rtt_ms = 900.0\n")
        profile = NetworkProfile.load(path)
        assert profile.timeout_ms == 30000.0
        assert profile.regions["North4G"].median_rtt_ms == 900.0

    def test_unknown_setting_refused(self) -> None:
        with pytest.raises(InvalidInput):
            NetworkProfile.from_mapping({"no_such_rate": 1})

    def test_unknown_region_refused(self) -> None:
        with pytest.raises(InvalidInput):
            NetworkProfile.from_mapping({"regions": {"Mars": {"sigma": 1.0}}})


class TestOutagesBetween:
    T0 = datetime(2026, 1, 5, tzinfo=UTC)

    def test_the_same_seed_and_clock_give_the_same_outages_however_the_time_is_cut(self) -> None:
        model = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 30.0}))
        whole = model.outages_between(5, self.T0, self.T0 + timedelta(days=2))
        pieces = []
        at = self.T0
        while at < self.T0 + timedelta(days=2):
            step = min(at + timedelta(minutes=37), self.T0 + timedelta(days=2))
            pieces.extend(model.outages_between(5, at, step))
            at = step
        assert len(whole) > 20
        assert whole == pieces
        assert whole == NetworkModel(model.profile).outages_between(
            5, self.T0, self.T0 + timedelta(days=2)
        )

    def test_outages_start_inside_the_interval_and_hit_a_bounded_street(self) -> None:
        profile = NetworkProfile.from_mapping(
            {"outages_per_day": 200.0, "outage_hubs_median": 50.0, "outage_hubs_max": 80}
        )
        end = self.T0 + timedelta(days=1)
        found = NetworkModel(profile).outages_between(1, self.T0, end)
        assert 120 < len(found) < 300
        assert all(self.T0 < o.start <= end for o in found)
        assert all(1 <= o.hubs <= 80 for o in found)
        assert {o.region for o in found} == set(REGIONS)
        assert len({o.key for o in found}) == len(found)

    def test_rate_zero_means_no_outages(self) -> None:
        model = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 0}))
        assert model.outages_between(1, self.T0, self.T0 + timedelta(days=30)) == []

    def test_some_meters_never_report_the_supply_back(self) -> None:
        model = NetworkModel(NetworkProfile.from_mapping({"outages_per_day": 100.0}))
        [outage, *_] = model.outages_between(3, self.T0, self.T0 + timedelta(days=1))
        durations = model.outage_restorations_ms(outage, 5000)
        missing = float(np.isinf(durations).mean())
        assert 0.05 < missing < 0.11  # restoration_missing_rate 0.08
        assert np.array_equal(durations, model.outage_restorations_ms(outage, 5000))

    def test_alert_recipients_are_checked(self) -> None:
        profile = NetworkProfile.from_mapping({"outage_alert_roles": ["ED", "IS"]})
        assert profile.outage_alert_roles == ("ED", "IS")
        with pytest.raises(InvalidInput):
            NetworkProfile.from_mapping({"outage_alert_roles": ["GS"]})
