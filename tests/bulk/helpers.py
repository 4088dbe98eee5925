"""Writing CSV files and running ``meterhub import`` the way an operator would."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.db.base import Base

runner = CliRunner()

DEVICE_HEADER = [
    "device_id",
    "device_type",
    "manufacturer",
    "model",
    "firmware_version",
    "smets_version",
    "csp_region",
    "status",
    "owner",
    "mpxn",
    "comms_hub_id",
]


def write_csv(
    folder: Path, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]
) -> Path:
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


def device_row(
    device_id: str,
    *,
    device_type: str = "ESME",
    status: str = "",
    owner: str = "",
    mpxn: str = "",
    comms_hub_id: str = "",
) -> list[str]:
    return [
        device_id,
        device_type,
        "Acme",
        "ACME-1",
        "1.0.0",
        "SMETS2",
        "North",
        status,
        owner,
        mpxn,
        comms_hub_id,
    ]


def run_import(*args: str) -> Result:
    return runner.invoke(app, ["import", *args])


def count(session: Session, model: type[Base]) -> int:
    """Rows in the table as another connection sees them now (what the CLI committed)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
