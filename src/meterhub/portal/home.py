"""``/portal/``: who you are, what your party holds, and whom it works with."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import DeviceStatus, DeviceType
from meterhub.kit.clock import today
from meterhub.parties import service as parties
from meterhub.portal.web import CurrentUser, render

router = APIRouter()


@router.get("/")
def home(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party, the user's roles and DUIS user IDs, device counts, and agent appointments."""
    counts = inventory.status_counts(db, actor=me.actor)
    types = [t.value for t in DeviceType if any(k[0] == t.value for k in counts)]
    statuses = [s.value for s in DeviceStatus if any(k[1] == s.value for k in counts)]
    matrix = [
        {
            "type": t,
            "cells": [
                {
                    "count": counts.get((t, s), 0),
                    "href": "/portal/inventory?" + urlencode({"device_type": t, "status": s}),
                }
                for s in statuses
            ],
            "total": sum(n for (dt, _), n in counts.items() if dt == t),
            "href": "/portal/inventory?" + urlencode({"device_type": t}),
        }
        for t in types
    ]
    status_totals = [
        {
            "count": sum(n for (_, st), n in counts.items() if st == s),
            "href": "/portal/inventory?" + urlencode({"status": s}),
        }
        for s in statuses
    ]
    day = today()
    appointments = [
        {
            "side": "made" if a.supplier_party_id == me.actor.party_id else "held",
            "supplier": a.supplier,
            "agent": a.agent,
            "valid_from": a.valid_from,
            "valid_to": a.valid_to,
            "in_force": a.valid_from <= day and (a.valid_to is None or a.valid_to >= day),
        }
        for a in parties.list_appointments(db, actor=me.actor)
    ]
    return render(
        request,
        "home.html",
        {
            "nav": "home",
            "statuses": statuses,
            "matrix": matrix,
            "status_totals": status_totals,
            "device_total": sum(counts.values()),
            "appointments": appointments,
        },
    )
