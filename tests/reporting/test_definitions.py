"""The suite's numbers on the hand-written June lake, worked out by hand (DuckDB)."""

from __future__ import annotations

from typing import Any

import pytest

from meterhub.lake.schema import PROCESS_OF_SRV
from meterhub.reporting.definitions import Definition, Measure, Registry
from meterhub.reporting.engines import Row
from meterhub.reporting.suite import SUITE, devices
from tests.reporting.scenario import OUTAGE_B

Results = dict[str, list[Row]]


def one(results: Results, definition: str, **where: Any) -> Row:
    rows = [r for r in results[definition] if all(r.get(k) == v for k, v in where.items())]
    assert len(rows) == 1, rows
    return rows[0]


class TestRegistry:
    def test_every_mp176_process_has_success_rtt_and_league_definitions(self) -> None:
        for process in set(PROCESS_OF_SRV.values()):
            covering = {d.id for d in SUITE if process in d.srv_groups}
            assert {
                "business_process.srv_success",
                "business_process.rtt",
                "business_process.daily_breakdown",
                "league_tables.process_success",
            } <= covering

    def test_each_definition_has_an_id_version_title_grain_and_report(self) -> None:
        for d in SUITE:
            assert d.key == f"{d.id}@v{d.version}"
            assert d.title and d.description and d.grain in ("month", "day", "snapshot")
            assert d.id.startswith(d.report)

    def test_an_id_cannot_be_registered_twice(self) -> None:
        d = SUITE["inventory.volumes"]
        with pytest.raises(ValueError, match="twice"):
            Registry([d, d])

    def test_device_ids_can_only_be_in_a_definition_seen_by_its_own_party(self) -> None:
        with pytest.raises(ValueError, match="device-level"):
            Definition(
                id="inventory.leaky",
                version=1,
                report="inventory",
                title="t",
                description="d",
                grain="snapshot",
                dimensions=("device_id",),
                measures=(Measure("devices", "Devices", lambda t: t.count()),),
                disclosure="benchmark",
                facts=devices,
                source="devices",
            )


class TestBusinessProcessSuccess:
    def test_a_party_rate_counts_refusals_and_failed_responses_as_failures(
        self, duckdb_results: Results
    ) -> None:
        row = one(duckdb_results, "business_process.srv_success", party="ESUP1", srv="4.1.1")
        assert (row["requests"], row["successes"], row["failures"]) == (5, 3, 2)
        assert row["success_rate"] == 0.6

    def test_industry_is_every_party_of_the_role_and_other_months_are_left_out(
        self, duckdb_results: Results
    ) -> None:
        row = one(
            duckdb_results, "business_process.srv_success", scope="industry", role="IS", srv="4.1.1"
        )
        assert (row["requests"], row["successes"], row["success_rate"]) == (10, 8, 0.8)
        gas = one(
            duckdb_results, "business_process.srv_success", scope="industry", role="GS", srv="4.1.1"
        )
        assert gas["requests"] == 4

    def test_rtt_best_worst_mean_median(self, duckdb_results: Results) -> None:
        own = one(duckdb_results, "business_process.rtt", party="ESUP1", srv="4.1.1")
        assert (own["best_ms"], own["worst_ms"], own["mean_ms"], own["median_ms"]) == (
            1000,
            6000,
            3000.0,
            2000.0,
        )
        industry = one(
            duckdb_results, "business_process.rtt", scope="industry", role="IS", srv="4.1.1"
        )
        assert (industry["responses"], industry["mean_ms"], industry["median_ms"]) == (
            8,
            1437.5,
            500.0,
        )

    def test_daily_breakdown_marks_requests_in_a_category_1_incident(
        self, duckdb_results: Results
    ) -> None:
        row = one(
            duckdb_results, "business_process.daily_breakdown", party="ESUP1", day="2024-06-04"
        )
        assert (row["requests"], row["failures"], row["category_1_requests"]) == (2, 2, 1)

    def test_every_failure_is_listed_by_reason_code(self, duckdb_results: Results) -> None:
        rows = [r for r in duckdb_results["business_process.failures_by_reason"]]
        assert {
            (r["party"], r["response_code"], r["failure_reason"], r["failures"]) for r in rows
        } == {
            ("ESUP1", "E21", "timeout", 1),
            ("ESUP1", "E4", None, 1),
            ("DNOA", "E20", "hub_offline", 1),
        }


class TestDerivedMeasures:
    def test_install_with_no_read_within_30_days(self, duckdb_results: Results) -> None:
        read = one(duckdb_results, "business_process.install_no_read_30_days", party="ESUP1")
        unread = one(duckdb_results, "business_process.install_no_read_30_days", party="ESUP2")
        assert (read["installs"], read["without_read_30_days"]) == (1, 0)
        assert (unread["installs"], unread["without_read_30_days"]) == (1, 1)

    def test_gain_with_a_read_before_and_the_old_supplier_install_message(
        self, duckdb_results: Results
    ) -> None:
        read = one(duckdb_results, "business_process.cos_read_before_gain", party="ESUP3")
        assert (read["gains"], read["with_read_before"]) == (1, 1)
        old = one(duckdb_results, "business_process.cos_old_supplier_install", party="ESUP3")
        assert (old["gains"], old["old_supplier_sent_8_14"]) == (1, 1)

    def test_install_and_commission_against_install_and_leave(
        self, duckdb_results: Results
    ) -> None:
        row = one(
            duckdb_results, "business_process.install_and_leave", scope="industry", day="2024-06-05"
        )
        assert (row["install_and_commission"], row["install_and_leave"]) == (2, 0)


class TestAlerts:
    def test_monthly_delivery_within_the_target(self, duckdb_results: Results) -> None:
        n16 = one(duckdb_results, "alerts.delivery_monthly", party="DNOA", alert_code="N16")
        assert (n16["alerts"], n16["on_time"], n16["on_time_rate"]) == (2, 1, 0.5)
        assert n16["worst_delivery_ms"] == 90_000

    def test_n42_within_seven_days_of_n16_by_supplier(self, duckdb_results: Results) -> None:
        total = one(duckdb_results, "alerts.n42_after_n16", party="DNOA")
        assert (total["n16_alerts"], total["n42_within_7_days"]) == (2, 1)
        by_supplier = {
            r["supplier"]: r["n42_within_7_days"]
            for r in duckdb_results["alerts.n42_after_n16_by_supplier"]
        }
        assert by_supplier == {"ESUP1": 1, "ESUP2": 0}

    def test_n13_by_meter_type_model_and_firmware(self, duckdb_results: Results) -> None:
        (row,) = duckdb_results["alerts.n13_n55_by_device"][:1]
        assert (row["alert_code"], row["device_type"], row["model"], row["alerts"]) == (
            "N13",
            "ESME",
            "ACME-1",
            1,
        )

    def test_power_outages_with_no_restoration_alert(self, duckdb_results: Results) -> None:
        row = one(duckdb_results, "alerts.power_outages", party="DNOA")
        assert (row["outage_alerts"], row["unrestored"]) == (2, 1)
        (open_,) = duckdb_results["alerts.unrestored_outages"]
        assert open_["device_id"] == OUTAGE_B.device_id
        assert open_["outage_alert_time"] == "2024-06-16T10:00:00.000Z"


class TestInventory:
    def test_firmware_mix_per_model_against_the_industry(self, duckdb_results: Results) -> None:
        own = {
            r["firmware_version"]: r["share_of_model"]
            for r in duckdb_results["inventory.firmware_mix"]
            if r["party"] == "ESUP1"
        }
        assert own == {"1.0.0": 0.75, "2.0.0": 0.25}
        industry = {
            r["firmware_version"]: r["share_of_model"]
            for r in duckdb_results["inventory.firmware_mix"]
            if r["scope"] == "industry" and r["role"] == "IS"
        }
        assert industry == {"1.0.0": 0.8889, "2.0.0": 0.1111}

    def test_volumes_and_the_network_operator_sees_every_meter_on_its_network(
        self, duckdb_results: Results
    ) -> None:
        dno = one(duckdb_results, "inventory.volumes", party="DNOA", firmware_version="1.0.0")
        assert dno["devices"] == 8


class TestLeagueTable:
    def test_equal_rates_share_a_position_and_the_worst_is_last(
        self, duckdb_results: Results
    ) -> None:
        rows = [
            r
            for r in duckdb_results["league_tables.process_success"]
            if r["scope"] == "party" and r["role"] == "IS" and r["process"] == "reads"
        ]
        positions = {r["party"]: r["position"] for r in rows}
        assert positions == {"ESUP1": 6, **{f"ESUP{i}": 1 for i in range(2, 7)}}
