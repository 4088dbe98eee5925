"""The deadline sweep: what falls due takes the step a person would, once, as the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from meterhub.contacts import service as contacts
from meterhub.kit.business_days import deadline_after
from meterhub.notifications import service as notifications
from tests.contacts.conftest import NOW, GasWorld, raise_tog


class TestSweep:
    def test_deemed_acceptance_once_the_deadline_passes_and_only_once(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)  # Monday 2 Sep 2024: due by the end of Monday 9 Sep
        shipper = gas.actor(gas.shipper_a_login)
        just_before = datetime(2024, 9, 9, 22, 59, tzinfo=UTC)  # 23:59 BST on the 9th
        assert contacts.sweep(session, now=just_before).total == 0
        due = datetime(2024, 9, 9, 23, 0, tzinfo=UTC)
        assert contacts.sweep(session, now=due).moved == {("TOG", "accept"): 1}
        session.commit()
        assert contacts.sweep(session, now=due).total == 0
        assert contacts.sweep(session, now=due + timedelta(days=3)).total == 0
        view = contacts.view(session, actor=shipper, contact_id=contact.id, now=due)
        assert view.status_words == "Under investigation by the shipper"
        [part] = view.parts
        assert part.respond_by == deadline_after(due, 60)
        deemed = [e for e in view.events if e.action == "accept"]
        assert len(deemed) == 1
        assert deemed[0].actor == "system (deadline passed)" and deemed[0].changes["deemed"]
        told = notifications.inbox(session, actor=shipper)
        assert (
            told[0].subject
            == "Theft of Gas TOG-000001: deadline passed, under investigation by the shipper"
        )

    def test_a_window_over_christmas_counts_only_business_days(
        self, session: Session, gas: GasWorld
    ) -> None:
        friday = datetime(2023, 12, 22, 11, 0, tzinfo=UTC)
        raise_tog(session, gas, now=friday, suspected_from="2023-12-01")
        # Five weekdays later (Fri 29 Dec) and over New Year's Day: not yet.
        assert contacts.sweep(session, now=datetime(2023, 12, 30, tzinfo=UTC)).total == 0
        assert contacts.sweep(session, now=datetime(2024, 1, 3, 23, 59, tzinfo=UTC)).total == 0
        # The end of Wednesday 3 January 2024 (the fifth business day).
        assert contacts.sweep(session, now=datetime(2024, 1, 4, tzinfo=UTC)).total == 1

    def test_a_shipper_answering_first_is_not_overridden(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        shipper = gas.actor(gas.shipper_a_login)
        contacts.act(
            session,
            actor=shipper,
            contact_id=contact.id,
            action="decline",
            reason="Not our meter point at the time.",
            now=NOW + timedelta(days=1),
        )
        assert contacts.sweep(session, now=NOW + timedelta(days=30)).total == 0
        view = contacts.view(session, actor=shipper, contact_id=contact.id, now=NOW)
        assert view.status_words == "Declined by the shipper" and view.contact.status == "closed"

    def test_many_fall_due_in_batches_with_one_notification_each_party(
        self, session: Session, gas: GasWorld
    ) -> None:
        for _ in range(5):
            raise_tog(session, gas)
        result = contacts.sweep(session, now=NOW + timedelta(days=30), batch=2)
        assert result.total == 5
        told = notifications.inbox(session, actor=gas.actor(gas.shipper_a_login))
        deemed = [n for n in told if "passed their deadline" in n.subject]
        assert [n.subject for n in deemed] == ["5 Theft of Gas contacts passed their deadline"]
        assert "TOG-000001, TOG-000002, TOG-000003, TOG-000004, TOG-000005" in deemed[0].body
