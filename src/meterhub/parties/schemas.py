"""Request and response bodies for parties, users and appointments."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from meterhub.kit.schema import IsoDate, RequestBody, Strict
from meterhub.parties.service import (
    DISPLAY_NAME_LENGTH,
    EMAIL_LENGTH,
    PARTY_CODE_LENGTH,
    PARTY_NAME_LENGTH,
    USERNAME_LENGTH,
)


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


# ---- user administration (a party's Local Security Officer, or the hub operator)


class UserOut(Strict):
    username: str
    display_name: str
    party: str = Field(description="The user's party code")
    email: str | None
    roles: list[UserRoleOut]
    local_security_officer: bool = Field(description="Manages its party's users")
    active: bool
    password_change_required: bool = Field(
        description="The password is a temporary one, to be changed at the next login"
    )
    last_login_at: datetime | None = Field(description="The last portal login; null: never")
    created_at: datetime


class UserPageOut(Strict):
    items: list[UserOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last")


class UserIn(RequestBody):
    party: str | None = Field(
        default=None,
        max_length=PARTY_CODE_LENGTH,
        description="The party to add the user to; default: your own (another: the operator)",
    )
    username: str = Field(
        min_length=1, max_length=USERNAME_LENGTH, description="Letters, digits and . _ - @"
    )
    display_name: str = Field(default="", max_length=DISPLAY_NAME_LENGTH)
    email: str = Field(min_length=1, max_length=EMAIL_LENGTH)
    roles: list[str] = Field(
        default=[], max_length=16, description="Roles the party holds (never OPERATOR)"
    )
    local_security_officer: bool = False


class UserCreatedOut(Strict):
    user: UserOut
    temporary_password: str = Field(
        description="Shown this once: the user logs in with it and must choose its own"
    )


class PermissionsIn(RequestBody):
    roles: list[str] | None = Field(
        default=None,
        max_length=16,
        description="Every role the user acts in (those left out are withdrawn); null: unchanged",
    )
    local_security_officer: bool | None = Field(default=None, description="null: unchanged")


class PasswordResetOut(Strict):
    username: str
    temporary_password: str = Field(
        description="Shown this once: the user logs in with it and must choose its own"
    )
