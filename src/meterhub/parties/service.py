"""Rules for parties, users, tokens and agent appointments.

An agent appointment is what lets an RSA act "on behalf of" a supplier (SECMP0039: an RSA may
return a Communications Hub only for a supplier that appointed it). ``may_act_for`` is the one
question every later capability asks.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.db.base import text_length
from meterhub.db.direct import Direct
from meterhub.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OverlappingPeriod,
    PermissionDenied,
)
from meterhub.kit.ids import normalise_eui64
from meterhub.kit.pagination import decode_cursor, encode_cursor
from meterhub.parties.models import AgentAppointment, ApiToken, Party, PartyRole, User, UserRole
from meterhub.parties.passwords import (
    MAX_PASSWORD_LENGTH,
    check_password_rules,
    hash_password,
    verify_password,
)
from meterhub.parties.roles import SUPPLIER_ROLES, PartyKind, Role

# ---------------------------------------------------------------- parties


def _check_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; one of {allowed}", code="bad_role") from None


def _check_kind(value: str) -> PartyKind:
    try:
        return PartyKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in PartyKind)
        raise InvalidInput(
            f"unknown party kind {value!r}; one of {allowed}", code="bad_kind"
        ) from None


#: The most characters a party's code and name, and a user's login and display name, hold (their
#: columns' lengths): what the services accept and the API and the import document.
PARTY_CODE_LENGTH: Final = text_length(Party.__table__.c.code)
PARTY_NAME_LENGTH: Final = text_length(Party.__table__.c.name)
USERNAME_LENGTH: Final = text_length(User.__table__.c.username)
DISPLAY_NAME_LENGTH: Final = text_length(User.__table__.c.display_name)
EMAIL_LENGTH: Final = text_length(User.__table__.c.email)


def create_party(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    roles: Iterable[str],
    now: datetime,
) -> Party:
    if not actor.is_operator:
        raise PermissionDenied("only the hub operator registers parties")
    code = code.strip().upper()
    if (
        not code
        or len(code) > PARTY_CODE_LENGTH
        or not code.isascii()
        or not code.replace("_", "").isalnum()
    ):
        raise InvalidInput(
            f"party code {code!r} must be 1-{PARTY_CODE_LENGTH} letters, digits or _",
            code="bad_party_code",
        )
    if not name.strip() or len(name.strip()) > PARTY_NAME_LENGTH:
        raise InvalidInput(
            f"party name must be 1-{PARTY_NAME_LENGTH} characters", code="bad_party_name"
        )
    role_set = sorted({_check_role(r) for r in roles})
    if session.scalar(select(Party.id).where(Party.code == code)) is not None:
        raise Conflict(f"party {code} already exists", code="party_exists")
    party = Party(code=code, name=name.strip(), kind=_check_kind(kind).value, created_at=now)
    party.roles = [PartyRole(role=r.value) for r in role_set]
    session.add(party)
    session.flush()
    record(
        session,
        actor=actor,
        action="party.created",
        object_type="party",
        object_id=code,
        changes={"name": party.name, "kind": party.kind, "roles": [r.value for r in role_set]},
        now=now,
    )
    return party


def party_by_code(session: Session, code: str) -> Party | None:
    return session.scalar(select(Party).where(Party.code == code.strip().upper()))


def visible_party(session: Session, *, actor: Actor, code: str) -> Party:
    """A party the actor may see: its own (the operator sees all). Others are a 404."""
    party = party_by_code(session, code)
    if party is None or not (actor.is_operator or party.id == actor.party_id):
        raise NotFound(f"no party {code}")
    return party


def list_parties(session: Session, *, actor: Actor) -> Sequence[Party]:
    stmt = select(Party).order_by(Party.code)
    if not actor.is_operator:
        stmt = stmt.where(Party.id == actor.party_id)
    return session.scalars(stmt).all()


def party_roles(party: Party) -> set[str]:
    return {r.role for r in party.roles}


# ---------------------------------------------------------------- users and tokens


def create_user(
    session: Session,
    *,
    actor: Actor,
    party: Party,
    username: str,
    display_name: str,
    password: str | None,
    roles: dict[str, str | None],
    password_hash: str | None = None,
    email: str | None = None,
    local_security_officer: bool = False,
    password_change_required: bool = False,
    now: datetime,
) -> User:
    """``roles`` maps each role the user acts in to its DUIS user ID (EUI-64), or None.
    ``email`` is where the user's notifications are e-mailed (None: the portal inbox only).
    ``local_security_officer`` makes the user its party's administrator (see "user
    administration" below); ``password_change_required`` marks the password a temporary one.

    ``password_hash`` is an argon2 hash made already, instead of ``password``: a bulk load (the
    demo estate) gives many users one password and hashes it once, as each hash takes ~0.5 s."""
    if password is not None and password_hash is not None:
        raise InvalidInput("give a password or a password hash, not both", code="bad_password")
    if not (actor.is_operator or actor.party_id == party.id):
        raise NotFound(f"no party {party.code}")
    username = username.strip().lower()
    if not username or len(username) > USERNAME_LENGTH:
        raise InvalidInput(f"username must be 1-{USERNAME_LENGTH} characters", code="bad_username")
    if len(display_name.strip()) > DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            f"display name must be at most {DISPLAY_NAME_LENGTH} characters",
            code="bad_display_name",
        )
    if password is not None:
        check_password_rules(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username} already exists", code="user_exists")
    address = check_email(email) if email is not None and email.strip() else None
    held = party_roles(party)
    user_roles: list[UserRole] = []
    for role_name, duis_id in roles.items():
        role = _check_role(role_name)
        if role.value not in held:
            raise InvalidInput(
                f"party {party.code} does not hold role {role.value}", code="role_not_held"
            )
        eui = normalise_eui64(duis_id, field="duis_user_id") if duis_id else None
        if eui and (
            any(r.duis_user_id == eui for r in user_roles)
            or session.scalar(select(UserRole.id).where(UserRole.duis_user_id == eui))
        ):
            raise Conflict(f"DUIS user ID {eui} is already in use", code="duis_user_id_taken")
        user_roles.append(UserRole(role=role.value, duis_user_id=eui))
    user = User(
        party_id=party.id,
        username=username,
        display_name=display_name.strip() or username,
        email=address,
        password_hash=hash_password(password) if password else password_hash,
        active=True,
        local_security_officer=local_security_officer,
        password_change_required=password_change_required,
        created_at=now,
    )
    user.roles = user_roles
    session.add(user)
    session.flush()
    changes: dict[str, object] = {
        "party": party.code,
        "roles": {r.role: r.duis_user_id for r in user_roles},
    }
    if local_security_officer:
        changes["local_security_officer"] = True
    record(
        session,
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=username,
        changes=changes,
        now=now,
    )
    return user


def change_password(
    session: Session,
    *,
    actor: Actor,
    user: User,
    current_password: str,
    new_password: str,
    now: datetime,
) -> None:
    """A user sets a new password for themselves, proving they know the current one.

    The current password is asked for so that a browser left logged in, or a stolen session,
    cannot lock the owner out. The new one meets the same rules as at creation and must differ
    from the old. Ending the user's other sessions is the interface's part (the portal's
    sessions are the portal's); this is the audited change of the credential itself.
    """
    if actor.user_id != user.id:
        raise PermissionDenied("a password is changed by its own user")
    known = len(current_password) <= MAX_PASSWORD_LENGTH and verify_password(
        user.password_hash, current_password
    )
    if not known:
        raise InvalidInput("the current password is wrong", code="wrong_password")
    check_password_rules(new_password)
    if new_password == current_password:
        raise InvalidInput(
            "the new password must differ from the current one", code="same_password"
        )
    user.password_hash = hash_password(new_password)
    user.password_change_required = False
    session.flush()
    record(
        session,
        actor=actor,
        action="user.password_changed",
        object_type="user",
        object_id=user.username,
        changes={},
        now=now,
    )


def check_email(value: str) -> str:
    """One mailbox, ``local@domain``, as the hub will put it in an SMTP ``RCPT TO`` and a ``To``
    header: no spaces, no control characters (a line break would inject a header), no display
    name, a dotted domain. The address is kept as typed, trimmed."""
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or len(address) > 254
        or "." not in domain.strip(".")
        or any(c.isspace() or ord(c) < 32 or c in '<>(),;:"[]\\' for c in address)
        or "@" in local
    ):
        raise InvalidInput(f"{value!r} is not an e-mail address", code="bad_email")
    return address


def set_user_email(
    session: Session, *, actor: Actor, user: User, email: str | None, now: datetime
) -> User:
    """Change where the user's notifications are e-mailed (None or blank: nowhere, the portal
    inbox only). The user itself, or the hub operator."""
    if not (actor.is_operator or actor.user_id == user.id):
        raise NotFound(f"no user {user.username}")
    address = check_email(email) if email is not None and email.strip() else None
    old, user.email = user.email, address
    if old != address:
        record(
            session,
            actor=actor,
            action="user.email_changed",
            object_type="user",
            object_id=user.username,
            changes={"email": [old, address]},
            now=now,
        )
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(
    session: Session, *, actor: Actor, user: User, label: str = "", now: datetime
) -> str:
    """Make a bearer token for ``user``; the plain token is returned once and never stored."""
    if not (actor.is_operator or actor.user_id == user.id):
        raise PermissionDenied("tokens are issued to yourself or by the hub operator")
    token = "mh_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_hash=_token_hash(token), label=label, created_at=now)
    )
    record(
        session,
        actor=actor,
        action="token.issued",
        object_type="user",
        object_id=user.username,
        changes={"label": label},
        now=now,
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    stmt = select(ApiToken).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None)
    )
    row = session.scalar(stmt)
    if row is None or not row.user.active:
        return None
    return row.user


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def actor_for(user: User, interface: str) -> Actor:
    return Actor(
        name=user.username,
        party_id=user.party_id,
        interface=interface,
        user_id=user.id,
        is_operator=any(r.role == Role.OPERATOR for r in user.roles),
    )


# ---------------------------------------------------------------- user administration
#
# As in the CMS, each organisation runs its own users: its Local Security Officer (a user with
# ``local_security_officer``, granted by the hub operator, or by another officer of the party)
# creates them, sets the roles they act in, disables and enables them and resets their
# passwords, without asking the operator. The hub operator may do the same for any party. Every
# step is audited with who took it.

#: A login: lower-case letters, digits and ``. _ - @`` (an e-mail address fits), starting with a
#: letter or digit, so it reads the same in a URL, a log line and an audit entry.
USERNAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._@-]*")
#: A temporary password: five groups of four characters, from an alphabet with no look-alikes
#: (no 0/o, 1/l/i), so it can be read out over the phone. 24 characters (about 98 bits).
_TEMPORARY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A password for a new or reset account, shown once to whoever made it and changed by the
    user at the first login."""
    return "-".join(
        "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(5)
    )


def check_username(value: str) -> str:
    """The username as stored (trimmed, lower case), or ``bad_username``."""
    username = value.strip().lower()
    if len(username) > USERNAME_LENGTH or not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            f"username must be 1-{USERNAME_LENGTH} characters: letters, digits and . _ - @,"
            " starting with a letter or digit",
            code="bad_username",
        )
    return username


def _officer_scope(session: Session, actor: Actor) -> int | None:
    """The party whose users the actor administers: None for the hub operator (every party),
    else the party of the active Local Security Officer acting. Anyone else is refused, whatever
    they ask for, so the refusal tells nothing about other parties' users."""
    if actor.is_operator:
        return None
    officer = user_by_id(session, actor.user_id) if actor.user_id is not None else None
    if officer is None or not officer.active or not officer.local_security_officer:
        raise PermissionDenied(
            "only your organisation's Local Security Officer manages its users",
            code="not_security_officer",
        )
    return officer.party_id


def may_administer_users(session: Session, *, actor: Actor) -> bool:
    """Does the actor manage users (its party's as its Local Security Officer, or every party's
    as the hub operator)? What the portal asks to show the Users page in its navigation."""
    try:
        _officer_scope(session, actor)
    except PermissionDenied:
        return False
    return True


def administered_party(session: Session, *, actor: Actor, code: str | None = None) -> Party:
    """The party whose users the actor manages: an officer's own (another party is a 404), any
    party for the hub operator (``code``; none: the operator's own party)."""
    scope = _officer_scope(session, actor)
    if code is None or not code.strip():
        party = party_by_id(session, scope if scope is not None else actor.party_id or 0)
        if party is None:
            raise NotFound("name a party")
        return party
    party = party_by_code(session, code)
    if party is None or (scope is not None and party.id != scope):
        raise NotFound(f"no party {code}")
    return party


@dataclass(frozen=True)
class UserPage:
    """One page of a party's users in username order, and the cursor of the next (None: last)."""

    items: Sequence[User]
    next_cursor: str | None


def list_party_users(
    session: Session, *, actor: Actor, party: Party, limit: int = 100, cursor: str | None = None
) -> UserPage:
    """The party's users, active and disabled, by username, ``limit`` at a time."""
    scope = _officer_scope(session, actor)
    if scope is not None and party.id != scope:
        raise NotFound(f"no party {party.code}")
    stmt = select(User).where(User.party_id == party.id)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], str):
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        stmt = stmt.where(User.username > values[0])
    rows = session.scalars(stmt.order_by(User.username).limit(limit + 1)).all()
    shown = rows[:limit]
    more = len(rows) > limit
    return UserPage(items=shown, next_cursor=encode_cursor([shown[-1].username]) if more else None)


def _administered(session: Session, actor: Actor, user: User | None, name: str) -> User:
    scope = _officer_scope(session, actor)
    if user is None or (scope is not None and user.party_id != scope):
        raise NotFound(f"no user {name}")
    return user


def administered_user(session: Session, *, actor: Actor, username: str) -> User:
    """A user the actor manages, by username: another party's is a 404, as an unknown one."""
    return _administered(session, actor, user_by_username(session, username), username)


def administered_user_by_id(session: Session, *, actor: Actor, user_id: int) -> User:
    """``administered_user`` by the user's id (the portal's pages)."""
    return _administered(session, actor, user_by_id(session, user_id), str(user_id))


def _grantable_roles(party: Party, roles: Iterable[str]) -> list[str]:
    """The roles as given, checked: each one the party holds, never the hub operator's."""
    held = party_roles(party)
    checked: set[str] = set()
    for name in roles:
        role = _check_role(name.strip().upper())
        if role is Role.OPERATOR:
            raise PermissionDenied(
                "the hub operator's role is given only by the operator, not here",
                code="operator_role_reserved",
            )
        if role.value not in held:
            raise InvalidInput(
                f"party {party.code} does not hold role {role.value}", code="role_not_held"
            )
        checked.add(role.value)
    return sorted(checked)


def _active_officers(session: Session, party_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.party_id == party_id,
                User.active.is_(True),
                User.local_security_officer.is_(True),
            )
        )
        or 0
    )


def create_party_user(
    session: Session,
    *,
    actor: Actor,
    party: Party,
    username: str,
    display_name: str,
    email: str,
    roles: Iterable[str],
    local_security_officer: bool = False,
    now: datetime,
) -> tuple[User, str]:
    """A Local Security Officer (or the hub operator) adds a user to the party; returns the user
    and its temporary password, shown once and changed by the user at the first login.

    The user acts only in roles the party holds (never the operator's) and has an e-mail
    address, where the hub tells it of the party's contacts and steps. DUIS user IDs are
    certified identities the operator sets (``meterhub user add``), so none is given here."""
    scope = _officer_scope(session, actor)
    if scope is not None and party.id != scope:
        raise NotFound(f"no party {party.code}")
    name = check_username(username)
    if not email.strip():
        raise InvalidInput("give the user's e-mail address", code="bad_email")
    password = temporary_password()
    user = create_user(
        session,
        actor=actor,
        party=party,
        username=name,
        display_name=display_name,
        password=password,
        roles=dict.fromkeys(_grantable_roles(party, roles)),
        email=email,
        local_security_officer=local_security_officer,
        password_change_required=True,
        now=now,
    )
    return user, password


def _refuse_operator_user(actor: Actor, user: User) -> None:
    """A party's officer manages its party's users, but not the hub operator's own staff."""
    if not actor.is_operator and any(r.role == Role.OPERATOR for r in user.roles):
        raise PermissionDenied(
            f"{user.username} is hub operator staff, managed by the operator",
            code="operator_user",
        )


def set_user_permissions(
    session: Session,
    *,
    actor: Actor,
    user: User,
    roles: Iterable[str] | None = None,
    local_security_officer: bool | None = None,
    now: datetime,
) -> User:
    """Set the roles the user acts in (all of them: those left out are withdrawn) and whether it
    is a Local Security Officer; None leaves either as it is.

    A role kept keeps its DUIS user ID; a role added has none until the operator sets one. The
    operator's role is outside this: never given here, and kept if the user holds it. An officer
    may not withdraw its own officer permission while it is the party's last active officer:
    the party would have nobody left to manage its users."""
    user = _administered(session, actor, user, user.username)
    _refuse_operator_user(actor, user)
    wanted = set(_grantable_roles(user.party, roles)) if roles is not None else None
    officer_change = (
        local_security_officer is not None and local_security_officer != user.local_security_officer
    )
    if (
        officer_change
        and not local_security_officer
        and not actor.is_operator
        and user.id == actor.user_id
        and _active_officers(session, user.party_id) <= 1
    ):
        raise Conflict(
            "you are the last active Local Security Officer of your organisation: make another"
            " user one first",
            code="last_security_officer",
        )
    changes: dict[str, object] = {}
    if wanted is not None:
        before = sorted(r.role for r in user.roles)
        kept = [r for r in user.roles if r.role in wanted or r.role == Role.OPERATOR]
        added = sorted(wanted - {r.role for r in kept})
        user.roles = kept + [UserRole(role=role) for role in added]
        after = sorted(r.role for r in user.roles)
        if after != before:
            changes["roles"] = [before, after]
    if officer_change and local_security_officer is not None:
        changes["local_security_officer"] = [user.local_security_officer, local_security_officer]
        user.local_security_officer = local_security_officer
    session.flush()
    if changes:
        record(
            session,
            actor=actor,
            action="user.permissions_changed",
            object_type="user",
            object_id=user.username,
            changes=changes,
            now=now,
        )
    return user


def _revoke_access(session: Session, user: User, now: datetime) -> int:
    """End every portal session the user has (``sessions_revoked_at``: the portal refuses any
    session opened before it) and revoke its API tokens; returns how many tokens were live."""
    user.sessions_revoked_at = now
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def disable_user(session: Session, *, actor: Actor, user: User, now: datetime) -> User:
    """Disable the user: it can no longer log in, its sessions end and its API tokens are
    revoked (enabling it again issues none back). Nobody disables themselves: another officer
    of the party, or the hub operator, does."""
    user = _administered(session, actor, user, user.username)
    _refuse_operator_user(actor, user)
    if user.id == actor.user_id:
        raise Conflict("you cannot disable your own account", code="cannot_disable_self")
    if not user.active:
        return user
    user.active = False
    revoked = _revoke_access(session, user, now)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.disabled",
        object_type="user",
        object_id=user.username,
        changes={"active": [True, False], "tokens_revoked": revoked},
        now=now,
    )
    return user


def enable_user(session: Session, *, actor: Actor, user: User, now: datetime) -> User:
    """Let a disabled user log in again, with the password it had (reset it for a new one)."""
    user = _administered(session, actor, user, user.username)
    _refuse_operator_user(actor, user)
    if user.active:
        return user
    user.active = True
    session.flush()
    record(
        session,
        actor=actor,
        action="user.enabled",
        object_type="user",
        object_id=user.username,
        changes={"active": [False, True]},
        now=now,
    )
    return user


def reset_password(session: Session, *, actor: Actor, user: User, now: datetime) -> str:
    """Give the user a temporary password (returned, to be shown once), which it must change at
    its next login; every session it has ends and its API tokens are revoked, so whoever may
    have learnt the old password is shut out. Your own password you change on your account
    page, knowing the current one."""
    user = _administered(session, actor, user, user.username)
    _refuse_operator_user(actor, user)
    if user.id == actor.user_id:
        raise Conflict(
            "change your own password on your account page", code="cannot_reset_own_password"
        )
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.password_change_required = True
    revoked = _revoke_access(session, user, now)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.password_reset",
        object_type="user",
        object_id=user.username,
        changes={"tokens_revoked": revoked},
        now=now,
    )
    return password


def note_login(session: Session, *, user: User, now: datetime) -> None:
    """Write down when the user last logged in (shown to its officer on the Users page)."""
    user.last_login_at = now


# ---------------------------------------------------------------- agent appointments


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def appoint_agent(
    session: Session,
    *,
    actor: Actor,
    supplier_code: str,
    agent_code: str,
    valid_from: date,
    valid_to: date | None = None,
    now: datetime,
) -> AgentAppointment:
    """Supplier appoints agent from ``valid_from`` to ``valid_to`` (inclusive, open if None)."""
    supplier = party_by_code(session, supplier_code)
    if supplier is None or not (actor.is_operator or supplier.id == actor.party_id):
        raise NotFound(f"no party {supplier_code}")
    if not party_roles(supplier) & set(SUPPLIER_ROLES):
        raise InvalidInput(f"{supplier.code} is not a supplier", code="not_a_supplier")
    agent = party_by_code(session, agent_code)
    if agent is None:
        raise InvalidInput(f"no party {agent_code} to appoint", code="unknown_agent")
    if Role.REGISTERED_SUPPLIER_AGENT.value not in party_roles(agent):
        raise InvalidInput(f"{agent.code} does not hold the RSA role", code="not_an_agent")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput("valid_to is before valid_from", code="bad_period")
    existing = session.scalars(
        select(AgentAppointment).where(
            AgentAppointment.supplier_party_id == supplier.id,
            AgentAppointment.agent_party_id == agent.id,
        )
    ).all()
    for other in existing:
        if _overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
            raise OverlappingPeriod(
                f"{supplier.code} already appoints {agent.code} from {other.valid_from}"
                f" to {other.valid_to or 'open'}",
                details={"appointment_id": other.id},
            )
    appointment = AgentAppointment(
        supplier_party_id=supplier.id,
        agent_party_id=agent.id,
        valid_from=valid_from,
        valid_to=valid_to,
        created_at=now,
    )
    session.add(appointment)
    session.flush()
    record(
        session,
        actor=actor,
        action="appointment.created",
        object_type="appointment",
        object_id=str(appointment.id),
        changes={
            "supplier": supplier.code,
            "agent": agent.code,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
        },
        now=now,
    )
    return appointment


def _visible_appointments(actor: Actor) -> Select[AgentAppointment]:
    stmt = select(AgentAppointment)
    if not actor.is_operator:
        stmt = stmt.where(
            or_(
                AgentAppointment.supplier_party_id == actor.party_id,
                AgentAppointment.agent_party_id == actor.party_id,
            )
        )
    return stmt


def list_appointments(
    session: Session, *, actor: Actor, on_day: date | None = None
) -> Sequence[AgentAppointment]:
    stmt = _visible_appointments(actor)
    if on_day is not None:
        stmt = stmt.where(
            AgentAppointment.valid_from <= on_day,
            or_(AgentAppointment.valid_to.is_(None), AgentAppointment.valid_to >= on_day),
        )
    return session.scalars(stmt.order_by(AgentAppointment.id)).all()


def get_appointment(session: Session, *, actor: Actor, appointment_id: int) -> AgentAppointment:
    row = session.scalar(_visible_appointments(actor).where(AgentAppointment.id == appointment_id))
    if row is None:
        raise NotFound(f"no appointment {appointment_id}")
    return row


def end_appointment(
    session: Session, *, actor: Actor, appointment_id: int, valid_to: date, now: datetime
) -> AgentAppointment:
    """The supplier ends an appointment on ``valid_to`` (the last day the agent may act)."""
    row = get_appointment(session, actor=actor, appointment_id=appointment_id)
    if not (actor.is_operator or row.supplier_party_id == actor.party_id):
        raise PermissionDenied("only the appointing supplier ends an appointment")
    if valid_to < row.valid_from - timedelta(days=1):
        raise InvalidInput("valid_to is before the appointment starts", code="bad_period")
    if row.valid_to is not None and valid_to > row.valid_to:
        raise InvalidInput("an appointment can be shortened, not lengthened", code="bad_period")
    old = row.valid_to
    row.valid_to = valid_to
    record(
        session,
        actor=actor,
        action="appointment.ended",
        object_type="appointment",
        object_id=str(row.id),
        changes={"valid_to": [old.isoformat() if old else None, valid_to.isoformat()]},
        now=now,
    )
    return row


def may_act_for(
    session: Session, *, agent_party_id: int, supplier_party_id: int, day: date
) -> bool:
    """May the agent act for the supplier on ``day``? True for the supplier itself."""
    if agent_party_id == supplier_party_id:
        return True
    stmt = select(AgentAppointment.id).where(
        AgentAppointment.supplier_party_id == supplier_party_id,
        AgentAppointment.agent_party_id == agent_party_id,
        AgentAppointment.valid_from <= day,
        or_(AgentAppointment.valid_to.is_(None), AgentAppointment.valid_to >= day),
    )
    return session.scalar(stmt.limit(1)) is not None


def suppliers_represented_by(session: Session, *, agent_party_id: int, day: date) -> list[int]:
    stmt = select(AgentAppointment.supplier_party_id).where(
        AgentAppointment.agent_party_id == agent_party_id,
        AgentAppointment.valid_from <= day,
        or_(AgentAppointment.valid_to.is_(None), AgentAppointment.valid_to >= day),
    )
    return list(session.scalars(stmt))


# --- API tokens as the DUIS gateway reads them ---------------------------------------------


def token_from_header(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send 'Authorization: Bearer <token>'", code="missing_token")
    return token.strip()


@dataclass(frozen=True)
class ApiUser:
    """What the DUIS gateway needs of the user behind a token: who, for which party, and the
    DUIS user ID of each role it acts in (``roles``: ``(role, duis_user_id)`` pairs)."""

    id: int
    party_id: int
    party_code: str
    username: str
    roles: tuple[tuple[str, str | None], ...]

    @classmethod
    def of(cls, user: User) -> ApiUser:
        return cls(
            id=user.id,
            party_id=user.party_id,
            party_code=user.party.code,
            username=user.username,
            roles=tuple((r.role, r.duis_user_id) for r in user.roles),
        )


# Built once and run on the driver (``db.direct``): every DUIS request authenticates.
_API_USER_BY_TOKEN = Direct(
    select(User.id, User.party_id, Party.code, User.username, UserRole.role, UserRole.duis_user_id)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .join(Party, Party.id == User.party_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.active.is_(True),
    )
    .order_by(UserRole.id)
)


def api_user_for_token(session: Session, token: str) -> ApiUser | None:
    """The same answer as ``user_for_token`` (unknown, revoked or inactive: None) in one query."""
    rows = _API_USER_BY_TOKEN.all(session, {"token_hash": _token_hash(token)})
    if not rows:
        return None
    first = rows[0]
    return ApiUser(
        id=first[0],
        party_id=first[1],
        party_code=first[2],
        username=first[3],
        roles=tuple((r[4], r[5]) for r in rows if r[4] is not None),
    )


def api_user_for_header(session: Session, authorization: str) -> ApiUser:
    """The user an ``Authorization: Bearer`` header names, or :class:`NotAuthenticated`."""
    user = api_user_for_token(session, token_from_header(authorization))
    if user is None:
        raise NotAuthenticated("the token is unknown or revoked", code="bad_token")
    return user


# --- a party's users as the gateway addresses them ------------------------------------------


@dataclass(frozen=True)
class UserInRole:
    """A user of a party acting in one role, with the DUIS user ID it holds in that role."""

    id: int
    party_id: int
    role: str
    duis_user_id: str | None


def first_active_user(session: Session, *, party_id: int, role: str) -> UserInRole | None:
    """The party's first active user (by id) acting in ``role``, or None.

    The DCC knows a party in a role by one DUIS user ID, so an alert addressed to a party (an
    N16 or N42 to the meter point's network operator, an AD1 to the Electricity Distributor)
    goes to one user: always the same one, the first still active."""
    row = session.execute(
        select(User.id, UserRole.duis_user_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.party_id == party_id, User.active.is_(True), UserRole.role == role)
        .order_by(User.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return UserInRole(id=row[0], party_id=party_id, role=role, duis_user_id=row[1])


@dataclass(frozen=True)
class Recipient:
    """An active user of a party a notification is addressed to, with its e-mail address (None
    when it has none: the portal inbox only)."""

    id: int
    username: str
    display_name: str
    email: str | None


def recipients(
    session: Session, *, party_id: int, roles: Collection[str] | None = None
) -> list[Recipient]:
    """The party's active users, by id; with ``roles``, only those acting in one of them. A
    disabled user is told nothing: it can no longer read its inbox or act on what it says."""
    stmt = select(User.id, User.username, User.display_name, User.email).where(
        User.party_id == party_id, User.active.is_(True)
    )
    if roles is not None:
        in_role = select(UserRole.user_id).where(UserRole.role.in_(sorted(set(roles))))
        stmt = stmt.where(User.id.in_(in_role))
    return [Recipient(*row) for row in session.execute(stmt.order_by(User.id))]


def usernames_by_id(session: Session, *, user_ids: Iterable[int]) -> dict[int, str]:
    """The user names of these users by id, in one query (a page of alerts names the user each
    is owed to)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: username for user_id, username in rows}


def lock_users(session: Session, *, user_ids: Iterable[int]) -> None:
    """Lock the users' rows until the transaction ends (``SELECT ... FOR UPDATE``), in id order,
    so two transactions locking overlapping sets of users never deadlock. Whoever hands out
    something per user in commit order (the gateway's polling cursors) takes it first."""
    ids = sorted(set(user_ids))
    session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())


def party_codes_by_id(session: Session) -> dict[int, str]:
    """Every party's market participant ID by its id: one query, for exports that name the
    party of many rows at once (the event lake)."""
    return {pid: code for pid, code in session.execute(select(Party.id, Party.code))}


# ---- for other domains: parties and appointments read in bulk (the lake, the reports) -------


def party_by_id(session: Session, party_id: int) -> Party | None:
    return session.get(Party, party_id)


def party_count(session: Session) -> int:
    """How many parties the hub knows (a fresh database knows none)."""
    return session.scalar(select(func.count()).select_from(Party)) or 0


def party_codes_query(*, ids: Collection[int] | None = None) -> Select[int, str]:
    """``(id, code)`` of every party (or of those in ``ids``), in code order: the statement,
    for readers that run it their own fast way (the lake simulator on the driver's cursor)."""
    stmt = select(Party.id, Party.code).order_by(Party.code)
    return stmt if ids is None else stmt.where(Party.id.in_(ids))


def party_codes(
    connection: Connection | Session, *, ids: Collection[int] | None = None
) -> dict[int, str]:
    """Every party's code (or those of ``ids``) by its id, in one query."""
    stmt = party_codes_query(ids=ids)
    return {party_id: code for party_id, code in connection.execute(stmt)}


def party_role_lists(connection: Connection | Session) -> dict[int, list[str]]:
    """The roles each party holds, by party id, in one query (a party with none is absent)."""
    roles: dict[int, list[str]] = {}
    for party_id, role in connection.execute(select(PartyRole.party_id, PartyRole.role)):
        roles.setdefault(party_id, []).append(role)
    return roles


def appointments_in_force_query(*, day: date) -> Select[int, int]:
    """``(supplier_party_id, agent_party_id)`` of every agent appointment in force on ``day``,
    ordered by supplier then agent: the statement, as ``party_codes_query``."""
    return (
        select(AgentAppointment.supplier_party_id, AgentAppointment.agent_party_id)
        .where(
            AgentAppointment.valid_from <= day,
            or_(AgentAppointment.valid_to.is_(None), AgentAppointment.valid_to >= day),
        )
        .order_by(AgentAppointment.supplier_party_id, AgentAppointment.agent_party_id)
    )


def appointments_in_force(connection: Connection | Session, *, day: date) -> list[tuple[int, int]]:
    """``appointments_in_force_query`` run."""
    return [(s, a) for s, a in connection.execute(appointments_in_force_query(day=day))]
