"""``/api/v1/reports/{party}``: the caller's MP176 reports as JSON, and its frozen monthly files.

The same call as the portal's report pages (``reporting.explore.explore``), under the same
disclosure control. ``{party}`` must be the caller's own party code: any other is a 404. The hub
operator reads any party's reports, exactly as that party sees them (``operator_view`` is true
in the answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import FileResponse

from meterhub.api.deps import CurrentUser, DbSession
from meterhub.api.responses import refusals
from meterhub.config import Settings
from meterhub.errors import NotFound
from meterhub.kit.clock import today
from meterhub.parties import service as parties
from meterhub.parties.models import User
from meterhub.reporting import archive
from meterhub.reporting.explore import (
    BREAKDOWNS,
    ExploreQuery,
    ExploreView,
    explore,
    label_secret,
    reader_for,
)
from meterhub.reporting.schemas import (
    ColumnOut,
    ExploreOut,
    FrozenFileOut,
    FrozenRunOut,
    PeriodOut,
    TableOut,
)

# Another party's reports, or none, are a 404 on every route.
router = APIRouter(tags=["reports"], responses=refusals(404))


def party_shown(db: DbSession, party: str, user: User) -> str:
    """The party whose reports are asked for, if the caller may read them: its own, or any
    party for the hub operator. Anything else does not exist."""
    actor = parties.actor_for(user, "api")
    try:
        return parties.visible_party(db, actor=actor, code=party).code
    except NotFound:
        raise NotFound("there is no such report") from None


def explore_params(
    first: Annotated[
        str | None,
        Query(
            alias="from", description="First day, YYYY-MM-DD (UTC); default the 1st of the month"
        ),
    ] = None,
    last: Annotated[
        str | None,
        Query(alias="to", description="Last day, YYYY-MM-DD; default the newest complete day held"),
    ] = None,
    role: Annotated[str | None, Query(description="User role; default the first acted in")] = None,
    process: Annotated[str | None, Query(description="MP176 business process")] = None,
    srv: Annotated[str | None, Query(description="Service Reference Variant, e.g. 4.1.1")] = None,
    device_type: Annotated[str | None, Query(description="ESME, GSME, CHF, ...")] = None,
    model: str | None = None,
    firmware_version: str | None = None,
    smets_version: Annotated[str | None, Query(description="SMETS1, SMETS2, CHTS")] = None,
    csp_region: Annotated[str | None, Query(description="North, Central, South, ...")] = None,
    response_code: Annotated[str | None, Query(description="I0, E20, E21, E4, ...")] = None,
    failure_reason: Annotated[str | None, Query(description="hub_offline, timeout, ...")] = None,
    breakdown: Annotated[str | None, Query(description=", ".join(BREAKDOWNS))] = None,
) -> dict[str, str]:
    values = {
        "from": first,
        "to": last,
        "role": role,
        "process": process,
        "srv": srv,
        "device_type": device_type,
        "model": model,
        "firmware_version": firmware_version,
        "smets_version": smets_version,
        "csp_region": csp_region,
        "response_code": response_code,
        "failure_reason": failure_reason,
        "breakdown": breakdown,
    }
    return {k: v for k, v in values.items() if v is not None}


def _cell(value: Any) -> str | int | float | None:
    if isinstance(value, float):
        return round(value, 3)
    if value is None or isinstance(value, str | int):
        return value
    return str(value)


def explore_out(view: ExploreView, *, operator_view: bool = False) -> ExploreOut:
    q = view.query
    return ExploreOut(
        party=view.party,
        operator_view=operator_view,
        role=view.role,
        roles=list(view.roles),
        period=PeriodOut(first=q.first, last=q.last),
        filters=q.filter_map,
        breakdown=q.breakdown,
        min_cohort=view.min_cohort,
        cohort=view.shown_cohort,
        peers_shown=view.peers_shown,
        available=PeriodOut(first=view.available[0], last=view.available[1])
        if view.available
        else None,
        notes=view.notes,
        tables={
            t.id: TableOut(
                id=t.id,
                title=t.title,
                note=t.note,
                columns=[ColumnOut(key=c.key, label=c.label, kind=c.kind) for c in t.columns],
                rows=[{c.key: _cell(r.get(c.key)) for c in t.columns} for r in t.rows],
            )
            for t in view.tables.values()
        },
    )


@router.get("/reports/{party}/explore", response_model=ExploreOut)
def explore_report(
    party: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    params: Annotated[dict[str, str], Depends(explore_params)],
) -> ExploreOut:
    """The caller's performance over any period and filter, against the industry for its role
    and anonymised peers (only when at least the minimum cohort of parties is present).

    Without ``from`` and ``to`` the period is the month so far up to the newest complete day
    the cube holds (in a month's first days, from the start of the month before)."""
    party = party_shown(db, party, user)
    settings: Settings = request.app.state.settings
    reader = reader_for(settings)
    if reader is None:
        raise NotFound("this hub has no report data configured", code="no_report_data")
    query = ExploreQuery.parse(params, held=reader.available(), today=today())
    view = explore(
        reader,
        party=party,
        query=query,
        secret=label_secret(settings),
        min_cohort=settings.report_min_cohort,
    )
    return explore_out(view, operator_view=party != user.party.code)


def _reports_dir(request: Request) -> Path | None:
    settings: Settings = request.app.state.settings
    return Path(settings.reports_dir) if settings.reports_dir else None


@router.get("/reports/{party}/runs", response_model=list[FrozenRunOut])
def list_runs(party: str, request: Request, db: DbSession, user: CurrentUser) -> list[FrozenRunOut]:
    """The caller's frozen monthly reports, newest first, with a download URL per file."""
    party = party_shown(db, party, user)
    return [
        FrozenRunOut(
            month=run.month,
            content_hash=run.content_hash,
            created_at=run.created_at,
            engine=run.engine,
            files=[
                FrozenFileOut(
                    name=f.name,
                    rows=f.rows,
                    sha256=f.sha256,
                    media_type=f.media_type,
                    url=f"/api/v1/reports/{party}/runs/{run.month}/{f.name}",
                )
                for f in run.files
            ],
        )
        for run in archive.runs_of(_reports_dir(request), party)
    ]


@router.get(
    "/reports/{party}/runs/{month}/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}},
)
def download_run_file(
    party: str, month: str, name: str, request: Request, db: DbSession, user: CurrentUser
) -> FileResponse:
    """One file of the caller's own frozen report (CSV, manifest or PDF)."""
    party = party_shown(db, party, user)
    path, media_type = archive.run_file(_reports_dir(request), party, month, name)
    return FileResponse(path, media_type=media_type, filename=name)
