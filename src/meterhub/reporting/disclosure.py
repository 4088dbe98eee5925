"""Disclosure control: what one recipient may see of a definition's industry-wide result.

MP176 gives each user its own performance "against anonymised data for other Users operating in
the same User Role". The rules, applied to every definition's rows for every recipient:

* **Own rows are named**, with the recipient's party code; the industry rows (all parties of
  the role, the recipient included) are named ``Industry``.
* **Peers are labelled** ``Supplier 7``, ``Network operator 2``...: the number is the peer's
  position when the role's parties are sorted by a keyed hash (HMAC-SHA-256) of the run secret,
  the recipient and the month. So a label is stable across every file of one report, but the
  same peer has an unrelated number in another recipient's report and in another month, and a
  recipient cannot link peers by comparing reports. The secret is never written out.
* **Small cohorts are not broken out**: when fewer than ``min_cohort`` parties (default 5, the
  recipient included) have rows in a role, the recipient gets its own rows and the industry
  rows only, no peer rows and no league positions.
* **Device-level rows are only ever the recipient's own** (``own`` definitions); the other
  kinds carry no device or meter point columns (``Definition`` refuses them).
* **Party codes inside dimensions** (the supplier an N16 is split by) are labelled the same way.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from meterhub.reporting.definitions import Definition
from meterhub.reporting.engines import Row

DEFAULT_MIN_COHORT: Final = 5
INDUSTRY: Final = "Industry"
#: Series a recipient's row belongs to.
OWN, PEER, INDUSTRY_SERIES = "own", "peer", "industry"

NOUN_OF_ROLE: Final = {
    "IS": "Supplier",
    "ES": "Supplier",
    "GS": "Supplier",
    "ED": "Network operator",
    "GT": "Gas transporter",
    "RSA": "Agent",
    "OU": "Other user",
}
#: The kind of party a ``party_columns`` dimension holds, by column name.
NOUN_OF_COLUMN: Final = {"supplier": "Supplier"}


def noun_of_role(role: str | None) -> str:
    return NOUN_OF_ROLE.get(role or "", "Party")


class PeerLabeller:
    """Labels for one recipient's report in one month. ``population`` is every (party, noun)
    the run knows; each noun's parties other than the recipient are numbered 1..n in the order
    of their keyed hash."""

    def __init__(
        self, *, secret: bytes, recipient: str, month: str, population: Iterable[tuple[str, str]]
    ) -> None:
        self.recipient = recipient
        by_noun: dict[str, set[str]] = defaultdict(set)
        for party, noun in population:
            if party != recipient:
                by_noun[noun].add(party)

        def key(party: str) -> bytes:
            message = "\x1f".join((recipient, month, party)).encode()
            return hmac.new(secret, message, hashlib.sha256).digest()

        self._labels: dict[tuple[str, str], str] = {}
        for noun, parties in by_noun.items():
            for n, party in enumerate(sorted(parties, key=key), start=1):
                self._labels[(party, noun)] = f"{noun} {n}"

    def label(self, party: str, noun: str) -> str:
        """The recipient keeps its own code; any other party gets its label."""
        if party == self.recipient:
            return party
        try:
            return self._labels[(party, noun)]
        except KeyError:
            raise KeyError(f"party not in the run's population for {noun!r}") from None


@dataclass(frozen=True)
class Cohorts:
    """How many parties have rows in each role, for one definition."""

    sizes: dict[str, int]

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Cohorts:
        parties: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            if r["scope"] == "party":
                parties[r["role"]].add(r["party"])
        return cls({role: len(p) for role, p in parties.items()})

    def broken_out(self, role: str, min_cohort: int) -> bool:
        return self.sizes.get(role, 0) >= min_cohort


def population(
    definitions: Iterable[Definition], results: dict[str, list[Row]]
) -> set[tuple[str, str]]:
    """Every (party, noun) appearing in the results, as parties or inside party columns."""
    out: set[tuple[str, str]] = set()
    for d in definitions:
        for r in results.get(d.id, []):
            if r["scope"] == "party" and r["party"] is not None:
                out.add((r["party"], noun_of_role(r["role"])))
            for column in d.party_columns:
                if r.get(column) is not None:
                    out.add((r[column], NOUN_OF_COLUMN.get(column, "Party")))
    return out


def recipient_roles(results: dict[str, list[Row]], recipient: str) -> set[str]:
    """The user roles a recipient acted in (or held devices in) during the month."""
    return {
        r["role"]
        for rows in results.values()
        for r in rows
        if r["scope"] == "party" and r["party"] == recipient
    }


#: An industry figure is shown only where at least this many parties besides the recipient
#: contribute to it: with one, "industry minus own" would be that party's own figure (and with
#: none but another party, the industry row *is* that party's). Peers need ``min_cohort``.
MIN_INDUSTRY_OTHERS: Final = 2


def _slice(definition: Definition, row: Row) -> tuple[Any, ...]:
    return (row["role"], *(row.get(c) for c in (*definition.time_columns, *definition.dimensions)))


@dataclass(frozen=True)
class Contributors:
    """For one definition, which parties have a row in each industry slice (role, time,
    dimensions). Worked out once per run; a recipient's count of *other* contributors to a
    slice is the slice's parties less itself."""

    parties: dict[tuple[Any, ...], frozenset[str]]

    @classmethod
    def of(cls, definition: Definition, rows: Iterable[Row]) -> Contributors:
        found: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        for r in rows:
            if r["scope"] == "party":
                found[_slice(definition, r)].add(r["party"])
        return cls({key: frozenset(p) for key, p in found.items()})

    def others(self, definition: Definition, industry_row: Row, recipient: str) -> int:
        parties = self.parties.get(_slice(definition, industry_row), frozenset())
        return len(parties) - (recipient in parties)


def recipient_view(
    definition: Definition,
    rows: list[Row],
    *,
    recipient: str,
    roles: set[str],
    labeller: PeerLabeller,
    min_cohort: int = DEFAULT_MIN_COHORT,
    cohorts: Cohorts | None = None,
    contributors: Contributors | None = None,
) -> list[Row] | None:
    """The rows of ``definition`` that ``recipient`` receives, with a ``series`` column
    (own, industry, peer) and every other party labelled: its own rows first, then the
    industry rows, then the peers', each in the order given. ``None`` when the definition is
    not for any of the recipient's roles.

    ``cohorts`` and ``contributors`` may be given already worked out over every row of the
    definition (they do not depend on the recipient); by default they are worked out from
    ``rows``."""
    applicable = roles & set(definition.recipient_roles)
    if not applicable:
        return None
    kind = definition.disclosure
    if cohorts is None:
        cohorts = Cohorts.of(rows)
    if contributors is None and kind != "own":
        contributors = Contributors.of(definition, rows)
    broken_out = {role: cohorts.broken_out(role, min_cohort) for role in applicable}
    own: list[Row] = []
    industry: list[Row] = []
    peers: list[Row] = []
    for r in rows:
        role = r["role"]
        if role not in applicable:
            continue
        if r["scope"] == "industry":
            if kind == "own":
                continue
            assert contributors is not None
            if contributors.others(definition, r, recipient) < MIN_INDUSTRY_OTHERS:
                continue
            industry.append(_shown(definition, r, INDUSTRY_SERIES, INDUSTRY, labeller))
        elif r["party"] == recipient:
            shown = _shown(definition, r, OWN, recipient, labeller)
            if kind == "league" and not broken_out[role]:
                shown["position"] = None
            own.append(shown)
        elif kind in ("benchmark", "league") and broken_out[role]:
            label = labeller.label(r["party"], noun_of_role(role))
            peers.append(_shown(definition, r, PEER, label, labeller))
    return own + industry + peers


def _shown(definition: Definition, row: Row, series: str, name: str, labeller: PeerLabeller) -> Row:
    shown = {"series": series, **row, "party": name}
    del shown["scope"]
    for column in definition.party_columns:
        value = shown.get(column)
        if value is not None:
            shown[column] = labeller.label(value, NOUN_OF_COLUMN.get(column, "Party"))
    return shown
