"""Contact references: unique, readable, counted per type, never reused, under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.contacts import service as contacts
from meterhub.db.session import session_scope
from meterhub.parties.service import actor_for, user_by_id
from tests.contacts.conftest import NOW, GasWorld, raise_tog, tog_values


class TestReferences:
    def test_references_count_up_per_prefix(self, session: Session, gas: GasWorld) -> None:
        assert [raise_tog(session, gas).reference for _ in range(3)] == [
            "TOG-000001",
            "TOG-000002",
            "TOG-000003",
        ]

    def test_a_rolled_back_submit_leaves_no_reference_behind(
        self, session: Session, gas: GasWorld
    ) -> None:
        actor = gas.actor(gas.dn_login)
        draft = contacts.save_draft(
            session, actor=actor, contact_type_code="TOG", values=tog_values(), now=NOW
        )
        session.commit()
        contacts.submit(session, actor=actor, contact_id=draft.id, now=NOW)
        session.rollback()
        assert contacts.get_contact(session, actor=actor, contact_id=draft.id).reference is None
        assert raise_tog(session, gas).reference == "TOG-000001"

    def test_concurrent_submits_get_different_references(
        self, session: Session, gas: GasWorld, settings: Settings
    ) -> None:
        actor = gas.actor(gas.dn_login)
        drafts = [
            contacts.save_draft(
                session, actor=actor, contact_type_code="TOG", values=tog_values(), now=NOW
            ).id
            for _ in range(24)
        ]
        session.commit()
        user_id = gas.dn_login.user.id

        def submit(contact_id: int) -> str:
            with session_scope(settings.database_url) as own:
                user = user_by_id(own, user_id)
                assert user is not None
                done = contacts.submit(
                    own, actor=actor_for(user, "api"), contact_id=contact_id, now=NOW
                )
                assert done.reference is not None
                return done.reference

        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(submit, drafts))
        assert sorted(got) == [f"TOG-{n:06d}" for n in range(1, 25)]
