"""The report cube: a daily rollup of the lake that agrees with the raw events, holds no
device-level columns, and is rebuilt only where the lake changed."""

from __future__ import annotations

import math
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.lake.writer import events_glob
from meterhub.reporting.cube import (
    ALERTS,
    HISTOGRAM_COLUMNS,
    QUANTILE_ERROR_BOUND,
    REQUESTS,
    RTT_BUCKETS,
    bucket_bounds,
    bucket_of,
    build_cube,
    cube_days,
    cube_file,
    estimate_quantile,
)
from tests.reporting.explore_lake import build_explore_lake

JUNE = [date(2024, 6, d) for d in (3, 4, 5, 6, 7)]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return build_explore_lake(tmp_path / "lake")


def cube_rows(cube: Path, kind: str) -> list[tuple[object, ...]]:
    return duckdb.execute(
        f"SELECT * FROM read_parquet('{cube}/{kind}/*/*.parquet', hive_partitioning = true)"
    ).fetchall()


class TestBuild:
    def test_one_file_per_day_and_kind(self, lake: Path) -> None:
        result = build_cube(lake)
        assert result.built == JUNE
        assert cube_days(lake / "cube", REQUESTS) == JUNE
        assert cube_days(lake / "cube", ALERTS) == JUNE

    def test_totals_agree_with_the_raw_events(self, lake: Path) -> None:
        build_cube(lake)
        raw = duckdb.execute(
            f"""SELECT originator_party, count(*), count_if(response_code = 'I0'),
                sum(rtt_ms), min(rtt_ms), max(rtt_ms)
            FROM read_parquet('{events_glob(lake)}')
            WHERE kind IN ('refused', 'response') GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        cubed = duckdb.execute(
            f"""SELECT party, sum(requests), sum(successes), sum(rtt_sum), min(rtt_min),
                max(rtt_max)
            FROM read_parquet('{lake}/cube/requests/*/*.parquet') GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        assert cubed == raw
        # ESUP3: three days of 3 successes and a timeout, and one tariff update.
        esup3 = next(r for r in cubed if r[0] == "ESUP3")
        assert esup3[1:3] == (13, 10)

    def test_alerts_count_delivery_within_target(self, lake: Path) -> None:
        build_cube(lake)
        rows = duckdb.execute(
            f"""SELECT party, sum(alerts), sum(within_target), max(delivery_max)
            FROM read_parquet('{lake}/cube/alerts/*/*.parquet') GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        assert rows[0] == ("ESUP1", 3, 2, 90_000)
        assert rows[1] == ("ESUP2", 3, 3, 2000)

    def test_the_histogram_counts_every_response_once(self, lake: Path) -> None:
        build_cube(lake)
        total = " + ".join(HISTOGRAM_COLUMNS)
        rows = duckdb.execute(
            f"SELECT sum({total}), sum(rtt_count) FROM read_parquet('{lake}/cube/requests/*/*')"
        ).fetchall()[0]
        assert rows[0] == rows[1] > 0

    def test_holds_no_device_or_meter_point_columns(self, lake: Path) -> None:
        build_cube(lake)
        for kind in (REQUESTS, ALERTS):
            names = set(pq.read_schema(cube_file(lake / "cube", kind, JUNE[0])).names)
            assert not names & {"device_id", "mpxn", "request_id", "event_id"}


class TestIncremental:
    def test_a_second_build_changes_nothing(self, lake: Path) -> None:
        build_cube(lake)
        path = cube_file(lake / "cube", REQUESTS, JUNE[0])
        before = path.stat().st_mtime_ns
        again = build_cube(lake)
        assert again.built == [] and again.unchanged == JUNE
        assert path.stat().st_mtime_ns == before

    def test_only_a_changed_day_is_rebuilt(self, lake: Path) -> None:
        build_cube(lake)
        day_dir = lake / "events" / "day=2024-06-04"
        part = next(day_dir.glob("*.parquet"))
        shutil.copyfile(part, day_dir / "part-extra.parquet")
        again = build_cube(lake)
        assert again.built == [date(2024, 6, 4)]
        rebuilt = cube_file(lake / "cube", REQUESTS, date(2024, 6, 4))
        doubled = duckdb.execute(f"SELECT sum(requests) FROM read_parquet('{rebuilt}')").fetchall()
        assert doubled[0][0] == 2 * (2 + 3 + 4 + 5 + 6 + 7 + 1)

    def test_force_rebuilds_every_day_in_the_range(self, lake: Path) -> None:
        build_cube(lake)
        again = build_cube(lake, first=date(2024, 6, 5), last=date(2024, 6, 6), force=True)
        assert again.built == [date(2024, 6, 5), date(2024, 6, 6)]

    def test_a_day_gone_from_the_lake_goes_from_the_cube(self, lake: Path) -> None:
        build_cube(lake)
        shutil.rmtree(lake / "events" / "day=2024-06-07")
        again = build_cube(lake)
        assert again.removed == [date(2024, 6, 7)]
        assert cube_days(lake / "cube") == JUNE[:-1]

    def test_no_half_written_file_is_left_behind(self, lake: Path) -> None:
        build_cube(lake)
        leftovers = [p for p in (lake / "cube").rglob("*") if p.name.endswith(".tmp")]
        assert leftovers == []


class TestHistogram:
    def test_buckets_double_every_four(self) -> None:
        assert bucket_of(99) == 0
        assert bucket_of(100) == 1
        assert bucket_of(200) == 5
        assert bucket_of(10**9) == RTT_BUCKETS - 1
        lower, upper = bucket_bounds(5)
        assert lower == pytest.approx(200) and upper == pytest.approx(200 * 2**0.25)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.integers(min_value=100, max_value=400_000), min_size=1, max_size=300),
        st.sampled_from([0.5, 0.95, 0.99]),
    )
    def test_a_quantile_is_within_the_stated_bound(self, values: list[int], q: float) -> None:
        counts = [0] * RTT_BUCKETS
        for v in values:
            counts[bucket_of(v)] += 1
        ordered = sorted(values)
        true = ordered[max(math.ceil(q * len(values)) - 1, 0)]
        estimate = estimate_quantile(counts, q, low=min(values), high=max(values))
        assert estimate is not None
        ratio = max(estimate / true, true / estimate)
        assert ratio <= 1 + QUANTILE_ERROR_BOUND + 1e-9

    def test_nothing_to_estimate_from_an_empty_histogram(self) -> None:
        assert estimate_quantile([0] * RTT_BUCKETS, 0.5, low=None, high=None) is None


class TestCli:
    def test_build_then_nothing_to_do(self, lake: Path) -> None:
        runner = CliRunner()
        first = runner.invoke(app, ["report", "cube", "build", "--lake", str(lake)])
        assert first.exit_code == 0, first.output
        assert "5 day(s) built" in first.output
        again = runner.invoke(
            app, ["report", "cube", "build", "--lake", str(lake), "--month", "2024-06"]
        )
        assert again.exit_code == 0, again.output
        assert "0 day(s) built, 5 up to date" in again.output

    def test_a_bad_month_is_refused(self, lake: Path) -> None:
        result = CliRunner().invoke(
            app, ["report", "cube", "build", "--lake", str(lake), "--month", "June"]
        )
        assert result.exit_code != 0
        assert "bad_month" in result.output or "YYYY-MM" in result.output
        assert not os.path.exists(lake / "cube")
