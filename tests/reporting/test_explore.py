"""The interactive view over the cube: the caller's numbers, the industry, anonymised peers, and
disclosure control tried the way an attacker would (narrowing filters, other roles, other
periods)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meterhub.errors import InvalidInput
from meterhub.lake.writer import events_glob
from meterhub.reporting.cube import QUANTILE_ERROR_BOUND, build_cube
from meterhub.reporting.explore import (
    CubeReader,
    ExploreQuery,
    ExploreView,
    default_period,
    explore,
)
from tests.reporting.explore_lake import (
    FIRST,
    GAS_SUPPLIERS,
    LAST,
    NETWORK,
    SUPPLIERS,
    build_explore_lake,
    device_ids_of,
)

SECRET = b"explore-test-secret"
TODAY = date(2024, 7, 10)  # the clock every parse here is given: after the lake's June
JUNE_HELD = (date(2024, 6, 1), date(2024, 6, 30))
EVERYONE = [*SUPPLIERS, *GAS_SUPPLIERS, NETWORK]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_explore_lake(tmp_path_factory.mktemp("explore") / "lake")
    build_cube(root)
    return root


@pytest.fixture(scope="module")
def reader(lake: Path) -> Iterator[CubeReader]:
    opened = CubeReader(lake / "cube")
    yield opened
    opened.close()


def view(reader: CubeReader, party: str, **params: str) -> ExploreView:
    params.setdefault("from", FIRST)
    params.setdefault("to", LAST)
    return explore(
        reader, party=party, query=ExploreQuery.parse(params, held=None, today=TODAY), secret=SECRET
    )


def rows(v: ExploreView, table: str, series: str | None = None) -> list[dict[str, Any]]:
    found = v.tables[table].rows
    return [r for r in found if series is None or r.get("series") == series]


def everything_shown(v: ExploreView) -> str:
    return json.dumps(
        {t.id: t.cells() for t in v.tables.values()} | {"options": v.options}, default=str
    )


def strangers_of(party: str) -> list[str]:
    return [p for p in EVERYONE if p != party]


class TestOwnAndIndustry:
    def test_own_totals(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP3")
        (own,) = rows(v, "summary", "own")
        assert own["party"] == "ESUP3"
        assert (own["requests"], own["successes"], own["failures"]) == (13, 10, 3)
        assert own["success_rate"] == pytest.approx(100 * 10 / 13)
        assert own["mean_rtt_ms"] == pytest.approx(1500)
        assert (own["best_rtt_ms"], own["worst_rtt_ms"]) == (1500, 1500)

    def test_industry_is_every_party_of_the_role(self, reader: CubeReader) -> None:
        (industry,) = rows(view(reader, "ESUP3"), "summary", "industry")
        assert industry["party"] == "Industry"
        # 3 days of (n reads + 1 timeout) for n = 1..6, six tariff updates, two rare reads and
        # one refusal; gas suppliers and the network operator are other roles.
        assert industry["requests"] == 3 * 27 + 6 + 2 + 1
        assert industry["successes"] == 3 * 21 + 6 + 2

    def test_median_is_close_to_the_exact_one(self, reader: CubeReader, lake: Path) -> None:
        exact = duckdb.execute(
            f"""SELECT median(rtt_ms) FROM read_parquet('{events_glob(lake)}')
            WHERE kind = 'response' AND response_code = 'I0' AND originator_role = 'IS'"""
        ).fetchall()[0][0]
        (industry,) = rows(view(reader, "ESUP1"), "summary", "industry")
        assert abs(industry["median_rtt_ms"] / exact - 1) <= QUANTILE_ERROR_BOUND

    def test_failures_by_reason_are_the_callers_own(self, reader: CubeReader) -> None:
        failures = rows(view(reader, "ESUP1"), "failures")
        assert [(f["response_code"], f["failure_reason"], f["failures"]) for f in failures] == [
            ("E21", "timeout", 3),
            ("E4", None, 1),
        ]

    def test_alerts_within_target(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP1")
        (own,) = [r for r in rows(v, "alerts", "own") if r["alert_code"] == "N13"]
        assert (own["alerts"], own["within_target"], own["worst_delivery_ms"]) == (3, 2, 90_000)
        (industry,) = rows(v, "alerts", "industry")
        assert industry["alerts"] == 18
        assert len(rows(v, "alerts", "peer")) == 5

    def test_a_filter_narrows_own_and_industry_alike(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP3", csp_region="South")
        (own,) = rows(v, "summary", "own")
        (industry,) = rows(v, "summary", "industry")
        assert (own["requests"], industry["requests"]) == (1, 6)
        assert v.cohort == 6 and v.peers_shown

    def test_reason_code_filter(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP2", response_code="E21", failure_reason="timeout")
        (own,) = rows(v, "summary", "own")
        assert (own["requests"], own["successes"]) == (3, 0)

    def test_breakdown_by_any_dimension(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP2", breakdown="model")
        own = {r["value"]: r["requests"] for r in rows(v, "breakdown", "own")}
        assert own == {"ACME-1": 9, "ACME-2": 1, "RARE-9": 1}

    def test_a_party_with_nothing_in_the_period(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP1", **{"from": "2024-07-01", "to": "2024-07-31"})
        assert not v.has_data and v.tables == {}


class TestPeers:
    def test_peers_are_labelled_never_named(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP1")
        peers = rows(v, "summary", "peer")
        assert len(peers) == 5
        assert all(p["party"].startswith("Supplier ") for p in peers)
        shown = everything_shown(v)
        for stranger in strangers_of("ESUP1"):
            assert stranger not in shown

    def test_peers_show_volumes_and_rates_only(self, reader: CubeReader) -> None:
        for peer in rows(view(reader, "ESUP1"), "summary", "peer"):
            assert peer["requests"] > 0
            assert "mean_rtt_ms" not in peer and "median_rtt_ms" not in peer

    def test_labels_are_stable_across_filters_within_a_period(self, reader: CubeReader) -> None:
        def rate_by_label(v: ExploreView) -> dict[str, float]:
            return {r["party"]: r["success_rate"] for r in rows(v, "summary", "peer")}

        whole = view(reader, "ESUP1")
        reads = view(reader, "ESUP1", process="reads", device_type="ESME")
        # The tariff update is a success for everyone, so the best reader stays the best.
        best = max(rate_by_label(whole), key=rate_by_label(whole).__getitem__)
        assert max(rate_by_label(reads), key=rate_by_label(reads).__getitem__) == best

    def test_labels_are_not_linkable_across_periods_or_recipients(self, reader: CubeReader) -> None:
        def label_of_best(party: str, first: str) -> str:
            v = view(reader, party, process="reads", **{"from": first})
            league = [r for r in rows(v, "league") if r["position"] == 1]
            return str(league[0]["party"])

        by_period = {label_of_best("ESUP1", f"2024-06-0{d}") for d in range(1, 4)}
        by_period |= {label_of_best("ESUP1", f"2024-05-{d}") for d in range(20, 28)}
        assert len(by_period) > 1
        by_recipient = {label_of_best(p, FIRST) for p in SUPPLIERS[:5]}
        assert len(by_recipient) > 1

    def test_a_cohort_under_the_minimum_has_no_peers(self, reader: CubeReader) -> None:
        v = view(reader, "GSUP1")
        assert v.cohort == 4 and not v.peers_shown
        assert rows(v, "summary", "peer") == []
        # Unfiltered, the industry is shown as in the monthly report.
        assert len(rows(v, "summary", "industry")) == 1
        assert all(r["position"] is None for r in rows(v, "league"))

    def test_the_minimum_is_configurable(self, reader: CubeReader) -> None:
        query = ExploreQuery.parse({"from": FIRST, "to": LAST}, held=None, today=TODAY)
        v = explore(reader, party="GSUP1", query=query, secret=SECRET, min_cohort=4)
        assert len(rows(v, "summary", "peer")) == 3


class TestNarrowingAttacks:
    def test_a_filter_leaving_two_parties_breaks_nothing_out(self, reader: CubeReader) -> None:
        """Only ESUP1 and ESUP2 have a RARE-9 meter: industry minus own would be ESUP2."""
        v = view(reader, "ESUP1", model="RARE-9")
        assert v.cohort == 2 and not v.peers_shown
        for table in ("summary", "daily", "breakdown", "rtt", "alerts"):
            if table in v.tables:
                assert {r["series"] for r in rows(v, table)} <= {"own"}, table
        assert rows(v, "league", "peer") == []
        assert all(r["position"] is None for r in rows(v, "league"))
        assert any("hidden" in n for n in v.notes)
        (own,) = rows(v, "summary", "own")
        assert own["requests"] == 1

    def test_industry_on_a_thin_day_is_hidden_under_a_filter(self, reader: CubeReader) -> None:
        """Filtered to ESME, the cohort is six, but on 7 June only ESUP1 and ESUP2 sent."""
        v = view(reader, "ESUP1", device_type="ESME")
        assert v.peers_shown
        seventh = [r for r in rows(v, "daily") if r["day"] == "2024-06-07"]
        assert [r["series"] for r in seventh] == ["own"]
        third = [r for r in rows(v, "daily") if r["day"] == "2024-06-03"]
        assert [r["series"] for r in third] == ["own", "industry"]

    def test_a_breakdown_is_no_way_round_a_filter(self, reader: CubeReader) -> None:
        """Unfiltered, broken down by model: RARE-9's industry row would be ESUP1 plus ESUP2,
        so ESUP2's own figures by subtraction; the same for 7 June, when only the two sent."""
        v = view(reader, "ESUP1", breakdown="model")
        rare = [r for r in rows(v, "breakdown") if r["value"] == "RARE-9"]
        assert [r["series"] for r in rare] == ["own"]
        acme = [r for r in rows(v, "breakdown") if r["value"] == "ACME-1"]
        assert [r["series"] for r in acme] == ["own", "industry"]
        seventh = [r for r in rows(v, "daily") if r["day"] == "2024-06-07"]
        assert [r["series"] for r in seventh] == ["own"]

    def test_a_breakdown_value_only_a_peer_has_is_not_listed(self, reader: CubeReader) -> None:
        v = view(reader, "ESUP3", device_type="ESME", breakdown="model")
        assert "RARE-9" not in {r["value"] for r in rows(v, "breakdown")}
        unfiltered = view(reader, "ESUP3", breakdown="model")
        assert "RARE-9" not in {r["value"] for r in rows(unfiltered, "breakdown")}
        assert "RARE-9" not in v.options["model"]

    def test_another_role_shows_nothing(self, reader: CubeReader) -> None:
        """ESUP1 asks for the gas suppliers' role it never acted in."""
        v = view(reader, "ESUP1", role="GS")
        assert v.tables == {}
        assert "GSUP" not in everything_shown(v)

    def test_no_device_or_meter_point_of_anyone_appears(self, reader: CubeReader) -> None:
        for party in EVERYONE:
            for params in ({}, {"model": "RARE-9"}, {"breakdown": "firmware_version"}):
                shown = everything_shown(view(reader, party, **params))
                for other in strangers_of(party):
                    for identifier in device_ids_of(other):
                        assert identifier not in shown


class TestQuery:
    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"from": "2024-13-01"}, "bad_from_date"),
            ({"to": "yesterday"}, "bad_to_date"),
            ({"from": "2024-06-10", "to": "2024-06-01"}, "bad_period"),
            ({"from": "2023-01-01", "to": "2024-06-01"}, "bad_period"),
            ({"to": "0001-01-05"}, "bad_period"),
            ({"role": "XX"}, "bad_role"),
            ({"process": "reading"}, "bad_process"),
            ({"srv": "4.1.1; --"}, "bad_srv"),
            ({"csp_region": "Mars"}, "bad_csp_region"),
            ({"model": "x' OR 1=1 --"}, "bad_model"),
            ({"breakdown": "device_id"}, "bad_breakdown"),
        ],
    )
    def test_bad_input_is_refused_with_a_code(self, params: dict[str, str], code: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            ExploreQuery.parse(params, held=JUNE_HELD, today=TODAY)
        assert caught.value.code == code

    def test_the_period_defaults_to_the_newest_month_held(self) -> None:
        q = ExploreQuery.parse({}, held=JUNE_HELD, today=TODAY)
        assert (q.first, q.last) == (date(2024, 6, 1), date(2024, 6, 30))

    @pytest.mark.parametrize(
        ("held", "today", "expected"),
        [
            # Days after today (a simulated future) and today itself are not complete.
            (
                (date(2024, 5, 1), date(2024, 6, 20)),
                date(2024, 6, 15),
                ("2024-06-01", "2024-06-14"),
            ),
            # A 31-day month whole, from its 1st (thirty days back would leave the 1st out).
            (
                (date(2024, 7, 1), date(2024, 7, 31)),
                date(2024, 8, 20),
                ("2024-07-01", "2024-07-31"),
            ),
            # The month's first days: the month before as well, not one day alone.
            ((date(2024, 5, 1), date(2024, 7, 9)), date(2024, 7, 4), ("2024-06-01", "2024-07-03")),
            ((date(2024, 5, 1), date(2024, 7, 9)), date(2024, 7, 8), ("2024-07-01", "2024-07-07")),
            # Nothing complete held yet: up to the newest day held.
            ((date(2024, 7, 4), date(2024, 7, 12)), date(2024, 7, 4), ("2024-07-01", "2024-07-12")),
            # An empty cube: the month so far.
            (None, date(2024, 7, 20), ("2024-07-01", "2024-07-19")),
        ],
    )
    def test_the_default_period_ends_on_the_newest_complete_day(
        self, held: tuple[date, date] | None, today: date, expected: tuple[str, str]
    ) -> None:
        q = ExploreQuery.parse({}, held=held, today=today)
        assert (q.first.isoformat(), q.last.isoformat()) == expected
        assert default_period(held, today=today) == (q.first, q.last)

    def test_only_to_counts_back_to_its_months_start(self) -> None:
        q = ExploreQuery.parse({"to": "2024-06-30"}, held=None, today=TODAY)
        assert (q.first, q.last) == (date(2024, 6, 1), date(2024, 6, 30))
        q = ExploreQuery.parse({"from": "2024-06-10"}, held=JUNE_HELD, today=TODAY)
        assert (q.first, q.last) == (date(2024, 6, 10), date(2024, 6, 30))

    def test_params_ask_for_the_same_view_again(self) -> None:
        params = {"from": "2024-06-02", "to": "2024-06-09", "model": "ACME-1", "breakdown": "srv"}
        q = ExploreQuery.parse(params, held=None, today=TODAY)
        assert ExploreQuery.parse(q.params(), held=None, today=TODAY) == q


class TestConcurrency:
    def test_threads_share_one_reader(self, reader: CubeReader) -> None:
        expected = everything_shown(view(reader, "ESUP4", model="ACME-1"))
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(
                pool.map(
                    lambda _: everything_shown(view(reader, "ESUP4", model="ACME-1")), range(24)
                )
            )
        assert set(results) == {expected}

    def test_requests_during_the_first_load_wait_for_it(
        self, reader: CubeReader, lake: Path
    ) -> None:
        expected = everything_shown(view(reader, "ESUP2"))
        fresh = CubeReader(lake / "cube")
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                results = list(pool.map(lambda _: everything_shown(view(fresh, "ESUP2")), range(8)))
        finally:
            fresh.close()
        assert set(results) == {expected}


class TestReload:
    def test_a_rebuilt_cube_is_picked_up(self, tmp_path: Path) -> None:
        lake = build_explore_lake(tmp_path / "lake")
        build_cube(lake, last=date(2024, 6, 4))
        reader = CubeReader(lake / "cube", refresh_seconds=0)
        try:
            assert reader.available() == (date(2024, 6, 3), date(2024, 6, 4))
            before = rows(view(reader, "ESUP1"), "summary", "own")[0]["requests"]
            build_cube(lake)
            reader.refresh()
            assert reader.available() == (date(2024, 6, 3), date(2024, 6, 7))
            after = rows(view(reader, "ESUP1"), "summary", "own")[0]["requests"]
            assert (before, after) == (4, 9)
        finally:
            reader.close()

    def test_pages_read_the_previous_load_while_a_rebuilt_cube_loads(self, tmp_path: Path) -> None:
        """A rebuilt cube is loaded in the background: the request that notices it, and every
        one after it until the load is done, is answered from the previous load at once."""
        lake = build_explore_lake(tmp_path / "lake")
        build_cube(lake, last=date(2024, 6, 4))
        reader = CubeReader(lake / "cube", refresh_seconds=0)
        try:
            assert reader.available() == (date(2024, 6, 3), date(2024, 6, 4))
            build_cube(lake)
            assert reader.available() == (date(2024, 6, 3), date(2024, 6, 4))
            reader.refresh()  # until the new load is in
            assert reader.available() == (date(2024, 6, 3), date(2024, 6, 7))
            assert rows(view(reader, "ESUP1"), "summary", "own")[0]["requests"] == 9
        finally:
            reader.close()

    def test_an_empty_cube_shows_nothing(self, tmp_path: Path) -> None:
        reader = CubeReader(tmp_path / "no-cube")
        try:
            v = view(reader, "ESUP1")
            assert v.available is None and not v.has_data
        finally:
            reader.close()
