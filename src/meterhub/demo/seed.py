"""Loading the synthetic estate into a freshly migrated database, fast, and handing out logins.

The few hundred parties, users, tokens and appointments go through the parties service, so they
obey the same rules (and leave the same audit entries) as any other. The bulk tables (meter
points, registrations, devices and their first history rows) go in large batches through the
bulk loads their owners offer (``registration.service.load_meter_points`` and
``load_registrations``, ``inventory.service.load_devices``): executemany through the DBAPI
cursor on SQLite, where SQLAlchemy's per-row work would cost more than the database itself,
and through Core ``insert()`` elsewhere (``db/bulk.py``). A single audit entry records the seed
and its counts, instead of one per device.

Each party gets two logins: its operations user and its Local Security Officer (who runs the
party's users on the portal's Users page). Every user of the estate shares one freshly
generated password, hashed once: an argon2 hash takes about half a second here, and a demo
estate has a couple of hundred users. API tokens are each
user's own. Credentials are secrets, so they come from ``secrets``, not from the seed.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from queue import Full, Queue

from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.db import bulk
from meterhub.demo.estate import OPERATOR_CODE, Estate, RowBatch
from meterhub.demo.forecasts import seed_forecasts
from meterhub.demo.logins import choose_logins, first_request
from meterhub.errors import Conflict, InvalidInput
from meterhub.inventory import service as inventory
from meterhub.parties import service as parties
from meterhub.parties.passwords import hash_password
from meterhub.parties.roles import DUIS_ROLES
from meterhub.registration import service as registration

MIN_DEVICES = 100
MAX_DEVICES = 20_000_000
# A DUIS user ID prefix for the demo's users: the party's place in the plan, then the role's.
_DUIS_PREFIX = "90-B3-D5-1F-3"


@dataclass(frozen=True)
class Credential:
    """One login of the demo estate, as written to the credentials file."""

    party: str
    party_name: str
    roles: list[str]
    username: str
    password: str
    api_token: str
    duis_user_ids: dict[str, str]
    showcase: str | None = None  # the kind of party this login is printed as (demo/logins.py)
    shows: str | None = None  # what it sees when it logs in
    #: The party's Local Security Officer (same password): runs the party's users in the portal.
    security_officer: str | None = None


@dataclass(frozen=True)
class SeedResult:
    counts: dict[str, int]
    credentials: list[Credential]
    request: bytes | None = None  # a first DUIS request for the supplier shown


def _check_empty(session: Session) -> None:
    """Seeding twice would duplicate the estate (or fail halfway on a unique key): refuse."""
    parties_held = parties.party_count(session)
    devices_held = inventory.device_count(session)
    if parties_held or devices_held:
        raise Conflict(
            f"the database already holds {parties_held} parties and {devices_held} devices;"
            " seed only a freshly migrated database (remove it and run 'meterhub db upgrade')",
            code="estate_exists",
        )


def check_size(devices: int) -> None:
    if not MIN_DEVICES <= devices <= MAX_DEVICES:
        raise InvalidInput(
            f"--devices must be between {MIN_DEVICES} and {MAX_DEVICES:,}, not {devices}",
            code="bad_device_count",
        )


def _duis_id(party_index: int, role_index: int) -> str:
    n = f"{party_index:04X}"
    return f"{_DUIS_PREFIX}{n[0]}-{n[1:3]}-{n[3]}{role_index:X}-00"


def seed_estate(
    session: Session,
    *,
    actor: Actor,
    seed: int,
    devices: int,
    as_of: date,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Build the estate of ``Estate(seed, devices, as_of)`` in an empty, migrated database.

    ``progress`` is called with the number of devices written after each batch; ``now`` stamps
    the parties, users, tokens and audit entries the services write.
    """
    check_size(devices)
    _check_empty(session)
    estate = Estate(seed=seed, devices=devices, as_of=as_of)

    party_rows = {
        plan.code: parties.create_party(
            session,
            actor=actor,
            code=plan.code,
            name=plan.name,
            kind=plan.kind,
            roles=plan.roles,
            now=now,
        )
        for plan in estate.parties
    }
    party_ids = {code: party.id for code, party in party_rows.items()}
    for appointment in estate.appointments:
        parties.appoint_agent(
            session,
            actor=actor,
            supplier_code=appointment.supplier,
            agent_code=appointment.agent,
            valid_from=appointment.valid_from,
            valid_to=appointment.valid_to,
            now=now,
        )

    password = "demo-" + secrets.token_urlsafe(12)
    password_hash = hash_password(password)
    credentials: list[Credential] = []
    for index, plan in enumerate(estate.parties):
        party_row = party_rows[plan.code]
        roles: dict[str, str | None] = {
            role: _duis_id(index, r_index) if role in DUIS_ROLES else None
            for r_index, role in enumerate(plan.roles)
        }
        username = f"ops@{plan.code.lower()}.example"
        user = parties.create_user(
            session,
            actor=actor,
            party=party_row,
            username=username,
            display_name=f"{plan.name} operations",
            password=None,
            password_hash=password_hash,
            roles=roles,
            now=now,
        )
        token = parties.issue_api_token(
            session, actor=actor, user=user, label="demo estate", now=now
        )
        officer = f"lso@{plan.code.lower()}.example"
        parties.create_user(
            session,
            actor=actor,
            party=party_row,
            username=officer,
            display_name=f"{plan.name} Local Security Officer",
            password=None,
            password_hash=password_hash,
            roles={},
            local_security_officer=True,
            now=now,
        )
        credentials.append(
            Credential(
                party=plan.code,
                party_name=plan.name,
                roles=[str(r) for r in plan.roles],
                username=username,
                password=password,
                api_token=token,
                duis_user_ids={k: v for k, v in roles.items() if v is not None},
                security_officer=officer,
            )
        )
    session.flush()

    counts = _load_rows(session, estate, party_ids, actor=actor, progress=progress)
    counts.update(parties=len(estate.parties), appointments=len(estate.appointments))
    counts["users"] = 2 * len(credentials)
    counts["forecasts"] = seed_forecasts(session, actor=actor, seed=seed, as_of=as_of, now=now)
    shown = choose_logins(
        session,
        estate=estate,
        party_ids=party_ids,
        duis_user_ids={c.party: c.duis_user_ids for c in credentials},
    )
    by_party = {s.party: s for s in shown}
    credentials = [
        replace(c, showcase=by_party[c.party].kind, shows=by_party[c.party].shows)
        if c.party in by_party
        else c
        for c in credentials
    ]
    record(
        session,
        actor=actor,
        action="estate.seeded",
        object_type="estate",
        object_id=f"seed-{seed}",
        changes={"seed": seed, "as_of": as_of.isoformat(), "operator": OPERATOR_CODE, **counts},
        now=now,
    )
    session.flush()
    return SeedResult(counts=counts, credentials=credentials, request=first_request(shown))


def _in_background(batches: Iterator[RowBatch], depth: int = 3) -> Iterator[RowBatch]:
    """Make the next batches in a thread while this one is written. The writes spend most of
    their time in the database outside the GIL, so on two cores generating and writing overlap.
    The estate stays deterministic: one thread draws every random number, in order."""
    queue: Queue[RowBatch | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: RowBatch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the writing thread, which raises it
            put(exc)
            return
        put(None)

    thread = threading.Thread(target=produce, name="estate-rows", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _load_rows(
    session: Session,
    estate: Estate,
    party_ids: dict[str, int],
    *,
    actor: Actor,
    progress: Callable[[int], None] | None,
) -> dict[str, int]:
    encode_day, encode_instant = bulk.encoders(session)
    counts = {"premises": 0, "meter_points": 0, "registrations": 0, "devices": 0}
    connection = session.connection()
    restore_cache: int | None = None
    if connection.dialect.name == "sqlite":
        # A bigger page cache keeps the growing indexes in memory during the load.
        restore_cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA cache_size=-1048576")
    try:
        batches = estate.rows(
            party_ids, actor=actor.name, encode_day=encode_day, encode_instant=encode_instant
        )
        for batch in _in_background(batches):
            registration.load_meter_points(session, rows=batch.meter_points)
            registration.load_registrations(session, rows=batch.registrations)
            inventory.load_devices(session, devices=batch.devices, history=batch.device_history)
            counts["premises"] += batch.premises
            counts["meter_points"] += len(batch.meter_points)
            counts["registrations"] += len(batch.registrations)
            counts["devices"] += len(batch.devices)
            if progress is not None:
                progress(counts["devices"])
    finally:
        if restore_cache is not None:
            connection.exec_driver_sql(f"PRAGMA cache_size={int(restore_cache)}")
    return counts


def check_credentials_path(path: Path) -> None:
    """Fail before seeding, not after, if the credentials cannot be written there."""
    if path.exists() and path.is_dir():
        raise InvalidInput(f"credentials path {path} is a directory", code="bad_credentials_path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(
            f"directory {parent} for the credentials file does not exist",
            code="bad_credentials_path",
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInput(f"cannot write the credentials to {path}", code="bad_credentials_path")


def write_credentials(path: Path, credentials: Sequence[Credential]) -> None:
    """The logins as a JSON list, readable by the owner only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump([asdict(c) for c in credentials], fh, indent=2)
        fh.write("\n")
