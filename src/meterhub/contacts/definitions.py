"""Contact types as definitions: what a contact of a type holds, who may raise it, whom it
involves, the workflow each involved party's part follows, and its response windows.

A new process is a new ``ContactType`` (a module beside ``tog.py``, added to ``catalogue.py``),
not a change to the engine: the engine (``service.py``) validates values with the type's
fields, routes a submitted contact to the parties its ``route`` names, applies the steps of its
``workflow`` table, sets the deadlines its ``windows`` give (in GB business days), shows its
statuses in its words, and on a deadline applies the step ``on_expiry`` names, the same step a
person would take.

Each involved party has its part (an *involvement*) with its own status, deadline and share,
because one contact can ask several parties for an answer: a supplier theft claim goes to every
shipper registered over the theft period, each accepting or disputing its own share.

Sides of a contact, in a workflow row's ``by`` and a status's ``awaits``:

* ``raiser``: the raising organisation (a network for a theft of gas);
* ``involved``: the party whose part it is (the shipper), acting in the involvement's role;
* ``operator``: the hub operator's staff (the CDSP), e.g. to resolve a dispute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from meterhub.parties.roles import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Side(StrEnum):
    RAISER = "raiser"
    INVOLVED = "involved"
    OPERATOR = "operator"


class FieldKind(StrEnum):
    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # paragraphs
    DATE = "date"  # YYYY-MM-DD
    INTEGER = "integer"
    CHOICE = "choice"  # one of ``choices``' codes
    MPRN = "mprn"  # a gas meter point reference number: 6 to 10 digits


class FieldError(ValueError):
    """One field's value is refused; the message says why, for the person filling the form."""


_MPRN = re.compile(r"[0-9]{6,10}")


@dataclass(frozen=True)
class Field:
    """One field of a contact type's form. Values are stored as JSON: text, integers, and dates
    as ``YYYY-MM-DD`` text."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    max_length: int = 200
    choices: tuple[tuple[str, str], ...] = ()  # (code, words)
    minimum: int | None = None
    maximum: int | None = None
    help: str = ""

    def parse(self, raw: Any) -> str | int | None:
        """The stored value of ``raw`` (form text or a JSON value), None when empty. Raises
        ``FieldError`` for a value of the wrong shape; whether an empty one is allowed is the
        submit's question (a draft may be incomplete)."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if self.kind is FieldKind.INTEGER:
            return self._integer(raw)
        if not isinstance(raw, str):
            raise FieldError("must be text")
        text = raw.strip()
        if len(text) > self.max_length:
            raise FieldError(f"must be at most {self.max_length} characters")
        if self.kind in (FieldKind.TEXT, FieldKind.MPRN, FieldKind.CHOICE) and any(
            ord(c) < 32 for c in text
        ):
            raise FieldError("must be one line")
        if self.kind is FieldKind.MPRN and not _MPRN.fullmatch(text):
            raise FieldError("an MPRN is 6 to 10 digits")
        if self.kind is FieldKind.CHOICE and text not in dict(self.choices):
            raise FieldError("must be one of " + ", ".join(w for _, w in self.choices))
        if self.kind is FieldKind.DATE:
            try:
                if len(text) != 10:
                    raise ValueError(text)
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise FieldError("must be a date written YYYY-MM-DD") from None
        return text

    def _integer(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise FieldError("must be a whole number")
        if isinstance(raw, str):
            text = raw.strip().replace(",", "")
            if not re.fullmatch(r"-?[0-9]{1,15}", text):
                raise FieldError("must be a whole number")
            raw = int(text)
        if not isinstance(raw, int):
            raise FieldError("must be a whole number")
        if self.minimum is not None and raw < self.minimum:
            raise FieldError(f"must be at least {self.minimum:,}")
        if self.maximum is not None and raw > self.maximum:
            raise FieldError(f"must be at most {self.maximum:,}")
        return raw

    def shown(self, value: Any) -> str:
        """The value as a person reads it (a choice in its words)."""
        if value is None:
            return ""
        if self.kind is FieldKind.CHOICE:
            return dict(self.choices).get(str(value), str(value))
        if self.kind is FieldKind.INTEGER and isinstance(value, int):
            return f"{value:,}"
        return str(value)


@dataclass(frozen=True)
class Status:
    """A status of an involved party's part, in the full words users read (never a code), and
    whose move it is: ``awaits`` None means this part is finished."""

    code: str
    words: str
    awaits: Side | None


@dataclass(frozen=True)
class Step:
    """One row of a workflow table: from ``from_status``, the side ``by`` may take ``action``
    (labelled ``label`` on its button), which moves the part to ``to_status``; ``window``, if
    set, names the response window that opens (the new status's deadline)."""

    action: str
    label: str
    from_status: str
    to_status: str
    by: Side
    needs_reason: bool = False
    window: str | None = None
    #: Values the step takes besides its reason (the operator's amended energy), checked with
    #: the same field rules as a form's.
    inputs: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Involved:
    """Whom a submitted contact involves: a party, the role it answers in, its share."""

    party_id: int
    role: Role
    share: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartMoved:
    """One part a step moved, as the type's ``on_step`` hook reads it."""

    involvement_id: int
    contact_id: int
    reference: str
    party_id: int
    share: Mapping[str, Any]
    values: Mapping[str, Any]


@dataclass(frozen=True)
class StepTaken:
    """A step the engine applied to a set of parts (one, for a person's step; a batch, for the
    sweep's deemed step), in the same transaction, for the type's ``on_step`` hook."""

    step: Step
    parts: tuple[PartMoved, ...]
    actor_name: str
    reason: str
    inputs: Mapping[str, Any]
    deemed: bool
    now: datetime


#: What a type does beyond moving the parts when a step is applied (a supplier theft claim's
#: accepted share is posted to settlement); it runs in the step's transaction, once per set.
OnStep = Callable[["Session", StepTaken], None]
#: A part's share in words, for its row on the contact's page.
ShareWords = Callable[[Mapping[str, Any]], str]

#: The parties a submitted contact involves, from its values and its raising party; raises
#: ``FieldErrors`` when the values name no one to route to.
Router = Callable[["Session", Mapping[str, Any], int], list[Involved]]
#: Checks across fields and against other domains, run on submit with the UK day of the submit:
#: field name -> message.
Checker = Callable[["Session", Mapping[str, Any], int, date], dict[str, str]]


class FieldErrors(Exception):
    """Several fields refused at once, each with its reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def _no_checks(
    session: Session, values: Mapping[str, Any], raising_party_id: int, day: date
) -> dict[str, str]:
    return {}


def parse_fields(
    fields: Sequence[Field], raw: Mapping[str, Any], *, complete: bool, unknown: str
) -> dict[str, Any]:
    """The values ``raw`` gives for ``fields`` (a form's or a step's), each checked by its
    field, and with ``complete`` every required one present; a name that is not one of them
    is refused with ``unknown``. Raises ``FieldErrors`` naming each field."""
    errors: dict[str, str] = {name: unknown for name in sorted(set(raw) - {f.name for f in fields})}
    values: dict[str, Any] = {}
    for f in fields:
        try:
            value = f.parse(raw.get(f.name))
        except FieldError as exc:
            errors[f.name] = str(exc)
            continue
        if value is None and complete and f.required:
            errors[f.name] = "is required"
        if value is not None:
            values[f.name] = value
    if errors:
        raise FieldErrors(errors)
    return values


@dataclass(frozen=True)
class ContactType:
    """A kind of contact. ``prefix`` starts its references (``TOG-000042``); ``raised_by`` the
    roles a user must act in to raise one; ``initial_status`` and ``submit_window`` what each
    involved party's part starts as and its first deadline; ``windows`` the response windows in
    business days (documented defaults; the operator's settings); ``on_expiry`` the step applied
    when a part's deadline passes in a status (absent: the part just shows overdue);
    ``on_step`` what else a step does, called by the engine for a person's step and the
    sweep's alike."""

    code: str
    title: str
    description: str
    prefix: str
    raised_by: frozenset[Role]
    fields: tuple[Field, ...]
    statuses: tuple[Status, ...]
    initial_status: str
    workflow: tuple[Step, ...]
    windows: Mapping[str, int]
    route: Router
    submit_window: str | None = None
    on_expiry: Mapping[str, str] = field(default_factory=dict)
    check: Checker = _no_checks
    summary_fields: tuple[str, ...] = ()
    on_step: OnStep | None = None
    share_words: ShareWords | None = None
    #: Run ``check`` only once the type's reference counter is taken: concurrent submits of the
    #: type then queue for it, so a check across contacts (no claim overlaps another) sees
    #: every claim submitted before it.
    exclusive_check: bool = False

    def __post_init__(self) -> None:
        """A definition that contradicts itself is refused when the hub starts, not when a user
        reaches the broken row."""
        codes = {s.code for s in self.statuses}
        problems = []
        if not re.fullmatch(r"[A-Z]{2,8}", self.code) or not re.fullmatch(
            r"[A-Z]{2,6}", self.prefix
        ):
            problems.append("code and prefix are capital letters")
        if self.initial_status not in codes:
            problems.append(f"initial status {self.initial_status} is not a status")
        for name in [self.submit_window] + [s.window for s in self.workflow]:
            if name is not None and name not in self.windows:
                problems.append(f"window {name} is not one of the type's windows")
        seen = set()
        for step in self.workflow:
            if step.from_status not in codes or step.to_status not in codes:
                problems.append(f"step {step.action} names an unknown status")
            if (step.from_status, step.action) in seen:
                problems.append(f"step {step.action} from {step.from_status} given twice")
            seen.add((step.from_status, step.action))
        for status, action in self.on_expiry.items():
            if (status, action) not in seen:
                problems.append(f"on expiry in {status}: no step {action} from it")
        for step in self.workflow:
            if (
                step.inputs
                and step.from_status in self.on_expiry
                and (self.on_expiry[step.from_status] == step.action)
            ):
                problems.append(f"step {step.action} takes inputs the sweep cannot give")
        if any(days < 0 for days in self.windows.values()):
            problems.append("a window counts forwards")
        if problems:
            raise ValueError(f"contact type {self.code}: " + "; ".join(problems))

    def status(self, code: str) -> Status:
        for s in self.statuses:
            if s.code == code:
                return s
        raise KeyError(code)

    def words(self, code: str) -> str:
        """A status's words; a code the type no longer has is shown as it is stored."""
        try:
            return self.status(code).words
        except KeyError:
            return code

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def steps_from(self, status: str) -> list[Step]:
        return [s for s in self.workflow if s.from_status == status]

    def step(self, status: str, action: str) -> Step | None:
        for s in self.workflow:
            if s.from_status == status and s.action == action:
                return s
        return None

    def parse(self, raw: Mapping[str, Any], *, complete: bool) -> dict[str, Any]:
        """The stored values of a form: every field's shape checked, and with ``complete``
        (a submit) every required field present. Raises ``FieldErrors`` naming each field."""
        return parse_fields(
            self.fields, raw, complete=complete, unknown=f"is not a field of a {self.title} contact"
        )

    def summary(self, values: Mapping[str, Any]) -> str:
        """One line for a queue row: the summary fields' labels and values."""
        parts = []
        for name in self.summary_fields:
            f = self.field(name)
            if values.get(name) is not None:
                parts.append(f"{f.label} {f.shown(values[name])}")
        return " · ".join(parts)
