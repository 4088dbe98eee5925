"""DuckDB and PySpark run the same definitions over the same lake and give the same numbers."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterhub.reporting.definitions import Period, Sources
from meterhub.reporting.engines import (
    DuckDBEngine,
    Engine,
    Row,
    event_partitions,
    normalise,
    normalise_table,
)
from meterhub.reporting.run import bind_inputs, compute
from meterhub.reporting.suite import SUITE
from tests.reporting.conftest import computed
from tests.reporting.scenario import MONTH, forecasts_beside

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ibis.*"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.mark.spark
class TestEngineAgreement:
    def test_every_definition_gives_identical_numbers_on_duckdb_and_spark(
        self,
        june: tuple[Path, Path],
        duckdb_results: dict[str, list[Row]],
        spark_engine: Engine,
        tmp_path: Path,
    ) -> None:
        spark_results = computed(spark_engine, *june, tmp_path)
        assert set(spark_results) == {d.id for d in SUITE}
        differing = [d.id for d in SUITE if spark_results[d.id] != duckdb_results[d.id]]
        assert differing == []
        empty = [d.id for d in SUITE if not duckdb_results[d.id]]
        assert empty == [], "every definition should have rows for the comparison to mean much"


class TestNormalise:
    def test_rounds_measures_to_their_presentation_decimals_and_orders_rows(self) -> None:
        d = SUITE["business_process.process_success"]
        rows = normalise(
            d,
            [
                {
                    "scope": "party",
                    "party": "B",
                    "role": "IS",
                    "process": "reads",
                    "requests": 3,
                    "successes": 2,
                    "failures": 1,
                    "success_rate": 2 / 3,
                    "failure_rate": 1 / 3,
                },
                {
                    "scope": "industry",
                    "party": None,
                    "role": "IS",
                    "process": "reads",
                    "requests": 3,
                    "successes": 2,
                    "failures": 1,
                    "success_rate": 2 / 3,
                    "failure_rate": 1 / 3,
                },
            ],
        )
        assert [r["scope"] for r in rows] == ["industry", "party"]
        assert rows[0]["success_rate"] == 0.6667


class TestEventPartitions:
    def test_a_month_with_no_lake_days_binds_an_empty_table(
        self, tmp_path: Path, june: tuple[Path, Path]
    ) -> None:
        root, days = event_partitions(
            tmp_path / "no-lake", Period.month("2023-01").days(), tmp_path / "scratch"
        )
        assert len(days) == 1 and any(days[0].glob("*.parquet"))
        lake, _ = june
        root, days = event_partitions(lake, Period.month("2024-06").days(after=1), tmp_path)
        assert root == lake / "events"
        assert days[0].name == "day=2024-06-03"
        assert "day=2024-07-01" in [d.name for d in days]


def _row_path(engine: DuckDBEngine, june: tuple[Path, Path], scratch: Path) -> dict[str, list[Row]]:
    """The suite computed the plain way: one definition at a time, rows normalised in Python."""
    lake, devices = june
    period = Period.month(MONTH)
    bind_inputs(
        engine,
        lake=lake,
        period=period,
        suite=SUITE,
        database_url=None,
        scratch=scratch,
        devices_snapshot=devices,
        forecasts_snapshot=forecasts_beside(devices),
    )
    sources = Sources()
    return {d.id: normalise(d, engine.rows(d.expression(sources, period))) for d in SUITE}


class TestFastPath:
    """The run computes definitions two at a time and normalises Arrow tables column by column:
    the numbers and their order must be exactly those of the plain path."""

    def test_concurrent_queries_and_columnwise_normalising_give_the_plain_paths_rows(
        self, june: tuple[Path, Path], duckdb_results: dict[str, list[Row]], tmp_path: Path
    ) -> None:
        engine = DuckDBEngine(concurrency=1)
        try:
            plain = _row_path(engine, june, tmp_path)
        finally:
            engine.close()
        assert {d.id for d in SUITE if plain[d.id] != duckdb_results[d.id]} == set()

    def test_an_engine_stopped_midway_closes_cleanly(
        self, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        engine = DuckDBEngine(concurrency=2)
        lake, devices = june
        period = Period.month(MONTH)
        bind_inputs(
            engine,
            lake=lake,
            period=period,
            suite=SUITE,
            database_url=None,
            scratch=tmp_path,
            devices_snapshot=devices,
            forecasts_snapshot=forecasts_beside(devices),
        )

        def fail(done: int, total: int, what: str) -> None:
            raise RuntimeError("stop")

        with pytest.raises(RuntimeError):
            compute(engine, period=period, progress=fail)
        engine.close()

    def test_a_query_bigger_than_the_memory_limit_spills_and_close_removes_the_spill(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        engine = DuckDBEngine(memory_limit="64MB", threads=1)
        engine.con.raw_sql(
            "CREATE VIEW big AS SELECT i, repeat('x', 40) AS pad FROM range(3000000) t(i)"
        )
        big = ibis.table({"i": "int64", "pad": "string"}, name="big")
        groups = big.group_by(key=big.pad.concat(big.i.cast("string"))).aggregate(n=big.count())
        counted = groups.aggregate(groups=groups.count(), rows=groups.n.sum())
        assert next(engine.tables([counted])).to_pylist() == [
            {"groups": 3_000_000, "rows": 3_000_000}
        ]
        spilled = [p for p in tmp_path.iterdir() if p.name.startswith("meterhub-duckdb-")]
        assert len(spilled) == 1 and spilled[0].is_dir()
        engine.close()
        assert list(tmp_path.iterdir()) == []


_TEXT = st.one_of(st.none(), st.text(max_size=4))
_FLOAT = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)


class TestNormaliseTable:
    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["party", "industry"]),
                _TEXT,
                st.one_of(st.none(), st.integers(-5, 5)),
                _FLOAT,
                st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2024, 12, 31))),
            ),
            max_size=30,
        )
    )
    def test_gives_the_rows_and_order_normalise_gives(
        self, raw: list[tuple[str, str | None, int | None, float | None, date | None]]
    ) -> None:
        d = SUITE["alerts.delivery_daily"]
        table = pa.table(
            {
                "scope": pa.array([r[0] for r in raw], pa.string()),
                "party": pa.array([r[1] for r in raw], pa.string()),
                "role": pa.array([r[1] for r in raw], pa.string()).dictionary_encode(),
                "day": pa.array([r[4] for r in raw], pa.date32()),
                "alert_code": pa.array([r[1] for r in raw], pa.string()),
                "alerts": pa.array([r[2] for r in raw], pa.int64()),
                "on_time": pa.array([r[2] for r in raw], pa.int64()),
                "on_time_rate": pa.array([r[3] for r in raw], pa.float64()),
                "mean_delivery_ms": pa.array([r[3] for r in raw], pa.float64()),
                "median_delivery_ms": pa.array([r[3] for r in raw], pa.float64()),
                "worst_delivery_ms": pa.array([r[2] for r in raw], pa.int32()),
            }
        )
        assert normalise_table(d, table) == normalise(d, table.to_pylist())

    def test_times_become_utc_strings_and_missing_columns_nulls(self) -> None:
        d = SUITE["alerts.unrestored_outages"]
        when = datetime(2024, 6, 3, 10, 0, 0, 123000, tzinfo=UTC)
        table = pa.table(
            {
                "scope": ["party", "party"],
                "party": ["DNOA", "DNOA"],
                "role": ["ED", "ED"],
                "outage_alert_time": pa.array([when, None], pa.timestamp("ms", tz="UTC")),
                "device_id": ["b", "a"],
            }
        )
        rows = normalise_table(d, table)
        assert rows == normalise(d, table.to_pylist())
        assert rows[0]["outage_alert_time"] is None
        assert rows[1]["outage_alert_time"] == "2024-06-03T10:00:00.123Z"
        assert rows[1]["mpxn"] is None
