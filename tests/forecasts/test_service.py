"""Install forecast rules: who may forecast, for which months, and how history is kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, entries_for
from meterhub.errors import Conflict, InvalidInput, NotFound
from meterhub.forecasts import service
from meterhub.forecasts.models import InstallForecast
from meterhub.parties.models import Party
from tests.factories import SYSTEM, make_appointment, make_party

NOW = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)


def actor_of(party: Party) -> Actor:
    return Actor(name=f"user@{party.code}", party_id=party.id, interface="api")


def submit(session: Session, actor: Actor, **kw: object) -> InstallForecast:
    values: dict[str, object] = {
        "supplier": None,
        "role": "IS",
        "month": "2026-06",
        "csp_region": "North",
        "installs": 1200,
        "now": NOW,
    }
    values.update(kw)
    return service.submit(session, actor=actor, **values)  # type: ignore[arg-type]


class TestSubmit:
    def test_a_supplier_forecasts_a_month_that_has_not_begun(self, session: Session) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS", "GS"))
        row = submit(session, actor_of(supplier), role="gs", csp_region="central4g")
        assert (row.supplier.code, row.role, row.month, row.csp_region, row.installs) == (
            "ESUP",
            "GS",
            "2026-06",
            "Central4G",
            1200,
        )
        assert row.submitted_at == NOW and row.superseded_at is None
        assert [
            e.action
            for e in entries_for(session, object_type="install_forecast", object_id=str(row.id))
        ] == ["forecast.submitted"]

    def test_a_resubmission_supersedes_and_keeps_what_was_predicted_when(
        self, session: Session
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        first = submit(session, actor_of(supplier), installs=1000)
        later = datetime(2026, 5, 28, tzinfo=UTC)
        second = submit(session, actor_of(supplier), installs=1400, now=later)
        assert second.id != first.id and second.supersedes_id == first.id
        assert first.superseded_at == later and second.superseded_at is None
        history = service.list_forecasts(
            session, actor=actor_of(supplier), flt=service.ForecastFilter(history=True), now=NOW
        )
        assert [(r.installs, r.superseded_at is None) for r in history] == [
            (1400, True),
            (1000, False),
        ]
        in_force = service.list_forecasts(
            session, actor=actor_of(supplier), flt=service.ForecastFilter(), now=NOW
        )
        assert [r.installs for r in in_force] == [1400]

    def test_the_same_number_again_changes_nothing(self, session: Session) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        first = submit(session, actor_of(supplier))
        again = submit(session, actor_of(supplier), now=datetime(2026, 5, 25, tzinfo=UTC))
        assert again.id == first.id
        assert len(session.scalars(select(InstallForecast)).all()) == 1

    def test_a_submission_racing_another_for_the_same_key_is_a_409(
        self, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        theirs = submit(session, actor_of(supplier))
        # As when the other transaction commits between this one's look and its insert.
        monkeypatch.setattr(service, "_in_force_row", lambda *a, **kw: None)
        with pytest.raises(Conflict) as caught:
            submit(session, actor_of(supplier), installs=1400)
        assert caught.value.code == "concurrent_submission"
        in_force = session.scalars(
            select(InstallForecast).where(InstallForecast.superseded_at.is_(None))
        ).all()
        assert [r.id for r in in_force] == [theirs.id]

    @pytest.mark.parametrize(
        ("kw", "code"),
        [
            ({"month": "2026-05"}, "month_started"),
            ({"month": "2026-13"}, "bad_month"),
            ({"month": "June"}, "bad_month"),
            ({"month": "2028-06"}, "month_too_far_ahead"),
            ({"role": "ED"}, "bad_role"),
            ({"role": "GS"}, "role_not_held"),
            ({"csp_region": "Mars"}, "bad_region"),
            ({"installs": -1}, "bad_installs"),
            ({"installs": 10_000_001}, "bad_installs"),
        ],
    )
    def test_bad_input_is_refused_with_a_stable_code_and_nothing_written(
        self, session: Session, kw: dict[str, object], code: str
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            submit(session, actor_of(supplier), **kw)
        assert caught.value.code == code
        assert session.scalars(select(InstallForecast)).all() == []

    def test_an_appointed_agent_forecasts_for_its_supplier_but_not_for_another(
        self, session: Session
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        other = make_party(session, code="OTHER", roles=("IS",))
        agent = make_party(session, code="MOPCO", roles=("RSA",))
        make_appointment(session, supplier=supplier, agent=agent)
        row = submit(session, actor_of(agent), supplier="esup")
        assert row.supplier.code == "ESUP" and row.submitted_by_party_id == agent.id
        with pytest.raises(NotFound):
            submit(session, actor_of(agent), supplier="OTHER")
        with pytest.raises(NotFound):
            submit(session, actor_of(other), supplier="ESUP")
        with pytest.raises(NotFound):
            submit(session, actor_of(other), supplier="NOSUCH")

    def test_an_agent_whose_appointment_ended_can_no_longer_forecast(
        self, session: Session
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        agent = make_party(session, code="MOPCO", roles=("RSA",))
        make_appointment(
            session, supplier=supplier, agent=agent, valid_to=datetime(2026, 4, 30).date()
        )
        with pytest.raises(NotFound):
            submit(session, actor_of(agent), supplier="ESUP")

    def test_the_operator_must_name_the_supplier(self, session: Session) -> None:
        make_party(session, code="ESUP", roles=("IS",))
        with pytest.raises(InvalidInput) as caught:
            submit(session, SYSTEM)
        assert caught.value.code == "missing_supplier"
        assert submit(session, SYSTEM, supplier="ESUP").supplier.code == "ESUP"


class TestReadScope:
    def test_a_party_sees_only_its_own_forecasts(self, session: Session) -> None:
        mine = make_party(session, code="MINE", roles=("IS",))
        theirs = make_party(session, code="THEIRS", roles=("IS",))
        own = submit(session, actor_of(mine))
        other = submit(session, actor_of(theirs))
        seen = service.list_forecasts(
            session, actor=actor_of(mine), flt=service.ForecastFilter(), now=NOW
        )
        assert [r.id for r in seen] == [own.id]
        with pytest.raises(NotFound):
            service.get_forecast(session, actor=actor_of(mine), forecast_id=other.id, now=NOW)
        with pytest.raises(NotFound):
            service.list_forecasts(
                session,
                actor=actor_of(mine),
                flt=service.ForecastFilter(supplier="THEIRS"),
                now=NOW,
            )


class TestInForce:
    def test_the_report_takes_what_was_in_force_when_the_month_began(
        self, session: Session
    ) -> None:
        supplier = make_party(session, code="ESUP", roles=("IS",))
        submit(session, actor_of(supplier), installs=900, now=datetime(2026, 5, 1, tzinfo=UTC))
        submit(session, actor_of(supplier), installs=1100, now=datetime(2026, 5, 31, tzinfo=UTC))
        submit(session, actor_of(supplier), csp_region="South", installs=50)
        submit(session, actor_of(supplier), month="2026-07", installs=7)
        # a row loaded outside the rules, after June began, is not what was predicted
        session.add(
            InstallForecast(
                supplier_party_id=supplier.id,
                role="IS",
                month="2026-06",
                csp_region="Central",
                installs=5,
                submitted_at=datetime(2026, 6, 2, tzinfo=UTC),
                submitted_by="late",
            )
        )
        session.flush()
        rows = service.in_force(session, month="2026-06")
        assert [(r.party, r.role, r.csp_region, r.installs) for r in rows] == [
            ("ESUP", "IS", "North", 1100),
            ("ESUP", "IS", "South", 50),
        ]


class TestLoadForecasts:
    def test_a_revised_figure_supersedes_its_first_and_is_the_one_in_force(
        self, session: Session
    ) -> None:
        supplier = make_party(session, code="LSUP", roles=("IS", "GS"))
        first_at = datetime(2026, 4, 10, 9, tzinfo=UTC)
        final_at = datetime(2026, 5, 10, 9, tzinfo=UTC)
        written = service.load_forecasts(
            session,
            forecasts=[
                service.LoadedForecast(
                    supplier_party_id=supplier.id,
                    month="2026-06",
                    submitted_by="seed",
                    role="IS",
                    csp_region="North",
                    installs=120,
                    submitted_at=final_at,
                    first_installs=90,
                    first_submitted_at=first_at,
                ),
                service.LoadedForecast(
                    supplier_party_id=supplier.id,
                    month="2026-06",
                    submitted_by="seed",
                    role="GS",
                    csp_region="North",
                    installs=40,
                    submitted_at=final_at,
                ),
            ],
        )
        assert written == 3
        rows = service.in_force(session, month="2026-06")
        assert [(r.party, r.role, r.installs) for r in rows] == [
            ("LSUP", "GS", 40),
            ("LSUP", "IS", 120),
        ]
        revised = session.scalars(
            select(InstallForecast).where(InstallForecast.installs == 120)
        ).one()
        first = session.get(InstallForecast, revised.supersedes_id)
        assert first is not None and (first.installs, first.superseded_at) == (90, final_at)
