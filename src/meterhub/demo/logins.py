"""The demo logins worth printing: one per kind of party, each chosen so that it has something to
show the moment it logs in.

A login of the right kind is not enough: an agent whose only appointment has ended sees no
device at all, and a small estate may leave a network operator without meters. So each kind's
candidates are tried in the estate's own order (suppliers largest first, agents by the size of
the supplier appointing them) and the first that sees devices is shown, with a line saying what
it sees. An agent is taken only from an appointment with no end date, so it still works on any
later day the demo is opened.

The chosen logins are marked in the credentials file (``showcase`` and ``shows``), and a first
DUIS request for the supplier shown (a 4.1.1 read of one of its commissioned electricity meters)
is written beside it, ready for ``meterhub duis send``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.demo.estate import Estate
from meterhub.gateway.xml import request_to_xml
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, DeviceType
from meterhub.parties.roles import Role

#: The kinds of party shown, in the order they are printed, and the role that makes one.
SHOWCASE: tuple[tuple[str, str], ...] = (
    ("hub operator", Role.OPERATOR),
    ("supplier", Role.IMPORT_SUPPLIER),
    ("network operator", Role.ELECTRICITY_DISTRIBUTOR),
    ("gas transporter", Role.GAS_TRANSPORTER),
    ("gas shipper", Role.SHIPPER),
    ("agent (RSA)", Role.REGISTERED_SUPPLIER_AGENT),
)
#: Candidates of one kind tried before giving up on it (each try is one count of devices).
TRIES = 5
#: Beside the credentials file: the supplier's first request.
REQUEST_FILE = "read-request.xml"


@dataclass(frozen=True)
class Shown:
    """One login chosen to be printed: its party, its kind, and what it sees."""

    party: str
    kind: str
    shows: str
    duis_user_id: str | None = None
    device_id: str | None = None  # the supplier's: a commissioned ESME to read


def _devices_seen(session: Session, party_id: int, *, operator: bool = False) -> int:
    actor = Actor(name="demo", party_id=party_id, interface="cli", is_operator=operator)
    return sum(inventory.status_counts(session, actor=actor).values())


def _candidates(estate: Estate, role: str, as_of: date) -> Iterator[tuple[str, str]]:
    """(party code, how it works) of the estate's parties in ``role``, most promising first."""
    if role != Role.REGISTERED_SUPPLIER_AGENT:
        for plan in estate.parties:
            if role in plan.roles:
                yield plan.code, ""
        return
    share = {p.code: p.market_share for p in estate.parties}
    open_ended = sorted(
        (a for a in estate.appointments if a.valid_to is None and a.valid_from <= as_of),
        key=lambda a: -share.get(a.supplier, 0.0),
    )
    seen: set[str] = set()
    for a in open_ended:
        if a.agent not in seen:
            seen.add(a.agent)
            yield a.agent, a.supplier


def _first_esme(session: Session, party_id: int) -> str | None:
    actor = Actor(name="demo", party_id=party_id, interface="cli")
    flt = inventory.DeviceFilter(
        device_type=DeviceType.ESME.value, status=DeviceStatus.COMMISSIONED.value
    )
    page = inventory.list_devices(session, actor=actor, flt=flt, limit=1)
    return page.items[0].device_id if page.items else None


def choose_logins(
    session: Session,
    *,
    estate: Estate,
    party_ids: dict[str, int],
    duis_user_ids: dict[str, dict[str, str]],
) -> list[Shown]:
    """One login per kind in ``SHOWCASE`` that sees devices (a kind with none is left out)."""
    chosen: list[Shown] = []
    for kind, role in SHOWCASE:
        tried = 0
        for code, supplier in _candidates(estate, role, estate.as_of):
            if tried == TRIES:
                break
            tried += 1
            seen = _devices_seen(session, party_ids[code], operator=role == Role.OPERATOR)
            if not seen:
                continue
            if role == Role.OPERATOR:
                shows = f"every party: all {seen:,} devices, any party's reports"
            elif role == Role.REGISTERED_SUPPLIER_AGENT:
                shows = f"{seen:,} devices of the suppliers appointing it ({supplier}: no end date)"
            elif role == Role.IMPORT_SUPPLIER:
                shows = f"{seen:,} devices it supplies"
            elif role == Role.SHIPPER:
                shows = f"{seen:,} devices at the meter points it ships gas to"
            else:
                shows = f"{seen:,} devices on its network"
            shown = Shown(code, kind, shows)
            if role == Role.IMPORT_SUPPLIER:
                shown = replace(
                    shown,
                    duis_user_id=duis_user_ids[code].get(role),
                    device_id=_first_esme(session, party_ids[code]),
                )
            chosen.append(shown)
            break
    return chosen


def first_request(shown: Iterable[Shown]) -> bytes | None:
    """A 4.1.1 read from the supplier shown to one of its commissioned ESMEs (counter 1)."""
    for s in shown:
        if s.duis_user_id and s.device_id:
            return request_to_xml(
                {
                    "request_id": f"{s.duis_user_id}:{s.device_id}:1",
                    "srv": "4.1.1",
                    "service_reference": "4.1",
                    "command_variant": 1,
                    "body_name": "ReadInstantaneousImportRegisters",
                }
            )
    return None


def request_path(credentials: Path) -> Path:
    return credentials.with_name(REQUEST_FILE)


def table(
    credentials: Sequence[dict[str, object]], *, hub_url: str, request: Path | None
) -> list[str]:
    """The lines ``meterhub demo logins`` prints: the address, the logins shown with what each
    sees, and a first DUIS request to send to the hub at ``hub_url``."""
    shown = sorted(
        (c for c in credentials if c.get("showcase")),
        key=lambda c: (
            [k for k, _ in SHOWCASE].index(str(c["showcase"]))
            if c["showcase"] in dict(SHOWCASE)
            else len(SHOWCASE)
        ),
    )
    lines = [
        f"meterhub demo: portal {hub_url}/portal/  API {hub_url}/api/v1/docs",
        f"MP176 reports (last month's simulated traffic): {hub_url}/portal/reports",
    ]
    if credentials:
        lines.append(f"every login's password: {credentials[0]['password']}")
    lines += ["", f"  {'who':17} {'party':7} {'username':27} sees"]
    for c in shown:
        lines.append(f"  {c['showcase']!s:17} {c['party']!s:7} {c['username']!s:27} {c['shows']}")
    officers = [(c["party"], c["security_officer"]) for c in shown if c.get("security_officer")]
    if officers:
        lines += ["", "  Local Security Officers (Users page: create, disable, reset passwords):"]
        lines += [f"  {party!s:17} {username}" for party, username in officers]
    lines.append("")
    lines.append(
        f"all {len(credentials)} parties' logins (and their Local Security Officers),"
        " with API tokens: see the file"
    )
    supplier = next((c for c in shown if c["showcase"] == "supplier"), None)
    if supplier is not None:
        token = supplier["api_token"]
        lines.append(f"try: curl -H 'Authorization: Bearer {token}' {hub_url}/api/v1/me")
        if request is not None and request.exists():
            lines.append(
                f"     meterhub duis send {request} --url {hub_url} --token {token} --wait"
            )
    return lines
