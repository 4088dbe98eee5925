"""One importer per kind of record: its documented columns and the service call for one row.

Each row goes through the same domain service as the API and the portal (``create_party``,
``create_user``, ``appoint_agent``, ``register``, ``add_device``, ``forecasts.submit``), so a
file can never load
something a person could not enter by hand, and the service writes the audit entries itself.
The column tables here are what ``meterhub import columns KIND`` prints and docs/import.md shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.errors import InvalidInput
from meterhub.forecasts import service as forecasts
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus
from meterhub.parties import service as parties
from meterhub.registration import service as registration

LIST_SEPARATOR = ";"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str


class Cells:
    """The cells of one row, read the way every importer wants: trimmed, blanks as absent."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def optional(self, name: str) -> str | None:
        value = self._values.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise InvalidInput(f"{name} is empty", code="missing_value")
        return value

    def day(self, name: str) -> date:
        return _parse_day(name, self.required(name))

    def optional_day(self, name: str) -> date | None:
        value = self.optional(name)
        return _parse_day(name, value) if value is not None else None

    def items(self, name: str) -> list[str]:
        """A multi-valued cell: ``IS;ES`` -> ``["IS", "ES"]`` (blanks between ``;`` ignored)."""
        raw = self.optional(name) or ""
        return [part.strip() for part in raw.split(LIST_SEPARATOR) if part.strip()]


def _parse_day(name: str, value: str) -> date:
    try:
        if not _ISO_DAY.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} {value!r} is not a date written YYYY-MM-DD", code="bad_date"
        ) from None


RowLoader = Callable[[Session, Actor, Cells, datetime], object]


@dataclass(frozen=True)
class Importer:
    """A kind of record a file can hold: ``key`` names the columns that identify a row in the
    report; ``load_row`` makes one record through the domain service or raises its refusal."""

    kind: str
    summary: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    load_row: RowLoader

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def check_header(self, header: Iterable[str]) -> None:
        """Refuse a file whose columns are not this kind's: a misspelt optional column would
        otherwise be silently ignored and load every row without it."""
        given = list(header)
        unknown = [name for name in given if name not in self.column_names]
        missing = [c.name for c in self.columns if c.required and c.name not in given]
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing required column(s) {', '.join(missing)}")
        if problems:
            raise InvalidInput(
                f"{'; '.join(problems)} for {self.kind}; the columns are"
                f" {', '.join(self.column_names)} (see 'meterhub import columns {self.kind}')",
                code="bad_columns",
            )

    def key_of(self, values: dict[str, str]) -> str:
        return " ".join(v for v in (values.get(k, "").strip() for k in self.key) if v)


# ---------------------------------------------------------------- row loaders


def _load_party(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    return parties.create_party(
        session,
        actor=actor,
        code=cells.required("code"),
        name=cells.required("name"),
        kind=cells.required("kind"),
        roles=[r.upper() for r in cells.items("roles")],
        now=now,
    )


def _user_roles(cells: Cells) -> dict[str, str | None]:
    """``IS=90-B3-D5-1F-30-00-00-01;OU`` -> ``{"IS": "90-B3-...", "OU": None}``."""
    roles: dict[str, str | None] = {}
    seen_ids: dict[str, str] = {}
    for item in cells.items("roles"):
        name, _, duis_id = item.partition("=")
        role = name.strip().upper()
        duis = duis_id.strip() or None
        if not role:
            raise InvalidInput(f"roles item {item!r} has no role", code="bad_role")
        if role in roles:
            raise InvalidInput(f"role {role} is given twice", code="duplicate_role")
        if duis is not None:
            canonical = duis.upper().replace(":", "-")
            if canonical in seen_ids:
                raise InvalidInput(
                    f"DUIS user ID {duis} is given for both {seen_ids[canonical]} and {role}",
                    code="duis_user_id_taken",
                )
            seen_ids[canonical] = role
        roles[role] = duis
    if not roles:
        raise InvalidInput("roles is empty", code="missing_value")
    return roles


def _load_user(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    code = cells.required("party")
    party = parties.party_by_code(session, code)
    if party is None:
        raise InvalidInput(f"no party {code}", code="unknown_party")
    username = cells.required("username")
    return parties.create_user(
        session,
        actor=actor,
        party=party,
        username=username,
        display_name=cells.optional("display_name") or username,
        password=None,
        roles=_user_roles(cells),
        now=now,
    )


def _load_appointment(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    return parties.appoint_agent(
        session,
        actor=actor,
        supplier_code=cells.required("supplier"),
        agent_code=cells.required("agent"),
        valid_from=cells.day("valid_from"),
        valid_to=cells.optional_day("valid_to"),
        now=now,
    )


def _load_registration(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    return registration.register(
        session,
        actor=actor,
        mpxn=cells.required("mpxn"),
        supplier=cells.required("supplier"),
        network_operator=cells.required("network_operator"),
        shipper=cells.optional("shipper"),
        effective_from=cells.day("effective_from"),
        effective_to=cells.optional_day("effective_to"),
        now=now,
    )


def _load_device(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    return inventory.add_device(
        session,
        actor=actor,
        device_id=cells.required("device_id"),
        device_type=cells.required("device_type"),
        manufacturer=cells.required("manufacturer"),
        model=cells.required("model"),
        firmware_version=cells.required("firmware_version"),
        smets_version=cells.required("smets_version"),
        csp_region=cells.required("csp_region"),
        status=cells.optional("status") or DeviceStatus.PENDING.value,
        owner=cells.optional("owner"),
        mpxn=cells.optional("mpxn"),
        comms_hub_id=cells.optional("comms_hub_id"),
        reason="bulk import",
        now=now,
    )


def _load_forecast(session: Session, actor: Actor, cells: Cells, now: datetime) -> object:
    text = cells.required("installs")
    if not text.isdigit():
        raise InvalidInput(f"installs {text!r} is not a whole number", code="bad_installs")
    return forecasts.submit(
        session,
        actor=actor,
        supplier=cells.required("supplier"),
        role=cells.required("role"),
        month=cells.required("month"),
        csp_region=cells.required("csp_region"),
        installs=int(text),
        now=now,
    )


# ---------------------------------------------------------------- the kinds

_C = Column

IMPORTERS: dict[str, Importer] = {
    importer.kind: importer
    for importer in (
        Importer(
            kind="parties",
            summary="Companies that signed the code, with the user roles they signed up for.",
            key=("code",),
            load_row=_load_party,
            columns=(
                _C(
                    "code",
                    True,
                    f"Market participant ID, 1-{parties.PARTY_CODE_LENGTH} letters, digits or _",
                    "BGAS",
                ),
                _C(
                    "name",
                    True,
                    f"Company name, 1-{parties.PARTY_NAME_LENGTH} characters",
                    "British Gas Trading Ltd",
                ),
                _C(
                    "kind",
                    True,
                    "supplier, network_operator, gas_transporter, shipper, agent, recco,"
                    " other or operator",
                    "supplier",
                ),
                _C(
                    "roles",
                    True,
                    "User roles, separated by ';': IS, ES, GS, ED, GT, RSA, OU, SHIPPER,"
                    " SUPPLIER, DN, IGT, RECCO, OPERATOR",
                    "IS;GS",
                ),
            ),
        ),
        Importer(
            kind="users",
            summary="People or systems acting for a party. Imported users have no password:"
            " they get API tokens with 'meterhub user token'.",
            key=("username",),
            load_row=_load_user,
            columns=(
                _C("party", True, "Code of the party the user acts for (must exist)", "BGAS"),
                _C(
                    "username",
                    True,
                    f"Login name, unique in the hub, 1-{parties.USERNAME_LENGTH} characters",
                    "ops@bgas.example",
                ),
                _C(
                    "display_name",
                    False,
                    f"Name shown in the portal, at most {parties.DISPLAY_NAME_LENGTH} characters"
                    " (default: username)",
                    "Ops",
                ),
                _C(
                    "roles",
                    True,
                    "Roles separated by ';', each ROLE or ROLE=DUIS user ID (EUI-64);"
                    " the party must hold each role",
                    "IS=90-B3-D5-1F-30-00-00-01;GS=90-B3-D5-1F-30-00-00-02",
                ),
            ),
        ),
        Importer(
            kind="appointments",
            summary="A supplier appoints an agent (RSA) to act for it over a period.",
            key=("supplier", "agent", "valid_from"),
            load_row=_load_appointment,
            columns=(
                _C("supplier", True, "Code of the appointing supplier", "BGAS"),
                _C("agent", True, "Code of the agent; must hold the RSA role", "MOPCO"),
                _C("valid_from", True, "First day the agent may act, YYYY-MM-DD", "2024-01-01"),
                _C(
                    "valid_to",
                    False,
                    "Last day the agent may act, YYYY-MM-DD (empty: open-ended)",
                    "2024-12-31",
                ),
            ),
        ),
        Importer(
            kind="registrations",
            summary="Which supplier (and for gas, shipper) held a meter point from which day."
            " A later open period for the same MPxN is a change of supplier.",
            key=("mpxn", "effective_from"),
            load_row=_load_registration,
            columns=(
                _C(
                    "mpxn",
                    True,
                    "MPAN core (13 digits, check digit verified) or MPRN (6-10 digits)",
                    "1200000000011",
                ),
                _C("supplier", True, "Code of the registered supplier", "BGAS"),
                _C("network_operator", True, "Code of the DNO, GDN or IGT", "UKPN"),
                _C("shipper", False, "Code of the shipper; required for gas, empty for power", ""),
                _C("effective_from", True, "First day of the period, YYYY-MM-DD", "2020-01-01"),
                _C(
                    "effective_to",
                    False,
                    "Last day of the period, YYYY-MM-DD (empty: open-ended)",
                    "",
                ),
            ),
        ),
        Importer(
            kind="devices",
            summary="Devices for the Smart Metering Inventory. A device may name a"
            " communications hub added by an earlier row of the same file.",
            key=("device_id",),
            load_row=_load_device,
            columns=(
                _C("device_id", True, "EUI-64 Device ID", "00-DB-12-34-56-78-90-A2"),
                _C(
                    "device_type",
                    True,
                    "CHF, ESME, GSME, GPF, PPMID, HCALCS, IHD or CAD",
                    "ESME",
                ),
                _C(
                    "manufacturer",
                    True,
                    f"Manufacturer, 1-{inventory.TEXT_LIMITS['manufacturer']} characters",
                    "Acme",
                ),
                _C(
                    "model", True, f"Model, 1-{inventory.TEXT_LIMITS['model']} characters", "ACME-1"
                ),
                _C(
                    "firmware_version",
                    True,
                    f"Firmware version, 1-{inventory.TEXT_LIMITS['firmware_version']} characters",
                    "1.0.0",
                ),
                _C("smets_version", True, "SMETS1, SMETS2 or CHTS", "SMETS2"),
                _C(
                    "csp_region",
                    True,
                    "North, Central, South, North4G, Central4G or South4G",
                    "North",
                ),
                _C(
                    "status",
                    False,
                    "SMI status (default Pending): Pending, Whitelisted,"
                    " InstalledNotCommissioned, Commissioned, Decommissioned, Withdrawn,"
                    " Suspended, Recovery, Recovered",
                    "Commissioned",
                ),
                _C("owner", False, "Code of the party holding it (communications hubs)", "BGAS"),
                _C("mpxn", False, "Registered meter point it serves", "1200000000011"),
                _C(
                    "comms_hub_id",
                    False,
                    "EUI-64 of the CHF it joined (in SMI already or earlier in the file)",
                    "00-DB-12-34-56-78-90-01",
                ),
            ),
        ),
        Importer(
            kind="forecasts",
            summary="Suppliers' install forecasts: successful installs (8.14.1) expected per"
            " month and CSP region. A row for a supplier, role, month and region already"
            " forecast supersedes it (the old figure stays in the history).",
            key=("supplier", "role", "month", "csp_region"),
            load_row=_load_forecast,
            columns=(
                _C("supplier", True, "Code of the supplier the forecast is for", "BGAS"),
                _C("role", True, "User role the installs are sent in: IS, ES or GS", "IS"),
                _C(
                    "month",
                    True,
                    "Month forecast, YYYY-MM; it must not have begun (at most 24 months ahead)",
                    "2026-12",
                ),
                _C(
                    "csp_region",
                    True,
                    "North, Central, South, North4G, Central4G or South4G",
                    "North",
                ),
                _C(
                    "installs",
                    True,
                    f"Whole number of installs expected, 0 to {forecasts.MAX_INSTALLS:,}",
                    "1500",
                ),
            ),
        ),
    )
}


def importer_for(kind: str) -> Importer:
    try:
        return IMPORTERS[kind.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"unknown kind {kind!r}; one of {', '.join(IMPORTERS)}", code="bad_kind"
        ) from None
