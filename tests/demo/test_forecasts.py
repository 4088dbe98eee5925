"""The demo estate's install forecasts: what a supplier would predict of the simulated waves."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.demo.forecasts import expected_installs
from meterhub.demo.seed import SeedResult
from meterhub.forecasts import service as forecasts
from meterhub.forecasts.models import InstallForecast
from meterhub.parties.models import Party, PartyRole
from tests.demo.conftest import AS_OF


class TestDemoForecasts:
    def test_suppliers_forecast_the_months_around_today_close_to_the_simulated_volume(
        self, estate: Session, seeded_db: tuple[str, SeedResult]
    ) -> None:
        rows = estate.scalars(select(InstallForecast)).all()
        assert seeded_db[1].counts["forecasts"] == len(rows) > 0
        assert sorted({r.month for r in rows}) == ["2026-10", "2026-11", "2026-12", "2027-01"]
        for month in ("2026-11", "2026-12"):
            in_force = forecasts.in_force(estate, month=month)
            total = sum(f.installs for f in in_force)
            assert 0.85 <= total / expected_installs(month) <= 1.15
            assert "IS" in {f.role for f in in_force} <= {"IS", "GS"}

    def test_each_forecast_is_for_a_role_its_supplier_holds_and_made_before_its_month(
        self, estate: Session
    ) -> None:
        held = set(estate.execute(select(Party.code, PartyRole.role).join(PartyRole)).all())
        for r in estate.scalars(select(InstallForecast)):
            assert (r.supplier.code, r.role) in held
            assert r.submitted_at < forecasts.month_start(r.month)
            assert r.submitted_at.date() <= AS_OF

    def test_some_forecasts_were_revised_and_the_first_figure_kept(self, estate: Session) -> None:
        rows = estate.scalars(select(InstallForecast)).all()
        superseded = [r for r in rows if r.superseded_at is not None]
        assert superseded
        assert all(r.submitted_at < (r.superseded_at or r.submitted_at) for r in superseded)
        in_force = Counter(
            (r.supplier_party_id, r.role, r.month, r.csp_region)
            for r in rows
            if r.superseded_at is None
        )
        assert set(in_force.values()) == {1}
