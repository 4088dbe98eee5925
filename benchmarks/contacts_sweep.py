"""The contact deadline sweep over many open deadlines, all past due: the worker's lane
(``jobs.contacts.sweep_contacts``, committing a chunk at a time) moving every Theft of Gas a
shipper did not answer to "under investigation", with its history line, its contact's summary
and the shippers' notifications. The target (issue 12) is 1,000,000 open deadlines in 30 s.

Run: ``.venv/bin/python benchmarks/contacts_sweep.py [--parts 1000000] [--shippers 10]
[--database-url URL]``. Without a URL it uses a new SQLite file in a temporary folder.

The **floor**, measured on a copy of the same database in the same run, is the least SQL any
sweep must do for these parts: one ``UPDATE`` of every due part's status and deadline and one
``INSERT ... SELECT`` of a history line each, in one transaction, with no contact summaries,
chunks or notifications. Then the sweep runs again at the same time (nothing is due: the
idempotent case the worker meets every half minute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from meterhub.audit.service import Actor
from meterhub.config import Settings
from meterhub.contacts.models import Contact, ContactEvent, ContactInvolvement
from meterhub.db.session import get_engine, session_scope
from meterhub.jobs.contacts import sweep_contacts
from meterhub.kit.clock import utcnow
from meterhub.migrations.run import upgrade
from meterhub.parties import service as parties

SUBMITTED = datetime(2024, 9, 2, 9, 30, tzinfo=UTC)
DUE = datetime(2024, 9, 9, 23, 0, tzinfo=UTC)
CHUNK = 50_000


def seed(url: str, *, parts: int, shippers: int) -> None:
    """A DN, ``shippers`` shippers each with a user (who is told), and ``parts`` submitted TOGs
    awaiting acceptance, due at ``DUE``, spread round-robin over the shippers."""
    system = Actor.system("benchmark")
    with session_scope(url) as session:
        dn = parties.create_party(
            session,
            actor=system,
            code="DNBM",
            name="Bench DN",
            kind="gas_transporter",
            roles=("DN",),
            now=utcnow(),
        )
        shipper_ids = []
        for i in range(shippers):
            shipper = parties.create_party(
                session,
                actor=system,
                code=f"SH{i:02d}",
                name=f"Shipper {i}",
                kind="shipper",
                roles=("SHIPPER",),
                now=utcnow(),
            )
            parties.create_user(
                session,
                actor=system,
                party=shipper,
                username=f"desk{i}@sh{i:02d}",
                display_name=f"Desk {i}",
                password=None,
                roles={"SHIPPER": None},
                now=utcnow(),
            )
            shipper_ids.append(shipper.id)
        dn_id = dn.id
    engine = get_engine(url)
    values = {"mprn": "1234567", "suspected_from": "2024-05-01", "method": "meter_bypass"}
    for start in range(0, parts, CHUNK):
        n = min(CHUNK, parts - start)
        with engine.begin() as conn:
            first = (
                conn.execute(select(Contact.id).order_by(Contact.id.desc()).limit(1)).scalar() or 0
            ) + 1
            conn.execute(
                insert(Contact),
                [
                    {
                        "id": first + k,
                        "contact_type": "TOG",
                        "reference": f"TOG-{start + k + 1:07d}",
                        "status": "open",
                        "headline_status": "awaiting_acceptance",
                        "raising_party_id": dn_id,
                        "created_by": "bench",
                        "values": values,
                        "next_due_at": DUE,
                        "awaiting_raiser": False,
                        "awaiting_operator": False,
                        "created_at": SUBMITTED,
                        "updated_at": SUBMITTED,
                        "submitted_at": SUBMITTED,
                    }
                    for k in range(n)
                ],
            )
            conn.execute(
                insert(ContactInvolvement),
                [
                    {
                        "contact_id": first + k,
                        "contact_type": "TOG",
                        "party_id": shipper_ids[(start + k) % shippers],
                        "role": "SHIPPER",
                        "status": "awaiting_acceptance",
                        "awaiting": "involved",
                        "respond_by": DUE,
                        "share": {},
                        "updated_at": SUBMITTED,
                    }
                    for k in range(n)
                ],
            )


def floor(url: str, now: datetime) -> float:
    """The least SQL of a sweep: one UPDATE and one INSERT ... SELECT, one transaction."""
    engine = get_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(ContactEvent).from_select(
                [
                    "contact_id",
                    "involvement_id",
                    "at",
                    "actor",
                    "action",
                    "from_status",
                    "to_status",
                    "changes",
                    "reason",
                ],
                select(
                    ContactInvolvement.contact_id,
                    ContactInvolvement.id,
                    text(":now"),
                    text("'system'"),
                    text("'accept'"),
                    text("'awaiting_acceptance'"),
                    text("'under_investigation'"),
                    text("'{}'"),
                    text("''"),
                )
                .where(ContactInvolvement.status == "awaiting_acceptance")
                .params(now=now.isoformat()),
            )
        )
        conn.execute(
            ContactInvolvement.__table__.update()
            .where(ContactInvolvement.status == "awaiting_acceptance")
            .values(status="under_investigation", respond_by=now + timedelta(days=90))
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=int, default=1_000_000)
    parser.add_argument("--shippers", type=int, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="meterhub-sweep-"))
    url = args.database_url or f"sqlite:///{tmp / 'sweep.db'}"
    os.environ.setdefault("METERHUB_SQLITE_SYNCHRONOUS", "FULL")
    upgrade(url)
    started = time.perf_counter()
    seed(url, parts=args.parts, shippers=args.shippers)
    print(f"seeded {args.parts:,} open TOG deadlines in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=url)
    now = DUE + timedelta(hours=1)

    floor_s = None
    if url.startswith("sqlite"):
        get_engine(url).dispose()
        copy = tmp / "floor.db"
        shutil.copyfile(tmp / "sweep.db", copy)
        floor_s = floor(f"sqlite:///{copy}", now)
        print(f"floor (one UPDATE + one INSERT ... SELECT): {floor_s:.1f} s")

    started = time.perf_counter()
    result = sweep_contacts(settings, now=now)
    swept = time.perf_counter() - started
    print(f"sweep: {result.total:,} parts moved in {swept:.1f} s ({result.total / swept:,.0f}/s)")
    started = time.perf_counter()
    again = sweep_contacts(settings, now=now)
    took = time.perf_counter() - started
    print(f"sweep again at the same time: {again.total} moved in {took:.2f} s")
    with session_scope(url, write=False) as session:
        events = session.scalar(text("SELECT count(*) FROM contact_event")) or 0
        open_left = session.scalar(
            text("SELECT count(*) FROM contact_involvement WHERE status = 'awaiting_acceptance'")
        )
        told = session.scalar(text("SELECT count(*) FROM notification"))
    print(f"history lines {events:,}; still awaiting acceptance {open_left}; notifications {told}")
    if floor_s:
        print(f"sweep / floor: {swept / floor_s:.1f}x")
    if url.startswith("sqlite") and not args.database_url:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
