"""``/api/v1/me``, ``/parties``, ``/appointments`` and ``/users`` (user administration)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from meterhub.api.deps import CurrentActor, CurrentUser, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.errors import NotFound
from meterhub.kit.clock import today, utcnow
from meterhub.kit.schema import IsoDate
from meterhub.parties import service
from meterhub.parties.models import AgentAppointment, Party, User
from meterhub.parties.schemas import (
    AppointmentEnd,
    AppointmentIn,
    AppointmentOut,
    MayActOut,
    MeOut,
    PartyIn,
    PartyOut,
    PasswordResetOut,
    PermissionsIn,
    UserCreatedOut,
    UserIn,
    UserOut,
    UserPageOut,
    UserRoleOut,
)

router = APIRouter(tags=["parties"])


def party_out(party: Party) -> PartyOut:
    return PartyOut(
        code=party.code, name=party.name, kind=party.kind, roles=sorted(r.role for r in party.roles)
    )


def appointment_out(row: AgentAppointment) -> AppointmentOut:
    return AppointmentOut(
        id=row.id,
        supplier=row.supplier.code,
        agent=row.agent.code,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser, actor: CurrentActor) -> MeOut:
    """The authenticated user, its party, and the DUIS user IDs it sends as."""
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        party=party_out(user.party),
        roles=[UserRoleOut(role=r.role, duis_user_id=r.duis_user_id) for r in user.roles],
        is_operator=actor.is_operator,
    )


@router.get("/parties", response_model=list[PartyOut])
def list_parties(session: DbSession, actor: CurrentActor) -> list[PartyOut]:
    """Your own party (the hub operator sees every party)."""
    return [party_out(p) for p in service.list_parties(session, actor=actor)]


@router.post(
    "/parties",
    response_model=PartyOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 409)},
)
def create_party(body: PartyIn, session: DbSession, actor: CurrentActor) -> PartyOut:
    """Register a party that signed the code (hub operator only)."""
    party = service.create_party(
        session,
        actor=actor,
        code=body.code,
        name=body.name,
        kind=body.kind,
        roles=body.roles,
        now=utcnow(),
    )
    return party_out(party)


@router.get("/parties/{code}", response_model=PartyOut, responses=refusals(404))
def get_party(code: str, session: DbSession, actor: CurrentActor) -> PartyOut:
    return party_out(service.visible_party(session, actor=actor, code=code))


@router.get("/appointments", response_model=list[AppointmentOut])
def list_appointments(
    session: DbSession,
    actor: CurrentActor,
    on: IsoDate | None = Query(default=None, description="Only appointments in force on this day"),
) -> list[AppointmentOut]:
    """Appointments you made (as a supplier) or hold (as an agent)."""
    return [appointment_out(a) for a in service.list_appointments(session, actor=actor, on_day=on)]


@router.post(
    "/appointments",
    response_model=AppointmentOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(404, 409)},
)
def create_appointment(
    body: AppointmentIn, session: DbSession, actor: CurrentActor
) -> AppointmentOut:
    """A supplier appoints an agent (RSA) for a period. Overlapping periods are refused."""
    row = service.appoint_agent(
        session,
        actor=actor,
        supplier_code=body.supplier,
        agent_code=body.agent,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        now=utcnow(),
    )
    return appointment_out(row)


@router.get("/appointments/check", response_model=MayActOut, responses=refusals(404))
def may_act(
    session: DbSession,
    actor: CurrentActor,
    supplier: str,
    agent: str,
    day: IsoDate | None = None,
) -> MayActOut:
    """May ``agent`` act for ``supplier`` on ``day`` (default today)? Asked by either side."""
    on_day = day or today()
    supplier_party = service.party_by_code(session, supplier)
    agent_party = service.party_by_code(session, agent)
    if supplier_party is None or agent_party is None:
        raise NotFound("no such pair of parties")
    if not actor.is_operator and actor.party_id not in (supplier_party.id, agent_party.id):
        raise NotFound("no such pair of parties")
    result = service.may_act_for(
        session, agent_party_id=agent_party.id, supplier_party_id=supplier_party.id, day=on_day
    )
    return MayActOut(
        supplier=supplier_party.code, agent=agent_party.code, day=on_day, may_act=result
    )


@router.get(
    "/appointments/{appointment_id}", response_model=AppointmentOut, responses=refusals(404)
)
def get_appointment(
    appointment_id: RowId, session: DbSession, actor: CurrentActor
) -> AppointmentOut:
    return appointment_out(
        service.get_appointment(session, actor=actor, appointment_id=appointment_id)
    )


@router.post(
    "/appointments/{appointment_id}/end",
    response_model=AppointmentOut,
    responses={**JSON_BODY, **refusals(403, 404)},
)
def end_appointment(
    appointment_id: RowId, body: AppointmentEnd, session: DbSession, actor: CurrentActor
) -> AppointmentOut:
    """The supplier ends an appointment; ``valid_to`` is the agent's last day."""
    row = service.end_appointment(
        session, actor=actor, appointment_id=appointment_id, valid_to=body.valid_to, now=utcnow()
    )
    return appointment_out(row)


# ---- user administration: a party's Local Security Officer, or the hub operator


def user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        party=user.party.code,
        email=user.email,
        roles=[UserRoleOut(role=r.role, duis_user_id=r.duis_user_id) for r in user.roles],
        local_security_officer=user.local_security_officer,
        active=user.active,
        password_change_required=user.password_change_required,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


Username = Annotated[str, Path(max_length=service.USERNAME_LENGTH)]


@router.get("/users", response_model=UserPageOut, tags=["users"], responses=refusals(403, 404))
def list_users(
    session: DbSession,
    actor: CurrentActor,
    party: str | None = Query(
        default=None, max_length=service.PARTY_CODE_LENGTH, description="Default: your own"
    ),
    limit: int = Query(default=100, ge=1, le=500),
    cursor: str | None = None,
) -> UserPageOut:
    """Your party's users, active and disabled, by username (a Local Security Officer's; the
    hub operator names any party). Anyone else is refused with ``not_security_officer``."""
    owner = service.administered_party(session, actor=actor, code=party)
    page = service.list_party_users(session, actor=actor, party=owner, limit=limit, cursor=cursor)
    return UserPageOut(items=[user_out(u) for u in page.items], next_cursor=page.next_cursor)


@router.post(
    "/users",
    response_model=UserCreatedOut,
    status_code=201,
    tags=["users"],
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def create_user(body: UserIn, session: DbSession, actor: CurrentActor) -> UserCreatedOut:
    """Add a user to your party, in roles the party holds; its temporary password is in the
    answer, once, and must be changed at the first login."""
    owner = service.administered_party(session, actor=actor, code=body.party)
    user, password = service.create_party_user(
        session,
        actor=actor,
        party=owner,
        username=body.username,
        display_name=body.display_name,
        email=body.email,
        roles=body.roles,
        local_security_officer=body.local_security_officer,
        now=utcnow(),
    )
    return UserCreatedOut(user=user_out(user), temporary_password=password)


@router.get(
    "/users/{username}", response_model=UserOut, tags=["users"], responses=refusals(403, 404)
)
def get_user(username: Username, session: DbSession, actor: CurrentActor) -> UserOut:
    return user_out(service.administered_user(session, actor=actor, username=username))


@router.put(
    "/users/{username}/permissions",
    response_model=UserOut,
    tags=["users"],
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def set_permissions(
    username: Username, body: PermissionsIn, session: DbSession, actor: CurrentActor
) -> UserOut:
    """Set the roles the user acts in and whether it is a Local Security Officer. The last
    active officer of a party cannot withdraw its own (409 ``last_security_officer``)."""
    user = service.administered_user(session, actor=actor, username=username)
    service.set_user_permissions(
        session,
        actor=actor,
        user=user,
        roles=body.roles,
        local_security_officer=body.local_security_officer,
        now=utcnow(),
    )
    return user_out(user)


@router.post(
    "/users/{username}/disable",
    response_model=UserOut,
    tags=["users"],
    responses=refusals(403, 404, 409),
)
def disable_user(username: Username, session: DbSession, actor: CurrentActor) -> UserOut:
    """Disable the user: its portal sessions end and its API tokens are revoked. Not yourself
    (409 ``cannot_disable_self``)."""
    user = service.administered_user(session, actor=actor, username=username)
    return user_out(service.disable_user(session, actor=actor, user=user, now=utcnow()))


@router.post(
    "/users/{username}/enable", response_model=UserOut, tags=["users"], responses=refusals(403, 404)
)
def enable_user(username: Username, session: DbSession, actor: CurrentActor) -> UserOut:
    """Let a disabled user log in again with its password (its tokens stay revoked)."""
    user = service.administered_user(session, actor=actor, username=username)
    return user_out(service.enable_user(session, actor=actor, user=user, now=utcnow()))


@router.post(
    "/users/{username}/password-reset",
    response_model=PasswordResetOut,
    tags=["users"],
    responses=refusals(403, 404, 409),
)
def reset_password(username: Username, session: DbSession, actor: CurrentActor) -> PasswordResetOut:
    """Give the user a temporary password (in the answer, once) to change at its next login;
    its sessions end and its API tokens are revoked. Your own you change yourself."""
    user = service.administered_user(session, actor=actor, username=username)
    password = service.reset_password(session, actor=actor, user=user, now=utcnow())
    return PasswordResetOut(username=user.username, temporary_password=password)
