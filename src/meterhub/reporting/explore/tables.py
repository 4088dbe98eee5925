"""The tables of an interactive view, each built from rows the view has already read under
disclosure control: the caller's own figures named, the industry only where the view allows it,
peers under their labels. What the page shows, the CSV download holds and the API returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

from meterhub.lake.schema import PROCESS_TITLES, PROCESSES
from meterhub.reporting.cube import (
    HISTOGRAM_COLUMNS,
    RTT_BUCKETS,
    bucket_bounds,
    estimate_quantile,
)
from meterhub.reporting.disclosure import INDUSTRY, INDUSTRY_SERIES, OWN, PEER, PeerLabeller

Kind = Literal["text", "int", "percent", "ms"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    """One table of a view: what the page shows, the CSV holds and the API returns."""

    id: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    note: str = ""

    def cells(self) -> list[list[str]]:
        """Every row as the strings the page shows (and the CSV download holds)."""
        return [[display(r.get(c.key), c.kind) for c in self.columns] for r in self.rows]


def display(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value:.1f}"
    if kind == "ms":
        return f"{value:.0f}"
    return str(value)


SERIES = Column("series", "Series")
PARTY = Column("party", "Party")
REQ_COLUMNS = (
    Column("requests", "Requests", "int"),
    Column("successes", "Successes", "int"),
    Column("failures", "Failures", "int"),
    Column("success_rate", "Success rate (%)", "percent"),
)
RTT_COLUMNS = (
    Column("mean_rtt_ms", "Mean RTT (ms)", "ms"),
    Column("median_rtt_ms", "Median RTT, approx. (ms)", "ms"),
    Column("p95_rtt_ms", "95th percentile RTT, approx. (ms)", "ms"),
    Column("best_rtt_ms", "Best RTT (ms)", "ms"),
    Column("worst_rtt_ms", "Worst RTT (ms)", "ms"),
)
TABLE_IDS: Final = ("summary", "daily", "breakdown", "rtt", "failures", "league", "alerts")


def _rate(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _mean(total: int | None, count: int | None) -> float | None:
    return (total or 0) / count if count else None


def _lowest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _highest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class Tally:
    """Sums of one group of request rows."""

    requests: int = 0
    successes: int = 0
    rtt_count: int = 0
    rtt_sum: int = 0
    rtt_min: int | None = None
    rtt_max: int | None = None
    cat1: int = 0
    cat2: int = 0
    parties: set[str] = field(default_factory=set)

    def add(self, r: Mapping[str, Any]) -> None:
        self.requests += int(r["requests"] or 0)
        self.successes += int(r["successes"] or 0)
        self.rtt_count += int(r["rtt_count"] or 0)
        self.rtt_sum += int(r["rtt_sum"] or 0)
        self.cat1 += int(r["cat1"] or 0)
        self.cat2 += int(r["cat2"] or 0)
        self.rtt_min = _lowest(self.rtt_min, r["rtt_min"])
        self.rtt_max = _highest(self.rtt_max, r["rtt_max"])
        if r["requests"]:
            self.parties.add(r["party"])

    def absorb(self, other: Tally) -> None:
        """Add another group's sums to these (the industry is the sum of every party's)."""
        for key in ("requests", "successes", "rtt_count", "rtt_sum", "cat1", "cat2"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.rtt_min = _lowest(self.rtt_min, other.rtt_min)
        self.rtt_max = _highest(self.rtt_max, other.rtt_max)
        self.parties |= other.parties

    def measures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.requests - self.successes,
            "success_rate": _rate(self.successes, self.requests),
            "mean_rtt_ms": _mean(self.rtt_sum, self.rtt_count),
            "best_rtt_ms": self.rtt_min,
            "worst_rtt_ms": self.rtt_max,
        }


def _quantiles(hist: Sequence[int], tally: Tally) -> dict[str, float | None]:
    def q(p: float) -> float | None:
        return estimate_quantile(hist, p, low=tally.rtt_min, high=tally.rtt_max)

    return {"median_rtt_ms": q(0.5), "p95_rtt_ms": q(0.95)}


def summary_table(
    *,
    party: str,
    own: Tally,
    industry: Tally | None,
    own_hist: Sequence[int],
    industry_hist: Sequence[int],
    peers: Mapping[str, Tally],
) -> Table:
    """The caller's totals, the industry's when ``industry`` is given (the view decides), and
    each peer's under its label: volumes and rates only."""
    rows = [{"series": OWN, "party": party, **own.measures(), **_quantiles(own_hist, own)}]
    if industry is not None:
        rows.append(
            {
                "series": INDUSTRY_SERIES,
                "party": INDUSTRY,
                **industry.measures(),
                **_quantiles(industry_hist, industry),
            }
        )
    for label in sorted(peers, key=_label_order):
        m = peers[label].measures()
        rows.append({"series": PEER, "party": label, **{c.key: m[c.key] for c in REQ_COLUMNS}})
    return Table(
        "summary",
        "Requests and success against the industry and anonymised peers",
        (SERIES, PARTY, *REQ_COLUMNS, *RTT_COLUMNS),
        rows,
        note="RTT is of successful responses; medians and percentiles are estimated from a "
        "histogram (within 19%). Peers show volumes and rates only.",
    )


def _label_order(label: str) -> tuple[str, int]:
    noun, _, n = label.rpartition(" ")
    return (noun, int(n) if n.isdigit() else 0)


def grouped_table(
    table_id: str,
    title: str,
    key_column: Column,
    rows: list[dict[str, Any]],
    key: str,
    *,
    party: str,
    industry_allowed: Any,
    extra: tuple[Column, ...] = (),
    own_values_only: bool = False,
) -> Table:
    """One row per value of ``key`` for the caller and, where ``industry_allowed`` says so
    for the parties contributing to that value, for the industry. A value only peers have is
    left out when no industry row could be shown for it, and always with ``own_values_only``
    (a breakdown does not even name a value only peers have)."""
    own: dict[Any, Tally] = defaultdict(Tally)
    everyone: dict[Any, Tally] = defaultdict(Tally)
    for r in rows:
        everyone[r[key]].add(r)
        if r["party"] == party:
            own[r[key]].add(r)
    out: list[dict[str, Any]] = []
    for value in sorted(everyone, key=lambda v: (v is None, v)):
        industry = everyone[value]
        shown_industry = industry_allowed(industry.parties)
        if value not in own and (own_values_only or not shown_industry):
            continue  # a breakdown value only peers have is not even named
        label = value.isoformat() if isinstance(value, date) else value
        extras = {c.key: None for c in extra}
        if value in own:
            t = own[value]
            out.append(
                {key: label, "series": OWN, "party": party, **t.measures(), **_cats(t, extra)}
            )
        if shown_industry:
            out.append(
                {
                    key: label,
                    "series": INDUSTRY_SERIES,
                    "party": INDUSTRY,
                    **industry.measures(),
                    **(_cats(industry, extra) if extra else extras),
                }
            )
    columns = (
        key_column,
        SERIES,
        PARTY,
        *REQ_COLUMNS,
        Column("mean_rtt_ms", "Mean RTT (ms)", "ms"),
        *extra,
    )
    return Table(table_id, title, columns, out)


def _cats(t: Tally, extra: tuple[Column, ...]) -> dict[str, Any]:
    return {"cat1": t.cat1, "cat2": t.cat2} if extra else {}


def rtt_table(party: str, own: Sequence[int], industry: Sequence[int] | None) -> Table:
    """The histogram of successful responses' RTT, over the buckets either series uses."""
    used = [b for b in range(RTT_BUCKETS) if own[b] or (industry and industry[b])]
    own_total, industry_total = sum(own), sum(industry or ())
    rows: list[dict[str, Any]] = []
    if used:
        for b in range(used[0], used[-1] + 1):
            lower, upper = bucket_bounds(b)
            bounds = {"from_ms": lower, "to_ms": upper}
            rows.append(
                {
                    **bounds,
                    "series": OWN,
                    "party": party,
                    "responses": own[b],
                    "share": _rate(own[b], own_total),
                }
            )
            if industry is not None:
                rows.append(
                    {
                        **bounds,
                        "series": INDUSTRY_SERIES,
                        "party": INDUSTRY,
                        "responses": industry[b],
                        "share": _rate(industry[b], industry_total),
                    }
                )
    return Table(
        "rtt",
        "Distribution of RTT of successful responses",
        (
            Column("from_ms", "From (ms)", "ms"),
            Column("to_ms", "Below (ms)", "ms"),
            SERIES,
            PARTY,
            Column("responses", "Responses", "int"),
            Column("share", "Share (%)", "percent"),
        ),
        rows,
    )


def failures_table(rows: list[dict[str, Any]]) -> Table:
    """The caller's own failures by response code and root cause, most frequent first."""
    failures = [
        (r["response_code"], r["failure_reason"], int(r["requests"]) - int(r["successes"]))
        for r in rows
    ]
    failures = [f for f in failures if f[2] > 0]
    total = sum(f[2] for f in failures)
    failures.sort(key=lambda f: (-f[2], f[0] or "", f[1] or ""))
    return Table(
        "failures",
        "Your failures by reason code",
        (
            Column("response_code", "Response code"),
            Column("failure_reason", "Root cause"),
            Column("failures", "Failures", "int"),
            Column("share", "Share of your failures (%)", "percent"),
        ),
        [
            {"response_code": c, "failure_reason": why, "failures": n, "share": _rate(n, total)}
            for c, why, n in failures
        ],
        note="Refusals at validation have a response code and no root cause.",
    )


def league_table(
    rows: list[dict[str, Any]],
    *,
    party: str,
    noun: str,
    labeller: PeerLabeller,
    min_cohort: int,
) -> Table:
    """Per business process the caller took part in, every party's success rate; positions
    and peers only when at least ``min_cohort`` parties sent requests for it."""
    by_process: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for r in rows:
        by_process[r["process"]][r["party"]].add(r)
    out: list[dict[str, Any]] = []
    for process in sorted(by_process, key=lambda p: PROCESSES.index(p) if p in PROCESSES else 99):
        parties = {p: t for p, t in by_process[process].items() if t.requests}
        if party not in parties:
            continue
        rates = {p: t.successes / t.requests for p, t in parties.items()}
        ranked = len(parties) >= min_cohort
        position = {p: 1 + sum(1 for r in rates.values() if r > rates[p]) for p in parties}
        if ranked:
            labels = {p: p if p == party else labeller.label(p, noun) for p in parties}
            shown = sorted(
                parties, key=lambda p: (position[p], p != party, _label_order(labels[p]))
            )
        else:
            labels, shown = {party: party}, [party]
        entries = [
            {
                "process": process,
                "process_title": PROCESS_TITLES.get(process, process),
                "series": OWN if p == party else PEER,
                "party": labels[p],
                "requests": parties[p].requests,
                "success_rate": 100.0 * rates[p],
                "position": position[p] if ranked else None,
                "of": len(parties) if ranked else None,
            }
            for p in shown
        ]
        out.extend(entries)
    return Table(
        "league",
        "League tables: success rate per business process",
        (
            Column("process_title", "Business process"),
            Column("position", "Position", "int"),
            Column("of", "Of", "int"),
            SERIES,
            PARTY,
            Column("requests", "Requests", "int"),
            Column("success_rate", "Success rate (%)", "percent"),
        ),
        out,
        note=f"Positions (1 = best) are given only where at least {min_cohort} parties of your "
        "role sent requests for the process; only your own position is named.",
    )


def alerts_table(
    rows: list[dict[str, Any]],
    *,
    party: str,
    noun: str,
    labeller: PeerLabeller,
    min_cohort: int,
    industry_allowed: Any,
) -> Table:
    """Alerts delivered to the caller per alert code, against the 60 s target; the industry
    where allowed, and labelled peers when the code's cohort is big enough."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_code[r["alert_code"]].append(r)

    def measures(group: list[dict[str, Any]]) -> dict[str, Any]:
        alerts = sum(int(r["alerts"]) for r in group)
        within = sum(int(r["within_target"]) for r in group)
        count = sum(int(r["delivery_count"] or 0) for r in group)
        total = sum(int(r["delivery_sum"] or 0) for r in group)
        lows = [r["delivery_min"] for r in group if r["delivery_min"] is not None]
        highs = [r["delivery_max"] for r in group if r["delivery_max"] is not None]
        hist = [sum(int(r[h] or 0) for r in group) for h in HISTOGRAM_COLUMNS]
        low, high = (min(lows) if lows else None), (max(highs) if highs else None)
        return {
            "alerts": alerts,
            "within_target": within,
            "within_target_rate": _rate(within, alerts),
            "mean_delivery_ms": _mean(total, count),
            "median_delivery_ms": estimate_quantile(hist, 0.5, low=low, high=high),
            "worst_delivery_ms": high,
        }

    out: list[dict[str, Any]] = []
    for code in sorted(by_code):
        group = [r for r in by_code[code] if r["alerts"]]
        parties = {r["party"] for r in group}
        if party not in parties:
            continue
        own = [r for r in group if r["party"] == party]
        out.append({"alert_code": code, "series": OWN, "party": party, **measures(own)})
        if industry_allowed(parties):
            out.append(
                {"alert_code": code, "series": INDUSTRY_SERIES, "party": INDUSTRY} | measures(group)
            )
        if len(parties) >= min_cohort:
            peers = {
                labeller.label(p, noun): [r for r in group if r["party"] == p] for p in parties
            }
            for label in sorted(peers, key=_label_order):
                if label != party:
                    out.append(
                        {"alert_code": code, "series": PEER, "party": label}
                        | measures(peers[label])
                    )
    return Table(
        "alerts",
        "Alerts delivered to you: within the 60 s target, and delivery time",
        (
            Column("alert_code", "Alert"),
            SERIES,
            PARTY,
            Column("alerts", "Alerts", "int"),
            Column("within_target", "Within 60 s", "int"),
            Column("within_target_rate", "Within 60 s (%)", "percent"),
            Column("mean_delivery_ms", "Mean delivery (ms)", "ms"),
            Column("median_delivery_ms", "Median delivery, approx. (ms)", "ms"),
            Column("worst_delivery_ms", "Worst delivery (ms)", "ms"),
        ),
        out,
    )
