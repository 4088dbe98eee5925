"""Bodies for registration history."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from meterhub.kit.schema import IsoDate, RequestBody, Strict


class RegistrationIn(RequestBody):
    mpxn: str = Field(description="MPAN core (13 digits) or MPRN")
    supplier: str
    network_operator: str
    shipper: str | None = Field(default=None, description="Gas only")
    effective_from: IsoDate
    effective_to: IsoDate | None = Field(default=None, description="Last day, inclusive")


class RegistrationOut(Strict):
    id: int
    mpxn: str
    supplier: str
    shipper: str | None
    network_operator: str
    effective_from: date
    effective_to: date | None


class HeldOnOut(Strict):
    mpxn: str
    day: date
    registration: RegistrationOut | None


class ShipperShareOut(Strict):
    shipper: str
    first_day: date
    last_day: date
    days: int


class ShippersOut(Strict):
    mpxn: str
    start: date
    end: date
    shippers: list[ShipperShareOut]
