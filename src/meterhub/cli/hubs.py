"""``meterhub hubs``: Communications Hub logistics for the operator. ``deliveries FILE`` records
a consignment from its advance shipment notice (ASN) file (docs/hubs.md has the layout).

The file is read strictly (``bulk.csvfile``: UTF-8, a header row, the same fields on every
line) and checked whole before anything is recorded: one file is one consignment of one
order, and a refusal names every bad line by its line in the file.
"""

from __future__ import annotations

from pathlib import Path

import typer

from meterhub.audit.service import Actor
from meterhub.bulk import csvfile
from meterhub.cli import hub_charges
from meterhub.cli.common import console, friendly_errors, unit_of_work
from meterhub.comms_hubs import orders
from meterhub.config import get_settings
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow

#: The columns of an ASN file, in this order (docs/hubs.md).
ASN_COLUMNS = ("asn_reference", "order_id", "guid")


def _check_header(header: tuple[str, ...]) -> None:
    if header != ASN_COLUMNS:
        raise InvalidInput(
            f"an ASN file's header is {','.join(ASN_COLUMNS)}; this one is {','.join(header)}",
            code="bad_asn_file",
        )


def read_asn(path: Path, *, max_bytes: int) -> tuple[str, int, list[orders.AsnLine]]:
    """The ASN file's reference, order and lines; refused whole, naming lines, when a line
    names another reference or order (one file is one consignment) or an order that is not
    a number."""
    csvfile.scan(path, max_bytes=max_bytes, check_header=_check_header)
    reference: tuple[int, str] | None = None
    order: tuple[int, str] | None = None
    lines: list[orders.AsnLine] = []
    problems: list[str] = []
    for row in csvfile.rows(path, max_bytes=max_bytes):
        ref, order_id, guid = (row.values[c].strip() for c in ASN_COLUMNS)
        if reference is None:
            reference = (row.line, ref)
        elif ref != reference[1]:
            problems.append(
                f"line {row.line}: ASN reference {ref!r} is not line {reference[0]}'s"
                f" {reference[1]!r} (one file is one consignment)"
            )
        if order is None:
            order = (row.line, order_id)
        elif order_id != order[1]:
            problems.append(
                f"line {row.line}: order {order_id!r} is not line {order[0]}'s {order[1]!r}"
                " (one file is one consignment of one order)"
            )
        lines.append(orders.AsnLine(line=row.line, guid=guid))
    assert reference is not None and order is not None  # scan refused a file without rows
    if not (order[1].isascii() and order[1].isdigit()) or not 0 < int(order[1]) < 2**31:
        problems.insert(0, f"line {order[0]}: order {order[1]!r} is not an order number")
    if problems:
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise InvalidInput(
            f"{path.name} refused, nothing recorded: " + "; ".join(problems[:10]) + more,
            code="bad_asn_file",
        )
    return reference[1], int(order[1]), lines


def register(app: typer.Typer) -> None:
    hubs_app = typer.Typer(help="Communications Hub logistics.", no_args_is_help=True)
    app.add_typer(hubs_app, name="hubs")
    hub_charges.register_on(hubs_app)

    @hubs_app.command("deliveries")
    @friendly_errors
    def deliveries(
        file: Path = typer.Argument(..., help="The ASN file: asn_reference,order_id,guid"),
    ) -> None:
        """Record a consignment shipped against a confirmed order from its advance shipment
        notice: every line is checked first, and the ordering party is told it shipped."""
        reference, order_id, lines = read_asn(file, max_bytes=get_settings().max_csv_bytes)
        with unit_of_work() as session:
            consignment = orders.record_consignment(
                session,
                actor=Actor.system("cli"),
                order_id=order_id,
                asn_reference=reference,
                lines=lines,
                now=utcnow(),
            )
            console.print(
                f"consignment {consignment.asn_reference} (id {consignment.id}) recorded:"
                f" {len(lines)} hubs for order {order_id}"
            )
