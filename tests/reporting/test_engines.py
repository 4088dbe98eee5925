"""DuckDB and PySpark run the same definitions over the same lake and give the same numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterhub.reporting.definitions import Period
from meterhub.reporting.engines import Engine, Row, event_partitions, normalise
from meterhub.reporting.suite import SUITE
from tests.reporting.conftest import computed

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
