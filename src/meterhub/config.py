"""One Settings class for the whole hub, read from ``METERHUB_*`` environment variables.

SQLite in the working directory is the embedded default, so ``meterhub serve`` needs no set-up;
production points ``METERHUB_DATABASE_URL`` at PostgreSQL (``postgresql+psycopg://...``).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERHUB_", extra="ignore")

    database_url: str = "sqlite:///meterhub.db"
    secret_key: str = Field(default="", description="Signs portal session cookies and CSRF tokens.")
    secret_key_file: Path = Path(".meterhub-secret")
    max_body_bytes: int = 1_048_576
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="SQLite commit durability: FULL survives power loss (an fsync per commit, "
        "shared by a batch of DUIS submissions); NORMAL only a crash of the process",
    )
    max_csv_bytes: int = 512 * 1_048_576
    session_max_age_seconds: int = Field(
        default=8 * 3600, gt=0, description="A portal session ends this long after login"
    )
    session_idle_timeout_seconds: int = Field(
        default=30 * 60,
        gt=0,
        description="A portal session ends after this long without a request (30 minutes)",
    )
    login_failures_before_delay: int = 3
    login_max_delay_seconds: float = 30.0
    cookie_secure: bool = False
    page_size_default: int = 50
    page_size_max: int = 1000
    duis_schema_dir: str = Field(
        default="", description="Directory holding DUIS_Schema_V5.4.xsd; empty = no XSD check"
    )
    network_seed: int = Field(default=1, description="Seed of the simulated device network")
    dcc_party_code: str = Field(default="DCC", description="The hub operator's own party")
    run_worker: bool = Field(default=False, description="Release responses and push them")
    worker_interval_seconds: float = 0.2
    callback_max_attempts: int = 8
    push_lanes: int = Field(
        default=4, ge=1, le=32, description="Callback URLs pushed to at once (one POST each)"
    )
    push_stuck_seconds: float = Field(
        default=60.0, gt=0, description="A push in flight this long is held for polling"
    )
    network_profile: str = Field(
        default="", description="TOML or JSON file overriding the device network's rates"
    )
    lake_dir: str = Field(default="", description="Event lake the worker exports to; empty = off")
    cube_dir: str = Field(
        default="", description="Report cube the portal and API read; empty = <lake_dir>/cube"
    )
    cube_update_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often the worker rebuilds the report cube's days it exported to",
    )
    reports_dir: str = Field(
        default="", description="Frozen monthly report runs offered for download; empty = none"
    )
    report_secret: str = Field(
        default="", description="Keys the report peer labels; empty = derived from secret_key"
    )
    report_min_cohort: int = Field(
        default=5, ge=2, description="Fewest parties in a role before peers are broken out"
    )
    # E-mail (docs/mail.md): notifications are queued in the outbox whatever these say; the
    # worker sends them only when ``smtp_host`` is set.
    smtp_host: str = Field(
        default="", description="SMTP server for e-mail; empty = mail stays queued"
    )
    smtp_port: int = Field(
        default=0, ge=0, le=65535, description="0 = by security: 25 none, 587 starttls, 465 ssl"
    )
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls",
        description="starttls: upgrade a plain connection; ssl: TLS from the start",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty = no AUTH")
    smtp_password: str = Field(default="", description="SMTP password (with smtp_username)")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(
        default="meterhub <meterhub@localhost>", description="The From of every e-mail"
    )
    mail_portal_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The portal's address as users reach it, for links in e-mails",
    )
    mail_max_attempts: int = Field(default=10, ge=1, description="Tries before a mail fails")
    mail_retry_seconds: float = Field(
        default=60.0, gt=0, description="First retry after a failure; doubling, at most 1 h"
    )
    mail_stuck_seconds: float = Field(
        default=300.0, gt=0, description="A mail sending this long (a crash) is queued again"
    )

    # The MP140 stock transfer marketplace (docs/marketplace.md): the operator's to set.
    market_log_parties: Literal["labelled", "shown", "hidden"] = Field(
        default="labelled",
        description="How the public transaction log names the parties to a transfer: labelled "
        "(Party A, Party B, ... one label per party across the log), shown (party codes) or "
        "hidden (no parties at all). Each party always reads its own transfers in full.",
    )
    market_rule_notice_days: int = Field(
        default=28,
        ge=0,
        description="Days' notice, at least, between announcing a new allocation rule and the "
        "day it takes effect",
    )
    sut_max_kwh_per_day: int = Field(
        default=1_000,
        ge=1,
        description="Supplier Theft of Gas: the most energy a claim may estimate per day of its "
        "theft period (kWh); a larger estimate is refused as implausible. The operator's to set",
    )
    # The MP140 "CH Stock Transfer File" (docs/hub-transfers.md): the DCC finalises its layout,
    # so the column names are the operator's to set.
    transfer_file_hub_column: str = Field(
        default="hub_id", min_length=1, description="Stock transfer file: the hub GUID's column"
    )
    transfer_file_party_column: str = Field(
        default="receiving_party",
        min_length=1,
        description="Stock transfer file: the receiving party's column",
    )

    def smtp_port_in_use(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "ssl": 465}[self.smtp_security]

    serve_host: str = Field(default="127.0.0.1", description="Address `meterhub serve` listens on")
    serve_port: int = Field(
        default=8000, ge=1, le=65535, description="Port `meterhub serve` listens on"
    )
    hub_url: str = Field(
        default="",
        description="The hub's base URL for commands that talk to it over HTTP (meterhub duis "
        "send); empty = http://<serve_host>:<serve_port>",
    )

    def resolved_hub_url(self) -> str:
        """``hub_url``, else the address ``meterhub serve`` listens on under these settings, so
        a client on the same machine finds the hub on whatever port it was given. A hub
        listening on every interface (``0.0.0.0``, ``::``) is reached through loopback."""
        if self.hub_url:
            return self.hub_url.rstrip("/")
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
            self.serve_host, self.serve_host
        )
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.serve_port}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one kept in ``secret_key_file`` so sessions survive restarts."""
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
