"""Schemathesis against the app's own OpenAPI document: every operation, as each kind of party.

A client generated from ``/api/v1/openapi.json`` believes it. So for every operation, called as
an electricity supplier (IS), a gas supplier (GS), an electricity distributor (ED), a gas
transporter (GT), a supplier's agent with an appointment in force (RSA), a party with no data of
its own (OU) and the hub operator (DCC), no answer may be a server error, use a status the
operation does not document, carry another content type than documented, or break the
documented schema of its status (body or headers); and a method the path does not have is a 405
that names the ones it does in ``Allow``.

The schema is read from the app in-process (``app.openapi()``, no server, no lifespan) and the
calls go through a ``TestClient`` on this test's database (``tests/conftest.py``: SQLite or
PostgreSQL, whichever the suite runs on). Each operation is one pytest test with a database and
world of its own, which all its examples share, each example sent as every kind of party in
turn: rebuilding the world per example (or per party) would cost a migrated database, a dozen
parties and an app each time, several times the fuzzing itself, and the examples are exactly
the calls clients may make one after another, so writes (ending the appointment, moving a
device along its workflow, registering parties) happen to a world the next call sees, as they
would in use. Half the examples aim at the world's real objects (the meter, the appointment,
the forecast, the caller's own reports, real party codes in bodies) instead of generated
identifiers, which would almost always be a 404 and leave the routes behind it untried.

Two passes: generated requests (valid and invalid, and the document's examples) as every kind
of party; and Schemathesis's coverage cases (each bound and one past it, missing and wrongly
typed fields, methods a path lacks), which are mostly refused before any party's rules apply,
as the two parties that reach furthest. Integer parameters past 64 bits get a test of their
own, as no fuzzer reaches them reliably in a few examples.

Deterministic (Hypothesis derandomized, a fixed Schemathesis seed) and bounded: about 70 s on
SQLite on two cores.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.errors import FailureGroup
from schemathesis.schemas import BaseSchema
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.comms_hubs import orders as hub_orders
from meterhub.config import Settings
from meterhub.forecasts import service as forecasts
from meterhub.hub_market import service as market
from meterhub.kit.clock import utcnow
from meterhub.parties import service as parties_service
from meterhub.parties.service import actor_for
from tests.factories import SYSTEM, Login, make_api_login, make_appointment, make_party
from tests.hub_market.transfer_world import make_allocated_transfer
from tests.portal.reports_world import SECRET, report_files
from tests.reporting.explore_lake import GAS_SUPPLIERS, NETWORK, SUPPLIERS
from tests.worlds import make_held_hub, make_supplied_meter, make_world

__all__ = ["report_files"]

CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
]

PARTIES = ["IS", "GS", "ED", "GT", "RSA", "OU", "OPERATOR"]
DOCUMENT = create_app(Settings(database_url="sqlite://")).openapi()
SEED = 20240601


def _schema(phases: dict[str, bool], max_examples: int) -> BaseSchema:
    return schemathesis.openapi.from_dict(
        DOCUMENT,
        config=schemathesis.Config.from_dict(
            {
                "seed": SEED,
                "generation": {"deterministic": True, "max-examples": max_examples},
                "phases": {name: {"enabled": on} for name, on in phases.items()},
            }
        ),
    )


# Examples from the document and generated requests (valid and invalid): sent as every party.
fuzzed = _schema({"examples": True, "fuzzing": True, "coverage": False}, max_examples=12)
# The document's boundaries, case by case (each bound, just past it, each missing or wrongly
# typed field, methods the path lacks): mostly refused before any party's rules apply, so
# sent as the two parties that reach furthest, the operator and a supplier with data.
boundaries = _schema({"examples": False, "fuzzing": False, "coverage": True}, max_examples=1)

# Integers past 64 bits, where SQLite's (and PostgreSQL's bigint) end: the document sets no
# bound, so a client may send them, and each must be refused, never a server error.
BEYOND_64_BITS = [2**31, 2**63, 2**64, -(2**63) - 1]  # 2^31: past PostgreSQL's INTEGER ids
# Every integer parameter of the document, with the rest of a request that reaches it (a body;
# ``other_path``: the path's other ids, as real ones).
INTEGER_PARAMETERS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET /api/v1/appointments/{appointment_id}", "appointment_id"): {},
    ("POST /api/v1/appointments/{appointment_id}/end", "appointment_id"): {
        "body": {"valid_to": "2030-12-31"}
    },
    ("GET /api/v1/forecasts/{forecast_id}", "forecast_id"): {},
    ("GET /api/v1/duis/messages", "after"): {},
    ("GET /api/v1/duis/messages", "limit"): {},
    ("GET /api/v1/devices", "limit"): {},
    ("GET /api/v1/hubs/orders", "limit"): {},
    ("GET /api/v1/hubs/orders/{order_id}", "order_id"): {},
    ("POST /api/v1/hubs/orders/{order_id}/confirm", "order_id"): {},
    ("POST /api/v1/hubs/orders/{order_id}/decline", "order_id"): {"body": {"reason": "no stock"}},
    ("GET /api/v1/hubs/consignments", "order_id"): {},
    ("GET /api/v1/hubs/consignments", "limit"): {},
    ("GET /api/v1/hubs/consignments/{consignment_id}", "consignment_id"): {},
    ("POST /api/v1/hubs/consignments/{consignment_id}/settle", "consignment_id"): {
        "body": {"rejections": []}
    },
    ("GET /api/v1/hubs/holdings/{party}", "limit"): {"path_parameters": {"party": "P0001"}},
    ("GET /api/v1/inbox", "before"): {},
    ("GET /api/v1/inbox", "limit"): {},
    ("GET /api/v1/inbox/entries/{notification_id}", "notification_id"): {},
    ("POST /api/v1/inbox/entries/{notification_id}/read", "notification_id"): {},
    ("GET /api/v1/users", "limit"): {},
    ("GET /api/v1/market/listings", "limit"): {},
    ("GET /api/v1/market/my/listings", "limit"): {},
    ("GET /api/v1/market/my/requests", "limit"): {},
    ("GET /api/v1/market/log", "limit"): {},
    ("GET /api/v1/market/log/mine", "limit"): {},
    ("GET /api/v1/market/listings/{listing_id}", "listing_id"): {},
    ("PATCH /api/v1/market/listings/{listing_id}", "listing_id"): {"body": {"quantity": 1}},
    ("POST /api/v1/market/listings/{listing_id}/withdraw", "listing_id"): {"body": {}},
    ("POST /api/v1/market/listings/{listing_id}/requests", "listing_id"): {"body": {"quantity": 1}},
    ("GET /api/v1/market/requests/{request_id}", "request_id"): {},
    ("GET /api/v1/hub-transfers", "before"): {},
    ("GET /api/v1/hub-transfers", "limit"): {},
    ("GET /api/v1/hub-transfers/{transfer_id}", "transfer_id"): {},
    ("POST /api/v1/hub-transfers/{transfer_id}/dispatch", "transfer_id"): {"body": {}},
    ("POST /api/v1/hub-transfers/{transfer_id}/receipt", "transfer_id"): {
        "body": {"guids": ["00-DB-12-00-00-00-00-01"]}
    },
    ("POST /api/v1/hub-transfers/{transfer_id}/receipt-file", "transfer_id"): {
        "body": {"file": "hub_id,receiving_party\n"},
        "media_type": "multipart/form-data",
    },
    ("POST /api/v1/hub-transfers/{transfer_id}/disputes", "transfer_id"): {
        "body": {"kind": "model", "statement": "not as listed"}
    },
    ("GET /api/v1/hub-transfer-steps/{step_id}/lines", "step_id"): {},
    ("GET /api/v1/hub-disputes/{dispute_id}", "dispute_id"): {},
    ("POST /api/v1/hub-disputes/{dispute_id}/answer", "dispute_id"): {"body": {"answer": "no"}},
    ("POST /api/v1/hub-disputes/{dispute_id}/resolve", "dispute_id"): {
        "body": {"outcome": "rejected", "resolution": "as listed"}
    },
    ("GET /api/v1/contacts", "limit"): {},
    ("GET /api/v1/contacts/{contact_id}", "contact_id"): {},
    ("PUT /api/v1/contacts/{contact_id}", "contact_id"): {"body": {"values": {}}},
    ("POST /api/v1/contacts/{contact_id}/submit", "contact_id"): {},
    ("POST /api/v1/contacts/{contact_id}/actions", "contact_id"): {"body": {"action": "accept"}},
    ("POST /api/v1/contacts/{contact_id}/pick-up", "contact_id"): {},
    ("POST /api/v1/contacts/{contact_id}/notes", "contact_id"): {"body": {"text": "a note"}},
    ("POST /api/v1/contacts/{contact_id}/attachments", "contact_id"): {},
    ("GET /api/v1/contacts/{contact_id}/attachments/{attachment_id}", "contact_id"): {
        "other_path": {"attachment_id": 1}
    },
    ("GET /api/v1/contacts/{contact_id}/attachments/{attachment_id}", "attachment_id"): {
        "other_path": {"contact_id": 1}
    },
}


@dataclass(frozen=True)
class FuzzWorld:
    """A login for each kind of party, and the real objects an example may aim at instead of
    generated identifiers: path parameters and body fields by name."""

    logins: dict[str, Login]
    known: dict[str, Any]
    known_fields: dict[str, Any]

    def aim(self, case: schemathesis.Case, login: Login, generated: Generated) -> None:
        """Point the case at the world's objects (the caller's own party for ``code`` and
        ``party``) when it is one of the examples that do, or back at what was generated."""
        case.path_parameters = dict(generated.path)
        case.body = copy.deepcopy(generated.body)
        if not generated.aims_at_known:
            return
        own = {"code": login.user.party.code, "party": login.user.party.code}
        case.path_parameters = {
            name: own.get(name, self.known.get(name, value))
            for name, value in generated.path.items()
        }
        if isinstance(case.body, dict):
            for name in case.body.keys() & self.known_fields.keys():
                case.body[name] = self.known_fields[name]


@dataclass(frozen=True)
class Generated:
    """What Schemathesis generated for a case, before it is aimed."""

    path: dict[str, Any]
    body: Any

    @classmethod
    def of(cls, case: schemathesis.Case) -> Generated:
        return cls(dict(case.path_parameters or {}), copy.deepcopy(case.body))

    @property
    def aims_at_known(self) -> bool:
        """Half the examples with something to aim, chosen by their generated values, so the
        choice is as repeatable as the examples themselves (Schemathesis takes no extra
        Hypothesis strategy beside the document's examples)."""
        if not self.path and not isinstance(self.body, dict):
            return False
        return zlib.crc32(repr((sorted(self.path.items()), self.body)).encode()) % 2 == 0


@pytest.fixture
def world(session: Session) -> FuzzWorld:
    """Each kind of party, named as in the report lake (so the report routes have data), and
    the objects the routes read and change: ESUP1's meter and Communications Hub, its agent's
    appointment (in force since 2024, the agent also appointed by ESUP2) and an install
    forecast."""
    made = make_world(
        session,
        suppliers=SUPPLIERS[:2],
        network=NETWORK,
        dcc=True,
        agent="AGENT",
        appointed_from=date(2024, 1, 1),
    )
    supplier = made.suppliers[0]
    assert made.appointment is not None and made.agent is not None and made.dcc is not None
    parties = {
        "IS": supplier,
        "GS": make_party(session, code=GAS_SUPPLIERS[0], roles=("GS",)),
        "ED": made.network,
        "GT": make_party(session, code="GTRAN", roles=("GT",)),
        "RSA": made.agent,
        "OU": make_party(session, code="OTHER", roles=("OU",)),
        "OPERATOR": made.dcc,
    }
    meter = make_supplied_meter(session, supplier=supplier, network=made.network, mpan_number=1)
    hub = make_held_hub(session, owner=supplier)
    make_appointment(session, supplier=made.suppliers[1], agent=made.agent)
    forecast = forecasts.submit(
        session,
        actor=SYSTEM,
        supplier=supplier.code,
        role="IS",
        month=f"{utcnow().year + 1}-01",
        csp_region="North",
        installs=120,
        now=utcnow(),
    )
    transfer = make_allocated_transfer(
        session, sender=supplier, receiver=made.suppliers[1], quantity=1
    )
    logins = {kind: make_api_login(session, party=party) for kind, party in parties.items()}
    dcc = actor_for(logins["OPERATOR"].user, "api")
    order = hub_orders.place_order(
        session,
        actor=actor_for(logins["IS"].user, "api"),
        csp_region="North",
        variant_code="N-SM",
        quantity=4,
        delivery_month=f"{utcnow().year + 1}-01",
        delivery_location="Depot",
        now=utcnow(),
    )
    hub_orders.confirm_order(session, actor=dcc, order_id=order.id, now=utcnow())
    consignment = hub_orders.record_consignment(
        session,
        actor=dcc,
        order_id=order.id,
        asn_reference="ASN-FUZZ",
        lines=[hub_orders.AsnLine(line=1, guid="00-DB-AA-00-00-00-00-01")],
        now=utcnow(),
    )
    # The supplier's login is its Local Security Officer, so the user administration routes
    # are tried as an officer too; they aim at a user of its own kept for the purpose.
    parties_service.set_user_permissions(
        session, actor=SYSTEM, user=logins["IS"].user, local_security_officer=True, now=utcnow()
    )
    spare = make_api_login(session, party=supplier, username="spare@esup1")
    # A listing on the marketplace, and another that the gas supplier requested all of.
    make_held_hub(session, owner=supplier)
    listing, requested = (
        market.create_listing(
            session,
            actor=actor_for(logins["IS"].user, "api"),
            quantity=1,
            manufacturer=hub.manufacturer,
            model=hub.model,
            firmware_version=hub.firmware_version,
            csp_region=hub.csp_region,
            location="Depot",
            available_from=utcnow().date(),
            now=utcnow(),
        )
        for _ in range(2)
    )
    outcome = market.request_units(
        session,
        actor=actor_for(logins["GS"].user, "api"),
        listing_id=requested.id,
        quantity=1,
        now=utcnow(),
    )
    session.commit()
    fields = {
        "supplier": supplier.code,
        "agent": made.agent.code,
        "network_operator": made.network.code,
        "owner": made.suppliers[1].code,
        "mpxn": meter.mpxn,
        "comms_hub_id": hub.device_id,
        "role": "IS",
        "csp_region": "North",
        "variant": "N-SM",
        "order_id": order.id,
        "delivery_month": f"{utcnow().year + 1}-02",
    }
    known = {
        "appointment_id": made.appointment.id,
        "mpxn": meter.mpxn,
        "device_id": meter.device_id,
        "forecast_id": forecast.id,
        "order_id": order.id,
        "consignment_id": consignment.id,
        "listing_id": listing.id,
        "request_id": outcome.request.id,
        "transfer_id": transfer.id,
        "month": "2024-06",
        "name": "business_process.process_success.csv",
        "username": spare.user.username,
    }
    return FuzzWorld(logins=logins, known=known, known_fields=fields)


@pytest.fixture
def api(settings: Settings, report_files: tuple[Path, Path]) -> Iterator[TestClient]:
    """The app on this test's database, with the report lake, its cube and frozen runs."""
    lake, reports = report_files
    configured = settings.model_copy(
        update={"lake_dir": str(lake), "reports_dir": str(reports), "report_secret": SECRET}
    )
    with TestClient(create_app(configured), raise_server_exceptions=False) as client:
        yield client


def transport(api: TestClient, case: schemathesis.Case, login: Login) -> dict[str, Any]:
    """The case as ``TestClient.request`` arguments, with the caller's token."""
    kwargs = case.as_transport_kwargs(base_url=str(api.base_url), headers=login.headers)
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)  # httpx deprecates per-request cookies; none are generated
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    if "files" in kwargs:
        # A multipart body (the stock transfer file) encoded here, not streamed: Schemathesis
        # reads the request's content back when it checks the answer.
        built = httpx.Request(
            kwargs["method"],
            kwargs["url"],
            files=kwargs.pop("files"),
            data=kwargs.pop("data", None),
        )
        kwargs["content"] = built.read()
        if "content-type" in built.headers:
            kwargs["headers"] = {
                **kwargs.get("headers", {}),
                "Content-Type": built.headers["content-type"],
            }
    return kwargs


def check_as(api: TestClient, case: schemathesis.Case, world: FuzzWorld, kinds: list[str]) -> None:
    """Send the case as each kind of party in turn and hold every answer to the document."""
    generated = Generated.of(case)
    for kind in kinds:
        login = world.logins[kind]
        world.aim(case, login, generated)
        response = api.request(**transport(api, case, login))
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failure:
            failure.add_note(f"sent as the {kind} party {login.user.party.code}")
            raise


@fuzzed.parametrize()
@settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_as_every_kind_of_party(
    case: schemathesis.Case, world: FuzzWorld, api: TestClient
) -> None:
    check_as(api, case, world, PARTIES)


@boundaries.parametrize()
@settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_at_the_documents_boundaries(
    case: schemathesis.Case, world: FuzzWorld, api: TestClient
) -> None:
    check_as(api, case, world, ["OPERATOR", "IS"])


def integer_parameters() -> set[tuple[str, str]]:
    """Every (operation, parameter) of the document that takes an integer."""
    found = set()
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["schema"].get("type") == "integer" or any(
                    option.get("type") == "integer"
                    for option in parameter["schema"].get("anyOf", [])
                ):
                    found.add((f"{method.upper()} {path}", parameter["name"]))
    return found


class TestIntegersBeyond64Bits:
    def test_every_integer_parameter_of_the_document_is_tried(self) -> None:
        assert set(INTEGER_PARAMETERS) == integer_parameters()

    @pytest.mark.parametrize("value", BEYOND_64_BITS, ids=str)
    @pytest.mark.parametrize(
        ("label", "name"), sorted(INTEGER_PARAMETERS), ids=lambda v: str(v).split(" ")[-1]
    )
    def test_is_refused_as_documented(
        self, label: str, name: str, value: int, world: FuzzWorld, api: TestClient
    ) -> None:
        method, path = label.split(" ")
        operation = fuzzed[path][method]
        in_path = "{" + name + "}" in path
        extra = dict(INTEGER_PARAMETERS[(label, name)])
        others = {**extra.pop("path_parameters", {}), **extra.pop("other_path", {})}
        case = operation.Case(
            path_parameters={**others, name: value} if in_path else others or None,
            query=None if in_path else {name: value},
            **extra,
        )
        for kind in ("OPERATOR", "IS"):
            login = world.logins[kind]
            response = api.request(**transport(api, case, login))
            case.validate_response(response, checks=CHECKS)
