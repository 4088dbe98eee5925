"""The settlement ledger: accepted theft shares post an energy adjustment and an invoice line
at the unit rate in force, once per key; a withdrawn share is reversed, an amended one reversed
and posted again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import entries_for
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from meterhub.settlement import service
from tests.factories import SYSTEM, make_api_login, make_party, make_registration

MPRN = "7512345678"
T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


@dataclass
class Gas:
    shipper: Party
    other: Party


@pytest.fixture
def gas(session: Session) -> Gas:
    supplier = make_party(session, code="GSUP", roles=("GS",))
    network = make_party(session, code="DNO", roles=("GT",))
    shipper = make_party(session, code="SHIPA", roles=("SHIPPER",))
    other = make_party(session, code="SHIPB", roles=("SHIPPER",))
    make_registration(session, mpxn=MPRN, supplier=supplier, network=network, shipper=shipper)
    return Gas(shipper, other)


def post(
    session: Session, key: str = "SUT-1/SHIPA", kwh: str = "1234.567", **kw: object
) -> service.Posting:
    fields: dict[str, object] = {
        "mprn": MPRN,
        "period_start": date(2024, 1, 1),
        "period_end": date(2024, 1, 31),
        "energy_kwh": Decimal(kwh),
        "shipper_code": "SHIPA",
        "now": T0,
        **kw,
    }
    return service.post_adjustment(session, actor=SYSTEM, posting_key=key, **fields)  # type: ignore[arg-type]


class TestRates:
    def test_the_default_applies_until_the_operator_sets_a_rate(
        self, session: Session, gas: Gas
    ) -> None:
        assert service.unit_rate_on(session, day=date(2024, 3, 4)).pence_per_kwh == Decimal("3.5")
        service.set_unit_rate(
            session,
            actor=SYSTEM,
            effective_from=date(2024, 3, 1),
            pence_per_kwh=Decimal("4.125"),
            now=T0,
        )
        service.set_unit_rate(
            session,
            actor=SYSTEM,
            effective_from=date(2024, 4, 1),
            pence_per_kwh=Decimal("5"),
            now=T0,
        )
        assert service.unit_rate_on(session, day=date(2024, 2, 29)).effective_from is None
        assert service.unit_rate_on(session, day=date(2024, 3, 31)).pence_per_mwh == 4125
        assert service.unit_rate_on(session, day=date(2024, 4, 1)).pence_per_mwh == 5000
        assert entries_for(session, object_type="unit_rate", object_id="2024-03-01")

    @pytest.mark.parametrize("rate", ["0", "-1", "1.2345", "NaN"])
    def test_a_rate_must_be_positive_to_the_tenth_of_a_penny_per_mwh(
        self, session: Session, rate: str
    ) -> None:
        with pytest.raises(InvalidInput):
            service.set_unit_rate(
                session,
                actor=SYSTEM,
                effective_from=date(2024, 1, 1),
                pence_per_kwh=Decimal(rate),
                now=T0,
            )

    def test_only_the_operator_sets_rates(self, session: Session, gas: Gas) -> None:
        login = make_api_login(session, party=gas.shipper)
        with pytest.raises(PermissionDenied):
            service.set_unit_rate(
                session,
                actor=actor_for(login.user, "api"),
                effective_from=date(2024, 1, 1),
                pence_per_kwh=Decimal("1"),
                now=T0,
            )


class TestPosting:
    def test_an_accepted_share_posts_energy_and_an_invoice_line_at_the_rate_in_force(
        self, session: Session, gas: Gas
    ) -> None:
        service.set_unit_rate(
            session,
            actor=SYSTEM,
            effective_from=date(2024, 3, 1),
            pence_per_kwh=Decimal("4.125"),
            now=T0,
        )
        posting = post(session)
        assert posting.created
        assert posting.adjustment.energy_wh == 1_234_567
        line = posting.invoice_line
        assert (line.charge_type, line.pence_per_mwh, line.rate_effective_from) == (
            "SUT",
            4125,
            date(2024, 3, 1),
        )
        assert line.amount_pence == 5093  # 1234.567 kWh x 4.125 p = 5092.59 p
        assert (
            entries_for(session, object_type="settlement_adjustment", object_id="SUT-1/SHIPA")[
                -1
            ].action
            == "settlement.posted"
        )

    def test_the_same_key_posts_nothing_more(self, session: Session, gas: Gas) -> None:
        first = post(session)
        again = post(session)
        assert not again.created
        assert again.adjustment.id == first.adjustment.id
        assert len(service.ledger(session, actor=SYSTEM, mprn=MPRN)) == 1
        assert len(service.invoice_lines(session, actor=SYSTEM, shipper_code="SHIPA")) == 1

    def test_the_same_key_with_other_figures_is_a_conflict(
        self, session: Session, gas: Gas
    ) -> None:
        post(session)
        with pytest.raises(Conflict) as refused:
            post(session, kwh="99")
        assert refused.value.code == "posting_key_reused"

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"kwh": "0"}, "bad_energy"),
            ({"kwh": "1.2345"}, "bad_energy"),
            ({"period_end": date(2023, 12, 31)}, "bad_period"),
            ({"mprn": "7500000000"}, "unknown_mprn"),
            ({"shipper_code": "GSUP"}, "not_a_shipper"),
            ({"key": " "}, "bad_posting_key"),
        ],
    )
    def test_refuses_what_cannot_be_posted(
        self, session: Session, gas: Gas, changes: dict[str, object], code: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            post(session, **changes)  # type: ignore[arg-type]
        assert refused.value.code == code
        assert service.ledger(session, actor=SYSTEM, mprn=MPRN) == []


class TestReversal:
    def test_a_withdrawn_share_is_reversed_once_with_a_credit_of_what_was_charged(
        self, session: Session, gas: Gas
    ) -> None:
        original = post(session)
        later = datetime(2024, 5, 1, tzinfo=UTC)
        service.set_unit_rate(
            session,
            actor=SYSTEM,
            effective_from=date(2024, 5, 1),
            pence_per_kwh=Decimal("9"),
            now=later,
        )
        reversal = service.reverse_adjustment(
            session, actor=SYSTEM, posting_key="SUT-1/SHIPA", reason="withdrawn", now=later
        )
        assert reversal.adjustment.energy_wh == -original.adjustment.energy_wh
        assert reversal.adjustment.reverses_id == original.adjustment.id
        assert reversal.invoice_line.amount_pence == -original.invoice_line.amount_pence
        again = service.reverse_adjustment(
            session, actor=SYSTEM, posting_key="SUT-1/SHIPA", reason="withdrawn", now=later
        )
        assert again.adjustment.id == reversal.adjustment.id
        lines = service.invoice_lines(session, actor=SYSTEM, shipper_code="SHIPA")
        assert sum(line.amount_pence for line in lines) == 0
        assert sum(a.energy_wh for a in service.ledger(session, actor=SYSTEM, mprn=MPRN)) == 0

    def test_an_unknown_posting_is_not_found(self, session: Session, gas: Gas) -> None:
        with pytest.raises(NotFound):
            service.reverse_adjustment(
                session, actor=SYSTEM, posting_key="nothing", reason="", now=T0
            )

    def test_an_amended_share_nets_to_the_amended_energy(self, session: Session, gas: Gas) -> None:
        post(session, kwh="1000")
        amended = service.amend_adjustment(
            session,
            actor=SYSTEM,
            posting_key="SUT-1/SHIPA",
            amended_key="SUT-1/SHIPA/amended",
            energy_kwh=Decimal("600"),
            reason="operator amended",
            now=T0,
        )
        repeated = service.amend_adjustment(
            session,
            actor=SYSTEM,
            posting_key="SUT-1/SHIPA",
            amended_key="SUT-1/SHIPA/amended",
            energy_kwh=Decimal("600"),
            reason="operator amended",
            now=T0,
        )
        assert not repeated.created and repeated.adjustment.id == amended.adjustment.id
        entries = service.ledger(session, actor=SYSTEM, mprn=MPRN)
        assert len(entries) == 3
        assert sum(a.energy_wh for a in entries) == 600_000


class TestScoping:
    def test_a_shipper_reads_its_own_lines_and_not_anothers(
        self, session: Session, gas: Gas
    ) -> None:
        post(session)
        mine = actor_for(make_api_login(session, party=gas.shipper).user, "api")
        theirs = actor_for(make_api_login(session, party=gas.other).user, "api")
        assert len(service.invoice_lines(session, actor=mine, shipper_code="SHIPA")) == 1
        with pytest.raises(NotFound):
            service.invoice_lines(session, actor=theirs, shipper_code="SHIPA")
        assert service.ledger(session, actor=theirs, mprn=MPRN) == []
        with pytest.raises(PermissionDenied):
            service.post_adjustment(
                session,
                actor=mine,
                posting_key="SUT-2/SHIPA",
                mprn=MPRN,
                period_start=date(2024, 1, 1),
                period_end=date(2024, 1, 2),
                energy_kwh=Decimal("1"),
                shipper_code="SHIPA",
                now=T0,
            )


class TestPostingManyShares:
    def share(self, gas: Gas, key: str, wh: int = 1_500) -> service.Share:
        return service.Share(
            posting_key=key,
            mprn=MPRN,
            period_start=date(2024, 1, 1),
            period_end=date(2024, 1, 31),
            energy_wh=wh,
            shipper_party_id=gas.shipper.id,
        )

    def test_each_share_is_posted_and_invoiced_once(self, session: Session, gas: Gas) -> None:
        shares = [self.share(gas, f"SUT-{n}/SHIPA") for n in range(1, 8)]
        assert service.post_shares(session, actor=SYSTEM, shares=shares, now=T0) == 7
        assert service.post_shares(session, actor=SYSTEM, shares=shares, now=T0) == 0
        lines = service.invoice_lines(session, actor=SYSTEM, shipper_code="SHIPA")
        assert [line.energy_wh for line in lines] == [1_500] * 7
        assert {line.amount_pence for line in lines} == {service.amount_pence(1_500, 3_500)}
        assert len(service.ledger(session, actor=SYSTEM, mprn=MPRN)) == 7
        assert entries_for(session, object_type="settlement_adjustment", object_id="SUT-3/SHIPA")

    def test_a_key_posted_with_other_figures_is_a_conflict(
        self, session: Session, gas: Gas
    ) -> None:
        service.post_shares(session, actor=SYSTEM, shares=[self.share(gas, "SUT-1/SHIPA")], now=T0)
        with pytest.raises(Conflict):
            service.post_shares(
                session, actor=SYSTEM, shares=[self.share(gas, "SUT-1/SHIPA", wh=9)], now=T0
            )

    def test_only_the_operator_posts_and_only_to_shippers(self, session: Session, gas: Gas) -> None:
        shipper = actor_for(make_api_login(session, party=gas.shipper).user, "api")
        with pytest.raises(PermissionDenied):
            service.post_shares(session, actor=shipper, shares=[self.share(gas, "K")], now=T0)
        supplier = make_party(session, code="NOTSHIP", roles=("GS",))
        bad = service.Share("K", MPRN, date(2024, 1, 1), date(2024, 1, 2), 5, supplier.id)
        with pytest.raises(InvalidInput):
            service.post_shares(session, actor=SYSTEM, shares=[bad], now=T0)
