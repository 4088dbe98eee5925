"""Loading rows with a savepoint each: every refusal collected, a refused row leaves no trace."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.bulk import service as bulk_service
from meterhub.bulk.csvfile import CsvRow
from meterhub.bulk.importers import IMPORTERS, Cells, Column, Importer, importer_for
from meterhub.bulk.service import import_actor, import_rows
from meterhub.errors import InvalidInput
from meterhub.inventory.models import Device
from meterhub.kit.clock import today, utcnow
from meterhub.parties import service as parties

ACTOR = import_actor(Path("/somewhere/parties.csv"))


def _rows(*values: dict[str, str]) -> list[CsvRow]:
    return [CsvRow(line=n, values=v) for n, v in enumerate(values, 2)]


def _party(code: str, roles: str = "RSA") -> dict[str, str]:
    return {"code": code, "name": f"Party {code}", "kind": "agent", "roles": roles}


class TestImportActor:
    def test_the_actor_is_the_operator_importing_that_file(self) -> None:
        actor = import_actor(Path("/somewhere/parties.csv"))

        assert (actor.name, actor.party_id, actor.interface, actor.is_operator) == (
            "import:parties.csv",
            None,
            "import",
            True,
        )


class TestImportRows:
    def test_good_rows_are_kept_in_the_transaction_and_bad_ones_reported(
        self, session: Session
    ) -> None:
        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer_for("parties"),
            rows=_rows(_party("A1"), _party("A2", "NOPE"), _party("A3"), _party("a1")),
            now=utcnow(),
        )

        assert outcome.rows == 4
        assert not outcome.accepted
        assert [(r.line, r.key, r.code) for r in outcome.rejected] == [
            (3, "A2", "bad_role"),
            (5, "a1", "party_exists"),
        ]
        assert [p.code for p in parties.list_parties(session, actor=ACTOR)] == ["A1", "A3"]

    def test_a_row_that_wrote_before_failing_is_rolled_back_alone(self, session: Session) -> None:
        def write_then_refuse(s: Session, actor: Actor, cells: Cells, now: datetime) -> object:
            party = parties.create_party(
                s,
                actor=actor,
                code=cells.required("code"),
                name="x",
                kind="agent",
                roles=["RSA"],
                now=now,
            )
            if cells.optional("fail"):
                raise InvalidInput("refused after writing", code="late_refusal")
            return party

        importer = Importer(
            kind="test",
            summary="",
            columns=(Column("code", True, "", ""), Column("fail", False, "", "")),
            key=("code",),
            load_row=write_then_refuse,
        )

        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer,
            rows=_rows({"code": "K1"}, {"code": "K2", "fail": "y"}, {"code": "K3"}),
            now=utcnow(),
        )

        assert [(r.key, r.code) for r in outcome.rejected] == [("K2", "late_refusal")]
        assert [p.code for p in parties.list_parties(session, actor=ACTOR)] == ["K1", "K3"]

    def test_a_database_refusal_is_a_row_rejection_not_a_crash(self, session: Session) -> None:
        def duplicate_insert(s: Session, actor: Actor, cells: Cells, now: datetime) -> object:
            return s.execute(
                text(
                    "INSERT INTO party (code, name, kind, created_at)"
                    " VALUES (:code, 'x', 'agent', '2024-01-01 00:00:00')"
                ),
                {"code": cells.required("code")},
            )

        importer = Importer(
            "test", "", (Column("code", True, "", ""),), ("code",), duplicate_insert
        )

        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer,
            rows=_rows({"code": "D1"}, {"code": "D1"}),
            now=utcnow(),
        )

        assert [(r.line, r.code) for r in outcome.rejected] == [(3, "database_refused")]

    def test_releasing_the_identity_map_keeps_rows_that_later_rows_depend_on(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(bulk_service, "_EXPUNGE_EVERY", 2)
        parties.create_party(
            session, actor=ACTOR, code="S1", name="S", kind="supplier", roles=["IS"], now=utcnow()
        )
        hub = "00-DB-12-00-00-00-00-01"
        device = {
            "device_type": "ESME",
            "manufacturer": "Acme",
            "model": "M",
            "firmware_version": "1",
            "smets_version": "SMETS2",
            "csp_region": "North",
        }

        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer_for("devices"),
            rows=_rows(
                {**device, "device_id": hub, "device_type": "CHF", "owner": "S1"},
                {**device, "device_id": "bad"},
                {**device, "device_id": "00-DB-12-00-00-00-00-02", "comms_hub_id": hub},
                {**device, "device_id": hub},
                {**device, "device_id": "00-DB-12-00-00-00-00-03", "owner": "S1"},
            ),
            now=utcnow(),
        )

        assert [(r.line, r.code) for r in outcome.rejected] == [
            (3, "bad_eui64"),
            (5, "device_exists"),
        ]
        assert session.scalar(select(func.count()).select_from(Device)) == 3

    def test_an_empty_file_is_not_accepted(self, session: Session) -> None:
        outcome = import_rows(
            session, actor=ACTOR, importer=importer_for("parties"), rows=[], now=utcnow()
        )

        assert not outcome.accepted


class TestImporterTables:
    def test_a_required_cell_left_blank_is_named(self, session: Session) -> None:
        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer_for("parties"),
            rows=_rows({"code": "A1", "name": "  ", "kind": "agent", "roles": "RSA"}),
            now=utcnow(),
        )

        assert [(r.code, r.message) for r in outcome.rejected] == [
            ("missing_value", "name is empty")
        ]

    def test_a_role_given_twice_for_a_user_is_refused(self, session: Session) -> None:
        parties.create_party(
            session, actor=ACTOR, code="S1", name="S", kind="supplier", roles=["IS"], now=utcnow()
        )

        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer_for("users"),
            rows=_rows(
                {"party": "S1", "username": "u1", "roles": "IS=90-B3-D5-1F-30-00-00-01;is"},
            ),
            now=utcnow(),
        )

        assert [r.code for r in outcome.rejected] == ["duplicate_role"]

    def test_one_duis_user_id_for_two_roles_is_refused(self, session: Session) -> None:
        parties.create_party(
            session,
            actor=ACTOR,
            code="S1",
            name="S",
            kind="supplier",
            roles=["IS", "GS"],
            now=utcnow(),
        )

        outcome = import_rows(
            session,
            actor=ACTOR,
            importer=importer_for("users"),
            rows=_rows(
                {
                    "party": "S1",
                    "username": "u1",
                    "roles": "IS=90-B3-D5-1F-30-00-00-01;GS=90b3d51f30000001",
                },
            ),
            now=utcnow(),
        )

        assert [r.code for r in outcome.rejected] == ["duis_user_id_taken"]

    def test_every_kind_keys_its_rows_by_required_columns(self) -> None:
        for importer in IMPORTERS.values():
            required = {c.name for c in importer.columns if c.required}
            assert set(importer.key) <= required, importer.kind


class TestDocs:
    def test_docs_describe_every_column_of_every_kind_as_the_command_does(self) -> None:
        """docs/import.md shows each column as ``meterhub import columns`` prints it."""
        doc = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
        for importer in IMPORTERS.values():
            section = doc.split(f"## {importer.kind}\n", 1)[1].split("\n## ", 1)[0]
            for c in importer.columns:
                required = "yes" if c.required else "no"
                example = f"`{c.example}`" if c.example else "(empty)"
                row = f"| `{c.name}` | {required} | {c.meaning} | {example} |"
                assert row in section.splitlines(), (importer.kind, c.name)


#: A documented limit: "1-40 characters", "at most 200 characters", "1-16 letters", "0 to 10,000".
_LIMIT = re.compile(r"(?:1-|at most )(\d+) (characters|letters)|0 to ([\d,]+)")


def _documented_limits() -> list[tuple[str, str, int, bool]]:
    """(kind, column, the largest value or length documented, whether it is a length)."""
    found = []
    for importer in IMPORTERS.values():
        for c in importer.columns:
            match = _LIMIT.search(c.meaning)
            if match is not None:
                most = match[1] or match[3]
                found.append((importer.kind, c.name, int(most.replace(",", "")), bool(match[2])))
    return found


def _limit_id(limit: tuple[str, str, int, bool]) -> str:
    return f"{limit[0]}.{limit[1]}"


def _base_row(session: Session, kind: str) -> dict[str, str]:
    """A row of ``kind`` that loads, with what it needs already in the database."""
    if kind == "parties":
        return _party("NEWCO")
    if kind == "users":
        parties.create_party(
            session,
            actor=ACTOR,
            code="HOME",
            name="Home",
            kind="agent",
            roles=["RSA"],
            now=utcnow(),
        )
        return {"party": "HOME", "username": "someone", "display_name": "", "roles": "RSA"}
    if kind == "devices":
        return dict(
            zip(
                importer_for("devices").column_names,
                ["00-DB-12-00-00-00-00-0A", "CHF", "Acme", "ACME-1", "1.0.0", "CHTS", "North"],
                strict=False,
            )
        )
    if kind == "forecasts":
        parties.create_party(
            session,
            actor=ACTOR,
            code="SUPP",
            name="Supp",
            kind="supplier",
            roles=["IS"],
            now=utcnow(),
        )
        month = today().replace(day=1)
        next_month = f"{month.year + month.month // 12:04d}-{month.month % 12 + 1:02d}"
        return {
            "supplier": "SUPP",
            "role": "IS",
            "month": next_month,
            "csp_region": "North",
            "installs": "1",
        }
    raise AssertionError(f"give test_documented_limits a row of {kind} that loads")


class TestDocumentedLimits:
    def test_the_limits_are_found(self) -> None:
        """Guards the search below: the limits the operator reads are all checked."""
        assert {_limit_id(x) for x in _documented_limits()} >= {
            "parties.code",
            "parties.name",
            "users.username",
            "users.display_name",
            "devices.manufacturer",
            "devices.model",
            "devices.firmware_version",
            "forecasts.installs",
        }

    @pytest.mark.parametrize("limit", _documented_limits(), ids=_limit_id)
    @pytest.mark.parametrize("past", [False, True], ids=["at the limit", "one past it"])
    def test_what_the_columns_say_is_what_loads(
        self, session: Session, limit: tuple[str, str, int, bool], past: bool
    ) -> None:
        kind, column, most, is_length = limit
        row = _base_row(session, kind)
        n = most + 1 if past else most
        row[column] = "A" * n if is_length else str(n)
        outcome = import_rows(
            session, actor=ACTOR, importer=importer_for(kind), rows=_rows(row), now=utcnow()
        )
        assert outcome.accepted is not past, outcome.rejected
        if past:
            assert len(outcome.rejected) == 1
