"""Registration history: one holder per meter point per day, with history kept."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.db import bulk
from meterhub.errors import InvalidInput, NotFound, OverlappingPeriod, PermissionDenied
from meterhub.kit.clock import utcnow
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from meterhub.registration import service
from meterhub.registration.fuels import Fuel
from meterhub.registration.models import MeterPoint, Registration
from tests.factories import (
    SYSTEM,
    make_api_login,
    make_appointment,
    make_mpan_for,
    make_party,
    make_registration,
)

MPRN = "7512345678"


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _parties(session: Session) -> tuple[Party, Party, Party]:
    return (
        make_party(session, roles=("IS",)),
        make_party(session, roles=("IS",)),
        make_party(session, roles=("ED",)),
    )


class TestRegister:
    def test_operator_registers_an_electricity_meter_point(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        mpan = make_mpan_for(1)
        spaced = f"{mpan[:2]} {mpan[2:]}"
        row = service.register(
            session,
            actor=SYSTEM,
            mpxn=spaced,
            supplier=supplier.code.lower(),
            network_operator=dno.code,
            effective_from=date(2020, 1, 1),
            now=utcnow(),
        )
        assert row.mpxn == mpan
        assert (row.supplier, row.network_operator, row.shipper) == (supplier, dno, None)
        point = session.get(MeterPoint, mpan)
        assert point is not None and point.fuel == "electricity"
        entry = entries_for(session, object_type="meter_point", object_id=mpan)[-1]
        assert entry.action == "registration.created"
        assert entry.changes["supplier"] == supplier.code
        assert entry.changes["closed_previous"] is None

    def test_only_the_operator_loads_registrations(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        actor = actor_for(make_api_login(session, party=supplier).user, "api")
        with pytest.raises(PermissionDenied):
            service.register(
                session,
                actor=actor,
                mpxn=make_mpan_for(1),
                supplier=supplier.code,
                network_operator=dno.code,
                effective_from=date(2020, 1, 1),
                now=utcnow(),
            )
        assert _count(session, Registration) == 0

    def test_gas_needs_a_shipper(self, session: Session) -> None:
        supplier = make_party(session, roles=("GS",))
        gt = make_party(session, roles=("GT",))
        with pytest.raises(InvalidInput) as caught:
            make_registration(session, mpxn=MPRN, supplier=supplier, network=gt)
        assert caught.value.code == "shipper_required"
        shipper = make_party(session, roles=("SHIPPER",))
        row = make_registration(session, mpxn=MPRN, supplier=supplier, network=gt, shipper=shipper)
        assert row.shipper is shipper
        assert session.get(MeterPoint, MPRN).fuel == "gas"  # type: ignore[union-attr]

    def test_electricity_has_no_shipper(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        shipper = make_party(session, roles=("SHIPPER",))
        with pytest.raises(InvalidInput) as caught:
            make_registration(
                session, mpxn=make_mpan_for(1), supplier=supplier, network=dno, shipper=shipper
            )
        assert caught.value.code == "no_shipper"
        assert _count(session, Registration) == 0

    @pytest.mark.parametrize(
        ("mpxn", "supplier", "code"),
        [
            ("1200000000012", None, "bad_mpxn"),  # wrong check digit
            ("12345", None, "bad_mpxn"),
            (None, "NOBODY", "unknown_party"),
        ],
    )
    def test_bad_input(
        self, session: Session, mpxn: str | None, supplier: str | None, code: str
    ) -> None:
        s, _, dno = _parties(session)
        with pytest.raises(InvalidInput) as caught:
            service.register(
                session,
                actor=SYSTEM,
                mpxn=mpxn or make_mpan_for(1),
                supplier=supplier or s.code,
                network_operator=dno.code,
                effective_from=date(2020, 1, 1),
                now=utcnow(),
            )
        assert caught.value.code == code
        assert _count(session, MeterPoint) == 0

    def test_period_ending_before_it_starts(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        with pytest.raises(InvalidInput) as caught:
            make_registration(
                session,
                mpxn=make_mpan_for(1),
                supplier=supplier,
                network=dno,
                effective_from=date(2020, 1, 2),
                effective_to=date(2020, 1, 1),
            )
        assert caught.value.code == "bad_period"

    def test_change_of_supplier_closes_the_previous_period_the_day_before(
        self, session: Session
    ) -> None:
        loser, gainer, dno = _parties(session)
        mpan = make_mpan_for(1)
        old = make_registration(
            session, mpxn=mpan, supplier=loser, network=dno, effective_from=date(2020, 1, 1)
        )
        new = make_registration(
            session, mpxn=mpan, supplier=gainer, network=dno, effective_from=date(2024, 3, 1)
        )
        assert old.effective_to == date(2024, 2, 29)
        assert new.effective_to is None
        assert [r.id for r in service.history(session, mpxn=mpan)] == [old.id, new.id]
        entry = entries_for(session, object_type="meter_point", object_id=mpan)[-1]
        assert entry.changes["closed_previous"] == old.id

    def test_a_gap_and_a_backfilled_period_are_fine(self, session: Session) -> None:
        a, b, dno = _parties(session)
        mpan = make_mpan_for(1)
        make_registration(
            session, mpxn=mpan, supplier=b, network=dno, effective_from=date(2022, 1, 1)
        )
        make_registration(
            session,
            mpxn=mpan,
            supplier=a,
            network=dno,
            effective_from=date(2020, 1, 1),
            effective_to=date(2020, 12, 31),
        )
        assert [r.supplier for r in service.history(session, mpxn=mpan)] == [a, b]
        assert service.registered_on(session, mpxn=mpan, day=date(2021, 6, 1)) is None

    @pytest.mark.parametrize(
        ("effective_from", "effective_to"),
        [
            (date(2020, 1, 1), None),  # same start as the open period
            (date(2019, 6, 1), None),  # open period starting before the existing one
            (date(2019, 6, 1), date(2020, 1, 1)),  # ends on the existing first day
            (date(2020, 6, 1), date(2020, 6, 30)),  # inside the closed period
            (date(2020, 12, 31), None),  # on the closed period's last day
        ],
    )
    def test_overlaps_are_refused_and_nothing_is_written(
        self, session: Session, effective_from: date, effective_to: date | None
    ) -> None:
        a, b, dno = _parties(session)
        intruder = make_party(session, roles=("IS",))
        mpan = make_mpan_for(1)
        make_registration(
            session,
            mpxn=mpan,
            supplier=a,
            network=dno,
            effective_from=date(2020, 1, 1),
            effective_to=date(2020, 12, 31),
        )
        make_registration(
            session, mpxn=mpan, supplier=b, network=dno, effective_from=date(2021, 1, 1)
        )
        before = [
            (r.id, r.effective_from, r.effective_to) for r in service.history(session, mpxn=mpan)
        ]
        with pytest.raises(OverlappingPeriod) as caught:
            make_registration(
                session,
                mpxn=mpan,
                supplier=intruder,
                network=dno,
                effective_from=effective_from,
                effective_to=effective_to,
            )
        assert caught.value.status == 409
        assert "registration_id" in caught.value.details
        after = [
            (r.id, r.effective_from, r.effective_to) for r in service.history(session, mpxn=mpan)
        ]
        assert after == before

    def test_gain_on_the_open_periods_first_day_is_an_overlap(self, session: Session) -> None:
        a, b, dno = _parties(session)
        mpan = make_mpan_for(1)
        first = make_registration(
            session, mpxn=mpan, supplier=a, network=dno, effective_from=date(2020, 1, 1)
        )
        with pytest.raises(OverlappingPeriod):
            make_registration(
                session, mpxn=mpan, supplier=b, network=dno, effective_from=date(2020, 1, 1)
            )
        assert first.effective_to is None


class TestRegisteredOn:
    def test_boundary_days(self, session: Session) -> None:
        a, b, dno = _parties(session)
        mpan = make_mpan_for(1)
        make_registration(
            session,
            mpxn=mpan,
            supplier=a,
            network=dno,
            effective_from=date(2020, 1, 1),
            effective_to=date(2020, 6, 30),
        )
        make_registration(
            session, mpxn=mpan, supplier=b, network=dno, effective_from=date(2020, 8, 1)
        )

        def supplier_on(day: date) -> Party | None:
            return service.registered_supplier_on(session, mpxn=mpan, day=day)

        assert supplier_on(date(2019, 12, 31)) is None
        assert supplier_on(date(2020, 1, 1)) is a
        assert supplier_on(date(2020, 6, 30)) is a
        assert supplier_on(date(2020, 7, 1)) is None
        assert supplier_on(date(2020, 7, 31)) is None
        assert supplier_on(date(2020, 8, 1)) is b
        assert supplier_on(date(2099, 1, 1)) is b

    def test_unknown_meter_point(self, session: Session) -> None:
        assert service.registered_on(session, mpxn=make_mpan_for(9), day=date(2020, 1, 1)) is None


class TestShippersOver:
    def _gas(self, session: Session) -> tuple[Party, Party, Party, Party]:
        return (
            make_party(session, roles=("GS",)),
            make_party(session, roles=("GT",)),
            make_party(session, roles=("SHIPPER",)),
            make_party(session, roles=("SHIPPER",)),
        )

    def test_split_across_two_shippers_with_exact_days(self, session: Session) -> None:
        supplier, gt, s1, s2 = self._gas(session)
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s1,
            effective_from=date(2020, 1, 1),
        )
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s2,
            effective_from=date(2020, 4, 1),
        )
        shares = service.shippers_over(
            session, mpxn=MPRN, start=date(2020, 3, 1), end=date(2020, 4, 30)
        )
        assert [(s.shipper, s.first_day, s.last_day, s.days) for s in shares] == [
            (s1, date(2020, 3, 1), date(2020, 3, 31), 31),
            (s2, date(2020, 4, 1), date(2020, 4, 30), 30),
        ]

    def test_boundary_days_count(self, session: Session) -> None:
        supplier, gt, s1, s2 = self._gas(session)
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s1,
            effective_from=date(2020, 1, 1),
        )
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s2,
            effective_from=date(2020, 4, 1),
        )
        last_of_s1 = service.shippers_over(
            session, mpxn=MPRN, start=date(2020, 3, 31), end=date(2020, 3, 31)
        )
        assert [(s.shipper, s.days) for s in last_of_s1] == [(s1, 1)]
        straddle = service.shippers_over(
            session, mpxn=MPRN, start=date(2020, 3, 31), end=date(2020, 4, 1)
        )
        assert [(s.shipper, s.days) for s in straddle] == [(s1, 1), (s2, 1)]

    def test_a_shipper_in_two_periods_gets_the_days_summed(self, session: Session) -> None:
        supplier, gt, s1, s2 = self._gas(session)
        for shipper, start in (
            (s1, date(2020, 1, 1)),
            (s2, date(2020, 4, 1)),
            (s1, date(2020, 7, 1)),
        ):
            make_registration(
                session,
                mpxn=MPRN,
                supplier=supplier,
                network=gt,
                shipper=shipper,
                effective_from=start,
            )
        shares = service.shippers_over(
            session, mpxn=MPRN, start=date(2020, 1, 1), end=date(2020, 7, 31)
        )
        # 2020 is a leap year: Jan-Mar 91 days, Apr-Jun 91 days, July 31 days.
        assert [(s.shipper, s.first_day, s.last_day, s.days) for s in shares] == [
            (s1, date(2020, 1, 1), date(2020, 7, 31), 91 + 31),
            (s2, date(2020, 4, 1), date(2020, 6, 30), 91),
        ]
        assert sum(s.days for s in shares) == 213

    def test_gap_days_belong_to_nobody(self, session: Session) -> None:
        supplier, gt, s1, _ = self._gas(session)
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s1,
            effective_from=date(2020, 1, 10),
            effective_to=date(2020, 1, 19),
        )
        shares = service.shippers_over(
            session, mpxn=MPRN, start=date(2020, 1, 1), end=date(2020, 1, 31)
        )
        assert [(s.first_day, s.last_day, s.days) for s in shares] == [
            (date(2020, 1, 10), date(2020, 1, 19), 10)
        ]

    def test_period_outside_the_history_is_empty(self, session: Session) -> None:
        supplier, gt, s1, _ = self._gas(session)
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=s1,
            effective_from=date(2020, 1, 1),
            effective_to=date(2020, 12, 31),
        )
        for start, end in (
            (date(2019, 1, 1), date(2019, 12, 31)),
            (date(2021, 1, 1), date(2021, 1, 31)),
        ):
            assert service.shippers_over(session, mpxn=MPRN, start=start, end=end) == []

    def test_electricity_has_no_shippers_and_a_backwards_period_is_refused(
        self, session: Session
    ) -> None:
        supplier, _, dno = _parties(session)
        mpan = make_mpan_for(1)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        assert (
            service.shippers_over(
                session, mpxn=mpan, start=date(2020, 1, 1), end=date(2020, 12, 31)
            )
            == []
        )
        with pytest.raises(InvalidInput) as caught:
            service.shippers_over(session, mpxn=mpan, start=date(2020, 2, 1), end=date(2020, 1, 1))
        assert caught.value.code == "bad_period"


class TestVisibleHistory:
    def test_each_party_sees_only_the_periods_it_took_part_in(self, session: Session) -> None:
        a, b, dno = _parties(session)
        outsider = make_party(session, roles=("IS",))
        mpan = make_mpan_for(1)
        first = make_registration(
            session, mpxn=mpan, supplier=a, network=dno, effective_from=date(2020, 1, 1)
        )
        second = make_registration(
            session, mpxn=mpan, supplier=b, network=dno, effective_from=date(2021, 1, 1)
        )

        def visible(party: Party) -> list[int]:
            actor = actor_for(make_api_login(session, party=party).user, "api")
            return [r.id for r in service.visible_history(session, actor=actor, mpxn=mpan)]

        assert visible(a) == [first.id]
        assert visible(b) == [second.id]
        assert visible(dno) == [first.id, second.id]
        assert [r.id for r in service.visible_history(session, actor=SYSTEM, mpxn=mpan)] == [
            first.id,
            second.id,
        ]
        with pytest.raises(NotFound):
            visible(outsider)

    def test_unknown_meter_point_is_not_found_even_for_the_operator(self, session: Session) -> None:
        with pytest.raises(NotFound):
            service.visible_history(session, actor=SYSTEM, mpxn=make_mpan_for(5))


class TestRegistrationsInForce:
    def test_each_meter_point_once_with_whoever_held_it_that_day(self, session: Session) -> None:
        old, new, dno = _parties(session)
        gained, ended, later = make_mpan_for(21), make_mpan_for(22), make_mpan_for(23)
        make_registration(session, mpxn=gained, supplier=old, network=dno)
        make_registration(
            session, mpxn=gained, supplier=new, network=dno, effective_from=date(2024, 6, 1)
        )
        make_registration(
            session, mpxn=ended, supplier=old, network=dno, effective_to=date(2024, 5, 31)
        )
        make_registration(
            session, mpxn=later, supplier=old, network=dno, effective_from=date(2024, 6, 2)
        )

        def on(day: date) -> set[tuple[str, int, int]]:
            return set(service.registrations_in_force(session, day=day))

        assert on(date(2024, 5, 31)) == {(gained, old.id, dno.id), (ended, old.id, dno.id)}
        assert on(date(2024, 6, 1)) == {(gained, new.id, dno.id)}
        assert on(date(2024, 6, 2)) == {(gained, new.id, dno.id), (later, old.id, dno.id)}

    def test_agrees_with_registered_on(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        mpan = make_mpan_for(24)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        [(mpxn, supplier_id, network_id)] = service.registrations_in_force(
            session, day=date(2024, 1, 1)
        )
        row = service.registered_on(session, mpxn=mpan, day=date(2024, 1, 1))
        assert row is not None
        assert (mpxn, supplier_id, network_id) == (
            row.mpxn,
            row.supplier_party_id,
            row.network_operator_party_id,
        )


class TestHolds:
    def test_supplier_network_and_appointed_agent_hold_others_do_not(
        self, session: Session
    ) -> None:
        supplier, stranger, dno = _parties(session)
        agent = make_party(session, roles=("RSA",))
        make_appointment(session, supplier=supplier, agent=agent, valid_from=date(2024, 3, 1))
        mpan = make_mpan_for(25)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        day = date(2024, 3, 1)
        for party, expected in ((supplier, True), (dno, True), (agent, True), (stranger, False)):
            assert service.holds(session, mpxn=mpan, party_id=party.id, day=day) is expected
        assert not service.holds(session, mpxn=mpan, party_id=agent.id, day=date(2024, 2, 29))


class TestEnsureMeterPoint:
    def test_a_new_meter_point_takes_the_fuel_it_is_given(self, session: Session) -> None:
        point = service.ensure_meter_point(session, mpxn=MPRN, fuel=Fuel.GAS)
        assert (point.mpxn, point.fuel) == (MPRN, "gas")
        assert service.meter_point(session, mpxn=MPRN) is point

    def test_the_fuel_given_wins_over_the_shape_of_the_number(self, session: Session) -> None:
        # What the caller knows (the device is a gas meter) is data; the MPxN's length a guess.
        mpan = make_mpan_for(29)
        assert service.ensure_meter_point(session, mpxn=mpan, fuel=Fuel.GAS).fuel == "gas"

    def test_without_a_fuel_an_mpan_core_is_electricity_and_an_mprn_gas(
        self, session: Session
    ) -> None:
        mpan = make_mpan_for(26)
        assert service.ensure_meter_point(session, mpxn=mpan).fuel == "electricity"
        assert service.ensure_meter_point(session, mpxn=MPRN).fuel == "gas"

    def test_a_known_meter_point_keeps_its_fuel(self, session: Session) -> None:
        mpan = make_mpan_for(27)
        service.ensure_meter_point(session, mpxn=mpan)
        again = service.ensure_meter_point(session, mpxn=mpan, fuel=Fuel.GAS)
        assert again.fuel == "electricity"
        assert _count(session, MeterPoint) == 1

    def test_an_unknown_meter_point_is_none(self, session: Session) -> None:
        assert service.meter_point(session, mpxn=MPRN) is None


class TestBulkLoad:
    def test_loaded_rows_read_back_as_registered(self, session: Session) -> None:
        supplier, _, dno = _parties(session)
        mpan = make_mpan_for(28)
        encode_day, _ = bulk.encoders(session)
        service.load_meter_points(session, rows=[(mpan, "electricity", "AB")])
        service.load_registrations(
            session, rows=[(mpan, supplier.id, None, dno.id, encode_day(date(2024, 1, 1)), None)]
        )
        session.expire_all()
        row = service.registered_on(session, mpxn=mpan, day=date(2024, 6, 1))
        assert row is not None and (row.supplier, row.network_operator) == (supplier, dno)
        assert service.registered_on(session, mpxn=mpan, day=date(2023, 12, 31)) is None
