"""Bodies for the Smart Metering Inventory."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meterhub.kit.schema import RequestBody, Strict


class DeviceOut(Strict):
    device_id: str
    device_type: str
    manufacturer: str
    model: str
    firmware_version: str
    smets_version: str
    csp_region: str
    status: str
    owner: str | None
    mpxn: str | None
    comms_hub_id: str | None
    updated_at: datetime


class DevicePageOut(Strict):
    items: list[DeviceOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


class DeviceIn(RequestBody):
    device_id: str = Field(description="EUI-64, e.g. 00-DB-12-34-56-78-90-A2")
    device_type: str
    manufacturer: str
    model: str
    firmware_version: str
    smets_version: str
    csp_region: str
    status: str = "Pending"
    owner: str | None = None
    mpxn: str | None = None
    comms_hub_id: str | None = None


class StatusChange(RequestBody):
    status: str
    reason: str = Field(min_length=1, max_length=500)


class OwnerChange(RequestBody):
    owner: str
    reason: str = Field(min_length=1, max_length=500)


class HistoryOut(Strict):
    at: datetime
    field: str
    old_value: str | None
    new_value: str | None
    actor: str
    reason: str
