"""``/portal/charges``: a party's monthly Communications Hub charge statement, with its CSV and
PDF. A party sees its own; the hub operator picks any party. Another party's statement is the
portal's 404 page, and a month that has not ended is refused with its reason."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.comms_hubs import statements
from meterhub.kit.clock import utcnow
from meterhub.parties import service as parties
from meterhub.portal.web import CurrentUser, render

router = APIRouter()


def _last_ended_month() -> str:
    first_of_this = utcnow().date().replace(day=1)
    return f"{first_of_this - timedelta(days=1):%Y-%m}"


def _statement(db: DbSession, me: CurrentUser, party: str, month: str) -> statements.Statement:
    shown = parties.visible_party(db, actor=me.actor, code=party)
    return statements.statement_for(db, party_id=shown.id, month=month, now=utcnow())


@router.get("/charges")
def charges_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The statement for ``?month=`` (default: the last month that has ended) of the caller's
    party, or for the operator of ``?party=``."""
    month = request.query_params.get("month") or _last_ended_month()
    party = request.query_params.get("party") or me.party_code
    statement = _statement(db, me, party, month)
    choices = (
        [p.code for p in parties.list_parties(db, actor=me.actor)] if me.actor.is_operator else []
    )
    return render(
        request,
        "charges.html",
        {
            "nav": "charges",
            "s": statement,
            "month": month,
            "party": statement.party_code,
            "choices": choices,
            "pence_text": statements.pence_text,
            "files": f"/portal/charges/{statement.party_code}/{month}",
        },
    )


def _download(statement: statements.Statement, suffix: str, body: bytes, media: str) -> Response:
    name = f"{statements.file_name(statement)}.{suffix}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/charges/{party}/{month}.csv")
def charges_csv(db: DbSession, me: CurrentUser, party: str, month: str) -> Response:
    statement = _statement(db, me, party, month)
    return _download(statement, "csv", statements.statement_csv(statement), "text/csv")


@router.get("/charges/{party}/{month}.pdf")
def charges_pdf(db: DbSession, me: CurrentUser, party: str, month: str) -> Response:
    statement = _statement(db, me, party, month)
    return _download(statement, "pdf", statements.statement_pdf(statement), "application/pdf")
