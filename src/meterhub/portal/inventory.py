"""``/portal/inventory``, ``/portal/inventory.csv`` and ``/portal/devices/{device_id}``.

The list is a GET form (bookmarkable, no JavaScript) over ``inventory.service.list_devices``:
filters, a sortable column per header, a page size, and keyset pages. "Next" follows the
service's cursor; "Previous" lists backwards (reversed sort) from the first row shown, so both
stay exact however deep the user pages. The CSV takes the same query string and streams every
matching row, not just the page on screen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from meterhub.api.deps import DbSession
from meterhub.audit.service import Actor
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.errors import InvalidInput
from meterhub.inventory import service
from meterhub.inventory.catalogue import CspRegion, DeviceStatus, DeviceType
from meterhub.inventory.models import Device
from meterhub.kit.clock import today
from meterhub.kit.spreadsheet import spreadsheet_safe
from meterhub.portal.web import SECURITY_HEADERS, CurrentUser, render

router = APIRouter()

INVENTORY_PATH = "/portal/inventory"
FILTERS = ("device_type", "manufacturer", "model", "firmware_version", "status", "csp_region")
PAGE_SIZES = (10, 25, 50, 100, 250, 500, 1000)
CSV_BATCH = 1000

# (field, heading in the CSV and on the device page, short heading on the list, sortable)
COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("device_id", "Device ID", "Device ID", True),
    ("device_type", "Device type", "Type", True),
    ("manufacturer", "Manufacturer", "Manufacturer", True),
    ("model", "Model", "Model", True),
    ("firmware_version", "Firmware version", "Firmware", True),
    ("smets_version", "SMETS/CHTS version", "SMETS", False),
    ("csp_region", "CSP region", "Region", True),
    ("status", "Status", "Status", True),
    ("owner", "Holder", "Holder", False),
    ("mpxn", "MPxN", "MPxN", False),
    ("comms_hub_id", "Comms hub ID", "Comms hub", False),
    ("updated_at", "Updated (UTC)", "Updated (UTC)", True),
)


@dataclass(frozen=True)
class InventoryQuery:
    """What the user asked for, read from the query string and kept in every link."""

    filters: dict[str, str]
    sort: str
    size: int
    after: str | None = None
    before: str | None = None

    @property
    def device_filter(self) -> service.DeviceFilter:
        return service.DeviceFilter(**self.filters)

    @property
    def reverse_sort(self) -> str:
        return self.sort[1:] if self.sort.startswith("-") else "-" + self.sort

    def query_string(self, **changes: Any) -> str:
        q = replace(self, **changes)
        params: dict[str, str] = dict(q.filters)
        if q.sort != "device_id":
            params["sort"] = q.sort
        params["size"] = str(q.size)
        if q.after:
            params["after"] = q.after
        if q.before:
            params["before"] = q.before
        return urlencode(params)

    def url(self, **changes: Any) -> str:
        return f"{INVENTORY_PATH}?{self.query_string(**changes)}"


def read_query(request: Request, settings: Settings) -> InventoryQuery:
    params = request.query_params
    filters = {f: params[f].strip() for f in FILTERS if params.get(f, "").strip()}
    sort = params.get("sort", "").strip() or "device_id"
    if sort.lstrip("-") not in service.SORTABLE:
        raise InvalidInput(
            f"cannot sort by {sort!r}; one of {', '.join(service.SORTABLE)}", code="bad_sort"
        )
    raw_size = params.get("size", "").strip()
    size = settings.page_size_default
    if raw_size:
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= settings.page_size_max:
            raise InvalidInput(
                f"page size must be a number from 1 to {settings.page_size_max}",
                code="bad_page_size",
            )
        size = int(raw_size)
    return InventoryQuery(
        filters=filters,
        sort=sort,
        size=size,
        after=params.get("after") or None,
        before=params.get("before") or None,
    )


class HolderCodes:
    """Party codes of device holders, looked up once per page through the inventory service."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._codes: dict[int, str | None] = {}

    def __call__(self, party_id: int | None) -> str:
        if party_id is None:
            return ""
        if party_id not in self._codes:
            self._codes[party_id] = service.party_by_code_for_id(self._session, party_id)
        return self._codes[party_id] or ""


def device_row(device: Device, holders: HolderCodes) -> dict[str, str]:
    return {
        "device_id": device.device_id,
        "device_type": device.device_type,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "firmware_version": device.firmware_version,
        "smets_version": device.smets_version,
        "csp_region": device.csp_region,
        "status": device.status,
        "owner": holders(device.owner_party_id),
        "mpxn": device.mpxn or "",
        "comms_hub_id": device.comms_hub_id or "",
        "updated_at": device.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
    }


@dataclass(frozen=True)
class ShownPage:
    devices: list[Device]
    next_cursor: str | None
    previous_cursor: str | None


def fetch_page(session: Session, actor: Actor, q: InventoryQuery) -> ShownPage:
    flt = q.device_filter
    if q.before:
        back = service.list_devices(
            session, actor=actor, flt=flt, sort=q.reverse_sort, limit=q.size, cursor=q.before
        )
        devices = list(reversed(back.items))
        if devices:
            return ShownPage(
                devices=devices,
                next_cursor=service.cursor_at(devices[-1], sort=q.sort),
                previous_cursor=(
                    service.cursor_at(devices[0], sort=q.sort) if back.next_cursor else None
                ),
            )
        q = replace(q, before=None, after=None)
    page = service.list_devices(
        session, actor=actor, flt=flt, sort=q.sort, limit=q.size, cursor=q.after
    )
    previous = None
    if q.after and page.items:
        previous = service.cursor_at(page.items[0], sort=q.sort)
    return ShownPage(devices=page.items, next_cursor=page.next_cursor, previous_cursor=previous)


@router.get("/inventory")
def inventory_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's devices under the chosen filters, one keyset page at a time."""
    settings: Settings = request.app.state.settings
    q = read_query(request, settings)
    shown = fetch_page(db, me.actor, q)
    holders = HolderCodes(db)
    key, descending = q.sort.lstrip("-"), q.sort.startswith("-")
    headings = [
        {
            "label": label,
            "sortable": sortable,
            "href": q.url(
                sort=("-" + field) if field == key and not descending else field,
                after=None,
                before=None,
            ),
            "direction": ("descending" if descending else "ascending") if field == key else "",
        }
        for field, _, label, sortable in COLUMNS
    ]
    facets = {
        name: service.facet_values(db, actor=me.actor, column=name)
        for name in ("manufacturer", "model", "firmware_version")
    }
    first = replace(q, after=None, before=None)
    return render(
        request,
        "inventory.html",
        {
            "nav": "inventory",
            "q": q,
            "rows": [device_row(d, holders) for d in shown.devices],
            "columns": COLUMNS,
            "headings": headings,
            "facets": facets,
            "device_types": [t.value for t in DeviceType],
            "statuses": [s.value for s in DeviceStatus],
            "regions": [r.value for r in CspRegion],
            "page_sizes": sorted({s for s in PAGE_SIZES if s <= settings.page_size_max} | {q.size}),
            "next_url": q.url(after=shown.next_cursor, before=None) if shown.next_cursor else None,
            "previous_url": (
                q.url(before=shown.previous_cursor, after=None) if shown.previous_cursor else None
            ),
            "first_url": first.url() if (q.after or q.before) else None,
            "csv_url": "/portal/inventory.csv?" + first.query_string(),
            "filtered": bool(q.filters),
        },
    )


def csv_lines(database_url: str, actor: Actor, q: InventoryQuery) -> Iterator[str]:
    """Every matching device as CSV text, a batch at a time, in its own read session.

    The request's session is gone by the time a long download is still streaming, so this
    opens its own and pages through the same service call the page uses.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label, _, _ in COLUMNS])
    with session_scope(database_url, write=False) as session:
        holders = HolderCodes(session)
        cursor: str | None = None
        while True:
            page = service.list_devices(
                session,
                actor=actor,
                flt=q.device_filter,
                sort=q.sort,
                limit=CSV_BATCH,
                cursor=cursor,
            )
            for device in page.items:
                row = device_row(device, holders)
                writer.writerow([spreadsheet_safe(row[field]) for field, _, _, _ in COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            session.expunge_all()
            cursor = page.next_cursor
            if cursor is None:
                return


@router.get("/inventory.csv")
def inventory_csv(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """All devices matching the current filters, in the current order, as a CSV download."""
    settings: Settings = request.app.state.settings
    q = replace(read_query(request, settings), after=None, before=None)
    # Bad filters are refused here, with a proper error page, before any byte is streamed.
    service.list_devices(db, actor=me.actor, flt=q.device_filter, sort=q.sort, limit=1)
    party = me.party_code.lower()
    filename = f"meterhub-inventory-{party}-{date.isoformat(today())}.csv"
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        csv_lines(settings.database_url, me.actor, q),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


@router.get("/devices/{device_id}")
def device_page(device_id: str, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One device and every change of its status, holder or links, oldest first."""
    device = service.get_device(db, actor=me.actor, device_id=device_id)
    history = service.device_history(db, actor=me.actor, device_id=device.device_id)
    return render(
        request,
        "device.html",
        {
            "nav": "inventory",
            "device": device_row(device, HolderCodes(db)),
            "columns": COLUMNS,
            "history": history,
        },
    )
