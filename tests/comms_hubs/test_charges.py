"""The custody ledger and the monthly charge statements drawn from it: a month's statement agrees
with the custody chain day by day, the tariff in force each day prices it, the receiver holds a
hub from the receipt day, corrections land in the next statement, and a statement drawn again is
the same bytes."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.comms_hubs import service as hubs
from meterhub.comms_hubs import statements
from meterhub.errors import InvalidInput, NotFound, PermissionDenied
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import StatusEvent
from meterhub.parties.models import Party
from tests.comms_hubs.charges_world import (
    AFTER,
    OCT,
    SET_AT,
    Estate,
    at,
    estate,
    hub,
    party_actor,
)
from tests.factories import SYSTEM, make_party

__all__ = ["estate"]


def stock_by_chain(session: Session, hub_ids: list[str], month: str) -> Counter[tuple[str, date]]:
    """Hubs held as stock per (party, day), worked out from each hub's custody chain alone."""
    start, end = statements.month_bounds(month)
    held: Counter[tuple[str, date]] = Counter()
    for device_id in hub_ids:
        chain = hubs.custody_chain(session, actor=SYSTEM, device_id=device_id)
        day = start
        while day < end:
            upto = [s for s in chain if s.day <= day]
            if upto and upto[-1].in_stock and upto[-1].party:
                held[(upto[-1].party, day)] += 1
            day += timedelta(days=1)
    return held


class TestCustodyLedger:
    def test_the_chain_names_each_step_with_party_user_time_and_reason(
        self, session: Session, estate: Estate
    ) -> None:
        h1, _, h3 = estate.hubs
        chain = hubs.custody_chain(session, actor=SYSTEM, device_id=h1.device_id)
        assert [(s.kind, s.party, s.from_party, s.day) for s in chain] == [
            (hubs.StepKind.DELIVERY, "SUPA", None, date(2026, 10, 3)),
            (hubs.StepKind.TRANSFER, "SUPB", "SUPA", date(2026, 10, 10)),
        ]
        assert chain[1].user == "system" and chain[1].reason == "MP140"
        returned = hubs.custody_chain(session, actor=SYSTEM, device_id=h3.device_id)
        assert [(s.kind, s.party, s.status) for s in returned] == [
            (hubs.StepKind.DELIVERY, "SUPA", "Pending"),
            (hubs.StepKind.RETURN, "SUPA", "Withdrawn"),
            (hubs.StepKind.RETURN, "DCC", "Withdrawn"),
        ]
        assert returned[1].user == "clerk@supa"

    def test_the_receiver_holds_a_hub_from_the_receipt_day(
        self, session: Session, estate: Estate
    ) -> None:
        h1 = estate.hubs[0].device_id
        before = hubs.holder_on(session, actor=SYSTEM, device_id=h1, day=date(2026, 10, 9))
        on = hubs.holder_on(session, actor=SYSTEM, device_id=h1, day=date(2026, 10, 10))
        assert before is not None and before.party == "SUPA"
        assert on is not None and on.party == "SUPB" and on.in_stock
        assert hubs.holder_on(session, actor=SYSTEM, device_id=h1, day=date(2026, 10, 2)) is None

    def test_what_a_party_held_on_a_day(self, session: Session, estate: Estate) -> None:
        h1, h2, h3 = (h.device_id for h in estate.hubs)

        def held(party: Party, day: int) -> list[tuple[str, bool]]:
            got = hubs.holdings_on(
                session, actor=SYSTEM, party_id=party.id, day=date(2026, 10, day)
            )
            return [(h.device_id, h.in_stock) for h in got]

        assert held(estate.a, 9) == [(h1, True), (h2, True), (h3, True)]
        assert held(estate.a, 10) == [(h2, True), (h3, True)]
        assert held(estate.a, 15) == [(h2, False), (h3, True)]
        assert held(estate.a, 20) == [(h2, False)]
        assert held(estate.b, 10) == [(h1, True)]
        assert held(estate.dcc, 20) == [(h3, False)]

    def test_another_partys_hub_and_holdings_are_not_found(
        self, session: Session, estate: Estate
    ) -> None:
        h1, h2, _ = (h.device_id for h in estate.hubs)
        other = make_party(session, code="SUPC")
        with pytest.raises(NotFound):
            hubs.custody_chain(session, actor=party_actor(other), device_id=h1)
        with pytest.raises(NotFound):
            hubs.holder_on(session, actor=party_actor(estate.b), device_id=h2, day=date.today())
        with pytest.raises(NotFound):
            hubs.holdings_on(
                session, actor=party_actor(estate.b), party_id=estate.a.id, day=date.today()
            )
        # A once held h1: it still reads the chain of a hub it passed on.
        assert len(hubs.custody_chain(session, actor=party_actor(estate.a), device_id=h1)) == 2


class TestTariff:
    def test_a_tariff_cannot_be_set_for_a_day_gone(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as refused:
            hubs.set_tariff(
                session,
                actor=SYSTEM,
                kind="stock",
                effective_from=date(2026, 8, 31),
                amount_millipence=5,
                reason="back-dated",
                now=SET_AT,
            )
        assert refused.value.code == "tariff_in_past"

    def test_only_the_operator_sets_it_and_each_change_is_audited(self, session: Session) -> None:
        a = make_party(session, code="SUPA")
        with pytest.raises(PermissionDenied):
            hubs.set_tariff(
                session,
                actor=party_actor(a),
                kind="stock",
                effective_from=date(2026, 9, 1),
                amount_millipence=5,
                reason="cheaper",
                now=SET_AT,
            )
        figure = hubs.set_tariff(
            session,
            actor=SYSTEM,
            kind="no_fault_return",
            effective_from=date(2026, 9, 2),
            amount_millipence=700_000,
            reason="new pallet price",
            now=SET_AT,
        )
        assert [
            e.action
            for e in entries_for(session, object_type="hub_tariff", object_id=str(figure.id))
        ] == ["hub.tariff_set"]
        in_force = hubs.tariff_in_force(session, kind="no_fault_return", day=date(2026, 9, 1))
        assert in_force.amount_millipence == 669_643  # the seeded default, £6,000 / 896
        later = hubs.tariff_in_force(session, kind="no_fault_return", day=date(2026, 9, 2))
        assert later.amount_millipence == 700_000

    def test_a_return_is_charged_at_the_tariff_in_force_that_day(
        self, session: Session, estate: Estate
    ) -> None:
        hubs.set_tariff(
            session,
            actor=SYSTEM,
            kind="fault_return",
            effective_from=date(2026, 10, 21),
            amount_millipence=250_000,
            reason="faults",
            now=at(20),
        )
        h = hub(session, 9, estate.a, at(20))
        charged = hubs.record_return(
            session,
            actor=party_actor(estate.a),
            device=h,
            kind="fault",
            reason="dead",
            request_id=None,
            dcc_party_id=estate.dcc.id,
            now=at(21),
        )
        assert charged.charge_pence == 250
        assert (
            estate.hubs
            and hubs.tariff_in_force(
                session, kind="fault_return", day=date(2026, 10, 20)
            ).amount_millipence
            == 669_643
        )


class TestStatements:
    def test_the_months_statement_agrees_with_the_custody_ledger(
        self, session: Session, estate: Estate
    ) -> None:
        by_chain = stock_by_chain(session, [h.device_id for h in estate.hubs], OCT)
        got = statements.statements_for_month(session, month=OCT, now=AFTER)
        assert [s.party_code for s in got] == ["SUPA", "SUPB"]
        by_statement = Counter(
            {
                (s.party_code, line.day): line.quantity
                for s in got
                for line in s.lines
                if line.section == "stock"
            }
        )
        assert by_statement == by_chain
        a, b = got
        # A: 3 hubs on the 3rd-9th, 2 on the 10th-14th, 1 on the 15th-19th (1p to the 15th,
        # 2p from the 16th); then the return at £6,000 / 896.
        assert a.section_total("stock") == 3 * 7 + 2 * 5 + 1 * 1 + 2 * 4
        assert [(r.quantity, r.amount_pence) for r in a.lines if r.section == "return"] == [
            (1, 670)
        ]
        # B from the receipt day, the 10th, to the 31st: 6 days at 1p, 16 at 2p.
        assert b.stock_hub_days == 22 and b.total_pence == 6 + 32

    def test_one_partys_statement_is_its_statement_among_all(
        self, session: Session, estate: Estate
    ) -> None:
        every = statements.statements_for_month(session, month=OCT, now=AFTER)
        for party in (estate.a, estate.b, estate.dcc):
            alone = statements.statement_for(session, party_id=party.id, month=OCT, now=AFTER)
            among = [s for s in every if s.party_id == party.id]
            assert alone.lines == (among[0].lines if among else ())

    def test_a_tariff_change_mid_month_prices_each_day_at_its_rate(
        self, session: Session, estate: Estate
    ) -> None:
        [b] = statements.statements_for_month(session, month=OCT, party_id=estate.b.id, now=AFTER)
        rates = {line.day.day: line.unit_millipence for line in b.lines}
        assert rates[15] == 1000 and rates[16] == 2000

    def test_an_adjustment_shows_next_month_and_the_past_statement_is_the_same_bytes(
        self, session: Session, estate: Estate
    ) -> None:
        october = statements.statement_for(session, party_id=estate.a.id, month=OCT, now=AFTER)
        csv_before = statements.statement_csv(october)
        pdf_before = statements.statement_pdf(october)
        hubs.record_charge_adjustment(
            session,
            party_id=estate.a.id,
            amount_pence=-670,
            reason="dispute upheld: hub returned in error",
            reference="DSP-1",
            actor=SYSTEM,
            now=at(5, month=11),
        )
        again = statements.statement_for(session, party_id=estate.a.id, month=OCT, now=AFTER)
        assert statements.statement_csv(again) == csv_before
        assert statements.statement_pdf(again) == pdf_before
        assert pdf_before.startswith(b"%PDF")
        november = statements.statement_for(
            session, party_id=estate.a.id, month="2026-11", now=AFTER
        )
        [line] = [line for line in november.lines if line.section == "adjustment"]
        assert (line.amount_pence, line.reference) == (-670, "DSP-1")
        assert b"DSP-1" in statements.statement_csv(november)

    def test_a_month_not_ended_has_no_statement(self, session: Session, estate: Estate) -> None:
        with pytest.raises(InvalidInput) as refused:
            statements.statements_for_month(session, month=OCT, now=at(31, 23))
        assert refused.value.code == "month_not_ended"

    def test_only_the_operator_adjusts_charges(self, session: Session, estate: Estate) -> None:
        with pytest.raises(PermissionDenied):
            hubs.record_charge_adjustment(
                session,
                party_id=estate.a.id,
                amount_pence=-100,
                reason="mine",
                reference="",
                actor=party_actor(estate.a),
                now=at(5, month=11),
            )


class TestStatementsReadTheWholeHistory:
    def test_stock_from_before_the_month_counts_and_hubs_gone_before_it_do_not(
        self, session: Session, estate: Estate
    ) -> None:
        """A hub delivered in August and still stock is charged every October day; one
        installed in September is charged nothing; one A passes on in November was A's
        through October."""
        kept = hub(session, 20, estate.a, at(5, month=8))
        gone = hub(session, 21, estate.a, at(5, month=8))
        inventory.install_hub(
            session,
            actor=party_actor(estate.a),
            device=gone,
            event=StatusEvent.INSTALL_AND_COMMISSION,
            mpxn=None,
            reason="8.14.1",
            now=at(9, month=9),
        )
        later = hub(session, 22, estate.a, at(30, month=9))
        inventory.change_owner(
            session,
            actor=SYSTEM,
            device_id=later.device_id,
            owner=estate.b.code,
            reason="MP140",
            now=at(4, month=11),
        )
        session.flush()
        ids = [h.device_id for h in (*estate.hubs, kept, gone, later)]
        by_chain = Counter(
            {key: n for key, n in stock_by_chain(session, ids, OCT).items() if key[0] == "SUPA"}
        )
        [a] = statements.statements_for_month(session, month=OCT, party_id=estate.a.id, now=AFTER)
        by_statement = Counter(
            {(a.party_code, li.day): li.quantity for li in a.lines if li.section == "stock"}
        )
        assert by_statement == by_chain
        assert a.stock_hub_days == 36 + 31 + 31
