"""What each recipient's files may and may not contain: attacks on the disclosure rules."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from meterhub.reporting.disclosure import PeerLabeller
from meterhub.reporting.run import RunResult, run_reports
from tests.reporting.scenario import ELECTRICITY_SUPPLIERS, GAS_SUPPLIERS, MONTH, NETWORK

EVERYONE = [*ELECTRICITY_SUPPLIERS, *GAS_SUPPLIERS, NETWORK]
SECRET = b"test report secret"


def _run(june: tuple[Path, Path], out: Path, **kw: object) -> RunResult:
    lake, devices = june
    return run_reports(
        lake=lake,
        month=MONTH,
        out=out,
        devices_snapshot=devices,
        secret=SECRET,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def reports(june: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(june, tmp_path_factory.mktemp("reports"))


def read(result: RunResult, party: str, definition: str) -> list[dict[str, str]]:
    with (result.directory / party / f"{definition}.csv").open() as f:
        return list(csv.DictReader(f))


def text_of(result: RunResult, party: str) -> str:
    return "".join(p.read_text() for p in sorted((result.directory / party).iterdir()))


def devices_of(june: tuple[Path, Path], party: str) -> set[str]:
    """Device IDs the party sent requests to, received alerts about, or holds."""
    lake, devices = june
    events = pq.read_table(
        sorted(lake.rglob("*.parquet")), columns=["originator_party", "device_id"]
    )
    snapshot = pq.read_table(devices, columns=["party", "device_id"])
    ids = {
        d
        for p, d in zip(*(events.column(c).to_pylist() for c in events.column_names), strict=True)
        if p == party
    }
    return ids | {
        d
        for p, d in zip(
            *(snapshot.column(c).to_pylist() for c in snapshot.column_names), strict=True
        )
        if p == party
    }


class TestPeerLabeller:
    def labels(self, recipient: str, month: str, secret: bytes = SECRET) -> dict[str, str]:
        parties = [f"P{i:02d}" for i in range(50)]
        labeller = PeerLabeller(
            secret=secret,
            recipient=recipient,
            month=month,
            population=[(p, "Supplier") for p in [*parties, recipient]],
        )
        return {p: labeller.label(p, "Supplier") for p in parties}

    def test_labels_are_stable_for_one_recipient_and_month(self) -> None:
        assert self.labels("R1", "2024-06") == self.labels("R1", "2024-06")
        assert sorted(self.labels("R1", "2024-06").values(), key=lambda s: int(s.split()[1])) == [
            f"Supplier {n}" for n in range(1, 51)
        ]

    def test_the_same_peer_has_unrelated_labels_for_other_recipients_and_months(self) -> None:
        june = self.labels("R1", "2024-06")
        for other in (self.labels("R2", "2024-06"), self.labels("R1", "2024-07")):
            same = sum(june[p] == other[p] for p in june)
            assert same <= 5, "labels should look like an independent shuffle"

    def test_the_recipient_keeps_its_own_code(self) -> None:
        labeller = PeerLabeller(
            secret=SECRET, recipient="R1", month="2024-06", population=[("R1", "Supplier")]
        )
        assert labeller.label("R1", "Supplier") == "R1"


class TestRecipientFiles:
    def test_every_party_gets_a_report(self, reports: RunResult) -> None:
        assert sorted(r.party for r in reports.reports) == sorted(EVERYONE)

    @pytest.mark.parametrize("recipient", EVERYONE)
    def test_no_other_party_code_appears_in_a_recipients_files(
        self, reports: RunResult, recipient: str
    ) -> None:
        text = text_of(reports, recipient)
        assert recipient in text
        leaked = [p for p in EVERYONE if p != recipient and p in text]
        assert leaked == []

    @pytest.mark.parametrize("recipient", EVERYONE)
    def test_no_other_partys_device_ids_appear_in_a_recipients_files(
        self, reports: RunResult, june: tuple[Path, Path], recipient: str
    ) -> None:
        text = text_of(reports, recipient)
        foreign = set().union(*(devices_of(june, p) for p in EVERYONE if p != recipient))
        foreign -= devices_of(june, recipient)
        assert foreign, "the scenario should give other parties devices of their own"
        assert [d for d in foreign if d in text] == []

    def test_a_peer_keeps_one_label_across_the_files_of_a_report(self, reports: RunResult) -> None:
        # ESUP1 is the only electricity supplier with a 0.6 success rate on 4.1.1
        srv = read(reports, "ESUP2", "business_process.srv_success")
        (worst,) = [r for r in srv if r["srv"] == "4.1.1" and r["success_rate"] == "0.6"]
        league = read(reports, "ESUP2", "league_tables.process_success")
        (last,) = [r for r in league if r["process"] == "reads" and r["position"] == "6"]
        assert worst["series"] == "peer" and worst["party"].startswith("Supplier ")
        assert last["party"] == worst["party"]

    def test_the_same_peer_is_labelled_differently_for_different_recipients(
        self, reports: RunResult
    ) -> None:
        labels = set()
        for recipient in ELECTRICITY_SUPPLIERS[1:]:
            srv = read(reports, recipient, "business_process.srv_success")
            (worst,) = [r for r in srv if r["srv"] == "4.1.1" and r["success_rate"] == "0.6"]
            labels.add(worst["party"])
        assert len(labels) > 1

    def test_a_cohort_of_four_is_not_broken_out(self, reports: RunResult) -> None:
        for definition in (
            "business_process.srv_success",
            "inventory.firmware_mix",
            "league_tables.process_success",
        ):
            rows = read(reports, "GSUP1", definition)
            assert {r["series"] for r in rows} == {"own", "industry"}, definition
        (own,) = [
            r
            for r in read(reports, "GSUP1", "league_tables.process_success")
            if r["series"] == "own"
        ]
        assert own["position"] == ""

    def test_a_lower_minimum_cohort_breaks_the_four_out(
        self, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        result = _run(june, tmp_path, party="GSUP1", min_cohort=4)
        rows = read(result, "GSUP1", "business_process.srv_success")
        assert sum(r["series"] == "peer" for r in rows) == 3

    def test_the_league_table_names_only_the_recipient(self, reports: RunResult) -> None:
        rows = [
            r
            for r in read(reports, "ESUP1", "league_tables.process_success")
            if r["process"] == "reads"
        ]
        names = {r["party"] for r in rows}
        assert "ESUP1" in names and "Industry" in names
        peers = names - {"ESUP1", "Industry"}
        assert len(peers) == 5 and all(n.startswith("Supplier ") for n in peers)
        (own,) = [r for r in rows if r["party"] == "ESUP1"]
        assert own["position"] == "6"

    def test_suppliers_in_a_network_operators_n42_split_are_labelled(
        self, reports: RunResult
    ) -> None:
        rows = read(reports, NETWORK, "alerts.n42_after_n16_by_supplier")
        assert len(rows) == 2
        assert all(r["supplier"].startswith("Supplier ") for r in rows)

    def test_device_level_files_hold_only_the_recipients_devices(self, reports: RunResult) -> None:
        rows = read(reports, "ESUP1", "inventory.devices")
        assert len(rows) == 4 and {r["series"] for r in rows} == {"own"}
        assert not (reports.directory / "ESUP1" / "alerts.unrestored_outages.csv").exists()


class TestFrozenRun:
    def test_the_manifest_names_every_definition_and_hashes_every_file(
        self, reports: RunResult
    ) -> None:
        directory = reports.directory / "ESUP1"
        manifest = json.loads((directory / "manifest.json").read_text())
        assert manifest["recipient"] == "ESUP1" and manifest["month"] == MONTH
        keys = {f"{d['id']}@v{d['version']}" for d in manifest["definitions"]}
        assert keys == {f["definition"] for f in manifest["files"]}
        for f in manifest["files"]:
            data = (directory / f["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert manifest["content_hash"] == reports.report_for("ESUP1").content_hash

    def test_the_same_inputs_give_the_same_content_hash(
        self, reports: RunResult, june: tuple[Path, Path], tmp_path: Path
    ) -> None:
        again = _run(june, tmp_path, party="ESUP1")
        assert again.report_for("ESUP1").content_hash == reports.report_for("ESUP1").content_hash

    def test_the_run_manifest_lists_recipients_and_the_lake_days_read(
        self, reports: RunResult
    ) -> None:
        run = json.loads((reports.directory / "manifest.json").read_text())
        assert set(run["recipients"]) == set(EVERYONE)
        assert "2024-05-31" in run["lake_days"] and "2024-07-01" in run["lake_days"]


class TestIndustrySlices:
    """An industry figure must never be one other party's figure, or own plus one other's."""

    def _rows(self, contributors_by_model: dict[str, list[str]]) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for model, parties in contributors_by_model.items():
            for party in parties:
                rows.append(
                    {"scope": "party", "party": party, "role": "IS", "model": model, "n": 1}
                )
            rows.append(
                {
                    "scope": "industry",
                    "party": None,
                    "role": "IS",
                    "model": model,
                    "n": len(parties),
                }
            )
        return rows

    def test_a_slice_with_fewer_than_two_other_parties_has_no_industry_row(self) -> None:
        from meterhub.reporting.disclosure import recipient_view
        from meterhub.reporting.suite import SUITE

        definition = SUITE["inventory.volumes"]
        assert "model" in definition.dimensions
        rows = self._rows(
            {
                "ALONE": ["ME"],  # industry would be my own figure: pointless, not shown
                "PAIR": ["ME", "OTHER1"],  # industry minus mine is OTHER1's figure
                "THEIRS": ["OTHER1"],  # industry would be OTHER1's figure outright
                "CROWD": ["ME", "OTHER1", "OTHER2"],
                "OTHERS": ["OTHER1", "OTHER2"],
            }
        )
        # Fill the dimensions the definition groups by that the test rows leave out.
        for r in rows:
            for column in (*definition.time_columns, *definition.dimensions):
                r.setdefault(column, "x")
        view = recipient_view(
            definition,
            rows,
            recipient="ME",
            roles={"IS"},
            labeller=PeerLabeller(
                secret=SECRET,
                recipient="ME",
                month=MONTH,
                population=[(p, "Supplier") for p in ("ME", "OTHER1", "OTHER2")],
            ),
        )
        assert view is not None
        industry = sorted(r["model"] for r in view if r["series"] == "industry")
        assert industry == ["CROWD", "OTHERS"]
