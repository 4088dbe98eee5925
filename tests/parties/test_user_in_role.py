"""Who receives what the DCC addresses to a party in a role: its first active user in it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from meterhub.parties import service
from tests.factories import make_api_login, make_party


class TestFirstActiveUser:
    def test_is_the_first_user_in_the_role_with_its_duis_user_id(self, session: Session) -> None:
        dno = make_party(session, roles=("ED", "GT"))
        gas_only = make_api_login(session, party=dno, roles=("GT",))
        first = make_api_login(session, party=dno, roles=("ED",))
        make_api_login(session, party=dno, roles=("ED",))
        found = service.first_active_user(session, party_id=dno.id, role="ED")
        assert found is not None
        assert (found.id, found.party_id, found.role) == (first.user.id, dno.id, "ED")
        assert found.duis_user_id == first.user.roles[0].duis_user_id
        gas = service.first_active_user(session, party_id=dno.id, role="GT")
        assert gas is not None and gas.id == gas_only.user.id

    def test_a_deactivated_user_passes_it_to_the_next(self, session: Session) -> None:
        dno = make_party(session, roles=("ED",))
        first = make_api_login(session, party=dno)
        second = make_api_login(session, party=dno)
        first.user.active = False
        session.flush()
        found = service.first_active_user(session, party_id=dno.id, role="ED")
        assert found is not None and found.id == second.user.id

    def test_none_without_an_active_user_in_the_role(self, session: Session) -> None:
        dno = make_party(session, roles=("ED", "GT"))
        make_api_login(session, party=dno, roles=("GT",))
        other = make_party(session, roles=("ED",))
        make_api_login(session, party=other)
        assert service.first_active_user(session, party_id=dno.id, role="ED") is None


class TestPartyCodesById:
    def test_names_every_party(self, session: Session) -> None:
        a = make_party(session, code="ALPHA")
        b = make_party(session, code="BRAVO", roles=("ED",))
        codes = service.party_codes_by_id(session)
        assert codes[a.id] == "ALPHA" and codes[b.id] == "BRAVO"
