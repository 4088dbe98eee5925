"""``/portal/users``: the organisation's users, run by its Local Security Officer.

As in the CMS, each organisation's Local Security Officer creates its users, sets the roles they
act in, disables and enables them and resets their passwords here, without asking the hub
operator; the operator may do the same for any party (``?party=CODE``). Every rule and audit
entry is ``parties.service``'s; these pages parse the forms, call it and render. A new user's
or a reset password is shown once, on the page that answers the form, never in a URL. Disabling
a user or resetting its password also deletes its session rows here (the service has already
made every session opened before it void, whichever interface it came through).

A user who is not an officer is refused (403 ``not_security_officer``); another party's user is
the portal's 404 page, like anything else not the party's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.parties import service
from meterhub.parties.models import Party, User
from meterhub.parties.roles import ROLE_TITLES, Role
from meterhub.portal import sessions
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import (
    CurrentUser,
    CurrentWebSession,
    PortalUser,
    portal_now,
    redirect,
    render,
)

router = APIRouter()

USERS_PATH = "/portal/users"
PAGE_SIZE = 50
STAMP = "%Y-%m-%d %H:%M"
DONE_MESSAGES = {
    "permissions": "Permissions saved.",
    "disabled": "User disabled: logged out everywhere, API tokens revoked.",
    "enabled": "User enabled: they can log in again with their password.",
}
#: A refusal the form can fix (a bad field, a guard rail): shown on the form, not an error page.
FORM_ERRORS = (InvalidInput, Conflict, PermissionDenied)


def _user_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise NotFound("there is no such user")
    return int(raw)


def _grantable(party: Party) -> list[dict[str, str]]:
    """The roles a user of the party may be given: the party's own, not the operator's."""
    held = sorted(service.party_roles(party) - {Role.OPERATOR.value})
    return [{"code": code, "title": ROLE_TITLES.get(code, code)} for code in held]


def _user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email or "",
        "roles": sorted(r.role for r in user.roles),
        "officer": user.local_security_officer,
        "active": user.active,
        "must_change": user.password_change_required,
        "last_login": user.last_login_at.strftime(STAMP) if user.last_login_at else "",
        "created": user.created_at.strftime(STAMP),
    }


def _party_query(party: Party, me_party: str) -> str:
    return "" if party.code == me_party else f"?party={party.code}"


@router.get("/users")
def users_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's users with their roles, status and last login, ``PAGE_SIZE`` a page."""
    party = service.administered_party(db, actor=me.actor, code=request.query_params.get("party"))
    page = service.list_party_users(
        db,
        actor=me.actor,
        party=party,
        limit=PAGE_SIZE,
        cursor=request.query_params.get("cursor") or None,
    )
    query = f"party={party.code}&" if party.code != me.party_code else ""
    return render(
        request,
        "users.html",
        {
            "nav": "users",
            "party": party,
            "party_query": _party_query(party, me.party_code),
            "rows": [_user_row(u) for u in page.items],
            "parties": service.list_parties(db, actor=me.actor) if me.actor.is_operator else [],
            "next_url": f"{USERS_PATH}?{query}cursor={page.next_cursor}"
            if page.next_cursor
            else "",
        },
    )


def _new_user_page(
    request: Request,
    party: Party,
    *,
    values: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "user_new.html",
        {
            "nav": "users",
            "party": party,
            "roles": _grantable(party),
            "values": values or {"roles": []},
            "error": error,
        },
        status_code=status,
    )


@router.get("/users/new")
def new_user_form(request: Request, db: DbSession, me: CurrentUser) -> Response:
    party = service.administered_party(db, actor=me.actor, code=request.query_params.get("party"))
    return _new_user_page(request, party)


@router.post("/users")
def create_user_submit(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    party: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    local_security_officer: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Create the user and show its temporary password, once."""
    check_csrf(session, csrf_token)
    owner = service.administered_party(db, actor=me.actor, code=party or None)
    chosen = roles or []
    try:
        user, password = service.create_party_user(
            db,
            actor=me.actor,
            party=owner,
            username=username,
            display_name=display_name,
            email=email,
            roles=chosen,
            local_security_officer=bool(local_security_officer),
            now=portal_now(request),
        )
    except FORM_ERRORS as exc:
        values = {
            "username": username,
            "display_name": display_name,
            "email": email,
            "roles": chosen,
            "officer": bool(local_security_officer),
        }
        return _new_user_page(request, owner, values=values, error=exc.message, status=exc.status)
    return _password_page(request, user, password=password, created=True)


def _password_page(request: Request, user: User, *, password: str, created: bool) -> Response:
    """The temporary password, shown this once (the page is sent ``no-store``)."""
    return render(
        request,
        "user_password.html",
        {"nav": "users", "user": _user_row(user), "password": password, "created": created},
    )


def _user_page(
    request: Request, me: PortalUser, user: User, *, error: str = "", status: int = 200
) -> Response:
    return render(
        request,
        "user.html",
        {
            "nav": "users",
            "user": _user_row(user),
            "party": user.party,
            "party_query": _party_query(user.party, me.party_code),
            "roles": _grantable(user.party),
            "operator_staff": any(r.role == Role.OPERATOR for r in user.roles),
            "itself": user.id == me.user_id,
            "error": error,
            "done": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        },
        status_code=status,
    )


@router.get("/users/{user_id}")
def user_page(user_id: str, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One user: its permissions to edit, disable or enable, reset its password."""
    user = service.administered_user_by_id(db, actor=me.actor, user_id=_user_id(user_id))
    return _user_page(request, me, user)


@router.post("/users/{user_id}/permissions")
def permissions_submit(
    user_id: str,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    roles: Annotated[list[str] | None, Form()] = None,
    local_security_officer: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set the roles the user acts in and whether it is a Local Security Officer."""
    check_csrf(session, csrf_token)
    user = service.administered_user_by_id(db, actor=me.actor, user_id=_user_id(user_id))
    try:
        service.set_user_permissions(
            db,
            actor=me.actor,
            user=user,
            roles=roles or [],
            local_security_officer=bool(local_security_officer),
            now=portal_now(request),
        )
    except FORM_ERRORS as exc:
        return _user_page(request, me, user, error=exc.message, status=exc.status)
    return redirect(request, f"{USERS_PATH}/{user.id}?done=permissions")


@router.post("/users/{user_id}/disable")
def disable_submit(
    user_id: str,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Disable the user: logged out everywhere, tokens revoked."""
    check_csrf(session, csrf_token)
    user = service.administered_user_by_id(db, actor=me.actor, user_id=_user_id(user_id))
    try:
        service.disable_user(db, actor=me.actor, user=user, now=portal_now(request))
    except FORM_ERRORS as exc:
        return _user_page(request, me, user, error=exc.message, status=exc.status)
    sessions.end_all(db, user_id=user.id)
    return redirect(request, f"{USERS_PATH}/{user.id}?done=disabled")


@router.post("/users/{user_id}/enable")
def enable_submit(
    user_id: str,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    user = service.administered_user_by_id(db, actor=me.actor, user_id=_user_id(user_id))
    try:
        service.enable_user(db, actor=me.actor, user=user, now=portal_now(request))
    except FORM_ERRORS as exc:
        return _user_page(request, me, user, error=exc.message, status=exc.status)
    return redirect(request, f"{USERS_PATH}/{user.id}?done=enabled")


@router.post("/users/{user_id}/password")
def reset_submit(
    user_id: str,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Give the user a temporary password, shown once; its sessions end."""
    check_csrf(session, csrf_token)
    user = service.administered_user_by_id(db, actor=me.actor, user_id=_user_id(user_id))
    try:
        password = service.reset_password(db, actor=me.actor, user=user, now=portal_now(request))
    except FORM_ERRORS as exc:
        return _user_page(request, me, user, error=exc.message, status=exc.status)
    sessions.end_all(db, user_id=user.id)
    return _password_page(request, user, password=password, created=False)
