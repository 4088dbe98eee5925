"""``meterhub import KIND FILE.csv``: each kind loads through its service, all or nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.cli.common import database_trouble
from meterhub.config import Settings, get_settings
from meterhub.inventory.models import Device
from meterhub.parties.models import AgentAppointment, Party, User
from meterhub.parties.service import party_by_code, user_by_username
from meterhub.registration.models import Registration
from meterhub.registration.service import history
from tests.bulk.helpers import (
    DEVICE_HEADER,
    count,
    device_row,
    report_rows,
    run_import,
    write_csv,
)
from tests.factories import make_mpan_for, make_party, make_registration

HUB = "00-DB-12-00-00-00-00-01"
METER = "00-DB-12-00-00-00-00-02"


def bad_check_digit(mpan: str) -> str:
    return mpan[:12] + str((int(mpan[12]) + 1) % 10)


class TestImportParties:
    def test_parties_are_registered_with_every_role(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(
            tmp_path,
            "parties.csv",
            ["code", "name", "kind", "roles"],
            [
                ["bgas", "British Gas", "supplier", "IS; GS"],
                ["UKPN", "UKPN", "network_operator", "ED"],
            ],
        )

        result = run_import("parties", str(path))

        assert result.exit_code == 0, result.output
        assert "imported 2 parties" in result.stdout
        session.rollback()
        bgas = party_by_code(session, "BGAS")
        assert bgas is not None
        assert {r.role for r in bgas.roles} == {"IS", "GS"}
        assert not (tmp_path / "parties.report.csv").exists()

    def test_audit_names_the_file_and_the_import_interface(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(
            tmp_path,
            "parties.csv",
            ["code", "name", "kind", "roles"],
            [["AG1", "A", "agent", "RSA"]],
        )

        assert run_import("parties", str(path)).exit_code == 0

        session.rollback()
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.actor, e.interface) for e in entries] == [
            ("party.created", "import:parties.csv", "import"),
            ("import.loaded", "import:parties.csv", "import"),
        ]
        assert len(entries[1].changes["sha256"]) == 64


class TestImportUsers:
    def test_user_gets_each_role_with_its_duis_user_id(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="BGAS", roles=("IS", "GS", "OU"))
        session.commit()
        path = write_csv(
            tmp_path,
            "users.csv",
            ["party", "username", "display_name", "roles"],
            [["BGAS", "Ops@BGAS", "", "IS=90b3d51f30000001;GS=90-B3-D5-1F-30-00-00-02;OU"]],
        )

        result = run_import("users", str(path))

        assert result.exit_code == 0, result.output
        session.rollback()
        user = user_by_username(session, "ops@bgas")
        assert user is not None
        assert user.display_name == "Ops@BGAS"
        assert user.password_hash is None
        assert {r.role: r.duis_user_id for r in user.roles} == {
            "IS": "90-B3-D5-1F-30-00-00-01",
            "GS": "90-B3-D5-1F-30-00-00-02",
            "OU": None,
        }

    def test_unknown_party_code_and_bad_eui64_are_both_reported(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="BGAS", roles=("IS",))
        session.commit()
        path = write_csv(
            tmp_path,
            "users.csv",
            ["party", "username", "roles"],
            [
                ["NOPE", "a@nope", "IS"],
                ["BGAS", "b@bgas", "IS=90-B3-D5-1F-30-00-00"],
                ["BGAS", "c@bgas", "IS=90-B3-D5-1F-30-00-00-03"],
            ],
        )

        result = run_import("users", str(path))

        assert result.exit_code == 2
        report = report_rows(tmp_path / "users.report.csv")
        assert [(r["line"], r["key"], r["code"]) for r in report] == [
            ("2", "a@nope", "unknown_party"),
            ("3", "b@bgas", "bad_eui64"),
        ]
        assert count(session, User) == 0


class TestImportAppointments:
    def test_appointments_load_and_an_overlap_in_the_same_file_is_refused(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="BGAS", roles=("IS",))
        make_party(session, code="MOPCO", roles=("RSA",))
        session.commit()
        header = ["supplier", "agent", "valid_from", "valid_to"]
        good = write_csv(
            tmp_path,
            "good.csv",
            header,
            [["BGAS", "MOPCO", "2024-01-01", "2024-06-30"], ["BGAS", "MOPCO", "2024-07-01", ""]],
        )
        assert run_import("appointments", str(good)).exit_code == 0
        assert count(session, AgentAppointment) == 2

        overlapping = write_csv(
            tmp_path,
            "more.csv",
            header,
            [["BGAS", "MOPCO", "2023-01-01", "2023-12-31"], ["BGAS", "MOPCO", "2023-06-01", ""]],
        )
        result = run_import("appointments", str(overlapping))

        assert result.exit_code == 2
        report = report_rows(tmp_path / "more.report.csv")
        assert [(r["line"], r["key"], r["code"]) for r in report] == [
            ("3", "BGAS MOPCO 2023-06-01", "overlapping_period")
        ]
        assert count(session, AgentAppointment) == 2

    def test_a_date_not_written_yyyy_mm_dd_is_refused(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="BGAS", roles=("IS",))
        make_party(session, code="MOPCO", roles=("RSA",))
        session.commit()
        path = write_csv(
            tmp_path,
            "a.csv",
            ["supplier", "agent", "valid_from"],
            [["BGAS", "MOPCO", "01/02/2024"]],
        )

        result = run_import("appointments", str(path))

        assert result.exit_code == 2
        assert report_rows(tmp_path / "a.report.csv")[0]["code"] == "bad_date"


class TestImportRegistrations:
    @pytest.fixture
    def market(self, session: Session) -> None:
        make_party(session, code="OLDCO", roles=("IS",))
        make_party(session, code="NEWCO", roles=("IS",))
        make_party(session, code="UKPN", roles=("ED",))
        session.commit()

    HEADER = ["mpxn", "supplier", "network_operator", "effective_from", "effective_to"]

    def test_a_change_of_supplier_chain_for_one_mpan_loads_in_order(
        self, settings: Settings, session: Session, tmp_path: Path, market: None
    ) -> None:
        mpan = make_mpan_for(1)
        path = write_csv(
            tmp_path,
            "reg.csv",
            self.HEADER,
            [[mpan, "OLDCO", "UKPN", "2020-01-01", ""], [mpan, "NEWCO", "UKPN", "2023-04-01", ""]],
        )

        result = run_import("registrations", str(path))

        assert result.exit_code == 0, result.output
        session.rollback()
        periods = [
            (r.supplier.code, r.effective_from, r.effective_to) for r in history(session, mpxn=mpan)
        ]
        assert periods == [
            ("OLDCO", date(2020, 1, 1), date(2023, 3, 31)),
            ("NEWCO", date(2023, 4, 1), None),
        ]

    def test_bad_check_digit_and_overlap_in_the_same_file_are_reported(
        self, settings: Settings, session: Session, tmp_path: Path, market: None
    ) -> None:
        mpan = make_mpan_for(2)
        path = write_csv(
            tmp_path,
            "reg.csv",
            self.HEADER,
            [
                [mpan, "OLDCO", "UKPN", "2020-01-01", "2020-12-31"],
                [mpan, "NEWCO", "UKPN", "2020-06-01", "2021-05-31"],
                [bad_check_digit(make_mpan_for(3)), "OLDCO", "UKPN", "2020-01-01", ""],
            ],
        )

        result = run_import("registrations", str(path))

        assert result.exit_code == 2
        report = report_rows(tmp_path / "reg.report.csv")
        assert [(r["line"], r["code"]) for r in report] == [
            ("3", "overlapping_period"),
            ("4", "bad_mpxn"),
        ]
        assert "check digit" in report[1]["message"]
        assert count(session, Registration) == 0

    def test_a_gas_point_without_shipper_is_refused(
        self, settings: Settings, session: Session, tmp_path: Path, market: None
    ) -> None:
        path = write_csv(
            tmp_path, "gas.csv", self.HEADER, [["1234567", "OLDCO", "UKPN", "2020-01-01", ""]]
        )

        result = run_import("registrations", str(path))

        assert result.exit_code == 2
        assert report_rows(tmp_path / "gas.report.csv")[0]["code"] == "shipper_required"


class TestImportDevices:
    def test_a_meter_joins_a_hub_added_earlier_in_the_same_file(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        supplier = make_party(session, code="BGAS", roles=("IS",))
        dno = make_party(session, code="UKPN", roles=("ED",))
        mpan = make_mpan_for(5)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        session.commit()
        path = write_csv(
            tmp_path,
            "devices.csv",
            DEVICE_HEADER,
            [
                device_row(HUB, device_type="CHF", owner="BGAS"),
                device_row(METER, status="Commissioned", mpxn=mpan, comms_hub_id=HUB),
            ],
        )

        result = run_import("devices", str(path))

        assert result.exit_code == 0, result.output
        session.rollback()
        hub, meter = session.get(Device, HUB), session.get(Device, METER)
        assert hub is not None and meter is not None
        assert hub.status == "Pending"
        assert hub.owner_party_id == supplier.id
        assert (meter.status, meter.mpxn, meter.comms_hub_id) == ("Commissioned", mpan, HUB)

    def test_only_the_required_columns_are_needed(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, "d.csv", DEVICE_HEADER[:7], [device_row(HUB)[:7]])

        assert run_import("devices", str(path)).exit_code == 0
        assert count(session, Device) == 1

    def test_duplicate_device_and_unknown_hub_are_reported(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(
            tmp_path,
            "devices.csv",
            DEVICE_HEADER,
            [
                device_row(HUB, device_type="CHF"),
                device_row(HUB.lower().replace("-", ""), device_type="CHF"),
                device_row(METER, comms_hub_id="00-DB-12-00-00-00-00-99"),
            ],
        )

        result = run_import("devices", str(path))

        assert result.exit_code == 2
        report = report_rows(tmp_path / "devices.report.csv")
        assert [(r["line"], r["code"]) for r in report] == [
            ("3", "device_exists"),
            ("4", "unknown_comms_hub"),
        ]
        assert count(session, Device) == 0


class TestAllOrNothing:
    def test_three_bad_rows_among_good_ones_are_all_reported_and_nothing_is_written(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        make_party(session, code="BGAS", roles=("IS",))
        session.commit()
        rows = [device_row(f"00-DB-12-00-00-00-01-{n:02X}") for n in range(10)]
        rows[2] = device_row("not-an-eui64")
        rows[5] = device_row("00-DB-12-00-00-00-02-05", owner="NOPE")
        rows[8] = device_row("00-DB-12-00-00-00-02-08", status="Broken")
        path = write_csv(tmp_path, "devices.csv", DEVICE_HEADER, rows)
        devices_before, audit_before = count(session, Device), count(session, AuditEntry)

        result = run_import("devices", str(path))

        assert result.exit_code == 2
        assert "3 of 10 devices rows rejected; nothing was imported" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        report = report_rows(tmp_path / "devices.report.csv")
        assert [(r["line"], r["key"], r["code"]) for r in report] == [
            ("4", "not-an-eui64", "bad_eui64"),
            ("7", "00-DB-12-00-00-00-02-05", "unknown_party"),
            ("10", "00-DB-12-00-00-00-02-08", "bad_status"),
        ]
        assert all(r["message"] for r in report)
        for key in ("not-an-eui64", "NOPE", "Broken"):
            assert key in result.stdout
        assert count(session, Device) == devices_before == 0
        assert count(session, AuditEntry) == audit_before

    def test_report_goes_where_asked(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, "d.csv", DEVICE_HEADER, [device_row("zz")])
        wanted = tmp_path / "out" / "rejections.csv"
        wanted.parent.mkdir()

        result = run_import("devices", str(path), "--report", str(wanted))

        assert result.exit_code == 2
        assert str(wanted) in result.stderr
        assert report_rows(wanted)[0]["code"] == "bad_eui64"
        assert not (tmp_path / "d.report.csv").exists()

    def test_a_report_that_would_overwrite_the_input_is_refused(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, "d.csv", DEVICE_HEADER, [device_row("zz")])

        result = run_import("devices", str(path), "--report", str(path))

        assert result.exit_code == 2
        assert "bad_report" in result.stderr
        assert path.read_text().startswith("device_id,")

    def test_only_the_first_fifty_rejections_are_printed_but_all_are_in_the_report(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        rows = [device_row(f"bad{n}") for n in range(60)]
        path = write_csv(tmp_path, "d.csv", DEVICE_HEADER, rows)

        result = run_import("devices", str(path))

        assert result.exit_code == 2
        assert "bad49" in result.stdout and "bad50" not in result.stdout
        assert "10 more in the report file" in result.stdout
        assert len(report_rows(tmp_path / "d.report.csv")) == 60

    def test_report_cells_a_spreadsheet_would_run_are_neutralised(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, "d.csv", DEVICE_HEADER, [device_row("=HYPERLINK(1)")])

        assert run_import("devices", str(path)).exit_code == 2
        assert report_rows(tmp_path / "d.report.csv")[0]["key"] == "'=HYPERLINK(1)"

    def test_a_refused_party_file_registers_no_party(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(
            tmp_path,
            "p.csv",
            ["code", "name", "kind", "roles"],
            [["AG1", "A", "agent", "RSA"], ["AG2", "B", "agent", "XX"]],
        )

        assert run_import("parties", str(path)).exit_code == 2
        assert count(session, Party) == 0


class TestFileRefusals:
    """A file that is not a well-formed CSV of the kind's columns is refused before any row."""

    def _refused(self, result_stderr: str, exit_code: int, tmp_path: Path, name: str) -> None:
        assert exit_code == 2
        assert len(result_stderr.strip().splitlines()) == 1
        assert not (tmp_path / f"{Path(name).stem}.report.csv").exists()

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            (b"device_id,device_type,colour\n", "unknown column(s) colour"),
            (b"device_id,device_type\nX,CHF\n", "missing required column(s) manufacturer"),
            (b"", "the file is empty"),
            (b"\n\n", "the file is empty"),
            (",".join(DEVICE_HEADER[:7]).encode() + b"\n", "header row but no data rows"),
            (b"device_id,Device_ID\n", "appears twice"),
            (",".join(DEVICE_HEADER[:7]).encode() + b"\nA,B\n", "line 2 has 2 fields"),
            (",".join(DEVICE_HEADER[:7]).encode() + b'\n"A,B,C,D,E,F,G\n', "line 2: unexpected"),
            (
                ",".join(DEVICE_HEADER[:7]).encode() + b"\na,b,c\xe9,d,e,f,g\n",
                "line 2 is not UTF-8",
            ),
            (",".join(DEVICE_HEADER[:7]).encode() + b"\na,b,c\x00,d,e,f,g\n", "NUL byte"),
        ],
    )
    def test_malformed_file_is_refused_in_one_line_and_nothing_is_written(
        self,
        settings: Settings,
        session: Session,
        tmp_path: Path,
        content: bytes,
        expected: str,
    ) -> None:
        path = tmp_path / "devices.csv"
        path.write_bytes(content)

        result = run_import("devices", str(path))

        self._refused(result.stderr, result.exit_code, tmp_path, path.name)
        assert expected in result.stderr
        assert count(session, Device) == 0

    def test_good_rows_before_a_ragged_line_are_not_written(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, "devices.csv", DEVICE_HEADER, [device_row(HUB)])
        with path.open("a") as fh:
            fh.write("00-DB-12-00-00-00-00-09,CHF\n")

        result = run_import("devices", str(path))

        self._refused(result.stderr, result.exit_code, tmp_path, path.name)
        assert "line 3 has 2 fields where the header has 11" in result.stderr
        assert count(session, Device) == 0

    def test_a_file_over_the_size_limit_is_refused(
        self, settings: Settings, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write_csv(tmp_path, "devices.csv", DEVICE_HEADER, [device_row(HUB)] * 5)
        monkeypatch.setenv("METERHUB_MAX_CSV_BYTES", "100")
        get_settings.cache_clear()

        result = run_import("devices", str(path))

        self._refused(result.stderr, result.exit_code, tmp_path, path.name)
        assert "file_too_large" in result.stderr
        assert count(session, Device) == 0

    def test_a_missing_file_is_named(self, settings: Settings, tmp_path: Path) -> None:
        result = run_import("devices", str(tmp_path / "nowhere.csv"))

        assert result.exit_code == 2
        assert "no_such_file" in result.stderr and "nowhere.csv" in result.stderr

    def test_an_unknown_kind_is_a_usage_error(self, settings: Settings, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "x.csv", ["a"], [["1"]])

        result = run_import("meters", str(path))

        assert result.exit_code == 2
        assert "meters" in result.output

    def test_an_unmigrated_database_exits_1(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("METERHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
        get_settings.cache_clear()
        path = write_csv(
            tmp_path, "p.csv", ["code", "name", "kind", "roles"], [["AG1", "A", "agent", "RSA"]]
        )
        try:
            result = run_import("parties", str(path))
        finally:
            get_settings.cache_clear()

        assert result.exit_code == 1
        assert "meterhub db upgrade" in result.stderr


class TestWhileTheHubWrites:
    def test_an_import_waits_for_another_writer_and_succeeds(
        self, settings: Settings, session: Session, tmp_path: Path
    ) -> None:
        """The hub (another process) holds the write lock and changes the database while the
        import starts: the import queues behind it, as the server's writers do, and loads."""
        if not settings.database_url.startswith("sqlite"):
            pytest.skip("SQLite's single-writer lock only")
        make_party(session, code="BUSY", roles=("IS",))
        session.commit()
        path = write_csv(
            tmp_path, "p.csv", ["code", "name", "kind", "roles"], [["AG1", "A", "agent", "RSA"]]
        )
        hub = sqlite3.connect(
            settings.database_url.removeprefix("sqlite:///"),
            isolation_level=None,
            check_same_thread=False,
        )
        hub.execute("BEGIN IMMEDIATE")
        hub.execute("UPDATE party SET name = 'Busy Energy' WHERE code = 'BUSY'")
        released = threading.Timer(1.0, lambda: hub.execute("COMMIT"))
        released.start()
        try:
            started = time.monotonic()
            result = run_import("parties", str(path))
        finally:
            released.join()
            hub.close()
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started >= 0.9
        # The session's own BUSY row (expire_on_commit is off) may still be in its identity map:
        # forget it, so the check reads what the database holds.
        session.rollback()
        session.expire_all()
        assert party_by_code(session, "AG1") is not None
        busy = party_by_code(session, "BUSY")
        assert busy is not None and busy.name == "Busy Energy"

    def test_a_database_locked_too_long_is_busy_not_unmigrated(self) -> None:
        locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        message = database_trouble(locked)
        assert "try again" in message
        assert "db upgrade" not in message

    def test_a_missing_table_still_points_to_the_upgrade(self) -> None:
        missing = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: party"))
        assert "meterhub db upgrade" in database_trouble(missing)


class TestColumnsHelp:
    def test_columns_lists_every_column_of_the_kind(self, settings: Settings) -> None:
        result = run_import("columns", "devices")

        assert result.exit_code == 0
        assert "header: " + ",".join(DEVICE_HEADER) in result.stdout

    def test_kind_help_shows_its_columns(self, settings: Settings) -> None:
        result = run_import("users", "--help")

        assert result.exit_code == 0
        for column in ("party", "username", "display_name", "roles (required)"):
            assert column in result.stdout

    def test_unknown_kind_is_refused(self, settings: Settings) -> None:
        result = run_import("columns", "meters")

        assert result.exit_code == 2
        assert "bad_kind" in result.stderr
