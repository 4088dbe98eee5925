"""A run's recipient files do not depend on how the run was sped up: the per-run row index and
the worker processes give exactly the files of the plain per-recipient loop."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from meterhub.reporting.disclosure import (
    PeerLabeller,
    population,
    recipient_roles,
    recipient_view,
)
from meterhub.reporting.engines import Row
from meterhub.reporting.run import RunIndex, RunResult, run_reports
from meterhub.reporting.suite import SUITE
from tests.reporting.scenario import MONTH, forecasts_beside

SECRET = b"test run secret"


def _files(result: RunResult) -> dict[str, bytes]:
    return {
        str(p.relative_to(result.directory)): p.read_bytes()
        for p in sorted(result.directory.rglob("*"))
        if p.is_file()
    }


class TestRunIndex:
    @pytest.mark.parametrize("min_cohort", [2, 5])
    def test_each_recipients_view_from_the_run_index_is_its_view_of_all_rows(
        self, duckdb_results: dict[str, list[Row]], min_cohort: int
    ) -> None:
        index = RunIndex.of(SUITE, duckdb_results)
        everyone = {r["party"] for rows in duckdb_results.values() for r in rows if r["party"]}
        assert set(index.roles) == everyone
        for recipient in sorted(everyone):
            roles = recipient_roles(duckdb_results, recipient)
            assert index.roles[recipient] == roles
            labeller = PeerLabeller(
                secret=SECRET,
                recipient=recipient,
                month=MONTH,
                population=population(SUITE, duckdb_results),
            )
            for d in SUITE:
                rows = duckdb_results[d.id]
                candidates = index.candidates(d, rows, recipient=recipient, roles=roles)
                plain = recipient_view(
                    d,
                    rows,
                    recipient=recipient,
                    roles=roles,
                    labeller=labeller,
                    min_cohort=min_cohort,
                )
                fast = recipient_view(
                    d,
                    candidates,
                    recipient=recipient,
                    roles=roles,
                    labeller=labeller,
                    min_cohort=min_cohort,
                    cohorts=index.cohorts.get(d.id),
                    contributors=index.contributors.get(d.id),
                )
                assert fast == plain, (recipient, d.id)


class TestWorkers:
    def test_two_worker_processes_write_the_same_bytes_as_one(
        self, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        lake, devices = june
        runs = [
            run_reports(
                lake=lake,
                month=MONTH,
                out=tmp_path / f"workers-{workers}",
                devices_snapshot=devices,
                forecasts_snapshot=forecasts_beside(devices),
                secret=SECRET,
                now=datetime(2024, 7, 1, tzinfo=UTC),
                workers=workers,
            )
            for workers in (1, 2)
        ]
        one, two = (_files(r) for r in runs)
        assert one.keys() == two.keys() and len(one) > 100
        assert [name for name in one if one[name] != two[name]] == []
        assert [r.content_hash for r in runs[0].reports] == [
            r.content_hash for r in runs[1].reports
        ]
