"""The lake writer: documented schema, day partitions, and files that appear whole or not at all."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from meterhub.errors import InvalidInput
from meterhub.lake import writer as lake_writer
from meterhub.lake.schema import EVENT_SCHEMA, KINDS, PROCESS_OF_SRV, PROCESSES, service_reference
from meterhub.lake.writer import EventLakeWriter, events_glob


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def _events(times: list[int]) -> dict[str, list[object]]:
    n = len(times)
    return {
        "event_id": list(range(n)),
        "event_time": times,
        "kind": ["received", "acknowledged", "sent", "response"][:n],
        "request_id": [7] * n,
        "originator_party": ["BGAS"] * n,
        "originator_role": ["IS"] * n,
        "srv": ["4.1.1"] * n,
        "service_reference": ["4.1"] * n,
        "process": ["reads"] * n,
        "device_id": ["00-DB-12-34-56-78-90-A2"] * n,
        "device_type": ["ESME"] * n,
        "manufacturer": ["Acme"] * n,
        "model": ["ACME-1"] * n,
        "firmware_version": ["1.0.0"] * n,
        "smets_version": ["SMETS2"] * n,
        "csp_region": ["North"] * n,
        "mpxn": ["1200000000019"] * n,
        "response_code": [None, "I99", None, "I0"][:n],
        "rtt_ms": [None, None, None, 4200][:n],
        "failure_reason": [None] * n,
        "alert_code": [None] * n,
        "category": [None] * n,
    }


def _read(root: Path, sql: str = "SELECT * FROM ev ORDER BY event_id") -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute(
        "CREATE VIEW ev AS SELECT * FROM "
        f"read_parquet('{events_glob(root)}', hive_partitioning=true)"
    )
    return con.execute(sql).fetchall()


class TestSchema:
    def test_every_documented_column_is_in_the_docs(self) -> None:
        doc = (Path(__file__).parents[2] / "docs" / "lake.md").read_text()
        for name in [*EVENT_SCHEMA.names, "day"]:
            assert f"`{name}`" in doc, name
        for kind in KINDS:
            assert f"`{kind}`" in doc, kind

    def test_every_process_has_srvs_from_mp176(self) -> None:
        assert set(PROCESS_OF_SRV.values()) <= set(PROCESSES)
        assert PROCESS_OF_SRV["8.14.1"] == "install_commission"
        assert PROCESS_OF_SRV["6.23"] == "change_of_supplier"
        assert PROCESS_OF_SRV["11.1"] == "firmware"

    def test_service_reference_of_srv(self) -> None:
        assert service_reference("4.1.1") == "4.1"
        assert service_reference("6.20.1") == "6.20"
        assert service_reference("6.8") == "6.8"


class TestEventLakeWriter:
    def test_round_trip_through_duckdb(self, tmp_path: Path) -> None:
        t0 = _ms(2024, 6, 3, 10, 0, 0)
        EventLakeWriter(tmp_path).write(_events([t0, t0 + 40, t0 + 200, t0 + 4400]), part="a")
        rows = _read(
            tmp_path,
            "SELECT kind, srv, response_code, rtt_ms, day, event_time FROM ev ORDER BY event_id",
        )
        assert [r[0] for r in rows] == ["received", "acknowledged", "sent", "response"]
        assert rows[3][1:4] == ("4.1.1", "I0", 4200)
        assert rows[0][4] == date(2024, 6, 3)
        assert rows[0][5] == datetime(2024, 6, 3, 10, 0, tzinfo=UTC)

    def test_file_schema_is_the_documented_one(self, tmp_path: Path) -> None:
        t0 = _ms(2024, 6, 3, 10, 0, 0)
        (path,) = EventLakeWriter(tmp_path).write(_events([t0]), part="a")
        schema = pq.read_schema(path)
        assert schema.names == EVENT_SCHEMA.names
        assert (
            str(schema.field("kind").type) == "dictionary<values=string, indices=int32, ordered=0>"
        )
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"

    def test_partitions_by_utc_day(self, tmp_path: Path) -> None:
        late = _ms(2024, 6, 3, 23, 59, 59)
        paths = EventLakeWriter(tmp_path).write(
            _events([late, late + 40, late + 200, late + 5000]), part="b"
        )
        assert sorted(p.parent.name for p in paths) == ["day=2024-06-03", "day=2024-06-04"]
        days = _read(tmp_path, "SELECT day, count(*) FROM ev GROUP BY day ORDER BY day")
        assert days == [(date(2024, 6, 3), 3), (date(2024, 6, 4), 1)]

    def test_leaves_no_temporary_file_visible(self, tmp_path: Path) -> None:
        EventLakeWriter(tmp_path).write(_events([_ms(2024, 6, 3, 1, 0, 0)]), part="c")
        assert not list(tmp_path.rglob("*.tmp"))
        assert len(list(tmp_path.rglob("*.parquet"))) == 1

    def test_crash_mid_write_leaves_no_visible_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def half_write(table: object, where: Path, **_kw: object) -> None:
            Path(where).write_bytes(b"PAR1 half a file")
            raise OSError("disk full")

        monkeypatch.setattr(lake_writer.pq, "write_table", half_write)
        with pytest.raises(OSError):
            EventLakeWriter(tmp_path).write(_events([_ms(2024, 6, 3, 1, 0, 0)]), part="d")
        assert not list(tmp_path.rglob("*.parquet"))

    def test_unknown_column_refused(self, tmp_path: Path) -> None:
        data = _events([_ms(2024, 6, 3, 1, 0, 0)])
        data["colour"] = ["red"]
        with pytest.raises(InvalidInput):
            EventLakeWriter(tmp_path).write(data, part="e")

    def test_missing_optional_columns_are_null(self, tmp_path: Path) -> None:
        data = _events([_ms(2024, 6, 3, 1, 0, 0)])
        del data["category"], data["alert_code"]
        EventLakeWriter(tmp_path).write(data, part="f")
        assert _read(tmp_path, "SELECT category, alert_code FROM ev") == [(None, None)]
