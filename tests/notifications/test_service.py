"""``notify`` and the inbox: who is told, in which transaction, and whose entries one sees."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.errors import InvalidInput, NotFound
from meterhub.notifications import outbox
from meterhub.notifications import service as notifications
from meterhub.notifications.models import Notification, OutboxMail
from meterhub.notifications.service import Audience
from meterhub.parties import service as parties
from tests.factories import SYSTEM, make_party
from tests.notifications.helpers import api_user, user_actor

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _tell(session: Session, party_id: int, **kw: Any) -> list[Notification]:
    args: dict[str, Any] = {
        "kind": "hub.returned",
        "subject": "Hub returned",
        "body": "It went back.",
        "link": "",
        "now": NOW,
    }
    args.update(kw)
    return notifications.notify(session, party_id=party_id, **args)


class TestNotify:
    def test_every_active_user_gets_an_entry_and_those_with_an_address_an_email(
        self, session: Session
    ) -> None:
        party = make_party(session, roles=("IS", "ES"))
        first = api_user(session, party, "ops@alpha.example")
        second = api_user(session, party, None)
        gone = api_user(session, party, "gone@alpha.example")
        gone.user.active = False
        other = api_user(session, make_party(session), "b@bravo.example")
        session.commit()

        _tell(session, party.id)
        session.commit()

        assert [e.subject for e in notifications.inbox(session, actor=user_actor(first))] == [
            "Hub returned"
        ]
        assert len(notifications.inbox(session, actor=user_actor(second))) == 1
        assert notifications.inbox(session, actor=user_actor(other)) == []
        assert [m.to_address for m in outbox.list_outbox(session)] == ["ops@alpha.example"]

    def test_an_audience_in_roles_reaches_only_users_acting_in_them(self, session: Session) -> None:
        party = make_party(session, roles=("IS", "ES"))
        gas = api_user(session, party, "gas@alpha.example", roles=("IS",))
        power = api_user(session, party, "power@alpha.example", roles=("ES",))
        session.commit()

        _tell(session, party.id, audience=Audience.in_roles("is"))
        session.commit()

        assert notifications.unread_count(session, actor=user_actor(gas)) == 1
        assert notifications.unread_count(session, actor=user_actor(power)) == 0
        assert [m.to_address for m in outbox.list_outbox(session)] == ["gas@alpha.example"]

    def test_nothing_is_told_when_the_step_rolls_back(self, session: Session) -> None:
        party = make_party(session)
        login = api_user(session, party, "ops@alpha.example")
        session.commit()

        _tell(session, party.id)
        session.rollback()

        assert notifications.unread_count(session, actor=user_actor(login)) == 0
        assert session.scalars(select(OutboxMail)).all() == []

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("subject", "Hub returned\r\nBcc: everyone@example.com", "bad_subject"),
            ("subject", "  ", "bad_subject"),
            ("link", "https://evil.example/portal/", "bad_link"),
            ("link", "//evil.example/portal/", "bad_link"),
            ("kind", "Hub Returned", "bad_kind"),
            ("body", "", "bad_body"),
        ],
    )
    def test_a_notification_that_could_mislead_or_inject_is_refused(
        self, session: Session, field: str, value: str, code: str
    ) -> None:
        party = make_party(session)
        api_user(session, party, "ops@alpha.example")
        with pytest.raises(InvalidInput) as refused:
            _tell(session, party.id, **{field: value})
        assert refused.value.code == code

    def test_an_address_that_is_not_one_mailbox_is_refused(self, session: Session) -> None:
        party = make_party(session)
        login = api_user(session, party, None)
        for bad in ("no-at-sign", "a@b", "x@y.example\r\nBcc: z@w.example", "A <a@b.example>"):
            with pytest.raises(InvalidInput) as refused:
                parties.set_user_email(session, actor=SYSTEM, user=login.user, email=bad, now=NOW)
            assert refused.value.code == "bad_email"


class TestInbox:
    def test_another_users_entry_is_not_found_even_in_the_same_party(
        self, session: Session
    ) -> None:
        party = make_party(session)
        mine, colleague = api_user(session, party, None), api_user(session, party, None)
        session.commit()
        entries = _tell(session, party.id)
        session.commit()
        theirs = next(e for e in entries if e.user_id == colleague.user.id)

        with pytest.raises(NotFound):
            notifications.entry(session, actor=user_actor(mine), notification_id=theirs.id)
        with pytest.raises(NotFound):
            notifications.mark_read(
                session,
                actor=user_actor(mine),
                notification_id=theirs.id,
                now=NOW,
            )
        assert notifications.unread_count(session, actor=user_actor(colleague)) == 1

    def test_marking_read_counts_down_and_keeps_the_first_time(self, session: Session) -> None:
        party = make_party(session)
        login = api_user(session, party, None)
        session.commit()
        for n in range(3):
            _tell(session, party.id, subject=f"Step {n}")
        session.commit()
        me = user_actor(login)
        newest = notifications.inbox(session, actor=me)[0]
        assert newest.subject == "Step 2"

        notifications.mark_read(session, actor=me, notification_id=newest.id, now=NOW)
        later = datetime(2026, 11, 3, tzinfo=UTC)
        again = notifications.mark_read(session, actor=me, notification_id=newest.id, now=later)
        assert again.read_at == NOW
        assert notifications.unread_count(session, actor=me) == 2
        assert [e.subject for e in notifications.inbox(session, actor=me, unread_only=True)] == [
            "Step 1",
            "Step 0",
        ]
        assert notifications.mark_all_read(session, actor=me, now=later) == 2
        assert notifications.unread_count(session, actor=me) == 0

    def test_the_system_actor_has_no_inbox(self, session: Session) -> None:
        with pytest.raises(NotFound):
            notifications.inbox(session, actor=SYSTEM)
        assert notifications.unread_count(session, actor=SYSTEM) == 0
