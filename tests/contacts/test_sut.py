"""Supplier Theft of Gas: RECCo's claim checked field by field, split between the shippers by
days held, accepted, disputed or deemed accepted, and posted to settlement exactly once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings, get_settings
from meterhub.contacts import service as contacts
from meterhub.contacts.catalogue import contact_type
from meterhub.contacts.definitions import PartMoved, StepTaken
from meterhub.contacts.sut import RESPONSE_DAYS, SUPPLIER_THEFT_OF_GAS, split_by_days
from meterhub.db.session import begin_write, get_sessionmaker
from meterhub.errors import InvalidInput, InvalidTransition, PermissionDenied
from meterhub.kit.business_days import deadline_after
from meterhub.notifications import service as notifications
from meterhub.settlement import service as settlement
from tests.contacts.conftest import MPRN, GasWorld, TheftWorld
from tests.contacts.sut_world import DEADLINE, LOGGED, log_claim, sut_values


def refusal(session: Session, world: TheftWorld, **overrides: object) -> dict[str, str]:
    """The field-by-field reasons a claim with ``overrides`` is refused on submit."""
    actor = world.actor(world.recco_login)
    draft = contacts.save_draft(
        session, actor=actor, contact_type_code="SUT", values=sut_values(**overrides), now=LOGGED
    )
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        contacts.submit(session, actor=actor, contact_id=draft.id, now=LOGGED)
    session.rollback()
    assert refused.value.code == "invalid_contact"
    assert isinstance(refused.value.details, dict)
    return dict(refused.value.details)


def postings(session: Session, world: TheftWorld) -> list[tuple[str, int, str]]:
    operator = world.actor(world.gas.operator_login)
    codes = {world.gas.shipper_a.id: "SHPA", world.gas.shipper_b.id: "SHPB"}
    return [
        (a.posting_key, a.energy_wh, codes[a.shipper_party_id])
        for a in settlement.ledger(session, actor=operator, mprn=MPRN)
    ]


def invoiced(session: Session, world: TheftWorld, shipper: str) -> list[int]:
    operator = world.actor(world.gas.operator_login)
    return [
        line.energy_wh
        for line in settlement.invoice_lines(session, actor=operator, shipper_code=shipper)
    ]


def moved(result: contacts.SweepResult) -> dict[tuple[str, str], int]:
    return {key: n for key, n in result.moved.items() if n}


def part_of(session: Session, world: TheftWorld, contact_id: int, code: str) -> contacts.PartView:
    view = contacts.view(
        session, actor=world.actor(world.gas.operator_login), contact_id=contact_id, now=LOGGED
    )
    return next(p for p in view.parts if p.party_code == code)


class TestValidation:
    def test_only_recco_raises_a_claim(self, session: Session, theft: TheftWorld) -> None:
        with pytest.raises(PermissionDenied):
            contacts.save_draft(
                session,
                actor=theft.actor(theft.gas.dn_login),
                contact_type_code="SUT",
                values=sut_values(),
                now=LOGGED,
            )

    def test_an_unknown_or_electricity_mprn_is_refused(
        self, session: Session, theft: TheftWorld
    ) -> None:
        assert refusal(session, theft, mprn="7654321")["mprn"] == (
            "is not a meter point the hub knows"
        )
        # An electricity meter point's MPAN is 13 digits: refused by its shape already.
        with pytest.raises(InvalidInput) as refused:
            contacts.save_draft(
                session,
                actor=theft.actor(theft.recco_login),
                contact_type_code="SUT",
                values=sut_values(mprn="1200000000009"),
                now=LOGGED,
            )
        assert refused.value.details == {"mprn": "must be at most 10 characters"}

    def test_the_period_is_in_the_past_and_not_back_to_front(
        self, session: Session, theft: TheftWorld
    ) -> None:
        assert refusal(session, theft, theft_to="2024-05-31")["theft_to"] == (
            "is before the theft period starts"
        )
        assert refusal(session, theft, theft_to="2024-08-20")["theft_to"] == (
            "must be in the past (before today)"
        )

    def test_the_period_lies_within_the_registration_history(
        self, session: Session, theft: TheftWorld
    ) -> None:
        # The meter point was first registered on 1 January 2023.
        assert refusal(session, theft, theft_from="2022-12-25")["theft_from"] == (
            "is outside the meter point's registration history: no shipper on 2022-12-25"
        )

    def test_an_implausible_energy_is_refused_by_the_operators_ceiling(
        self, session: Session, theft: TheftWorld, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # 61 days at the default 1,000 kWh a day: 61,000 kWh at most.
        assert refusal(session, theft, estimated_kwh=61_001)["estimated_kwh"] == (
            "is not plausible: more than 1,000 kWh a day over 61 days (at most 61,000 kWh)"
        )
        monkeypatch.setenv("METERHUB_SUT_MAX_KWH_PER_DAY", "50")
        get_settings.cache_clear()
        assert "estimated_kwh" in refusal(session, theft, estimated_kwh=3_051)
        assert log_claim(session, theft, estimated_kwh=3_050).reference == "SUT-000001"

    def test_the_reporting_supplier_must_be_a_gas_supplier(
        self, session: Session, theft: TheftWorld
    ) -> None:
        assert refusal(session, theft, reporting_supplier="SHPA")["reporting_supplier"] == (
            "is not a gas supplier the hub knows"
        )

    def test_no_other_claim_may_overlap_on_the_mprn(
        self, session: Session, theft: TheftWorld
    ) -> None:
        log_claim(session, theft)
        assert refusal(session, theft, theft_from="2024-07-31", theft_to="2024-08-10")[
            "theft_from"
        ] == ("overlaps claim SUT-000001 (2024-06-01 to 2024-07-31) on this MPRN")
        # Back to back is no overlap; a refused submit did not use up a reference.
        assert log_claim(session, theft, theft_from="2024-05-01", theft_to="2024-05-31").reference
        assert contacts.contact_by_reference(
            session, actor=theft.actor(theft.recco_login), reference="SUT-000002"
        )

    def test_several_fields_are_refused_at_once(self, session: Session, theft: TheftWorld) -> None:
        errors = refusal(session, theft, theft_to="2024-09-01", reporting_supplier="NOBODY")
        assert set(errors) == {"theft_to", "reporting_supplier"}


class TestRouting:
    def test_the_claim_is_split_between_both_shippers_by_days_held(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact = log_claim(session, theft)
        a = part_of(session, theft, contact.id, "SHPA")
        b = part_of(session, theft, contact.id, "SHPB")
        assert (a.share["days"], a.share["energy_wh"]) == (30, 3_000_000)
        assert (b.share["days"], b.share["energy_wh"]) == (31, 3_100_000)
        assert a.share_words == "30 days (2024-06-01 to 2024-06-30), 3,000.000 kWh"
        assert a.respond_by == b.respond_by == DEADLINE
        assert a.status_words == "Awaiting the shipper's acceptance or dispute"
        for login in (theft.gas.shipper_a_login, theft.gas.shipper_b_login):
            [told] = notifications.inbox(session, actor=theft.actor(login))
            assert told.subject == "Supplier Theft of Gas SUT-000001 raised for you"

    def test_shares_add_up_exactly_with_the_remainder_to_the_largest(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact = log_claim(session, theft, estimated_kwh=1000)
        a = part_of(session, theft, contact.id, "SHPA").share["energy_wh"]
        b = part_of(session, theft, contact.id, "SHPB").share["energy_wh"]
        # 30/61 and 31/61 of 1,000,000 Wh: 491,803.28 and 508,196.72; the one Wh left over
        # goes to the larger remainder.
        assert (a, b) == (491_803, 508_197)

    def test_split_by_days_always_sums_to_the_total(self) -> None:
        for total in (1, 2, 7, 999_999, 10**9 + 7):
            for days in ([1, 1, 1], [30, 31], [1, 364], [5]):
                shares = split_by_days(total, days)
                assert sum(shares) == total
                assert all(s >= 0 for s in shares)
        assert split_by_days(2, [1, 1, 1]) == [1, 1, 0]  # ties: the earlier shipper first

    def test_the_window_is_the_types_setting(self) -> None:
        assert SUPPLIER_THEFT_OF_GAS.windows == {"response": RESPONSE_DAYS} == {"response": 10}
        assert contact_type("sut") is SUPPLIER_THEFT_OF_GAS


class TestAcceptance:
    def test_an_accepted_share_is_posted_and_invoiced_once(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact = log_claim(session, theft)
        shipper = theft.actor(theft.gas.shipper_a_login)
        contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=LOGGED)
        session.commit()
        assert postings(session, theft) == [("SUT-000001/SHPA", 3_000_000, "SHPA")]
        assert invoiced(session, theft, "SHPA") == [3_000_000]
        [told] = notifications.inbox(session, actor=theft.actor(theft.recco_login))
        assert told.subject == "Supplier Theft of Gas SUT-000001: Accepted: posted to settlement"
        with pytest.raises(InvalidTransition):
            contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=LOGGED)
        session.rollback()
        assert moved(contacts.sweep(session, now=DEADLINE)) == {("SUT", "accept"): 1}  # SHPB
        assert sorted(postings(session, theft)) == [
            ("SUT-000001/SHPA", 3_000_000, "SHPA"),
            ("SUT-000001/SHPB", 3_100_000, "SHPB"),
        ]

    def test_deemed_acceptance_over_a_bank_holiday_posts_once(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact = log_claim(session, theft)
        # Ten weekdays after Tuesday 20 August end on Tuesday 3 September; the bank holiday
        # on 26 August moves the deadline to the end of Wednesday 4 September.
        assert deadline_after(LOGGED, 10) == DEADLINE
        assert contacts.sweep(session, now=datetime(2024, 9, 3, 23, 30, tzinfo=UTC)).total == 0
        assert moved(contacts.sweep(session, now=DEADLINE)) == {("SUT", "accept"): 2}
        session.commit()
        assert contacts.sweep(session, now=DEADLINE).total == 0
        assert contacts.sweep(session, now=DEADLINE + timedelta(days=30)).total == 0
        # A shipper answering after the sweep deemed it changes nothing and posts nothing.
        with pytest.raises(InvalidTransition):
            contacts.act(
                session,
                actor=theft.actor(theft.gas.shipper_b_login),
                contact_id=contact.id,
                action="dispute",
                reason="Too late",
                now=DEADLINE + timedelta(hours=1),
            )
        session.rollback()
        assert sorted(postings(session, theft)) == [
            ("SUT-000001/SHPA", 3_000_000, "SHPA"),
            ("SUT-000001/SHPB", 3_100_000, "SHPB"),
        ]
        assert invoiced(session, theft, "SHPB") == [3_100_000]
        view = contacts.view(
            session, actor=theft.actor(theft.recco_login), contact_id=contact.id, now=DEADLINE
        )
        assert view.contact.status == "closed"
        assert view.status_words == "Accepted: posted to settlement"
        deemed = [e for e in view.events if e.action == "accept"]
        assert [e.actor for e in deemed] == ["system (deadline passed)"] * 2

    def test_a_batched_sweep_posts_every_share_of_every_claim(
        self, session: Session, theft: TheftWorld
    ) -> None:
        for month in ("01", "02", "03"):
            log_claim(
                session,
                theft,
                theft_from=f"2024-{month}-01",
                theft_to=f"2024-{month}-20",
                estimated_kwh=2_000,
            )
        log_claim(session, theft)  # two shares
        assert contacts.sweep(session, now=DEADLINE, batch=2).total == 5
        keys = [key for key, _, _ in postings(session, theft)]
        assert sorted(keys) == sorted(
            [
                "SUT-000001/SHPA",
                "SUT-000002/SHPA",
                "SUT-000003/SHPA",
                "SUT-000004/SHPA",
                "SUT-000004/SHPB",
            ]
        )


class TestDisputes:
    def dispute(self, session: Session, theft: TheftWorld) -> int:
        contact = log_claim(session, theft)
        contacts.act(
            session,
            actor=theft.actor(theft.gas.shipper_b_login),
            contact_id=contact.id,
            action="dispute",
            reason="We gained the site on 1 July and found the meter sealed.",
            now=LOGGED,
        )
        session.commit()
        return contact.id

    def resolve(
        self, session: Session, theft: TheftWorld, contact_id: int, action: str, **inputs: object
    ) -> None:
        part = part_of(session, theft, contact_id, "SHPB")
        contacts.act(
            session,
            actor=theft.actor(theft.gas.operator_login),
            contact_id=contact_id,
            action=action,
            reason="Reviewed the evidence with both parties.",
            involvement_id=part.id,
            inputs=inputs,
            now=LOGGED + timedelta(days=3),
        )
        session.commit()

    def test_a_dispute_awaits_the_operator_and_the_sweep_leaves_it(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact_id = self.dispute(session, theft)
        part = part_of(session, theft, contact_id, "SHPB")
        assert part.status_words == "Disputed by the shipper: awaiting the operator"
        assert part.awaiting == "operator"
        [told] = notifications.inbox(session, actor=theft.actor(theft.gas.operator_login))
        assert "Disputed by the shipper" in told.subject
        swept = contacts.sweep(session, now=DEADLINE + timedelta(days=90))
        assert moved(swept) == {("SUT", "accept"): 1}
        assert [k for k, _, _ in postings(session, theft)] == ["SUT-000001/SHPA"]

    def test_the_shipper_may_not_resolve_its_own_dispute(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact_id = self.dispute(session, theft)
        with pytest.raises(PermissionDenied):
            contacts.act(
                session,
                actor=theft.actor(theft.gas.shipper_b_login),
                contact_id=contact_id,
                action="withdraw",
                reason="Please",
                now=LOGGED,
            )

    def test_upheld_posts_the_share_as_accepted(self, session: Session, theft: TheftWorld) -> None:
        contact_id = self.dispute(session, theft)
        self.resolve(session, theft, contact_id, "uphold")
        assert postings(session, theft) == [("SUT-000001/SHPB", 3_100_000, "SHPB")]
        assert part_of(session, theft, contact_id, "SHPB").status_words == (
            "Dispute resolved: share upheld and posted"
        )

    def test_amended_posts_the_new_energy(self, session: Session, theft: TheftWorld) -> None:
        contact_id = self.dispute(session, theft)
        with pytest.raises(InvalidInput) as refused:
            self.resolve(session, theft, contact_id, "amend")
        assert refused.value.details == {"amended_kwh": "is required"}
        session.rollback()
        self.resolve(session, theft, contact_id, "amend", amended_kwh="1,250")
        assert postings(session, theft) == [("SUT-000001/SHPB", 1_250_000, "SHPB")]
        assert invoiced(session, theft, "SHPB") == [1_250_000]
        part = part_of(session, theft, contact_id, "SHPB")
        assert part.share_words.endswith("; amended to 1,250.000 kWh")

    def test_withdrawn_posts_nothing(self, session: Session, theft: TheftWorld) -> None:
        contact_id = self.dispute(session, theft)
        self.resolve(session, theft, contact_id, "withdraw")
        assert postings(session, theft) == []
        with pytest.raises(InvalidTransition):
            self.resolve(session, theft, contact_id, "uphold")
        session.rollback()
        assert postings(session, theft) == []

    def test_a_claim_withdrawn_in_full_no_longer_blocks_a_new_one(
        self, session: Session, theft: TheftWorld
    ) -> None:
        contact = log_claim(session, theft, theft_from="2024-07-01")  # SHPB's alone
        [part] = [p for p in contacts.involvements(session, contact_id=contact.id)]
        contacts.act(
            session,
            actor=theft.actor(theft.gas.shipper_b_login),
            contact_id=contact.id,
            action="dispute",
            reason="Wrong site",
            now=LOGGED,
        )
        contacts.act(
            session,
            actor=theft.actor(theft.gas.operator_login),
            contact_id=contact.id,
            action="withdraw",
            reason="Wrong site",
            involvement_id=part.id,
            now=LOGGED,
        )
        session.commit()
        assert log_claim(session, theft, theft_from="2024-07-01").reference == "SUT-000002"


class TestScoping:
    def test_a_claim_is_a_404_to_a_party_not_on_it(
        self, session: Session, theft: TheftWorld, gas: GasWorld
    ) -> None:
        contact = log_claim(session, theft, theft_from="2024-07-01")  # SHPB's alone
        for login in (gas.shipper_a_login, gas.outsider_login, gas.dn_login):
            with pytest.raises(contacts.NotFound):
                contacts.get_contact(session, actor=gas.actor(login), contact_id=contact.id)
        for login in (gas.shipper_b_login, gas.operator_login, theft.recco_login):
            assert contacts.get_contact(session, actor=gas.actor(login), contact_id=contact.id)


class TestConcurrentSubmits:
    def test_two_overlapping_claims_submitted_at_once_are_not_both_taken(
        self, session: Session, theft: TheftWorld, settings: Settings
    ) -> None:
        """The second submit queues until the first commits (at the SUT reference counter's row
        on PostgreSQL, which it takes before its checks; at the write lock on SQLite), so its
        overlap check sees the first claim and refuses it."""
        actor = theft.actor(theft.recco_login)
        drafts = [
            contacts.save_draft(
                session, actor=actor, contact_type_code="SUT", values=sut_values(), now=LOGGED
            ).id
            for _ in range(2)
        ]
        session.commit()
        make = get_sessionmaker(settings.database_url)
        first, second = make(), make()
        outcome: list[str] = []

        def submit_second() -> None:
            try:
                begin_write(second)
                contacts.submit(second, actor=actor, contact_id=drafts[1], now=LOGGED)
                second.commit()
                outcome.append("submitted")
            except InvalidInput as exc:
                second.rollback()
                outcome.append(exc.code)

        try:
            begin_write(first)
            contacts.submit(first, actor=actor, contact_id=drafts[0], now=LOGGED)
            waiting = threading.Thread(target=submit_second)
            waiting.start()
            time.sleep(0.5)  # the second is waiting for the first now
            first.commit()
            waiting.join(timeout=30)
        finally:
            first.close()
            second.close()
        assert outcome == ["invalid_contact"]
        session.expire_all()
        submitted = [
            c.reference
            for c in (contacts.get_contact(session, actor=actor, contact_id=i) for i in drafts)
        ]
        assert submitted == ["SUT-000001", None]


class TestTheLedgerFollowsTheOutcome:
    """The type's hook, as the engine calls it, for outcomes that follow a posting."""

    def taken(self, session: Session, theft: TheftWorld, action: str, **inputs: object) -> None:
        contact = log_claim(session, theft, theft_from="2024-07-01")  # SHPB's alone
        contacts.act(
            session,
            actor=theft.actor(theft.gas.shipper_b_login),
            contact_id=contact.id,
            action="accept",
            now=LOGGED,
        )
        [part] = contacts.involvements(session, contact_id=contact.id)
        step = SUPPLIER_THEFT_OF_GAS.step("disputed", action)
        assert step is not None and SUPPLIER_THEFT_OF_GAS.on_step is not None
        SUPPLIER_THEFT_OF_GAS.on_step(
            session,
            StepTaken(
                step=step,
                parts=(
                    PartMoved(
                        involvement_id=part.id,
                        contact_id=contact.id,
                        reference="SUT-000001",
                        party_id=part.party_id,
                        share=part.share,
                        values=contact.values,
                    ),
                ),
                actor_name="operator",
                reason="Found to be another site",
                inputs=inputs,
                deemed=False,
                now=LOGGED,
            ),
        )

    def test_a_posted_share_withdrawn_is_reversed(
        self, session: Session, theft: TheftWorld
    ) -> None:
        self.taken(session, theft, "withdraw")
        assert postings(session, theft) == [
            ("SUT-000001/SHPB", 6_100_000, "SHPB"),
            ("SUT-000001/SHPB:reversal", -6_100_000, "SHPB"),
        ]

    def test_a_posted_share_amended_is_reversed_and_posted_again(
        self, session: Session, theft: TheftWorld
    ) -> None:
        self.taken(session, theft, "amend", amended_kwh=1_000)
        assert postings(session, theft) == [
            ("SUT-000001/SHPB", 6_100_000, "SHPB"),
            ("SUT-000001/SHPB:reversal", -6_100_000, "SHPB"),
            ("SUT-000001/SHPB/amended", 1_000_000, "SHPB"),
        ]
