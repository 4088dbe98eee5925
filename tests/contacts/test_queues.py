"""Each organisation's work queues: new, awaiting us, awaiting others, overdue, closed, drafts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.contacts import queues
from meterhub.contacts import service as contacts
from meterhub.errors import InvalidInput
from tests.contacts.conftest import NOW, GasWorld, raise_tog, tog_values


def refs(page: queues.QueuePage) -> list[str | None]:
    return [r.reference for r in page.rows]


class TestQueues:
    def test_a_contact_moves_through_both_organisations_queues(
        self, session: Session, gas: GasWorld
    ) -> None:
        network, shipper = gas.actor(gas.dn_login), gas.actor(gas.shipper_a_login)
        contact = raise_tog(session, gas)
        assert refs(queues.queue(session, actor=shipper, name="new", now=NOW)) == ["TOG-000001"]
        assert refs(queues.queue(session, actor=network, name="awaiting_others", now=NOW)) == [
            "TOG-000001"
        ]
        assert refs(queues.queue(session, actor=network, name="new", now=NOW)) == []

        contacts.pick_up(session, actor=shipper, contact_id=contact.id, now=NOW)
        assert refs(queues.queue(session, actor=shipper, name="new", now=NOW)) == []
        [row] = queues.queue(session, actor=shipper, name="awaiting_us", now=NOW).rows
        assert row.handler == gas.shipper_a_login.user.username
        assert row.status_words == "Awaiting the shipper's acceptance"
        assert row.summary == "MPRN 1234567 · Theft suspected from 2024-05-01"

        late = NOW + timedelta(days=10)
        assert refs(queues.queue(session, actor=network, name="overdue", now=late)) == [
            "TOG-000001"
        ]
        assert refs(queues.queue(session, actor=shipper, name="overdue", now=NOW)) == []

        contacts.act(
            session, actor=shipper, contact_id=contact.id, action="decline", reason="No.", now=NOW
        )
        for actor in (network, shipper):
            assert refs(queues.queue(session, actor=actor, name="closed", now=NOW)) == [
                "TOG-000001"
            ]
            assert refs(queues.queue(session, actor=actor, name="awaiting_us", now=NOW)) == []
        counts = queues.counts(session, actor=network, now=NOW)
        assert counts["closed"] == 1 and counts["awaiting_others"] == 0

    def test_drafts_are_on_the_owners_queue_only(self, session: Session, gas: GasWorld) -> None:
        contacts.save_draft(
            session,
            actor=gas.actor(gas.dn_login),
            contact_type_code="TOG",
            values=tog_values(),
            now=NOW,
        )
        [row] = queues.queue(session, actor=gas.actor(gas.dn_login), name="drafts", now=NOW).rows
        assert row.reference is None and row.status_words == "Draft (not submitted)"
        for login in (gas.shipper_a_login, gas.operator_login):
            assert queues.queue(session, actor=gas.actor(login), name="all", now=NOW).rows == []

    def test_another_partys_contacts_are_in_none_of_its_queues(
        self, session: Session, gas: GasWorld
    ) -> None:
        raise_tog(session, gas)
        for name in queues.QUEUES:
            for login in (gas.shipper_b_login, gas.outsider_login, gas.igt_login):
                assert queues.queue(session, actor=gas.actor(login), name=name, now=NOW).rows == []

    def test_the_operator_sees_every_submitted_contact(
        self, session: Session, gas: GasWorld
    ) -> None:
        raise_tog(session, gas)
        operator = gas.actor(gas.operator_login)
        assert refs(queues.queue(session, actor=operator, name="awaiting_others", now=NOW)) == [
            "TOG-000001"
        ]

    def test_filter_sort_and_pages(self, session: Session, gas: GasWorld) -> None:
        network, shipper = gas.actor(gas.dn_login), gas.actor(gas.shipper_a_login)
        for day in range(4):
            raise_tog(session, gas, now=NOW + timedelta(days=day))
        # Accepted ones have a later deadline (60 business days): they sort last by deadline.
        first = contacts.contact_by_reference(session, actor=network, reference="TOG-000001")
        contacts.act(session, actor=shipper, contact_id=first.id, action="accept", now=NOW)
        page = queues.queue(session, actor=network, name="all", sort="due", limit=2, now=NOW)
        assert refs(page) == ["TOG-000002", "TOG-000003"]
        assert page.next_cursor is not None
        rest = queues.queue(
            session,
            actor=network,
            name="all",
            sort="due",
            limit=2,
            cursor=page.next_cursor,
            now=NOW,
        )
        assert refs(rest) == ["TOG-000004", "TOG-000001"] and rest.next_cursor is None
        newest = queues.queue(session, actor=network, name="all", sort="-created", now=NOW)
        assert refs(newest) == ["TOG-000004", "TOG-000003", "TOG-000002", "TOG-000001"]
        by_ref = queues.queue(
            session, actor=network, name="all", sort="reference", limit=3, now=NOW
        )
        more = queues.queue(
            session, actor=network, name="all", sort="reference", cursor=by_ref.next_cursor, now=NOW
        )
        assert refs(by_ref) + refs(more) == ["TOG-000001", "TOG-000002", "TOG-000003", "TOG-000004"]
        investigating = queues.queue(
            session,
            actor=network,
            name="all",
            flt=queues.QueueFilter(status="under_investigation"),
            now=NOW,
        )
        assert refs(investigating) == ["TOG-000001"]
        found = queues.queue(
            session,
            actor=shipper,
            name="all",
            flt=queues.QueueFilter(reference="tog-000003"),
            now=NOW,
        )
        assert refs(found) == ["TOG-000003"]

    def test_unknown_queue_sort_or_cursor_is_refused(self, session: Session, gas: GasWorld) -> None:
        actor = gas.actor(gas.dn_login)
        for kwargs in (
            {"name": "later"},
            {"name": "all", "sort": "mood"},
            {"name": "all", "cursor": "zzz"},
        ):
            with pytest.raises(InvalidInput):
                queues.queue(session, actor=actor, now=NOW, **kwargs)  # type: ignore[arg-type]
