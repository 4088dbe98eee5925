"""The seeded estate in the database: what the market looks like to a user of the hub."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from meterhub.audit.models import AuditEntry
from meterhub.audit.service import Actor
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.demo.estate import DISTRIBUTION_AREAS, Estate, RowBatch
from meterhub.demo.seed import SeedResult, seed_estate
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.kit.clock import utcnow
from meterhub.kit.ids import normalise_mpxn
from meterhub.parties.models import AgentAppointment, Party, PartyRole
from meterhub.parties.passwords import verify_password
from meterhub.parties.service import user_by_username
from meterhub.registration.models import MeterPoint, Registration
from tests.demo.conftest import AS_OF, DEVICES, SEED


def holders_of(session: Session, role: str) -> set[str]:
    stmt = select(Party.code).join(PartyRole).where(PartyRole.role == role)
    return set(session.scalars(stmt))


def periods_by_mpxn(session: Session) -> dict[str, list[Registration]]:
    out: dict[str, list[Registration]] = defaultdict(list)
    for row in session.scalars(select(Registration).order_by(Registration.effective_from)):
        out[row.mpxn].append(row)
    return out


class TestSeededMarket:
    def test_every_distribution_area_is_served_by_its_network_operator(
        self, estate: Session
    ) -> None:
        network = aliased(Party)
        rows = estate.execute(
            select(Registration.mpxn, network.code)
            .join(network, Registration.network_operator_party_id == network.id)
            .join(MeterPoint, MeterPoint.mpxn == Registration.mpxn)
            .where(MeterPoint.fuel == "electricity")
        ).all()
        served: dict[int, set[str]] = defaultdict(set)
        for mpxn, code in rows:
            served[int(mpxn[:2])].add(code)
        assert served == {a.distributor_id: {a.network_operator} for a in DISTRIBUTION_AREAS}
        assert {a.network_operator for a in DISTRIBUTION_AREAS} <= holders_of(estate, "ED")

    def test_the_largest_supplier_holds_many_times_the_median_suppliers_devices(
        self, estate: Session
    ) -> None:
        supplier = aliased(Party)
        held = dict(
            estate.execute(
                select(supplier.code, func.count(Device.device_id))
                .join(Registration, Registration.mpxn == Device.mpxn)
                .join(supplier, Registration.supplier_party_id == supplier.id)
                .where(Registration.effective_to.is_(None))
                .group_by(supplier.code)
            ).all()
        )
        suppliers = set(estate.scalars(select(Party.code).where(Party.kind == "supplier")))
        assert 30 <= len(suppliers) <= 40
        sizes = sorted((held.get(code, 0) for code in suppliers), reverse=True)
        assert sizes[0] >= 8 * max(statistics.median(sizes), 1)

    def test_every_meter_is_at_a_registered_meter_point_and_joined_to_a_hub(
        self, estate: Session
    ) -> None:
        registered = set(estate.scalars(select(Registration.mpxn).distinct()))
        hubs = set(estate.scalars(select(Device.device_id).where(Device.device_type == "CHF")))
        meters = estate.scalars(
            select(Device).where(Device.device_type.in_(("ESME", "GSME", "GPF", "IHD")))
        ).all()
        assert meters
        for meter in meters:
            assert meter.mpxn in registered
            assert meter.comms_hub_id in hubs

    def test_registration_periods_never_overlap_and_many_changed_supplier(
        self, estate: Session
    ) -> None:
        periods = periods_by_mpxn(estate)
        changed = 0
        for chain in periods.values():
            for before, after in itertools.pairwise(chain):
                assert before.effective_to == after.effective_from - timedelta(days=1)
            assert chain[-1].effective_to is None
            changed += len({p.supplier_party_id for p in chain}) > 1
        assert changed >= len(periods) // 5

    def test_mpans_pass_the_check_digit(self, estate: Session) -> None:
        mpans = estate.scalars(select(MeterPoint.mpxn).where(MeterPoint.fuel == "electricity"))
        for mpan in mpans:
            assert normalise_mpxn(mpan) == mpan

    def test_gas_periods_name_a_shipper_and_electricity_periods_do_not(
        self, estate: Session
    ) -> None:
        shippers = {
            p.id
            for p in estate.scalars(
                select(Party).where(Party.code.in_(holders_of(estate, "SHIPPER")))
            )
        }
        fuel = dict(estate.execute(select(MeterPoint.mpxn, MeterPoint.fuel)).all())
        gas = 0
        for row in estate.scalars(select(Registration)):
            if fuel[row.mpxn] == "gas":
                gas += 1
                assert row.shipper_party_id in shippers
            else:
                assert row.shipper_party_id is None
        assert gas > 0

    def test_hubs_are_held_by_a_supplier_of_their_meter_point_or_in_stock(
        self, estate: Session
    ) -> None:
        periods = periods_by_mpxn(estate)
        suppliers = {p.id for p in estate.scalars(select(Party).where(Party.kind == "supplier"))}
        stock = 0
        for hub in estate.scalars(select(Device).where(Device.device_type == "CHF")):
            assert hub.owner_party_id in suppliers
            if hub.mpxn is None:
                stock += 1
                assert hub.status in ("Pending", "Withdrawn")
            else:
                assert hub.owner_party_id in {p.supplier_party_id for p in periods[hub.mpxn]}
        assert stock > 0

    def test_agents_hold_appointments_some_of_them_ended(self, estate: Session) -> None:
        agents = holders_of(estate, "RSA")
        rows = estate.scalars(select(AgentAppointment)).all()
        assert len(agents) >= 24
        assert {r.agent.code for r in rows} == agents
        assert any(r.valid_to is not None and r.valid_to < AS_OF for r in rows)
        assert any(r.valid_to is None for r in rows)


class TestSeedRecord:
    def test_each_device_has_its_first_history_row_and_the_seed_one_audit_entry(
        self, estate: Session
    ) -> None:
        devices = estate.scalar(select(func.count()).select_from(Device))
        assert devices == DEVICES
        first_rows = estate.scalar(
            select(func.count(DeviceHistory.device_id.distinct())).where(
                DeviceHistory.old_value.is_(None)
            )
        )
        assert first_rows == DEVICES
        seeded = estate.scalars(
            select(AuditEntry).where(AuditEntry.action == "estate.seeded")
        ).all()
        assert len(seeded) == 1
        assert seeded[0].changes["devices"] == DEVICES
        assert (
            estate.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "device.added")
            )
            == 0
        )

    def test_logins_share_one_password_that_verifies(
        self, estate: Session, seeded_db: tuple[str, SeedResult]
    ) -> None:
        credentials = seeded_db[1].credentials
        assert len({c.username for c in credentials}) == len(credentials)
        assert len({c.api_token for c in credentials}) == len(credentials)
        supplier = next(c for c in credentials if "IS" in c.roles)
        user = user_by_username(estate, supplier.username)
        assert user is not None
        assert verify_password(user.password_hash, supplier.password)
        assert set(supplier.duis_user_ids) == {r for r in supplier.roles if r in ("IS", "ES", "GS")}


class TestSameSeedSameEstate:
    def test_a_second_database_seeded_alike_holds_identical_rows(
        self, session: Session, estate: Session
    ) -> None:
        seed_estate(
            session,
            actor=Actor.system("test"),
            seed=SEED,
            devices=DEVICES,
            as_of=AS_OF,
            now=utcnow(),
        )
        session.commit()

        def snapshot(s: Session) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
            owner = aliased(Party)
            supplier = aliased(Party)
            devices = s.execute(
                select(
                    Device.device_id,
                    Device.device_type,
                    Device.model,
                    Device.firmware_version,
                    Device.status,
                    Device.csp_region,
                    Device.mpxn,
                    Device.comms_hub_id,
                    owner.code,
                    Device.created_at,
                )
                .outerjoin(owner, Device.owner_party_id == owner.id)
                .order_by(Device.device_id)
            ).all()
            registrations = s.execute(
                select(
                    Registration.mpxn,
                    supplier.code,
                    Registration.effective_from,
                    Registration.effective_to,
                )
                .join(supplier, Registration.supplier_party_id == supplier.id)
                .order_by(Registration.mpxn, Registration.effective_from)
            ).all()
            return [tuple(r) for r in devices], [tuple(r) for r in registrations]

        assert snapshot(session) == snapshot(estate)

    def test_seed_dates_follow_as_of_not_the_clock(self, estate: Session) -> None:
        latest = estate.scalar(select(func.max(Registration.effective_from)))
        assert latest is not None and latest <= AS_OF
        newest = estate.scalar(select(func.max(Device.created_at)))
        assert newest is not None and newest.date() < AS_OF
        assert estate.scalar(select(func.min(Registration.effective_from))) > date(2013, 1, 1)


class TestAllOrNothing:
    def test_a_failure_halfway_leaves_the_database_as_it_was(
        self, settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real_rows = Estate.rows

        def rows_then_failure(self: Estate, *args: Any, **kwargs: Any) -> Iterator[RowBatch]:
            yield next(iter(real_rows(self, *args, **kwargs)))
            raise OSError("disk full")

        monkeypatch.setattr(Estate, "rows", rows_then_failure)
        with (
            pytest.raises(OSError, match="disk full"),
            session_scope(settings.database_url) as other,
        ):
            seed_estate(
                other, actor=Actor.system("test"), seed=1, devices=500, as_of=AS_OF, now=utcnow()
            )
        assert session.scalar(select(func.count()).select_from(Party)) == 0
        assert session.scalar(select(func.count()).select_from(Device)) == 0
