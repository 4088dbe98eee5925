"""Fixtures: the hand-written June lake and device snapshot, and the suite computed over them
once per engine (Spark takes tens of seconds to start, so its session lives for the run)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterhub.reporting.definitions import Period
from meterhub.reporting.engines import DuckDBEngine, Engine, Row
from meterhub.reporting.run import bind_inputs, compute
from meterhub.reporting.suite import SUITE
from tests.reporting.scenario import (
    MONTH,
    build_devices,
    build_forecasts,
    build_lake,
    forecasts_beside,
)


@pytest.fixture(scope="session")
def june(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(lake, devices snapshot) of the scenario; its install forecasts lie beside the snapshot
    (``forecasts_beside``)."""
    root = tmp_path_factory.mktemp("june")
    devices = build_devices(root / "devices.parquet")
    build_forecasts(forecasts_beside(devices))
    return build_lake(root / "lake"), devices


def computed(engine: Engine, lake: Path, devices: Path, scratch: Path) -> dict[str, list[Row]]:
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
    return compute(engine, period=period)


@pytest.fixture(scope="session")
def duckdb_results(
    june: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Row]]:
    engine = DuckDBEngine()
    try:
        return computed(engine, *june, tmp_path_factory.mktemp("scratch"))
    finally:
        engine.close()


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: PySpark cannot start a JVM")
    from meterhub.reporting.engines import SparkEngine

    engine = SparkEngine()
    yield engine
    engine.spark.stop()
