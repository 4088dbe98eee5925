"""Request and response bodies for parties, users and appointments."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from meterhub.kit.schema import Strict


class PartyOut(Strict):
    code: str
    name: str
    kind: str
    roles: list[str]


class PartyIn(Strict):
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=200)
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


class AppointmentIn(Strict):
    supplier: str = Field(description="Party code of the appointing supplier")
    agent: str = Field(description="Party code of the agent (an RSA)")
    valid_from: date
    valid_to: date | None = Field(default=None, description="Last day of the appointment")


class AppointmentEnd(Strict):
    valid_to: date


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
