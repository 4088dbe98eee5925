"""Request and response bodies for parties, users and appointments."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from meterhub.kit.schema import IsoDate, RequestBody, Strict
from meterhub.parties.service import PARTY_CODE_LENGTH, PARTY_NAME_LENGTH


class PartyOut(Strict):
    code: str
    name: str
    kind: str
    roles: list[str]


class PartyIn(RequestBody):
    code: str = Field(min_length=1, max_length=PARTY_CODE_LENGTH)
    name: str = Field(min_length=1, max_length=PARTY_NAME_LENGTH)
    kind: str
    roles: list[str] = Field(min_length=1)


class UserRoleOut(Strict):
    role: str
    duis_user_id: str | None


class MeOut(Strict):
    username: str
    display_name: str
    email: str | None = Field(description="Where your notifications are e-mailed; null: none")
    party: PartyOut
    roles: list[UserRoleOut]
    is_operator: bool


class AppointmentIn(RequestBody):
    supplier: str = Field(description="Party code of the appointing supplier")
    agent: str = Field(description="Party code of the agent (an RSA)")
    valid_from: IsoDate
    valid_to: IsoDate | None = Field(default=None, description="Last day of the appointment")


class AppointmentEnd(RequestBody):
    valid_to: IsoDate


class AppointmentOut(Strict):
    id: int
    supplier: str
    agent: str
    valid_from: date
    valid_to: date | None


class MayActOut(Strict):
    supplier: str
    agent: str
    day: date
    may_act: bool
