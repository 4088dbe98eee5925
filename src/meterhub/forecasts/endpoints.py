"""``/api/v1/forecasts``: submit and read install forecasts, scoped to the caller's supplier."""

from __future__ import annotations

from fastapi import APIRouter

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.forecasts import service
from meterhub.forecasts.models import InstallForecast
from meterhub.forecasts.schemas import ForecastIn, ForecastOut
from meterhub.kit.clock import utcnow

# A supplier you may not see (or none) is a 404 on every route.
router = APIRouter(tags=["forecasts"], responses=refusals(404))


def forecast_out(row: InstallForecast) -> ForecastOut:
    return ForecastOut(
        id=row.id,
        supplier=row.supplier.code,
        role=row.role,
        month=row.month,
        csp_region=row.csp_region,
        installs=row.installs,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by_party.code if row.submitted_by_party else row.submitted_by,
        in_force=row.superseded_at is None,
        superseded_at=row.superseded_at,
        supersedes=row.supersedes_id,
    )


@router.post(
    "/forecasts",
    response_model=ForecastOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(409)},
)
def submit_forecast(body: ForecastIn, session: DbSession, actor: CurrentActor) -> ForecastOut:
    """Forecast installs for a month that has not begun. Submitting again for the same
    supplier, role, month and region supersedes the forecast in force (it stays in the history)."""
    row = service.submit(
        session,
        actor=actor,
        supplier=body.supplier,
        role=body.role,
        month=body.month,
        csp_region=body.csp_region,
        installs=body.installs,
        now=utcnow(),
    )
    return forecast_out(row)


@router.get("/forecasts", response_model=list[ForecastOut])
def list_forecasts(
    session: DbSession,
    actor: CurrentActor,
    supplier: str | None = None,
    month: str | None = None,
    role: str | None = None,
    csp_region: str | None = None,
    history: bool = False,
) -> list[ForecastOut]:
    """Your supplier's forecasts (and those of suppliers appointing you as agent today): the
    ones in force, or with ``history=true`` every submission, newest first per key."""
    flt = service.ForecastFilter(
        supplier=supplier, month=month, role=role, csp_region=csp_region, history=history
    )
    return [forecast_out(r) for r in service.list_forecasts(session, actor=actor, flt=flt)]


@router.get("/forecasts/{forecast_id}", response_model=ForecastOut)
def get_forecast(forecast_id: RowId, session: DbSession, actor: CurrentActor) -> ForecastOut:
    """One forecast; another supplier's is a 404."""
    return forecast_out(service.get_forecast(session, actor=actor, forecast_id=forecast_id))
