"""A real SMTP server on loopback for the tests: aiosmtpd's ``Controller`` on 127.0.0.1 and a
free port, keeping every message it accepted; the test can make it answer with a temporary or
permanent refusal instead."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message the server accepted: its envelope and its parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how it answers next. ``data_reply`` is its answer
    to the end of DATA (``250`` takes the message; a ``451`` or ``554`` does not);
    ``rcpt_reply`` its answer to RCPT TO."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    data_reply: str = "250 Message accepted for delivery"
    rcpt_reply: str = "250 OK"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.box.rcpt_reply
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.box.data_reply
        if reply.startswith("250"):
            parsed = message_from_bytes(envelope.original_content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            with self.box.lock:
                self.box.received.append(
                    Received(envelope.mail_from, list(envelope.rcpt_tos), parsed)
                )
        return reply


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 for the length of the test."""
    box = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
