"""Bodies for install forecasts."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meterhub.kit.schema import RequestBody, Strict


class ForecastIn(RequestBody):
    supplier: str | None = Field(
        default=None,
        description="Code of the supplier the forecast is for; empty: your own party. An agent "
        "(RSA) may give the code of a supplier that appoints it.",
    )
    role: str = Field(description="User role the installs will be sent in: IS, ES or GS")
    month: str = Field(description="A month that has not begun, YYYY-MM", examples=["2026-12"])
    csp_region: str = Field(description="North, Central, South, North4G, Central4G or South4G")
    installs: int = Field(description="Successful installs (8.14.1) expected in the month")


class ForecastOut(Strict):
    id: int
    supplier: str
    role: str
    month: str
    csp_region: str
    installs: int
    submitted_at: datetime
    submitted_by: str = Field(description="Party code of the submitter, or the importing file")
    in_force: bool
    superseded_at: datetime | None
    supersedes: int | None = Field(description="Id of the forecast this one replaced")
