"""User administration by a party's Local Security Officer (and the hub operator), through the
service functions: who may, what a user may be given, the guard rails, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, entries_for
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.parties import service
from meterhub.parties.models import Party, User
from meterhub.parties.passwords import verify_password
from meterhub.parties.service import actor_for
from tests.factories import SYSTEM, make_api_login, make_party

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Org:
    party: Party
    officer: User
    clerk: User

    @property
    def as_officer(self) -> Actor:
        return actor_for(self.officer, "portal")


def _org(session: Session, code: str, roles: tuple[str, ...]) -> Org:
    party = make_party(session, code=code, roles=roles)
    officer = make_api_login(session, party=party, username=f"lso@{code.lower()}").user
    service.set_user_permissions(
        session, actor=SYSTEM, user=officer, local_security_officer=True, now=T0
    )
    clerk = make_api_login(session, party=party, username=f"clerk@{code.lower()}").user
    return Org(party, officer, clerk)


@pytest.fixture
def alpha(session: Session) -> Org:
    return _org(session, "ALPHA", ("GS", "SHIPPER"))


@pytest.fixture
def bravo(session: Session) -> Org:
    return _org(session, "BRAVO", ("GS",))


def actions(session: Session, username: str) -> list[str]:
    return [e.action for e in entries_for(session, object_type="user", object_id=username)]


class TestWhoAdministers:
    def test_an_officer_lists_its_own_partys_users_only(
        self, session: Session, alpha: Org, bravo: Org
    ) -> None:
        party = service.administered_party(session, actor=alpha.as_officer)
        assert party.code == "ALPHA"
        page = service.list_party_users(session, actor=alpha.as_officer, party=party)
        assert [u.username for u in page.items] == ["clerk@alpha", "lso@alpha"]
        with pytest.raises(NotFound):
            service.administered_party(session, actor=alpha.as_officer, code="BRAVO")
        with pytest.raises(NotFound):
            service.list_party_users(session, actor=alpha.as_officer, party=bravo.party)

    def test_a_user_who_is_not_an_officer_is_refused_with_a_stable_code(
        self, session: Session, alpha: Org
    ) -> None:
        clerk = actor_for(alpha.clerk, "api")
        for attempt in (
            lambda: service.administered_party(session, actor=clerk),
            lambda: service.administered_user(session, actor=clerk, username="lso@alpha"),
            lambda: service.disable_user(session, actor=clerk, user=alpha.officer, now=T0),
        ):
            with pytest.raises(PermissionDenied) as refused:
                attempt()
            assert refused.value.code == "not_security_officer"
        assert not service.may_administer_users(session, actor=clerk)
        assert service.may_administer_users(session, actor=alpha.as_officer)

    def test_a_disabled_officer_administers_nothing(self, session: Session, alpha: Org) -> None:
        service.disable_user(session, actor=SYSTEM, user=alpha.officer, now=T0)
        with pytest.raises(PermissionDenied):
            service.administered_party(session, actor=alpha.as_officer)

    def test_another_partys_user_is_not_found_whatever_the_step(
        self, session: Session, alpha: Org, bravo: Org
    ) -> None:
        me = alpha.as_officer
        with pytest.raises(NotFound):
            service.administered_user(session, actor=me, username="clerk@bravo")
        with pytest.raises(NotFound):
            service.administered_user_by_id(session, actor=me, user_id=bravo.clerk.id)
        for step in (
            lambda: service.disable_user(session, actor=me, user=bravo.clerk, now=T0),
            lambda: service.enable_user(session, actor=me, user=bravo.clerk, now=T0),
            lambda: service.reset_password(session, actor=me, user=bravo.clerk, now=T0),
            lambda: service.set_user_permissions(
                session, actor=me, user=bravo.clerk, roles=[], now=T0
            ),
            lambda: service.create_party_user(
                session,
                actor=me,
                party=bravo.party,
                username="spy@bravo",
                display_name="",
                email="spy@bravo.example",
                roles=[],
                now=T0,
            ),
        ):
            with pytest.raises(NotFound):
                step()
        assert bravo.clerk.active and bravo.clerk.roles
        assert service.user_by_username(session, "spy@bravo") is None

    def test_the_operator_administers_any_party(
        self, session: Session, alpha: Org, bravo: Org
    ) -> None:
        party = service.administered_party(session, actor=SYSTEM, code="BRAVO")
        user, _ = service.create_party_user(
            session,
            actor=SYSTEM,
            party=party,
            username="new@bravo",
            display_name="New",
            email="new@bravo.example",
            roles=["GS"],
            now=T0,
        )
        assert user.party_id == bravo.party.id


class TestCreate:
    def test_an_officer_creates_a_user_with_a_temporary_password_to_change(
        self, session: Session, alpha: Org
    ) -> None:
        user, password = service.create_party_user(
            session,
            actor=alpha.as_officer,
            party=alpha.party,
            username=" Dee@Alpha ",
            display_name="Dee",
            email="dee@alpha.example",
            roles=["gs", "SHIPPER"],
            now=T0,
        )
        assert user.username == "dee@alpha"
        assert sorted(r.role for r in user.roles) == ["GS", "SHIPPER"]
        assert user.password_change_required and not user.local_security_officer
        assert len(password) >= 12 and verify_password(user.password_hash, password)
        (entry,) = entries_for(session, object_type="user", object_id="dee@alpha")
        assert (entry.action, entry.actor, entry.interface) == (
            "user.created",
            "lso@alpha",
            "portal",
        )
        assert entry.changes["roles"] == {"GS": None, "SHIPPER": None}

    def test_each_temporary_password_is_new(self, session: Session, alpha: Org) -> None:
        made = {
            service.create_party_user(
                session,
                actor=alpha.as_officer,
                party=alpha.party,
                username=f"u{n}@alpha",
                display_name="",
                email=f"u{n}@alpha.example",
                roles=[],
                now=T0,
            )[1]
            for n in range(3)
        }
        assert len(made) == 3

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"roles": ["IS"]}, "role_not_held"),
            ({"roles": ["NOPE"]}, "bad_role"),
            ({"username": "has space"}, "bad_username"),
            ({"username": "-dash"}, "bad_username"),
            ({"username": ""}, "bad_username"),
            ({"email": ""}, "bad_email"),
            ({"email": "not-an-address"}, "bad_email"),
        ],
    )
    def test_refuses_what_the_rules_forbid(
        self, session: Session, alpha: Org, changes: dict[str, object], code: str
    ) -> None:
        fields: dict[str, object] = {
            "username": "eve@alpha",
            "display_name": "",
            "email": "eve@alpha.example",
            "roles": ["GS"],
            **changes,
        }
        with pytest.raises(InvalidInput) as refused:
            service.create_party_user(
                session, actor=alpha.as_officer, party=alpha.party, now=T0, **fields
            )  # type: ignore[arg-type]
        assert refused.value.code == code

    def test_the_operator_role_is_never_given_here(self, session: Session, alpha: Org) -> None:
        with pytest.raises(PermissionDenied) as refused:
            service.create_party_user(
                session,
                actor=SYSTEM,
                party=alpha.party,
                username="boss@alpha",
                display_name="",
                email="boss@alpha.example",
                roles=["OPERATOR"],
                now=T0,
            )
        assert refused.value.code == "operator_role_reserved"

    def test_a_username_taken_in_any_party_is_a_conflict(
        self, session: Session, alpha: Org, bravo: Org
    ) -> None:
        with pytest.raises(Conflict):
            service.create_party_user(
                session,
                actor=alpha.as_officer,
                party=alpha.party,
                username="clerk@bravo",
                display_name="",
                email="x@alpha.example",
                roles=[],
                now=T0,
            )

    def test_an_officer_may_make_another_officer(self, session: Session, alpha: Org) -> None:
        user, _ = service.create_party_user(
            session,
            actor=alpha.as_officer,
            party=alpha.party,
            username="deputy@alpha",
            display_name="",
            email="deputy@alpha.example",
            roles=[],
            local_security_officer=True,
            now=T0,
        )
        assert service.may_administer_users(session, actor=actor_for(user, "portal"))


class TestPermissions:
    def test_roles_are_replaced_keeping_the_duis_user_id_of_a_kept_role(
        self, session: Session, alpha: Org
    ) -> None:
        kept_id = next(r.duis_user_id for r in alpha.clerk.roles if r.role == "GS")
        service.set_user_permissions(
            session, actor=alpha.as_officer, user=alpha.clerk, roles=["GS"], now=T0
        )
        assert [(r.role, r.duis_user_id) for r in alpha.clerk.roles] == [("GS", kept_id)]
        entry = entries_for(session, object_type="user", object_id="clerk@alpha")[-1]
        assert entry.action == "user.permissions_changed"
        assert entry.changes == {"roles": [["GS", "SHIPPER"], ["GS"]]}
        assert entry.actor == "lso@alpha"

    def test_a_role_the_party_lacks_changes_nothing(self, session: Session, alpha: Org) -> None:
        with pytest.raises(InvalidInput):
            service.set_user_permissions(
                session, actor=alpha.as_officer, user=alpha.clerk, roles=["GS", "IS"], now=T0
            )
        assert sorted(r.role for r in alpha.clerk.roles) == ["GS", "SHIPPER"]

    def test_the_last_active_officer_cannot_withdraw_its_own_permission(
        self, session: Session, alpha: Org
    ) -> None:
        with pytest.raises(Conflict) as refused:
            service.set_user_permissions(
                session,
                actor=alpha.as_officer,
                user=alpha.officer,
                roles=["GS"],
                local_security_officer=False,
                now=T0,
            )
        assert refused.value.code == "last_security_officer"
        assert alpha.officer.local_security_officer
        # Nothing of the refused change was made.
        assert sorted(r.role for r in alpha.officer.roles) == ["GS", "SHIPPER"]

    def test_with_a_second_officer_it_can(self, session: Session, alpha: Org) -> None:
        service.set_user_permissions(
            session,
            actor=alpha.as_officer,
            user=alpha.clerk,
            local_security_officer=True,
            now=T0,
        )
        service.set_user_permissions(
            session,
            actor=alpha.as_officer,
            user=alpha.officer,
            local_security_officer=False,
            now=T0,
        )
        assert not alpha.officer.local_security_officer
        assert not service.may_administer_users(session, actor=alpha.as_officer)
        assert actions(session, "lso@alpha")[-1] == "user.permissions_changed"

    def test_a_disabled_second_officer_does_not_count(self, session: Session, alpha: Org) -> None:
        service.set_user_permissions(
            session, actor=SYSTEM, user=alpha.clerk, local_security_officer=True, now=T0
        )
        service.disable_user(session, actor=alpha.as_officer, user=alpha.clerk, now=T0)
        with pytest.raises(Conflict):
            service.set_user_permissions(
                session,
                actor=alpha.as_officer,
                user=alpha.officer,
                local_security_officer=False,
                now=T0,
            )

    def test_the_operator_role_of_operator_staff_is_kept_and_not_for_officers(
        self, session: Session
    ) -> None:
        dcc = make_party(session, code="DCC", roles=("OPERATOR", "OU"))
        staff = make_api_login(session, party=dcc, username="staff@dcc", roles=("OPERATOR",))
        officer = make_api_login(session, party=dcc, username="lso@dcc", roles=("OU",)).user
        service.set_user_permissions(
            session, actor=SYSTEM, user=officer, local_security_officer=True, now=T0
        )
        service.set_user_permissions(session, actor=SYSTEM, user=staff.user, roles=["OU"], now=T0)
        assert sorted(r.role for r in staff.user.roles) == ["OPERATOR", "OU"]
        # lso@dcc acts in OU only: it is no operator, so the operator's staff are not its.
        with pytest.raises(PermissionDenied) as refused:
            service.disable_user(
                session, actor=actor_for(officer, "portal"), user=staff.user, now=T0
            )
        assert refused.value.code == "operator_user"


class TestDisableAndReset:
    def test_disabling_revokes_tokens_and_voids_sessions_and_is_audited(
        self, session: Session, alpha: Org
    ) -> None:
        token = service.issue_api_token(session, actor=SYSTEM, user=alpha.clerk, now=T0)
        assert service.user_for_token(session, token) is not None
        later = T0 + timedelta(minutes=5)
        service.disable_user(session, actor=alpha.as_officer, user=alpha.clerk, now=later)
        assert not alpha.clerk.active
        assert alpha.clerk.sessions_revoked_at == later
        assert service.user_for_token(session, token) is None
        entry = entries_for(session, object_type="user", object_id="clerk@alpha")[-1]
        assert (entry.action, entry.actor) == ("user.disabled", "lso@alpha")
        assert entry.changes == {"active": [True, False], "tokens_revoked": 2}
        # Enabling lets the user log in again; the tokens stay revoked.
        service.enable_user(session, actor=alpha.as_officer, user=alpha.clerk, now=later)
        assert alpha.clerk.active
        assert service.user_for_token(session, token) is None
        assert actions(session, "clerk@alpha")[-1] == "user.enabled"

    def test_nobody_disables_themselves(self, session: Session, alpha: Org) -> None:
        with pytest.raises(Conflict) as refused:
            service.disable_user(session, actor=alpha.as_officer, user=alpha.officer, now=T0)
        assert refused.value.code == "cannot_disable_self"
        assert alpha.officer.active

    def test_a_reset_gives_a_new_temporary_password_and_shuts_the_old_one_out(
        self, session: Session, alpha: Org
    ) -> None:
        alpha.clerk.password_hash = None
        token = service.issue_api_token(session, actor=SYSTEM, user=alpha.clerk, now=T0)
        password = service.reset_password(session, actor=alpha.as_officer, user=alpha.clerk, now=T0)
        assert verify_password(alpha.clerk.password_hash, password)
        assert alpha.clerk.password_change_required
        assert alpha.clerk.sessions_revoked_at == T0
        assert service.user_for_token(session, token) is None
        assert actions(session, "clerk@alpha")[-1] == "user.password_reset"
        # Changing it (knowing the temporary one) clears the mark.
        service.change_password(
            session,
            actor=actor_for(alpha.clerk, "portal"),
            user=alpha.clerk,
            current_password=password,
            new_password="my own long passphrase",
            now=T0,
        )
        assert not alpha.clerk.password_change_required

    def test_an_officer_does_not_reset_its_own_password(self, session: Session, alpha: Org) -> None:
        with pytest.raises(Conflict) as refused:
            service.reset_password(session, actor=alpha.as_officer, user=alpha.officer, now=T0)
        assert refused.value.code == "cannot_reset_own_password"
