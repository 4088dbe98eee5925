"""``meterhub hubs deliveries FILE``: a consignment recorded from its advance shipment notice
file, checked whole; a file in the wrong shape, with duplicates, for an unknown order or of
more hubs than the order has outstanding is one line on stderr, and nothing is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from meterhub.cli.main import app
from meterhub.comms_hubs import orders
from meterhub.config import Settings
from tests.comms_hubs.conftest import HubsWorld, confirmed, guids

runner = CliRunner()


def deliveries(path: Path) -> Result:
    return runner.invoke(app, ["hubs", "deliveries", str(path)])


def asn_file(
    tmp_path: Path, rows: list[tuple[str, str, str]], header: str = "asn_reference,order_id,guid"
) -> Path:
    path = tmp_path / "asn.csv"
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def recorded(session: Session, hubs: HubsWorld) -> list[str]:
    session.expire_all()
    page = orders.list_consignments(session, actor=hubs.actor(hubs.dcc_login))
    return [c.asn_reference for c in page.items]


class TestDeliveries:
    def test_an_asn_file_records_the_consignment_and_tells_the_party(
        self, settings: Settings, session: Session, hubs: HubsWorld, tmp_path: Path
    ) -> None:
        order = confirmed(session, hubs, quantity=3)
        session.commit()
        ids = guids(3)
        result = deliveries(asn_file(tmp_path, [("ASN-9", str(order.id), g) for g in ids]))
        assert result.exit_code == 0, result.stderr
        assert "consignment ASN-9" in result.stdout and "3 hubs" in result.stdout
        assert recorded(session, hubs) == ["ASN-9"]
        [consignment] = orders.list_consignments(session, actor=hubs.actor(hubs.a_login)).items
        lines = orders.consignment_lines(
            session, actor=hubs.actor(hubs.a_login), consignment_id=consignment.id
        )
        assert [x.device_id for x in lines] == ids

    @pytest.mark.parametrize(
        ("rows", "header", "expected"),
        [
            (
                [("ASN-9", "{order}", "G1"), ("ASN-9", "{order}", "G1")],
                None,
                "line 3: G1 is listed twice (first on line 2)",
            ),
            (
                [("ASN-9", "{order}", "G1"), ("ASN-8", "{order}", "G2")],
                None,
                "line 3: ASN reference 'ASN-8'",
            ),
            ([("ASN-9", "{order}", "G1"), ("ASN-9", "12345", "G2")], None, "line 3: order '12345'"),
            (
                [("ASN-9", "{order}", "G1")],
                "reference,order,guid",
                "header is asn_reference,order_id,guid",
            ),
            (
                [
                    ("ASN-9", "{order}", "G1"),
                    ("ASN-9", "{order}", "G2"),
                    ("ASN-9", "{order}", "G3"),
                    ("ASN-9", "{order}", "G4"),
                ],
                None,
                "lists 4 hubs but order",
            ),
            ([("ASN-9", "nine", "G1")], None, "line 2: order 'nine' is not an order number"),
            ([("ASN-9", "99999", "G1")], None, "no hub order 99999"),
        ],
        ids=[
            "duplicates",
            "two-references",
            "two-orders",
            "wrong-header",
            "too-many",
            "bad-order",
            "unknown-order",
        ],
    )
    def test_bad_files_are_refused_whole_naming_the_line(
        self,
        settings: Settings,
        session: Session,
        hubs: HubsWorld,
        tmp_path: Path,
        rows: list[tuple[str, str, str]],
        header: str | None,
        expected: str,
    ) -> None:
        order = confirmed(session, hubs, quantity=3)
        session.commit()
        names = dict(zip(("G1", "G2", "G3", "G4"), guids(4), strict=True))
        filled = [(r, o.format(order=order.id), names[g]) for r, o, g in rows]
        expected = expected.replace("G1", names["G1"])
        path = asn_file(tmp_path, filled, **({"header": header} if header else {}))
        result = deliveries(path)
        assert result.exit_code == 2, result.stdout
        assert expected in one_line(result)
        assert recorded(session, hubs) == []

    def test_a_ragged_file_is_refused(
        self, settings: Settings, session: Session, hubs: HubsWorld, tmp_path: Path
    ) -> None:
        path = tmp_path / "asn.csv"
        path.write_text("asn_reference,order_id,guid\nASN-1,1\n", encoding="utf-8")
        result = deliveries(path)
        assert result.exit_code == 2 and "line 2 has 2 fields" in one_line(result)
