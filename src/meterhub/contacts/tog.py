"""The legacy Theft of Gas (TOG) contact: a network (a DN or an IGT) reports a suspected theft
at a gas meter point on its network, and the shipper registered there investigates it.

It keeps its own, simpler workflow until the networks' process moves to Supplier Theft of Gas
(UNC Modification 0734S): the shipper accepts the investigation or declines it with a reason,
may ask the network for more information while investigating, and closes it with its finding
(theft confirmed, or none found). The network may withdraw it until the shipper is
investigating. A shipper that does not answer within the acceptance window is deemed to have
accepted the investigation (the same "accept" a shipper's user would make), so a report never
waits unowned.

Default windows (GB business days): 5 to accept or decline, 60 to investigate, 10 for the network
to answer a request for information.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from meterhub.contacts.definitions import (
    ContactType,
    Field,
    FieldErrors,
    FieldKind,
    Involved,
    Side,
    Status,
    Step,
)
from meterhub.parties.roles import Role
from meterhub.registration import service as registration
from meterhub.registration.fuels import Fuel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

METHODS = (
    ("meter_bypass", "Meter bypass"),
    ("meter_tampering", "Meter tampering"),
    ("illegal_connection", "Illegal connection"),
    ("other", "Other"),
)


def _period(values: Mapping[str, Any]) -> tuple[date, date | None]:
    start = date.fromisoformat(values["suspected_from"])
    end = values.get("suspected_to")
    return start, date.fromisoformat(end) if end else None


def _check(
    session: Session, values: Mapping[str, Any], raising_party_id: int, day: date
) -> dict[str, str]:
    """The meter point is gas, on the raising network on the first day of the suspected
    period, and the period is in the past and not back to front."""
    errors: dict[str, str] = {}
    start, end = _period(values)
    now = day
    if start > now:
        errors["suspected_from"] = "is in the future"
    if end is not None and end < start:
        errors["suspected_to"] = "is before the theft was suspected from"
    elif end is not None and end > now:
        errors["suspected_to"] = "is in the future"
    point = registration.meter_point(session, mpxn=values["mprn"])
    if point is None:
        errors["mprn"] = "is not a meter point the hub knows"
    elif point.fuel != Fuel.GAS:
        errors["mprn"] = "is not a gas meter point"
    elif "suspected_from" not in errors:
        held = registration.registered_on(session, mpxn=values["mprn"], day=start)
        if held is None:
            errors["mprn"] = f"was not registered on {start}"
        elif held.network_operator_party_id != raising_party_id:
            errors["mprn"] = f"was not on your network on {start}"
        elif held.shipper_party_id is None:
            errors["mprn"] = f"had no shipper registered on {start}"
    return errors


def _route(session: Session, values: Mapping[str, Any], raising_party_id: int) -> list[Involved]:
    """The shipper registered at the meter point on the first day of the suspected theft."""
    start, _ = _period(values)
    held = registration.registered_on(session, mpxn=values["mprn"], day=start)
    if held is None or held.shipper_party_id is None:
        raise FieldErrors({"mprn": f"had no shipper registered on {start}"})
    return [Involved(party_id=held.shipper_party_id, role=Role.SHIPPER)]


THEFT_OF_GAS = ContactType(
    code="TOG",
    title="Theft of Gas",
    description=(
        "A network reports a suspected theft of gas at a meter point on its network; the"
        " shipper registered there investigates it."
    ),
    prefix="TOG",
    raised_by=frozenset({Role.DN, Role.IGT}),
    fields=(
        Field("mprn", "MPRN", FieldKind.MPRN, max_length=10),
        Field("suspected_from", "Theft suspected from", FieldKind.DATE),
        Field("suspected_to", "Theft suspected until", FieldKind.DATE, required=False),
        Field("method", "Suspected method", FieldKind.CHOICE, max_length=32, choices=METHODS),
        Field(
            "estimated_kwh",
            "Estimated energy (kWh)",
            FieldKind.INTEGER,
            required=False,
            minimum=0,
            maximum=100_000_000,
        ),
        Field("site_address", "Site address", max_length=300),
        Field(
            "description",
            "What was found",
            FieldKind.LONG_TEXT,
            max_length=4000,
            help="What the network's visit found, and the evidence attached",
        ),
    ),
    statuses=(
        Status("awaiting_acceptance", "Awaiting the shipper's acceptance", Side.INVOLVED),
        Status("under_investigation", "Under investigation by the shipper", Side.INVOLVED),
        Status("awaiting_information", "Awaiting more information from the network", Side.RAISER),
        Status("declined", "Declined by the shipper", None),
        Status("theft_confirmed", "Investigated: theft confirmed", None),
        Status("no_theft_found", "Investigated: no theft found", None),
        Status("withdrawn", "Withdrawn by the network", None),
    ),
    initial_status="awaiting_acceptance",
    submit_window="acceptance",
    workflow=(
        Step(
            "accept",
            "Accept and investigate",
            "awaiting_acceptance",
            "under_investigation",
            Side.INVOLVED,
            window="investigation",
        ),
        Step(
            "decline",
            "Decline",
            "awaiting_acceptance",
            "declined",
            Side.INVOLVED,
            needs_reason=True,
        ),
        Step(
            "withdraw",
            "Withdraw",
            "awaiting_acceptance",
            "withdrawn",
            Side.RAISER,
            needs_reason=True,
        ),
        Step(
            "request_information",
            "Ask the network for information",
            "under_investigation",
            "awaiting_information",
            Side.INVOLVED,
            needs_reason=True,
            window="information",
        ),
        Step(
            "confirm_theft",
            "Close: theft confirmed",
            "under_investigation",
            "theft_confirmed",
            Side.INVOLVED,
            needs_reason=True,
        ),
        Step(
            "no_theft",
            "Close: no theft found",
            "under_investigation",
            "no_theft_found",
            Side.INVOLVED,
            needs_reason=True,
        ),
        Step(
            "provide_information",
            "Send the information",
            "awaiting_information",
            "under_investigation",
            Side.RAISER,
            needs_reason=True,
            window="investigation",
        ),
        Step(
            "withdraw",
            "Withdraw",
            "awaiting_information",
            "withdrawn",
            Side.RAISER,
            needs_reason=True,
        ),
    ),
    windows={"acceptance": 5, "investigation": 60, "information": 10},
    on_expiry={"awaiting_acceptance": "accept"},
    check=_check,
    route=_route,
    summary_fields=("mprn", "suspected_from"),
)
