"""JSON shapes of ``/api/v1/reports``: the same tables the portal's report pages show."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

Cell = str | int | float | None


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: str = Field(description="text, int, percent (0-100) or ms")


class TableOut(BaseModel):
    id: str = Field(description="summary, daily, breakdown, rtt, failures, league or alerts")
    title: str
    note: str
    columns: list[ColumnOut]
    rows: list[dict[str, Cell]]


class PeriodOut(BaseModel):
    first: date
    last: date


class ExploreOut(BaseModel):
    party: str
    operator_view: bool = Field(
        default=False,
        description="True when the hub operator reads another party's view, exactly as that "
        "party sees it",
    )
    role: str | None = Field(description="The user role compared; null when the party has none")
    roles: list[str] = Field(description="Roles the party acted in during the period")
    period: PeriodOut
    filters: dict[str, str]
    breakdown: str
    min_cohort: int
    cohort: int | None = Field(
        description="Parties of the role with requests under these filters; null when fewer "
        "than min_cohort"
    )
    peers_shown: bool
    available: PeriodOut | None = Field(description="Days the report cube holds")
    notes: list[str]
    tables: dict[str, TableOut]


class FrozenFileOut(BaseModel):
    name: str
    rows: int | None
    sha256: str
    media_type: str
    url: str


class FrozenRunOut(BaseModel):
    month: str
    content_hash: str
    created_at: str
    engine: str
    files: list[FrozenFileOut]
