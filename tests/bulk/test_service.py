"""Loading rows with a savepoint each: every refusal collected, a refused row leaves no trace."""

from __future__ import annotations

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
from meterhub.kit.clock import utcnow
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
    def test_docs_describe_every_column_of_every_kind(self) -> None:
        doc = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
        for importer in IMPORTERS.values():
            section = doc.split(f"## {importer.kind}\n", 1)[1].split("\n## ", 1)[0]
            for column in importer.columns:
                required = "yes" if column.required else "no"
                assert f"| `{column.name}` | {required} |" in section, (importer.kind, column.name)
