"""One party's interactive view of the cube: the disclosure-controlled queries behind every
table, and the rules that decide which industry and peer figures a caller may see (see the
package docstring for what those are and why filters need the stricter one).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from meterhub.config import Settings
from meterhub.lake.schema import ROLES
from meterhub.reporting.cube import HISTOGRAM_COLUMNS, RTT_BUCKETS
from meterhub.reporting.disclosure import (
    DEFAULT_MIN_COHORT,
    MIN_INDUSTRY_OTHERS,
    PeerLabeller,
    noun_of_role,
)
from meterhub.reporting.explore.cube_reader import CubeReader, table_for
from meterhub.reporting.explore.query import (
    ALERT_FILTERS,
    CHOICES,
    FILTER_TITLES,
    FILTERS,
    ExploreQuery,
)
from meterhub.reporting.explore.tables import (
    TABLE_IDS,
    Column,
    Table,
    Tally,
    alerts_table,
    failures_table,
    grouped_table,
    league_table,
    rtt_table,
    summary_table,
)


@dataclass(frozen=True)
class ExploreView:
    """Everything one page (or API answer) shows."""

    party: str
    query: ExploreQuery
    role: str | None
    roles: tuple[str, ...]
    min_cohort: int
    cohort: int
    peers_shown: bool
    filtered: bool
    tables: dict[str, Table]
    options: dict[str, tuple[str, ...]]
    available: tuple[date, date] | None
    notes: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.role is not None

    @property
    def shown_cohort(self) -> int | None:
        """The cohort as the caller may see it: the number when at least the minimum, else
        ``None`` (how few parties a narrow filter leaves is itself a hint about them)."""
        return self.cohort if self.cohort >= self.min_cohort else None


def label_secret(settings: Settings) -> bytes:
    """Keys the peer labels: ``METERHUB_REPORT_SECRET`` (the same key as the monthly runs),
    else one derived from the hub's secret key. Never shown to anyone."""
    if settings.report_secret:
        return settings.report_secret.encode()
    return hmac.new(
        settings.resolved_secret_key().encode(), b"meterhub report peer labels", hashlib.sha256
    ).digest()


def _where(query: ExploreQuery, names: Iterable[str], role: str) -> tuple[str, list[Any]]:
    clauses = ["day BETWEEN ? AND ?", "role = ?"]
    params: list[Any] = [query.first, query.last, role]
    wanted = set(names)
    for name, value in query.filters:
        if name in wanted:
            clauses.append(f"{name} = ?")
            params.append(value)
    return " AND ".join(clauses), params


_MAIN_SETS = {
    "day": "(day, party)",
    "breakdown": "({dim}, party)",
    "process": "(process, party)",
    "reason": "(party, response_code, failure_reason)",
}


def explore(
    reader: CubeReader,
    *,
    party: str,
    query: ExploreQuery,
    secret: bytes,
    min_cohort: int = DEFAULT_MIN_COHORT,
) -> ExploreView:
    """``party``'s view of the cube under ``query``, disclosure control applied."""
    data = reader.current()
    available = data.available()
    has_requests, has_alerts = data.has("req"), data.has("alerts")
    population = (
        {
            (r["party"], r["role"])
            for r in data.rows(
                "SELECT DISTINCT party, role FROM pop WHERE day BETWEEN ? AND ? "
                "AND party IS NOT NULL AND role IS NOT NULL",
                [query.first, query.last],
            )
        }
        if data.has("pop")
        else set()
    )
    roles = tuple(sorted({role for p, role in population if p == party}, key=ROLES.index))
    options = dict(CHOICES)
    empty = ExploreView(
        party=party,
        query=query,
        role=None,
        roles=roles,
        min_cohort=min_cohort,
        cohort=0,
        peers_shown=False,
        filtered=bool(query.filters),
        tables={},
        options=options,
        available=available,
    )
    if not roles:
        return replace(empty, notes=[f"{party} has no requests or alerts in this period."])
    role = query.role or roles[0]
    if role not in roles:
        return replace(
            empty, notes=[f"{party} did not act as {role} in this period: nothing to compare."]
        )
    labeller = PeerLabeller(
        secret=secret,
        recipient=party,
        month=query.period_label,
        population={(p, noun_of_role(r)) for p, r in population},
    )
    noun = noun_of_role(role)
    filtered = bool(query.filters)

    def industry_allowed(parties: Collection[str]) -> bool:
        """Industry figures of a slice these parties contribute to: never with fewer than
        ``MIN_INDUSTRY_OTHERS`` besides the caller (industry minus own would be theirs, as in
        the monthly runs); under a filter, only for a whole cohort."""
        others = len(set(parties) - {party})
        return others >= MIN_INDUSTRY_OTHERS and (not filtered or len(parties) >= min_cohort)

    tables: dict[str, Table] = {}
    notes: list[str] = []
    cohort = 0
    peers_shown = False

    if has_requests:
        dim = query.breakdown
        where, params = _where(query, FILTERS, role)
        sets = ", ".join(dict.fromkeys(s.format(dim=dim) for s in _MAIN_SETS.values()))
        used = {name for name, _ in query.filters} | {dim}
        main = data.rows(
            f"""
            SELECT day, party, process, {dim} AS value, response_code, failure_reason,
                grouping(day) = 0 AS by_day,
                grouping({dim}) = 0 AS by_value,
                grouping(process) = 0 AS by_process,
                grouping(response_code) = 0 AS by_reason,
                sum(requests) AS requests,
                sum(successes) AS successes,
                sum(rtt_count) FILTER (WHERE response_code = 'I0') AS rtt_count,
                sum(rtt_sum) FILTER (WHERE response_code = 'I0') AS rtt_sum,
                min(rtt_min) FILTER (WHERE response_code = 'I0') AS rtt_min,
                max(rtt_max) FILTER (WHERE response_code = 'I0') AS rtt_max,
                sum(cat1) AS cat1,
                sum(cat2) AS cat2
            FROM {table_for("req", used)}
            WHERE {where}
            GROUP BY GROUPING SETS ({sets})
            """,
            params,
        )
        # Successes only: none under a filter on a failure code or reason.
        chosen = query.filter_map
        histogram: list[dict[str, Any]] = []
        if chosen.get("response_code", "I0") == "I0" and "failure_reason" not in chosen:
            ok_where, ok_params = _where(query, FILTERS[:7], role)
            histogram = data.rows(
                f"""
                SELECT party = ? AS own, {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
                FROM {table_for("ok", used)}
                WHERE {ok_where}
                GROUP BY ALL
                """,
                [party, *ok_params],
            )
        own_values = data.rows(
            "SELECT model, firmware_version, response_code, failure_reason FROM own_options "
            "WHERE role = ? AND party = ?",
            [role, party],
        )
        for name in ("model", "firmware_version", "response_code", "failure_reason"):
            options[name] = tuple(sorted({r[name] for r in own_values if r[name] is not None}))

        # Each party's totals are the sum of its processes.
        by_party = [r for r in main if r["by_process"]]
        totals: dict[str, Tally] = defaultdict(Tally)
        for r in by_party:
            totals[r["party"]].add(r)
        cohort = sum(1 for t in totals.values() if t.requests)
        peers_shown = cohort >= min_cohort
        own_hist = [0] * RTT_BUCKETS
        all_hist = [0] * RTT_BUCKETS
        for h in histogram:
            counts = [int(h[c] or 0) for c in HISTOGRAM_COLUMNS]
            all_hist = [a + b for a, b in zip(all_hist, counts, strict=True)]
            if h["own"]:
                own_hist = counts
        industry = Tally()
        for t in totals.values():
            industry.absorb(t)
        show_industry = industry_allowed({p for p, t in totals.items() if t.requests})
        tables["summary"] = summary_table(
            party=party,
            own=totals.get(party, Tally()),
            industry=industry if show_industry else None,
            own_hist=own_hist,
            industry_hist=all_hist,
            peers={
                labeller.label(p, noun): t
                for p, t in totals.items()
                if p != party and t.requests and peers_shown
            },
        )
        tables["daily"] = grouped_table(
            "daily",
            "Day by day: requests, success rate and mean RTT of successes",
            Column("day", "Day"),
            [r for r in main if r["by_day"]],
            "day",
            party=party,
            industry_allowed=industry_allowed,
            extra=(
                Column("cat1", "Requests in a Category 1 incident", "int"),
                Column("cat2", "Requests in a Category 2 incident", "int"),
            ),
        )
        tables["breakdown"] = grouped_table(
            "breakdown",
            f"By {FILTER_TITLES[dim].lower()}",
            Column("value", FILTER_TITLES[dim]),
            [r for r in main if r["by_value"]],
            "value",
            party=party,
            industry_allowed=industry_allowed,
            own_values_only=True,
        )
        tables["rtt"] = rtt_table(
            party, own_hist, all_hist if show_industry and industry.successes else None
        )
        tables["failures"] = failures_table(
            [r for r in main if r["by_reason"] and r["party"] == party]
        )
        tables["league"] = league_table(
            [r for r in main if r["by_process"]],
            party=party,
            noun=noun,
            labeller=labeller,
            min_cohort=min_cohort,
        )
        if not show_industry:
            notes.append(
                f"Industry figures are hidden: too few parties in {role} have requests"
                f"{' under these filters' if filtered else ''} for a total that keeps each "
                "party's figures private."
            )
        elif not peers_shown:
            notes.append(
                f"Peers are not broken out: fewer than {min_cohort} parties in {role} have "
                "requests under these filters."
            )
    if has_alerts:
        where, params = _where(query, ALERT_FILTERS, role)
        by_model = {"model", "firmware_version"} & {name for name, _ in query.filters}
        alert_table = "alerts" if by_model else "alerts_by_type"
        alert_rows = data.rows(
            f"""
            SELECT alert_code, party, sum(alerts) AS alerts, sum(within_target) AS within_target,
                sum(delivery_count) AS delivery_count, sum(delivery_sum) AS delivery_sum,
                min(delivery_min) AS delivery_min, max(delivery_max) AS delivery_max,
                {", ".join(f"sum({h}) AS {h}" for h in HISTOGRAM_COLUMNS)}
            FROM {alert_table}
            WHERE {where}
            GROUP BY ALL
            """,
            params,
        )
        if alert_rows:
            tables["alerts"] = alerts_table(
                alert_rows,
                party=party,
                noun=noun,
                labeller=labeller,
                min_cohort=min_cohort,
                industry_allowed=industry_allowed,
            )
    ordered: dict[str, Table] = {k: tables[k] for k in TABLE_IDS if k in tables}
    return ExploreView(
        party=party,
        query=query,
        role=role,
        roles=roles,
        min_cohort=min_cohort,
        cohort=cohort,
        peers_shown=peers_shown,
        filtered=filtered,
        tables=ordered,
        options=options,
        available=available,
        notes=notes,
    )
