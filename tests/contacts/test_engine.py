"""The engine through the Theft of Gas definition: drafts, submitting, routing, who may act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.contacts import service as contacts
from meterhub.contacts.catalogue import CONTACT_TYPES, contact_type
from meterhub.contacts.definitions import ContactType, Side, Status, Step
from meterhub.contacts.tog import THEFT_OF_GAS
from meterhub.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from meterhub.notifications import service as notifications
from tests.contacts.conftest import MPRN, NOW, GasWorld, raise_tog, tog_values


class TestDefinitions:
    def test_the_catalogue_holds_theft_of_gas(self) -> None:
        assert contact_type("tog") is THEFT_OF_GAS
        assert "TOG" in CONTACT_TYPES
        with pytest.raises(NotFound):
            contact_type("NOPE")

    def test_every_status_is_shown_in_words_not_a_code(self) -> None:
        for status in THEFT_OF_GAS.statuses:
            assert " " in status.words and status.words != status.code

    def test_a_definition_that_contradicts_itself_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown status"):
            ContactType(
                code="BAD",
                title="Bad",
                description="",
                prefix="BAD",
                raised_by=frozenset(),
                fields=(),
                statuses=(Status("open", "Open for business", Side.INVOLVED),),
                initial_status="open",
                workflow=(Step("close", "Close", "open", "shut", Side.INVOLVED),),
                windows={},
                route=lambda session, values, raiser: [],
            )

    def test_fields_are_checked_one_by_one(self) -> None:
        with pytest.raises(Exception) as refused:
            THEFT_OF_GAS.parse(
                tog_values(
                    mprn="12AB", suspected_from="1 May", estimated_kwh="lots", site_address=""
                ),
                complete=True,
            )
        errors = refused.value.errors  # type: ignore[attr-defined]
        assert set(errors) == {"mprn", "suspected_from", "estimated_kwh", "site_address"}
        assert errors["site_address"] == "is required"


class TestDraftsAndSubmitting:
    def test_a_saved_contact_is_a_draft_without_a_reference(
        self, session: Session, gas: GasWorld
    ) -> None:
        draft = contacts.save_draft(
            session,
            actor=gas.actor(gas.dn_login),
            contact_type_code="TOG",
            values={"mprn": MPRN},
            now=NOW,
        )
        assert draft.status == "draft" and draft.reference is None
        view = contacts.view(session, actor=gas.actor(gas.dn_login), contact_id=draft.id, now=NOW)
        assert view.status_words == "Draft (not submitted)"
        # Nobody else sees a draft: not even the shipper it will go to.
        with pytest.raises(NotFound):
            contacts.get_contact(session, actor=gas.actor(gas.shipper_a_login), contact_id=draft.id)
        with pytest.raises(NotFound):
            contacts.get_contact(session, actor=gas.actor(gas.operator_login), contact_id=draft.id)

    def test_submitting_an_incomplete_draft_says_what_is_missing(
        self, session: Session, gas: GasWorld
    ) -> None:
        actor = gas.actor(gas.dn_login)
        draft = contacts.save_draft(
            session, actor=actor, contact_type_code="TOG", values={"mprn": MPRN}, now=NOW
        )
        with pytest.raises(InvalidInput) as refused:
            contacts.submit(session, actor=actor, contact_id=draft.id, now=NOW)
        assert refused.value.details["description"] == "is required"
        assert contacts.get_contact(session, actor=actor, contact_id=draft.id).reference is None

    def test_submit_routes_to_the_shipper_of_the_day_and_tells_it(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas, suspected_from="2024-08-01")
        assert contact.reference == "TOG-000001"
        view = contacts.view(session, actor=gas.actor(gas.dn_login), contact_id=contact.id, now=NOW)
        [part] = view.parts
        assert part.party_code == "SHPB"  # July onwards
        assert view.status_words == "Awaiting the shipper's acceptance"
        # Monday 2 Sep + 5 business days: the end of Monday 9 Sep (BST).
        assert part.respond_by == datetime(2024, 9, 9, 23, 0, tzinfo=UTC)
        told = notifications.inbox(session, actor=gas.actor(gas.shipper_b_login))
        assert [n.subject for n in told] == ["Theft of Gas TOG-000001 raised for you"]
        assert told[0].link == f"/portal/contacts/{contact.id}"
        assert notifications.inbox(session, actor=gas.actor(gas.shipper_a_login)) == []

    def test_cross_checks_on_submit(self, session: Session, gas: GasWorld) -> None:
        with pytest.raises(InvalidInput) as future:
            raise_tog(session, gas, suspected_from="2024-12-01")
        assert future.value.details == {"suspected_from": "is in the future"}
        with pytest.raises(InvalidInput) as unknown:
            raise_tog(session, gas, mprn="7654321")
        assert unknown.value.details == {"mprn": "is not a meter point the hub knows"}
        igt = gas.actor(gas.igt_login)
        draft = contacts.save_draft(
            session, actor=igt, contact_type_code="TOG", values=tog_values(), now=NOW
        )
        with pytest.raises(InvalidInput) as not_theirs:
            contacts.submit(session, actor=igt, contact_id=draft.id, now=NOW)
        assert not_theirs.value.details == {"mprn": "was not on your network on 2024-05-01"}

    def test_only_networks_raise_a_theft_of_gas(self, session: Session, gas: GasWorld) -> None:
        for login in (gas.shipper_a_login, gas.supplier_login, gas.operator_login):
            with pytest.raises(PermissionDenied):
                contacts.save_draft(
                    session,
                    actor=gas.actor(login),
                    contact_type_code="TOG",
                    values=tog_values(),
                    now=NOW,
                )

    def test_a_submitted_contact_is_no_longer_a_draft(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        with pytest.raises(InvalidTransition):
            contacts.submit(session, actor=gas.actor(gas.dn_login), contact_id=contact.id, now=NOW)


class TestWorkflow:
    def test_the_shipper_accepts_then_closes_with_its_finding(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        shipper = gas.actor(gas.shipper_a_login)
        later = NOW + timedelta(days=1)
        contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=later)
        view = contacts.view(session, actor=shipper, contact_id=contact.id, now=later)
        assert view.status_words == "Under investigation by the shipper"
        assert {a.action for a in view.actions} == {
            "request_information",
            "confirm_theft",
            "no_theft",
        }
        contacts.act(
            session,
            actor=shipper,
            contact_id=contact.id,
            action="confirm_theft",
            reason="Bypass confirmed; 11,800 kWh reassessed.",
            now=later,
        )
        view = contacts.view(session, actor=shipper, contact_id=contact.id, now=later)
        assert view.contact.status == "closed" and view.contact.closed_at == later
        assert view.status_words == "Investigated: theft confirmed"
        assert [e.action for e in view.events] == ["saved", "submitted", "accept", "confirm_theft"]
        assert view.events[-1].actor == gas.shipper_a_login.user.username
        assert view.events[-1].reason == "Bypass confirmed; 11,800 kWh reassessed."
        told = notifications.inbox(session, actor=gas.actor(gas.dn_login))
        assert told[0].subject == "Theft of Gas TOG-000001: Investigated: theft confirmed"

    def test_information_goes_back_and_forth(self, session: Session, gas: GasWorld) -> None:
        contact = raise_tog(session, gas)
        shipper, network = gas.actor(gas.shipper_a_login), gas.actor(gas.dn_login)
        contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=NOW)
        contacts.act(
            session,
            actor=shipper,
            contact_id=contact.id,
            action="request_information",
            reason="Photographs of the bypass, please.",
            now=NOW,
        )
        view = contacts.view(session, actor=network, contact_id=contact.id, now=NOW)
        assert view.status_words == "Awaiting more information from the network"
        assert {a.action for a in view.actions} == {"provide_information", "withdraw"}
        assert notifications.inbox(session, actor=network)[0].subject.endswith(
            "Awaiting more information from the network"
        )
        contacts.act(
            session,
            actor=network,
            contact_id=contact.id,
            action="provide_information",
            reason="Attached.",
            now=NOW,
        )
        assert contacts.view(
            session, actor=network, contact_id=contact.id, now=NOW
        ).status_words == ("Under investigation by the shipper")

    def test_who_may_act(self, session: Session, gas: GasWorld) -> None:
        contact = raise_tog(session, gas)
        # The network may not accept on the shipper's behalf ...
        with pytest.raises(PermissionDenied):
            contacts.act(
                session,
                actor=gas.actor(gas.dn_login),
                contact_id=contact.id,
                action="accept",
                now=NOW,
            )
        # ... the other shipper and the supplier have no part: the contact does not exist for them.
        for login in (gas.shipper_b_login, gas.supplier_login, gas.outsider_login):
            with pytest.raises(NotFound):
                contacts.act(
                    session, actor=gas.actor(login), contact_id=contact.id, action="accept", now=NOW
                )
        # ... a step the workflow has not from here is a conflict.
        with pytest.raises(InvalidTransition):
            contacts.act(
                session,
                actor=gas.actor(gas.shipper_a_login),
                contact_id=contact.id,
                action="confirm_theft",
                reason="too soon",
                now=NOW,
            )
        # ... and declining needs a reason.
        with pytest.raises(InvalidInput):
            contacts.act(
                session,
                actor=gas.actor(gas.shipper_a_login),
                contact_id=contact.id,
                action="decline",
                now=NOW,
            )

    def test_a_step_taken_twice_is_refused_the_second_time(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        shipper = gas.actor(gas.shipper_a_login)
        contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=NOW)
        with pytest.raises(InvalidTransition):
            contacts.act(session, actor=shipper, contact_id=contact.id, action="accept", now=NOW)

    def test_the_operator_reads_every_submitted_contact(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        view = contacts.view(
            session, actor=gas.actor(gas.operator_login), contact_id=contact.id, now=NOW
        )
        assert view.actions == []


class TestNotesAndPickingUp:
    def test_any_user_of_the_organisation_picks_it_up(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        first, second = gas.actor(gas.shipper_a_login), gas.actor(gas.shipper_a_colleague)
        contacts.pick_up(session, actor=first, contact_id=contact.id, now=NOW)
        contacts.pick_up(session, actor=second, contact_id=contact.id, now=NOW)
        view = contacts.view(session, actor=first, contact_id=contact.id, now=NOW)
        assert view.my_handler == gas.shipper_a_colleague.user.username
        assert view.handlers == {"SHPA": gas.shipper_a_colleague.user.username}
        assert [e.changes.get("previously") for e in view.events if e.action == "picked_up"] == [
            None,
            gas.shipper_a_login.user.username,
        ]

    def test_notes_are_read_by_every_party_of_the_contact(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        contacts.add_note(
            session,
            actor=gas.actor(gas.shipper_a_login),
            contact_id=contact.id,
            text="On it.",
            now=NOW,
        )
        view = contacts.view(session, actor=gas.actor(gas.dn_login), contact_id=contact.id, now=NOW)
        assert [n.text for n in view.notes] == ["On it."]
        with pytest.raises(NotFound):
            contacts.add_note(
                session,
                actor=gas.actor(gas.outsider_login),
                contact_id=contact.id,
                text="Hi",
                now=NOW,
            )
