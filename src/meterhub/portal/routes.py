"""Portal routes (being built)."""

from __future__ import annotations

from fastapi import FastAPI

from meterhub.config import Settings


def install_portal(app: FastAPI, settings: Settings) -> None:
    """Mount the portal's pages on ``app``."""
