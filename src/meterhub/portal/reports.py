"""``/portal/reports/{party}``: the party's MP176 report pages, and its frozen monthly runs.

The page is a GET form over ``reporting.explore.explore`` (so every view is a bookmarkable
link and works without JavaScript): a period, the user role, a filter per dimension and the
dimension to break down by. Its tables are split into sections a person moves between by
plain links that keep the filters (``?section=``): business processes (the summary, the charts,
day by day, the breakdown, RTT and failures), league tables, alerts, and the inventory reports
(month-end snapshots, so they come with the frozen monthly runs). Charts are inline SVG drawn
here (``portal/charts.py``); every table has a CSV download holding exactly the rows and cells
the page shows. The party in the path must be the logged-in user's own: any other is a 404,
like any other party's object.

The hub operator is the exception: it reads any party's pages, picked from a list of the parties
the cube holds, and sees exactly what that party sees (its own figures named, the industry and
anonymised peers under the same disclosure control, peers labelled as that party's labels), under
a banner saying whose view it is.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from meterhub.api.deps import DbSession
from meterhub.config import Settings
from meterhub.errors import NotFound
from meterhub.kit.clock import today
from meterhub.kit.spreadsheet import spreadsheet_safe
from meterhub.parties import service as parties
from meterhub.portal.charts import (
    INDUSTRY_COLOUR,
    OWN_COLOUR,
    PEER_COLOUR,
    Bar,
    Line,
    bar_chart,
    histogram_chart,
    line_chart,
)
from meterhub.portal.web import SECURITY_HEADERS, CurrentUser, PortalUser, render
from meterhub.reporting import archive
from meterhub.reporting.explore import (
    BREAKDOWNS,
    FILTER_TITLES,
    FILTERS,
    MIN_DEFAULT_DAYS,
    CubeReader,
    ExploreQuery,
    ExploreView,
    Table,
    explore,
    label_secret,
    reader_for,
)

router = APIRouter()

REPORTS_PATH = "/portal/reports"

#: The page's sections: name, heading, and the tables each shows (in the view's order).
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "process": ("Business processes", ("summary", "daily", "breakdown", "rtt", "failures")),
    "league": ("League tables", ("league",)),
    "alerts": ("Alerts", ("alerts",)),
    "inventory": ("Inventory", ()),
}
DEFAULT_SECTION = "process"
INVENTORY_PREFIX = "inventory."


def section_of(request: Request) -> str:
    """The section asked for; one that does not exist is a 404, like any unknown page."""
    section = request.query_params.get("section") or DEFAULT_SECTION
    if section not in SECTIONS:
        raise NotFound("there is no such section of the report")
    return section


def party_shown(db: DbSession, party: str, me: PortalUser) -> str:
    """The party in the path, if the caller may read its reports: its own, or any party for the
    hub operator. Anything else does not exist."""
    try:
        return parties.visible_party(db, actor=me.actor, code=party).code
    except NotFound:
        raise NotFound("there is no such report") from None


def picker(db: DbSession, me: PortalUser, reader: CubeReader | None) -> list[tuple[str, str]]:
    """For the hub operator, the parties it can view the reports of (code, name), the busiest
    first: those the cube holds requests or alerts of. Nobody else picks a party."""
    if not me.actor.is_operator or reader is None:
        return []
    names = {p.code: p.name for p in parties.list_parties(db, actor=me.actor)}
    return [(code, names[code]) for code in reader.current().parties() if code in names]


def view_for(request: Request, party: str) -> ExploreView | None:
    settings: Settings = request.app.state.settings
    reader = reader_for(settings)
    if reader is None:
        return None
    query = ExploreQuery.parse(request.query_params, held=reader.available(), today=today())
    return explore(
        reader,
        party=party,
        query=query,
        secret=label_secret(settings),
        min_cohort=settings.report_min_cohort,
    )


def charts(view: ExploreView) -> dict[str, Any]:
    out: dict[str, Any] = {}
    daily = view.tables.get("daily")
    if daily and daily.rows:
        days = sorted({r["day"] for r in daily.rows})
        rate = {(r["day"], r["series"]): r["success_rate"] for r in daily.rows}
        lines = [Line(view.party, OWN_COLOUR, [rate.get((d, "own")) for d in days])]
        if any(r["series"] == "industry" for r in daily.rows):
            lines.append(
                Line("Industry", INDUSTRY_COLOUR, [rate.get((d, "industry")) for d in days])
            )
        out["daily"] = line_chart("Daily success rate (%), you against the industry", days, lines)
    rtt = view.tables.get("rtt")
    if rtt and rtt.rows:
        buckets = sorted({r["from_ms"] for r in rtt.rows})
        share = {(r["from_ms"], r["series"]): r["share"] or 0.0 for r in rtt.rows}
        series = [(view.party, OWN_COLOUR, [share.get((b, "own"), 0.0) for b in buckets])]
        if any(r["series"] == "industry" for r in rtt.rows):
            series.append(
                ("Industry", INDUSTRY_COLOUR, [share.get((b, "industry"), 0.0) for b in buckets])
            )
        out["rtt"] = histogram_chart(
            "RTT of successful responses: share of responses per bucket (%)", buckets, series
        )
    summary = view.tables.get("summary")
    if summary and summary.rows:
        colour = {"own": OWN_COLOUR, "industry": INDUSTRY_COLOUR, "peer": PEER_COLOUR}
        bars = [
            Bar(r["party"], r["success_rate"], colour[r["series"]])
            for r in summary.rows
            if r["success_rate"] is not None
        ]
        out["peers"] = bar_chart("Success rate (%): you, the industry and peers", bars)
    return out


@router.get("/reports")
def reports_home(
    request: Request, db: DbSession, me: CurrentUser, party: str | None = None
) -> Response:
    """The caller's own report page. The hub operator, which sends no requests of its own, goes
    to the party it picked (``?party=``, keeping the period), else the busiest the cube holds."""
    target = me.party_code
    keep = {k: v for k, v in request.query_params.items() if k in ("from", "to") and v}
    if me.actor.is_operator:
        held = [code for code, _ in picker(db, me, reader_for(request.app.state.settings))]
        if party:
            target = party_shown(db, party, me)
        elif held and me.party_code not in held:
            target = held[0]
    suffix = f"?{urlencode(keep)}" if keep else ""
    return RedirectResponse(f"{REPORTS_PATH}/{target}{suffix}", status_code=303)


@router.get("/reports/{party}")
def report_page(party: str, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's performance under the chosen period and filters, against the industry."""
    party = party_shown(db, party, me)
    section = section_of(request)
    view = view_for(request, party)
    settings: Settings = request.app.state.settings
    base = f"{REPORTS_PATH}/{party}"
    query_string = urlencode(view.query.params()) if view else ""
    shown = SECTIONS[section][1]
    return render(
        request,
        "reports.html",
        {
            "nav": "reports",
            "party": party,
            "view": view,
            "section": section,
            "sections": {name: title for name, (title, _) in SECTIONS.items()},
            "tables": [t for t in view.tables.values() if t.id in shown] if view else [],
            "inventory": inventory_files(request, party) if section == "inventory" else [],
            "charts": charts(view) if view and view.has_data and section == "process" else {},
            "filters": FILTERS,
            "filter_titles": FILTER_TITLES,
            "breakdowns": BREAKDOWNS,
            "base": base,
            "query_string": query_string,
            "has_runs": bool(settings.reports_dir),
            "operator_view": party != me.party_code,
            "picker": picker(db, me, reader_for(settings)),
            "min_default_days": MIN_DEFAULT_DAYS,
        },
    )


def csv_bytes(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    for row in table.cells():
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue().encode()


@router.get("/reports/{party}/{table_id}.csv")
def report_csv(
    party: str, table_id: str, request: Request, db: DbSession, me: CurrentUser
) -> Response:
    """One table of the page, under the same query string, exactly as shown."""
    party = party_shown(db, party, me)
    view = view_for(request, party)
    table = view.tables.get(table_id) if view else None
    if view is None or table is None:
        raise NotFound("there is no such table for these filters")
    q = view.query
    filename = f"meterhub-report-{party.lower()}-{table_id}-{q.first}-{q.last}.csv"
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(csv_bytes(table), media_type="text/csv; charset=utf-8", headers=headers)


def reports_dir(request: Request) -> Path | None:
    settings: Settings = request.app.state.settings
    return Path(settings.reports_dir) if settings.reports_dir else None


def inventory_files(request: Request, party: str) -> list[tuple[str, archive.FrozenFile]]:
    """(month, file) of every inventory report in the party's frozen months, newest first."""
    return [
        (run.month, f)
        for run in archive.runs_of(reports_dir(request), party)
        for f in run.files
        if f.name.startswith(INVENTORY_PREFIX)
    ]


@router.get("/reports/{party}/runs")
def runs_page(party: str, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's frozen monthly reports, each file downloadable."""
    party = party_shown(db, party, me)
    return render(
        request,
        "reports_runs.html",
        {
            "nav": "reports",
            "party": party,
            "runs": archive.runs_of(reports_dir(request), party),
            "configured": reports_dir(request) is not None,
            "base": f"{REPORTS_PATH}/{party}",
            "operator_view": party != me.party_code,
        },
    )


@router.get("/reports/{party}/runs/{month}/{name}")
def run_download(
    party: str, month: str, name: str, request: Request, db: DbSession, me: CurrentUser
) -> Response:
    """One file of the party's own frozen report; anyone else's is a 404 (but the operator's)."""
    party = party_shown(db, party, me)
    path, media_type = archive.run_file(reports_dir(request), party, month, name)
    headers = dict(SECURITY_HEADERS)
    return FileResponse(path, media_type=media_type, filename=name, headers=headers)
