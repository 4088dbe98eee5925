"""Typed, keyword-only factories for test data, built through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.inventory import service as inventory
from meterhub.inventory.models import Device
from meterhub.kit.clock import utcnow
from meterhub.kit.ids import make_mpan
from meterhub.parties import service as parties
from meterhub.parties.models import AgentAppointment, Party, User
from meterhub.registration import service as registration
from meterhub.registration.models import Registration

SYSTEM = Actor.system("test")
_seq = itertools.count(1)


def restart_numbering() -> None:
    """Number parties, users and devices from 1 again (``tests/conftest.py`` does it around
    every test). Each test has a database of its own, so its party codes, DUIS user IDs and
    device IDs, and with them the RequestIDs whose answers the simulated network draws, are
    then the same whichever tests ran before it."""
    global _seq
    _seq = itertools.count(1)


KIND_FOR_ROLE = {
    "IS": "supplier",
    "ES": "supplier",
    "GS": "supplier",
    "ED": "network_operator",
    "GT": "gas_transporter",
    "RSA": "agent",
    "OU": "other",
    "SHIPPER": "shipper",
    "OPERATOR": "operator",
    "RECCO": "recco",
}


@dataclass
class Login:
    user: User
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_party(
    session: Session,
    *,
    code: str | None = None,
    roles: tuple[str, ...] = ("IS",),
    kind: str | None = None,
    name: str | None = None,
) -> Party:
    code = code or f"P{next(_seq):04d}"
    return parties.create_party(
        session,
        actor=SYSTEM,
        code=code,
        name=name or f"Party {code}",
        kind=kind or KIND_FOR_ROLE[roles[0]],
        roles=roles,
        now=utcnow(),
    )


def make_login(
    session: Session,
    *,
    party: Party,
    roles: tuple[str, ...] | None = None,
    username: str | None = None,
    password: str = "correct horse battery",
) -> Login:
    n = next(_seq)
    role_names = roles or tuple(sorted(r.role for r in party.roles))
    duis = {
        r: f"90-B3-D5-1F-30-{n // 256:02X}-{n % 256:02X}-{i:02X}" for i, r in enumerate(role_names)
    }
    user = parties.create_user(
        session,
        actor=SYSTEM,
        party=party,
        username=username or f"user{n}@{party.code.lower()}",
        display_name=f"User {n}",
        password=password,
        roles=dict(duis.items()),
        now=utcnow(),
    )
    token = parties.issue_api_token(session, actor=SYSTEM, user=user, label="test", now=utcnow())
    return Login(user=user, token=token, password=password)


def make_api_login(
    session: Session,
    *,
    party: Party,
    roles: tuple[str, ...] | None = None,
    username: str | None = None,
) -> Login:
    """Like ``make_login`` for an API-only user (no password, so no slow argon2 hash).
    ``Login.password`` is empty: this user cannot sign in to the portal."""
    n = next(_seq)
    role_names = roles or tuple(sorted(r.role for r in party.roles))
    user = parties.create_user(
        session,
        actor=SYSTEM,
        party=party,
        username=username or f"api{n}@{party.code.lower()}",
        display_name=f"API user {n}",
        password=None,
        roles={
            r: f"90-B3-D5-1F-31-{n // 256:02X}-{n % 256:02X}-{i:02X}"
            for i, r in enumerate(role_names)
        },
        now=utcnow(),
    )
    token = parties.issue_api_token(session, actor=SYSTEM, user=user, label="test", now=utcnow())
    return Login(user=user, token=token, password="")


def make_mpan_for(n: int, distributor: int = 12) -> str:
    return make_mpan(f"{distributor:02d}{n:010d}")


def make_registration(
    session: Session,
    *,
    mpxn: str,
    supplier: Party,
    network: Party,
    effective_from: date = date(2020, 1, 1),
    effective_to: date | None = None,
    shipper: Party | None = None,
) -> Registration:
    return registration.register(
        session,
        actor=SYSTEM,
        mpxn=mpxn,
        supplier=supplier.code,
        network_operator=network.code,
        effective_from=effective_from,
        effective_to=effective_to,
        shipper=shipper.code if shipper else None,
        now=utcnow(),
    )


def make_device(
    session: Session,
    *,
    device_type: str = "ESME",
    mpxn: str | None = None,
    owner: Party | None = None,
    status: str = "Commissioned",
    model: str = "ACME-1",
    manufacturer: str = "Acme",
    firmware_version: str = "1.0.0",
    csp_region: str = "North",
    smets_version: str = "SMETS2",
    device_id: str | None = None,
) -> Device:
    n = next(_seq)
    return inventory.add_device(
        session,
        actor=SYSTEM,
        device_id=device_id
        or f"00-DB-12-00-00-{n // 65536 % 256:02X}-{n // 256 % 256:02X}-{n % 256:02X}",
        device_type=device_type,
        manufacturer=manufacturer,
        model=model,
        firmware_version=firmware_version,
        smets_version=smets_version,
        csp_region=csp_region,
        status=status,
        owner=owner.code if owner else None,
        mpxn=mpxn,
        now=utcnow(),
    )


def make_appointment(
    session: Session,
    *,
    supplier: Party,
    agent: Party,
    valid_from: date = date(2020, 1, 1),
    valid_to: date | None = None,
) -> AgentAppointment:
    return parties.appoint_agent(
        session,
        actor=SYSTEM,
        supplier_code=supplier.code,
        agent_code=agent.code,
        valid_from=valid_from,
        valid_to=valid_to,
        now=utcnow(),
    )
