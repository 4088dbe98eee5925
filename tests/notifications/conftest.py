"""Notification fixtures: the loopback SMTP server, and settings that send to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meterhub.config import Settings, get_settings
from tests.notifications.smtp import Mailbox, smtp_server

__all__ = ["mail_settings", "smtp_server"]


@pytest.fixture
def mail_settings(
    settings: Settings, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The test's settings, sending plain SMTP (no TLS, no login) to the loopback server."""
    monkeypatch.setenv("METERHUB_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("METERHUB_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("METERHUB_SMTP_SECURITY", "none")
    monkeypatch.setenv("METERHUB_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("METERHUB_MAIL_FROM", "meterhub <hub@meterhub.test>")
    monkeypatch.setenv("METERHUB_MAIL_PORTAL_URL", "https://hub.example/")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
