"""Parties, users, tokens and agent appointments, through the service functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.audit.service import Actor, entries_for
from meterhub.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OverlappingPeriod,
    PermissionDenied,
)
from meterhub.kit.clock import utcnow
from meterhub.parties import service
from meterhub.parties.models import AgentAppointment, ApiToken, Party, User
from meterhub.parties.service import actor_for
from tests.factories import SYSTEM, make_api_login, make_appointment, make_party

D = date(2025, 3, 10)


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


class TestCreateParty:
    def test_operator_registers_a_party_with_its_roles(self, session: Session) -> None:
        party = service.create_party(
            session,
            actor=SYSTEM,
            code=" bgas ",
            name=" British Gas ",
            kind="supplier",
            roles=["IS", "GS", "IS"],
            now=utcnow(),
        )
        assert party.code == "BGAS"
        assert party.name == "British Gas"
        assert service.party_roles(party) == {"IS", "GS"}
        entry = entries_for(session, object_type="party", object_id="BGAS")[-1]
        assert entry.action == "party.created"
        assert entry.changes == {"name": "British Gas", "kind": "supplier", "roles": ["GS", "IS"]}

    def test_a_party_user_may_not_register_parties(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        login = make_api_login(session, party=supplier)
        with pytest.raises(PermissionDenied):
            service.create_party(
                session,
                actor=actor_for(login.user, "api"),
                code="NEW",
                name="New",
                kind="supplier",
                roles=["IS"],
                now=utcnow(),
            )
        assert service.party_by_code(session, "NEW") is None

    def test_duplicate_code_is_a_conflict(self, session: Session) -> None:
        make_party(session, code="EDF")
        with pytest.raises(Conflict) as caught:
            service.create_party(
                session,
                actor=SYSTEM,
                code="edf",
                name="Other",
                kind="supplier",
                roles=["IS"],
                now=utcnow(),
            )
        assert caught.value.code == "party_exists"
        assert _count(session, Party) == 1

    @pytest.mark.parametrize(
        ("kind", "roles", "code"),
        [
            ("retailer", ["IS"], "bad_kind"),
            ("supplier", ["XX"], "bad_role"),
            ("supplier", ["is"], "bad_role"),
        ],
    )
    def test_bad_kind_or_role(
        self, session: Session, kind: str, roles: list[str], code: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            service.create_party(
                session, actor=SYSTEM, code="X1", name="X", kind=kind, roles=roles, now=utcnow()
            )
        assert caught.value.code == code
        assert _count(session, Party) == 0

    @pytest.mark.parametrize("code", ["", "   ", "A" * 17, "AB-C", "AB C", "ÄBC"])
    def test_bad_party_code(self, session: Session, code: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            service.create_party(
                session,
                actor=SYSTEM,
                code=code,
                name="X",
                kind="supplier",
                roles=["IS"],
                now=utcnow(),
            )
        assert caught.value.code == "bad_party_code"

    def test_empty_name(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as caught:
            service.create_party(
                session,
                actor=SYSTEM,
                code="X",
                name="  ",
                kind="supplier",
                roles=["IS"],
                now=utcnow(),
            )
        assert caught.value.code == "bad_party_name"

    def test_audit_entry_names_the_actor_and_interface(self, session: Session) -> None:
        make_party(session, code="ZZZ")
        entry = session.scalar(select(AuditEntry).where(AuditEntry.object_id == "ZZZ"))
        assert entry is not None
        assert (entry.actor, entry.interface) == ("system", "test")


class TestVisibleParty:
    def test_own_party_is_visible_others_are_not_found(self, session: Session) -> None:
        mine = make_party(session)
        other = make_party(session)
        actor = actor_for(make_api_login(session, party=mine).user, "api")
        assert service.visible_party(session, actor=actor, code=mine.code.lower()) is mine
        with pytest.raises(NotFound):
            service.visible_party(session, actor=actor, code=other.code)
        assert [p.code for p in service.list_parties(session, actor=actor)] == [mine.code]

    def test_operator_sees_every_party(self, session: Session) -> None:
        a, b = make_party(session, code="AAA"), make_party(session, code="BBB")
        assert service.visible_party(session, actor=SYSTEM, code="BBB") is b
        assert [p.code for p in service.list_parties(session, actor=SYSTEM)] == [a.code, b.code]


class TestCreateUser:
    def test_user_gets_roles_with_normalised_duis_ids(self, session: Session) -> None:
        party = make_party(session, roles=("IS", "GS"))
        user = service.create_user(
            session,
            actor=SYSTEM,
            party=party,
            username=" Alice@Example ",
            display_name="",
            password="a long enough password",
            roles={"IS": "90b3d51f30000001", "GS": None},
            now=utcnow(),
        )
        assert user.username == "alice@example"
        assert user.display_name == "alice@example"
        assert {r.role: r.duis_user_id for r in user.roles} == {
            "IS": "90-B3-D5-1F-30-00-00-01",
            "GS": None,
        }
        assert user.password_hash is not None
        assert "a long enough password" not in user.password_hash

    def test_role_must_be_held_by_the_party(self, session: Session) -> None:
        party = make_party(session, roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="bob",
                display_name="Bob",
                password=None,
                roles={"ED": None},
                now=utcnow(),
            )
        assert caught.value.code == "role_not_held"
        assert _count(session, User) == 0

    def test_unknown_role(self, session: Session) -> None:
        party = make_party(session, roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="bob",
                display_name="Bob",
                password=None,
                roles={"BOSS": None},
                now=utcnow(),
            )
        assert caught.value.code == "bad_role"

    def test_duis_id_must_be_eui64(self, session: Session) -> None:
        party = make_party(session, roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="bob",
                display_name="Bob",
                password=None,
                roles={"IS": "not-an-eui"},
                now=utcnow(),
            )
        assert caught.value.code == "bad_eui64"

    def test_duis_id_is_unique_across_users(self, session: Session) -> None:
        party = make_party(session, roles=("IS",))
        service.create_user(
            session,
            actor=SYSTEM,
            party=party,
            username="one",
            display_name="One",
            password=None,
            roles={"IS": "90-B3-D5-1F-30-00-00-01"},
            now=utcnow(),
        )
        with pytest.raises(Conflict) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="two",
                display_name="Two",
                password=None,
                roles={"IS": "90b3d51f30000001"},
                now=utcnow(),
            )
        assert caught.value.code == "duis_user_id_taken"
        assert service.user_by_username(session, "two") is None

    def test_duis_id_is_unique_within_one_user(self, session: Session) -> None:
        party = make_party(session, roles=("IS", "ES"))
        with pytest.raises(Conflict) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="one",
                display_name="One",
                password=None,
                roles={"IS": "90-B3-D5-1F-30-00-00-01", "ES": "90:B3:D5:1F:30:00:00:01"},
                now=utcnow(),
            )
        assert caught.value.code == "duis_user_id_taken"

    def test_duplicate_username(self, session: Session) -> None:
        party = make_party(session, roles=("IS",))
        make_api_login(session, party=party, username="carol")
        with pytest.raises(Conflict) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username="CAROL",
                display_name="C",
                password=None,
                roles={},
                now=utcnow(),
            )
        assert caught.value.code == "user_exists"

    @pytest.mark.parametrize(
        ("username", "password", "code"),
        [
            ("", None, "bad_username"),
            ("x" * 121, None, "bad_username"),
            ("dave", "short", "weak_password"),
            ("erin", "x" * 1025, "password_too_long"),  # could never log in
        ],
    )
    def test_bad_username_or_password(
        self, session: Session, username: str, password: str | None, code: str
    ) -> None:
        party = make_party(session, roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            service.create_user(
                session,
                actor=SYSTEM,
                party=party,
                username=username,
                display_name="",
                password=password,
                roles={},
                now=utcnow(),
            )
        assert caught.value.code == code

    def test_another_partys_user_cannot_add_users_to_it(self, session: Session) -> None:
        mine, theirs = make_party(session), make_party(session)
        actor = actor_for(make_api_login(session, party=mine).user, "api")
        with pytest.raises(NotFound):
            service.create_user(
                session,
                actor=actor,
                party=theirs,
                username="spy",
                display_name="Spy",
                password=None,
                roles={},
                now=utcnow(),
            )


class TestApiTokens:
    def test_token_finds_its_user_and_only_a_hash_is_stored(self, session: Session) -> None:
        login = make_api_login(session, party=make_party(session))
        assert login.token.startswith("mh_")
        assert service.user_for_token(session, login.token) is login.user
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert login.token not in stored

    def test_unknown_revoked_and_inactive(self, session: Session) -> None:
        login = make_api_login(session, party=make_party(session))
        assert service.user_for_token(session, "mh_unknown") is None
        row = session.scalar(select(ApiToken).where(ApiToken.user_id == login.user.id))
        assert row is not None
        row.revoked_at = row.created_at
        assert service.user_for_token(session, login.token) is None
        row.revoked_at = None
        login.user.active = False
        assert service.user_for_token(session, login.token) is None

    def test_a_user_issues_tokens_only_to_itself(self, session: Session) -> None:
        party = make_party(session)
        alice, bob = make_api_login(session, party=party), make_api_login(session, party=party)
        alice_actor = actor_for(alice.user, "api")
        token = service.issue_api_token(
            session, actor=alice_actor, user=alice.user, label="x", now=utcnow()
        )
        assert service.user_for_token(session, token) is alice.user
        with pytest.raises(PermissionDenied):
            service.issue_api_token(session, actor=alice_actor, user=bob.user, now=utcnow())

    def test_operator_role_makes_an_operator_actor(self, session: Session) -> None:
        dcc = make_party(session, roles=("OPERATOR",))
        supplier = make_party(session, roles=("IS",))
        assert actor_for(make_api_login(session, party=dcc).user, "cli").is_operator
        actor = actor_for(make_api_login(session, party=supplier).user, "api")
        assert not actor.is_operator
        assert actor.party_id == supplier.id
        assert actor.interface == "api"


class TestAppointAgent:
    def _actor(self, session: Session, party: Party) -> Actor:
        return actor_for(make_api_login(session, party=party).user, "api")

    def test_supplier_appoints_an_rsa_for_itself(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        agent = make_party(session, roles=("RSA",))
        row = service.appoint_agent(
            session,
            actor=self._actor(session, supplier),
            supplier_code=supplier.code,
            agent_code=agent.code.lower(),
            valid_from=D,
            valid_to=D + timedelta(days=30),
            now=utcnow(),
        )
        assert (row.supplier_party_id, row.agent_party_id) == (supplier.id, agent.id)
        entry = entries_for(session, object_type="appointment", object_id=str(row.id))[-1]
        assert entry.action == "appointment.created"
        assert entry.changes["valid_to"] == "2025-04-09"

    def test_supplier_cannot_appoint_for_another_supplier(self, session: Session) -> None:
        supplier, other = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        agent = make_party(session, roles=("RSA",))
        with pytest.raises(NotFound):
            service.appoint_agent(
                session,
                actor=self._actor(session, supplier),
                supplier_code=other.code,
                agent_code=agent.code,
                valid_from=D,
                now=utcnow(),
            )
        assert _count(session, AgentAppointment) == 0

    @pytest.mark.parametrize(
        ("supplier_roles", "agent_roles", "code"),
        [
            (("ED",), ("RSA",), "not_a_supplier"),
            (("IS",), ("OU",), "not_an_agent"),
            (("GS",), ("IS",), "not_an_agent"),
        ],
    )
    def test_roles_are_checked(
        self,
        session: Session,
        supplier_roles: tuple[str, ...],
        agent_roles: tuple[str, ...],
        code: str,
    ) -> None:
        supplier = make_party(session, roles=supplier_roles)
        agent = make_party(session, roles=agent_roles)
        with pytest.raises(InvalidInput) as caught:
            service.appoint_agent(
                session,
                actor=SYSTEM,
                supplier_code=supplier.code,
                agent_code=agent.code,
                valid_from=D,
                now=utcnow(),
            )
        assert caught.value.code == code

    def test_unknown_agent(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            service.appoint_agent(
                session,
                actor=SYSTEM,
                supplier_code=supplier.code,
                agent_code="NOBODY",
                valid_from=D,
                now=utcnow(),
            )
        assert caught.value.code == "unknown_agent"

    def test_period_ending_before_it_starts(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        with pytest.raises(InvalidInput) as caught:
            make_appointment(
                session,
                supplier=supplier,
                agent=agent,
                valid_from=D,
                valid_to=D - timedelta(days=1),
            )
        assert caught.value.code == "bad_period"

    def test_one_day_appointment_is_fine(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D, valid_to=D)
        assert row.valid_from == row.valid_to == D

    @pytest.mark.parametrize(
        ("existing", "new"),
        [
            ((D, None), (D + timedelta(days=400), None)),
            ((D, D + timedelta(days=10)), (D + timedelta(days=10), None)),
            ((D, D + timedelta(days=10)), (D - timedelta(days=5), D)),
            ((D, D + timedelta(days=10)), (D + timedelta(days=2), D + timedelta(days=3))),
            ((D + timedelta(days=5), None), (D, None)),
        ],
    )
    def test_overlapping_periods_for_the_same_pair_are_refused(
        self,
        session: Session,
        existing: tuple[date, date | None],
        new: tuple[date, date | None],
    ) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        first = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=existing[0], valid_to=existing[1]
        )
        with pytest.raises(OverlappingPeriod) as caught:
            make_appointment(
                session, supplier=supplier, agent=agent, valid_from=new[0], valid_to=new[1]
            )
        assert caught.value.status == 409
        assert caught.value.code == "overlapping_period"
        assert caught.value.details == {"appointment_id": first.id}
        assert _count(session, AgentAppointment) == 1

    def test_adjacent_periods_and_other_pairs_do_not_overlap(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        other_supplier = make_party(session, roles=("GS",))
        make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=9)
        )
        make_appointment(session, supplier=supplier, agent=agent, valid_from=D + timedelta(days=10))
        make_appointment(session, supplier=other_supplier, agent=agent, valid_from=D)
        assert _count(session, AgentAppointment) == 3


class TestEndAppointment:
    def test_supplier_ends_it_and_the_agent_stops_on_the_day_after(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        actor = actor_for(make_api_login(session, party=supplier).user, "api")
        last = D + timedelta(days=5)
        service.end_appointment(
            session, actor=actor, appointment_id=row.id, valid_to=last, now=utcnow()
        )
        assert row.valid_to == last
        ids = dict(agent_party_id=agent.id, supplier_party_id=supplier.id)
        assert service.may_act_for(session, **ids, day=last)
        assert not service.may_act_for(session, **ids, day=last + timedelta(days=1))
        entry = entries_for(session, object_type="appointment", object_id=str(row.id))[-1]
        assert entry.action == "appointment.ended"
        assert entry.changes == {"valid_to": [None, "2025-03-15"]}

    def test_agent_cannot_end_it(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        actor = actor_for(make_api_login(session, party=agent).user, "api")
        with pytest.raises(PermissionDenied):
            service.end_appointment(
                session, actor=actor, appointment_id=row.id, valid_to=D, now=utcnow()
            )
        assert row.valid_to is None

    def test_third_party_gets_not_found(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        actor = actor_for(make_api_login(session, party=make_party(session)).user, "api")
        with pytest.raises(NotFound):
            service.end_appointment(
                session, actor=actor, appointment_id=row.id, valid_to=D, now=utcnow()
            )

    def test_cannot_lengthen_or_end_long_before_it_starts(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=5)
        )
        for valid_to in (D + timedelta(days=6), D - timedelta(days=2)):
            with pytest.raises(InvalidInput) as caught:
                service.end_appointment(
                    session, actor=SYSTEM, appointment_id=row.id, valid_to=valid_to, now=utcnow()
                )
            assert caught.value.code == "bad_period"
        assert row.valid_to == D + timedelta(days=5)

    def test_ending_the_day_before_it_starts_cancels_it(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        service.end_appointment(
            session,
            actor=SYSTEM,
            appointment_id=row.id,
            valid_to=D - timedelta(days=1),
            now=utcnow(),
        )
        assert not service.may_act_for(
            session, agent_party_id=agent.id, supplier_party_id=supplier.id, day=D
        )


class TestListAppointments:
    def test_each_side_sees_its_own_and_a_third_party_none(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        other_supplier = make_party(session, roles=("IS",))
        mine = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        theirs = make_appointment(session, supplier=other_supplier, agent=agent, valid_from=D)

        def ids(party: Party) -> list[int]:
            actor = actor_for(make_api_login(session, party=party).user, "api")
            return [a.id for a in service.list_appointments(session, actor=actor)]

        assert ids(supplier) == [mine.id]
        assert ids(other_supplier) == [theirs.id]
        assert ids(agent) == [mine.id, theirs.id]
        assert ids(make_party(session, roles=("IS",))) == []
        assert len(service.list_appointments(session, actor=SYSTEM)) == 2

    def test_on_day_filter(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        early = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D, valid_to=D + timedelta(days=9)
        )
        late = make_appointment(
            session, supplier=supplier, agent=agent, valid_from=D + timedelta(days=10)
        )

        def on(day: date) -> list[int]:
            return [a.id for a in service.list_appointments(session, actor=SYSTEM, on_day=day)]

        assert on(D - timedelta(days=1)) == []
        assert on(D) == [early.id]
        assert on(D + timedelta(days=9)) == [early.id]
        assert on(D + timedelta(days=10)) == [late.id]
        assert on(D + timedelta(days=5000)) == [late.id]

    def test_get_another_partys_appointment_is_not_found(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        row = make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        outsider = actor_for(make_api_login(session, party=make_party(session)).user, "api")
        with pytest.raises(NotFound):
            service.get_appointment(session, actor=outsider, appointment_id=row.id)
        with pytest.raises(NotFound):
            service.get_appointment(session, actor=SYSTEM, appointment_id=row.id + 1000)


class TestMayActFor:
    def test_boundary_days_of_a_closed_period(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        last = D + timedelta(days=30)
        make_appointment(session, supplier=supplier, agent=agent, valid_from=D, valid_to=last)

        def may(day: date) -> bool:
            return service.may_act_for(
                session, agent_party_id=agent.id, supplier_party_id=supplier.id, day=day
            )

        assert not may(D - timedelta(days=1))
        assert may(D)
        assert may(last)
        assert not may(last + timedelta(days=1))

    def test_open_ended_period(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        ids = dict(agent_party_id=agent.id, supplier_party_id=supplier.id)
        assert not service.may_act_for(session, **ids, day=D - timedelta(days=1))
        assert service.may_act_for(session, **ids, day=D)
        assert service.may_act_for(session, **ids, day=date(2099, 12, 31))

    def test_only_for_the_appointing_supplier(self, session: Session) -> None:
        supplier, agent = make_party(session, roles=("IS",)), make_party(session, roles=("RSA",))
        other = make_party(session, roles=("IS",))
        make_appointment(session, supplier=supplier, agent=agent, valid_from=D)
        assert not service.may_act_for(
            session, agent_party_id=agent.id, supplier_party_id=other.id, day=D
        )
        # The appointment does not run the other way round.
        assert not service.may_act_for(
            session, agent_party_id=supplier.id, supplier_party_id=agent.id, day=D
        )

    def test_a_supplier_may_act_for_itself(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        assert service.may_act_for(
            session, agent_party_id=supplier.id, supplier_party_id=supplier.id, day=D
        )

    def test_suppliers_represented_by(self, session: Session) -> None:
        agent = make_party(session, roles=("RSA",))
        a, b = make_party(session, roles=("IS",)), make_party(session, roles=("GS",))
        make_appointment(session, supplier=a, agent=agent, valid_from=D)
        make_appointment(session, supplier=b, agent=agent, valid_from=D + timedelta(days=1))
        assert service.suppliers_represented_by(session, agent_party_id=agent.id, day=D) == [a.id]
        assert sorted(
            service.suppliers_represented_by(
                session, agent_party_id=agent.id, day=D + timedelta(days=1)
            )
        ) == sorted([a.id, b.id])


class TestBulkReads:
    def test_codes_and_roles_by_party_id(self, session: Session) -> None:
        supplier = make_party(session, code="BRS1", roles=("IS", "GS"))
        dno = make_party(session, code="BRD1", roles=("ED",))
        codes = service.party_codes(session)
        assert (codes[supplier.id], codes[dno.id]) == ("BRS1", "BRD1")
        roles = service.party_role_lists(session)
        assert (sorted(roles[supplier.id]), roles[dno.id]) == (["GS", "IS"], ["ED"])
        assert service.party_count(session) == len(codes)
        assert service.party_by_id(session, dno.id) is dno

    def test_appointments_in_force_on_the_day_only(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        agent, former = make_party(session, roles=("RSA",)), make_party(session, roles=("RSA",))
        make_appointment(session, supplier=supplier, agent=agent, valid_from=date(2024, 3, 1))
        make_appointment(
            session,
            supplier=supplier,
            agent=former,
            valid_from=date(2023, 1, 1),
            valid_to=date(2024, 2, 29),
        )
        assert service.appointments_in_force(session, day=date(2024, 2, 29)) == [
            (supplier.id, former.id)
        ]
        assert service.appointments_in_force(session, day=date(2024, 3, 1)) == [
            (supplier.id, agent.id)
        ]
