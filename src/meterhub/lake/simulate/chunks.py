"""The chunk generator: one ``Chunk`` of the plan turned into a table of lake events, from its
own generator seeded by ``(seed, chunk number)``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from meterhub.inventory.catalogue import GAS_DEVICE_TYPES
from meterhub.lake import schema as S
from meterhub.lake.simulate.estate import Estate
from meterhub.lake.simulate.mix import (
    AGENT,
    ALERT_CODES,
    DAILY_READS,
    F64,
    I32,
    I64,
    MS_PER_DAY,
    MS_PER_MINUTE,
    NETWORK,
    NON_DEVICE,
    ON_DEMAND,
    PROCESS_INDEX,
    PROCESS_OF_SRV,
    REFUSAL_P,
    REFUSALS,
    RESPONSE_CODES,
    SERVICE_REFERENCE_OF_SRV,
    SERVICE_REFERENCES,
    SRV_INDEX,
    SRVS,
    SUPPLIER,
    TrafficSettings,
)
from meterhub.lake.simulate.plan import Chunk, TrafficPlan
from meterhub.network.model import OUTCOMES, NetworkModel
from meterhub.parties.roles import ELECTRICITY_ROLES, GAS_ROLES, Role


@dataclass
class _Requests:
    """A block of requests; each array has one entry per request."""

    t: I64
    srv: I32
    dev: I32
    sender: npt.NDArray[np.int8]
    process: I32

    def __len__(self) -> int:
        return len(self.t)


#: One journey step: SRV (or per-journey SRV indices), target devices, sender (or per-journey
#: senders), delay in ms after the previous step's response.
_Step = tuple[str | npt.NDArray[np.int32], I32, int | npt.NDArray[np.int8], F64]


@dataclass
class _Delivered:
    t: I64
    srv: I32
    dev: I32
    party: I32
    role: I32
    process: I32
    refusal: I32  # index into RESPONSE_CODES, -1 when acknowledged
    outcome: npt.NDArray[np.int8]
    rtt: F64
    category: npt.NDArray[np.int8]


@dataclass
class _Alerts:
    t: I64
    dev: I32
    party: I32
    role: I32
    code: I32
    request: I64
    delay: F64


class ChunkGenerator:
    """Turns one ``Chunk`` of the plan into a table of events."""

    def __init__(
        self,
        estate: Estate,
        plan: TrafficPlan,
        network: NetworkModel,
        settings: TrafficSettings,
    ) -> None:
        self.estate = estate
        self.plan = plan
        self.network = network
        self.settings = settings
        e = estate
        code = e.type_code
        meter = (e.device_type == code("ESME")) | (e.device_type == code("GSME"))
        self.pools: dict[str, I32] = {
            "ESME": np.flatnonzero(e.live & (e.device_type == code("ESME"))).astype(np.int32),
            "GSME": np.flatnonzero(e.live & (e.device_type == code("GSME"))).astype(np.int32),
            "METER": np.flatnonzero(e.live & meter).astype(np.int32),
            "CHF": np.flatnonzero(e.live & (e.device_type == code("CHF"))).astype(np.int32),
        }
        gas = np.array([t in GAS_DEVICE_TYPES for t in e.vocab["device_type"]] or [False])
        self.is_gas = gas[e.device_type] if e.size else np.zeros(0, bool)
        # The sender's role by (sender, gas): the registered supplier's and the network
        # operator's for the fuel, the agent's whatever the fuel.
        supplier_roles, network_roles = zip(ELECTRICITY_ROLES, GAS_ROLES, strict=True)
        agent = Role.REGISTERED_SUPPLIER_AGENT.value
        self._role_table = np.array(
            [
                [S.ROLES.index(r) for r in supplier_roles],
                [S.ROLES.index(r) for r in network_roles],
                [S.ROLES.index(agent), S.ROLES.index(agent)],
            ],
            dtype=np.int32,
        )
        self._srv_rtt = np.array([network.srv_rtt_factor(s) for s in SRVS])
        self._srv_timeout = np.array([network.srv_timeout_ms(s) for s in SRVS])
        self._response_code = np.array(
            [RESPONSE_CODES.index(network.response_code(o)) for o in OUTCOMES], dtype=np.int32
        )
        alert_of = [network.profile.outcome_alerts.get(o) for o in OUTCOMES]
        self._outcome_alert = np.array(
            [ALERT_CODES.index(a) if a else -1 for a in alert_of], dtype=np.int32
        )
        vocabularies: dict[str, tuple[str, ...] | list[str]] = {
            "kind": S.KINDS,
            "party": e.vocab["party"],
            "role": S.ROLES,
            "srv": SRVS,
            "service_reference": SERVICE_REFERENCES,
            "process": S.PROCESSES,
            "device_type": e.vocab["device_type"],
            "manufacturer": e.vocab["manufacturer"],
            "model": e.vocab["model"],
            "firmware_version": e.vocab["firmware_version"],
            "smets_version": e.vocab["smets_version"],
            "csp_region": e.vocab["csp_region"],
            "response_code": RESPONSE_CODES,
            "failure_reason": OUTCOMES,
            "alert_code": ALERT_CODES,
        }
        self._vocabulary = {
            name: pa.array(list(values), type=pa.string()) for name, values in vocabularies.items()
        }

    @cache  # noqa: B019  (one generator per process, lives as long as the process)
    def _pool_of(self, key: str, value: int) -> I32:
        e = self.estate
        if key == "supplier":
            pool = self.pools["METER"]
            return pool[e.supplier[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        if key == "hub_model":
            pool = self.pools["CHF"]
            return pool[e.model[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        if key == "region_esme":
            pool = self.pools["ESME"]
            return pool[e.region[pool] == value].astype(np.int32)  # type: ignore[no-any-return]
        raise ValueError(key)

    # -- request streams ----------------------------------------------------------------------
    def _times(self, chunk: Chunk, stream: int, rng: np.random.Generator) -> I64:
        counts = chunk.counts[stream]
        minute_ms = (
            self.plan.start_ms + (chunk.first_minute + np.arange(len(counts))) * MS_PER_MINUTE
        )
        starts = np.repeat(minute_ms, counts)
        return np.sort(starts + rng.integers(0, MS_PER_MINUTE, len(starts)))

    def _mix(
        self, t: I64, mix: tuple[tuple[str, float, str, int], ...], rng: np.random.Generator
    ) -> _Requests:
        weights = np.array([w for _s, w, _t, _r in mix])
        entry = rng.choice(len(mix), size=len(t), p=weights / weights.sum())
        dev = np.full(len(t), -1, dtype=np.int32)
        u = rng.random(len(t))
        for k, (_srv, _w, target, _sender) in enumerate(mix):
            pool = self.pools[target]
            where = entry == k
            if len(pool):
                dev[where] = pool[(u[where] * len(pool)).astype(np.int64)]
        srv = np.array([SRV_INDEX[s] for s, *_ in mix], dtype=np.int32)[entry]
        sender = np.array([r for *_x, r in mix], dtype=np.int8)[entry]
        return self._keep(_Requests(t, srv, dev, sender, PROCESS_OF_SRV[srv]), dev >= 0)

    @staticmethod
    def _keep(r: _Requests, mask: npt.NDArray[np.bool_]) -> _Requests:
        return _Requests(r.t[mask], r.srv[mask], r.dev[mask], r.sender[mask], r.process[mask])

    def _single(self, t: I64, srv: str, dev: I32, sender: int, process: str) -> _Requests:
        n = len(t)
        return _Requests(
            t.astype(np.int64),
            np.full(n, SRV_INDEX[srv], dtype=np.int32),
            dev.astype(np.int32),
            np.full(n, sender, dtype=np.int8),
            np.full(n, PROCESS_INDEX[process], dtype=np.int32),
        )

    # -- delivery -----------------------------------------------------------------------------
    def _deliver(self, r: _Requests, rng: np.random.Generator) -> _Delivered:
        e = self.estate
        n = len(r)
        dev = r.dev
        gas = self.is_gas[dev].astype(np.int64)
        party = np.where(r.sender == NETWORK, e.network[dev], e.supplier[dev])
        party = np.where(r.sender == AGENT, np.where(e.agent[dev] >= 0, e.agent[dev], party), party)
        sender = np.where((r.sender == AGENT) & (e.agent[dev] < 0), SUPPLIER, r.sender)
        sender = np.where((sender == NETWORK) & (party < 0), SUPPLIER, sender)
        party = np.where(party < 0, e.supplier[dev], party)
        role = self._role_table[sender, gas]

        refused = rng.random(n) < self.settings.refusal_rate
        refusal_pick = rng.choice(len(REFUSALS), size=n, p=REFUSAL_P)
        refusal = np.where(refused, REFUSALS[refusal_pick], -1).astype(np.int32)

        region = e.region[dev]
        category = np.zeros(n, dtype=np.int8)
        degraded = np.zeros(n, dtype=bool)
        for inc in self.plan.incidents:
            hit = (region == inc.region) & (r.t >= inc.start_ms) & (r.t < inc.end_ms)
            degraded |= hit
            category[hit] = inc.category
        smets1_code = (
            e.vocab["smets_version"].index("SMETS1") if "SMETS1" in e.vocab["smets_version"] else -1
        )
        result = self.network.deliver_many(
            region=region,
            smets1=e.smets[dev] == smets1_code,
            rtt_factor=e.rtt_factor[dev] * self._srv_rtt[r.srv],
            failure_factor=e.failure_factor[dev],
            timeout_ms=self._srv_timeout[r.srv],
            non_device=NON_DEVICE[r.srv],
            degraded=degraded,
            rng=rng,
        )
        return _Delivered(
            r.t,
            r.srv,
            dev,
            party.astype(np.int32),
            role.astype(np.int32),
            r.process,
            refusal,
            result.outcome,
            result.rtt_ms,
            category,
        )

    @staticmethod
    def _succeeded(d: _Delivered) -> npt.NDArray[np.bool_]:
        return np.asarray((d.refusal < 0) & (d.outcome == 0), dtype=bool)

    # -- journeys -----------------------------------------------------------------------------
    def _journey(
        self,
        t0: I64,
        steps: list[_Step],
        process: str,
        rng: np.random.Generator,
        out: list[_Delivered],
    ) -> _Delivered | None:
        """Run steps in order; each step goes only to journeys whose previous steps succeeded.

        A step is (srv or per-journey SRV indices, target devices, sender, delay after the
        previous step's response in ms). Steps falling after the simulated period are dropped.
        """
        alive = np.ones(len(t0), dtype=bool)
        t = t0.astype(np.float64)
        last: _Delivered | None = None
        for srv, dev, sender, delay in steps:
            t = t + delay
            ok = alive & (t < self.plan.end_ms) & (dev >= 0)
            if not ok.any():
                return last
            srv_idx = (
                np.full(len(t0), SRV_INDEX[srv], dtype=np.int32) if isinstance(srv, str) else srv
            )
            senders = np.full(len(t0), sender, np.int8) if isinstance(sender, int) else sender
            req = _Requests(
                t[ok].astype(np.int64),
                srv_idx[ok],
                dev[ok],
                senders[ok],
                np.full(int(ok.sum()), PROCESS_INDEX[process], dtype=np.int32),
            )
            d = self._deliver(req, rng)
            out.append(d)
            last = d
            done = np.zeros(len(t0), dtype=bool)
            done[ok] = self._succeeded(d)
            alive = done
            finished = np.zeros(len(t0))
            finished[ok] = d.rtt + self.settings.ack_median_ms + self.settings.queue_median_ms
            t = t + finished
        return last

    def _installs(self, t0: I64, rng: np.random.Generator, out: list[_Delivered]) -> None:
        e = self.estate
        pool = self.pools["METER"]
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]
        hub = np.where(e.hub[meter] >= 0, e.hub[meter], meter).astype(np.int32)
        gas = self.is_gas[meter]
        join = np.where(gas, SRV_INDEX["8.7.2"], SRV_INDEX["8.7.1"]).astype(np.int32)
        leave = rng.random(len(t0)) < self.settings.install_and_leave_rate
        status = np.where(leave, SRV_INDEX["8.14.2"], SRV_INDEX["8.14.1"]).astype(np.int32)
        agent_led = (e.agent[meter] >= 0) & (rng.random(len(t0)) < 0.5)

        def gap() -> F64:
            return 20_000 + rng.exponential(90_000, len(t0))

        installer = np.where(agent_led, AGENT, SUPPLIER).astype(np.int8)
        steps: list[_Step] = [
            ("8.11", hub, installer, np.zeros(len(t0))),
            ("8.1.1", meter, SUPPLIER, gap()),
            ("6.21", meter, SUPPLIER, gap()),
            (join, meter, SUPPLIER, gap()),
            ("6.20.1", meter, SUPPLIER, gap()),
            (status, hub, SUPPLIER, gap()),
        ]
        self._journey(t0, steps, "install_commission", rng, out)

    def _change_of_supplier(self, t0: I64, rng: np.random.Generator, out: list[_Delivered]) -> None:
        pool = self.pools["METER"]
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]

        def gap() -> F64:
            return 5_000 + rng.exponential(60_000, len(t0))

        read_after = np.exp(np.log(3 * MS_PER_DAY) + 1.0 * rng.standard_normal(len(t0)))
        steps: list[_Step] = [
            ("6.23", meter, SUPPLIER, np.zeros(len(t0))),
            ("1.1.1", meter, SUPPLIER, gap()),
            ("6.8", meter, SUPPLIER, gap()),
            ("4.1.1", meter, SUPPLIER, read_after),
        ]
        self._journey(t0, steps, "change_of_supplier", rng, out)

    def _tariff(
        self, chunk: Chunk, t0: I64, rng: np.random.Generator, out: list[_Delivered]
    ) -> None:
        supplier = self.plan.tariff_supplier[chunk.day]
        pool = self._pool_of("supplier", supplier) if supplier >= 0 else np.zeros(0, np.int32)
        if not len(pool) or not len(t0):
            return
        meter = pool[rng.integers(0, len(pool), len(t0))]
        gap = 2_000 + rng.exponential(30_000, len(t0))
        steps: list[_Step] = [
            ("1.1.1", meter, SUPPLIER, np.zeros(len(t0))),
            ("1.2.1", meter, SUPPLIER, gap),
        ]
        self._journey(t0, steps, "tariff", rng, out)

    def _firmware(
        self, chunk: Chunk, t0: I64, rng: np.random.Generator, out: list[_Delivered]
    ) -> None:
        model = self.plan.firmware_model[chunk.day]
        pool = self._pool_of("hub_model", model) if model >= 0 else np.zeros(0, np.int32)
        if not len(pool) or not len(t0):
            return
        hub = pool[rng.integers(0, len(pool), len(t0))]
        activate_after = np.exp(np.log(12 * 3_600_000) + 0.8 * rng.standard_normal(len(t0)))
        steps: list[_Step] = [
            ("11.1", hub, SUPPLIER, np.zeros(len(t0))),
            ("11.3", hub, SUPPLIER, activate_after),
        ]
        self._journey(t0, steps, "firmware", rng, out)

    # -- alerts -------------------------------------------------------------------------------
    def _request_alerts(
        self, d: _Delivered, request_id: I64, t_response: I64, rng: np.random.Generator
    ) -> _Alerts:
        e = self.estate
        acknowledged = d.refusal < 0
        code = np.where(acknowledged, self._outcome_alert[d.outcome], -1)
        ok = acknowledged & (d.outcome == 0)
        commission = ok & (d.srv == SRV_INDEX["8.1.1"])
        credentials = ok & (d.srv == SRV_INDEX["6.23"])
        code = np.where(commission, ALERT_CODES.index("N16"), code)
        code = np.where(credentials, ALERT_CODES.index("N42"), code)
        idx = np.flatnonzero(code >= 0)
        delay = self.network.alert_delivery_ms(len(idx), rng)
        n42 = code[idx] == ALERT_CODES.index("N42")
        delay = np.where(n42, delay + self.network.n42_delay_ms(len(idx), rng), delay)
        dev = d.dev[idx]
        to_network = code[idx] >= ALERT_CODES.index("N16")
        party = np.where(to_network & (e.network[dev] >= 0), e.network[dev], d.party[idx])
        gas = self.is_gas[dev].astype(np.int64)
        role = np.where(
            to_network & (e.network[dev] >= 0), self._role_table[NETWORK, gas], d.role[idx]
        )
        t = t_response[idx] + delay
        # Alerts of a request follow it past the period's end, as its response does; a late N42
        # belongs to a later period.
        keep = np.isfinite(t) & (~n42 | (t < self.plan.end_ms))
        return _Alerts(
            t[keep].astype(np.int64),
            dev[keep],
            party[keep].astype(np.int32),
            role[keep].astype(np.int32),
            code[idx][keep].astype(np.int32),
            request_id[idx][keep],
            delay[keep],
        )

    def _outage_alerts(self, chunk: Chunk, rng: np.random.Generator) -> _Alerts:
        e = self.estate
        parts: list[_Alerts] = []
        for outage in chunk.outages:
            pool = self._pool_of("region_esme", outage.region)
            if not len(pool):
                continue
            meters = rng.choice(pool, size=min(outage.meters, len(pool)), replace=False).astype(
                np.int32
            )
            n = len(meters)
            start = self.plan.start_ms + outage.minute * MS_PER_MINUTE + rng.integers(0, 60_000, n)
            back = start + self.network.outage_duration_ms(n, rng)
            d1 = self.network.alert_delivery_ms(n, rng)
            d2 = self.network.alert_delivery_ms(n, rng)
            party = np.where(e.network[meters] >= 0, e.network[meters], e.supplier[meters]).astype(
                np.int32
            )
            supplier_role, network_role = ELECTRICITY_ROLES
            role = np.where(
                e.network[meters] >= 0, S.ROLES.index(network_role), S.ROLES.index(supplier_role)
            ).astype(np.int32)
            restored = np.isfinite(back) & (back + d2 < self.plan.end_ms)
            t = np.concatenate([start + d1, (back + d2)[restored]])
            keep = t < self.plan.end_ms
            parts.append(
                _Alerts(
                    t[keep].astype(np.int64),
                    np.concatenate([meters, meters[restored]])[keep],
                    np.concatenate([party, party[restored]])[keep],
                    np.concatenate([role, role[restored]])[keep],
                    np.concatenate(
                        [
                            np.full(n, ALERT_CODES.index("AD1")),
                            np.full(int(restored.sum()), ALERT_CODES.index("0x8F35")),
                        ]
                    ).astype(np.int32)[keep],
                    np.full(int(keep.sum()), -1, dtype=np.int64),
                    np.concatenate([d1, d2[restored]])[keep],
                )
            )
        return _concat_alerts(parts)

    # -- the whole chunk ----------------------------------------------------------------------
    def generate(self, chunk: Chunk) -> pa.Table:
        rng = np.random.default_rng(np.random.SeedSequence([self.plan.seed, chunk.index]))
        delivered: list[_Delivered] = []
        delivered.append(
            self._deliver(self._mix(self._times(chunk, 0, rng), DAILY_READS, rng), rng)
        )
        delivered.append(self._deliver(self._mix(self._times(chunk, 1, rng), ON_DEMAND, rng), rng))
        self._installs(self._times(chunk, 2, rng), rng, delivered)
        self._change_of_supplier(self._times(chunk, 3, rng), rng, delivered)
        self._tariff(chunk, self._times(chunk, 4, rng), rng, delivered)
        self._firmware(chunk, self._times(chunk, 5, rng), rng, delivered)
        d = _concat_delivered(delivered)
        return self._events(chunk, d, rng)

    def _events(self, chunk: Chunk, d: _Delivered, rng: np.random.Generator) -> pa.Table:
        """Lay the requests out as rows: each request's events together, in order of receipt,
        then the chunk's alerts. Keeping a request's rows adjacent lets Parquet run-length
        encode the repeated device and sender columns.

        Columns that are the same on every row of a request (sender, SRV, device and its
        attributes) are built once per *item*, a request or an alert, and spread to rows with
        one gather along ``item``: it walks memory in order, where gathering a random device per
        row would miss the cache on every request."""
        n = len(d.t)
        base = np.int64(chunk.index) << np.int64(32)
        request_id = base + np.arange(n, dtype=np.int64)
        s = self.settings
        ack_lat = np.maximum(1, s.ack_median_ms * np.exp(0.5 * rng.standard_normal(n)))
        queue = np.maximum(1, s.queue_median_ms * np.exp(0.7 * rng.standard_normal(n)))
        t_ack = d.t + ack_lat.astype(np.int64)
        t_sent = t_ack + queue.astype(np.int64)
        t_resp = t_sent + np.maximum(1, d.rtt).astype(np.int64)
        accepted = d.refusal < 0
        alerts = _concat_alerts(
            [self._request_alerts(d, request_id, t_resp, rng), self._outage_alerts(chunk, rng)]
        )

        rows = np.where(accepted, 4, 2)
        ends = np.cumsum(rows)
        m = int(ends[-1]) if n else 0
        k = len(alerts.t)
        first = ends - rows
        acc_first = first[accepted]
        item = np.concatenate([np.repeat(np.arange(n), rows), np.arange(n, n + k)])

        # Per row: 0 received, 1 acknowledged or refused, 2 sent, 3 response; then the alerts.
        kinds = np.full(m + k, S.ALERT, dtype=np.int32)
        kinds[first] = S.RECEIVED
        kinds[first + 1] = np.where(accepted, S.ACKNOWLEDGED, S.REFUSED)
        kinds[acc_first + 2] = S.SENT
        kinds[acc_first + 3] = S.RESPONSE
        times = np.empty(m + k, dtype=np.int64)
        times[first] = d.t
        times[first + 1] = t_ack
        times[acc_first + 2] = t_sent[accepted]
        times[acc_first + 3] = t_resp[accepted]
        times[m:] = alerts.t
        response_code = np.full(m + k, -1, dtype=np.int32)
        response_code[first + 1] = np.where(accepted, RESPONSE_CODES.index("I99"), d.refusal)
        response_code[acc_first + 3] = self._response_code[d.outcome[accepted]]
        rtt = np.full(m + k, -1, dtype=np.int64)
        rtt[acc_first + 3] = (t_resp - d.t)[accepted]
        rtt[m:] = alerts.delay.astype(np.int64)
        failure = np.full(m + k, -1, dtype=np.int32)
        failed = accepted & (d.outcome > 0)
        failure[first[failed] + 3] = d.outcome[failed]
        alert_code = np.full(m + k, -1, dtype=np.int32)
        alert_code[m:] = alerts.code

        none = np.full(k, -1, dtype=np.int32)
        srv = np.concatenate([d.srv, none])
        dev = np.concatenate([d.dev, alerts.dev])
        e = self.estate
        vocab = self._vocabulary

        def per_item(codes: npt.NDArray[Any], name: str) -> pa.Array:
            return _dictionary(codes[item], vocab[name])

        columns: dict[str, pa.Array] = {
            "event_id": pa.array(base + np.arange(m + k, dtype=np.int64)),
            "event_time": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
            "kind": _dictionary(kinds, vocab["kind"]),
            "request_id": _nullable(np.concatenate([request_id, alerts.request])[item], pa.int64()),
            "originator_party": per_item(np.concatenate([d.party, alerts.party]), "party"),
            "originator_role": per_item(np.concatenate([d.role, alerts.role]), "role"),
            "srv": per_item(srv, "srv"),
            "service_reference": per_item(
                np.where(srv >= 0, SERVICE_REFERENCE_OF_SRV[srv], -1), "service_reference"
            ),
            "process": per_item(np.concatenate([d.process, none]), "process"),
            "device_id": e.device_ids.take(dev).take(item),
            "device_type": per_item(e.device_type[dev], "device_type"),
            "manufacturer": per_item(e.manufacturer[dev], "manufacturer"),
            "model": per_item(e.model[dev], "model"),
            "firmware_version": per_item(e.firmware[dev], "firmware_version"),
            "smets_version": per_item(e.smets[dev], "smets_version"),
            "csp_region": per_item(e.region[dev], "csp_region"),
            "mpxn": e.mpxns.take(dev).take(item),
            "response_code": _dictionary(response_code, vocab["response_code"]),
            "rtt_ms": _nullable(np.minimum(rtt, 2**31 - 1).astype(np.int32), pa.int32()),
            "failure_reason": _dictionary(failure, vocab["failure_reason"]),
            "alert_code": _dictionary(alert_code, vocab["alert_code"]),
            "category": _nullable(
                np.concatenate([d.category, np.zeros(k, dtype=np.int8)])[item], pa.int8(), null=0
            ),
        }
        return pa.Table.from_pydict(columns, schema=S.EVENT_SCHEMA)


def _dictionary(codes: npt.NDArray[Any], vocabulary: pa.Array) -> pa.Array:
    """A dictionary array straight from integer codes; a negative code is a null."""
    codes = codes.astype(np.int32, copy=False)
    mask = codes < 0
    indices = pa.array(codes, mask=mask) if mask.any() else pa.array(codes)
    return pa.DictionaryArray.from_arrays(indices, vocabulary)


def _nullable(values: npt.NDArray[Any], type_: pa.DataType, null: int = -1) -> pa.Array:
    mask = values == null
    return pa.array(values, type=type_, mask=mask) if mask.any() else pa.array(values, type=type_)


def _concat_delivered(parts: list[_Delivered]) -> _Delivered:
    names = ("t", "srv", "dev", "party", "role", "process", "refusal", "outcome", "rtt", "category")
    merged = {name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
    order = np.argsort(merged["t"], kind="stable")
    return _Delivered(**{name: values[order] for name, values in merged.items()})


def _concat_alerts(parts: list[_Alerts]) -> _Alerts:
    names = ("t", "dev", "party", "role", "code", "request", "delay")
    if not parts:
        empty_i = np.zeros(0, dtype=np.int32)
        return _Alerts(
            np.zeros(0, np.int64),
            empty_i,
            empty_i,
            empty_i,
            empty_i,
            np.zeros(0, np.int64),
            np.zeros(0),
        )
    return _Alerts(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in names})
