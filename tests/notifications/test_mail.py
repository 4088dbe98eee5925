"""The mail lane against a real SMTP server on loopback: what ``notify`` queued arrives; a server
that refuses or fails for now gets it later, and nothing is lost; what a server accepted is never
sent again, across a restart of the lane."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.jobs.mail import Mailer
from meterhub.jobs.worker import Worker
from meterhub.notifications import outbox
from meterhub.notifications import service as notifications
from meterhub.notifications.models import OutboxMail
from meterhub.parties.models import Party
from tests.factories import SYSTEM, make_party
from tests.notifications.helpers import api_user
from tests.notifications.smtp import Mailbox, free_port

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _queue(session: Session, *, to: str = "ops@alpha.example") -> Party:
    party = make_party(session, name="Alpha Energy")
    api_user(session, party, to)
    session.commit()
    notifications.notify(
        session,
        party_id=party.id,
        kind="hub.returned",
        subject="Hub 00-DB-12-00-00-00-00-01 returned (fault) by RSA1",
        body="Communications Hub 00-DB-12-00-00-00-00-01 was returned.",
        link="/portal/inbox",
        now=NOW,
    )
    session.commit()
    return party


def _mail(session: Session) -> OutboxMail:
    session.rollback()  # a fresh read: the lane wrote in transactions of its own
    [row] = outbox.list_outbox(session)
    return row


def _lane(settings: Settings, at: datetime) -> Mailer:
    return Mailer(settings, clock=lambda: at)


class TestDelivery:
    def test_the_smtp_server_receives_what_notify_queued(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        run = _lane(mail_settings, NOW).run()

        assert (run.sent, run.retried, run.failed) == (1, 0, 0)
        [got] = smtp_server.messages()
        assert got.rcpt_tos == ["ops@alpha.example"]
        assert got.mail_from == "hub@meterhub.test"
        message = got.message
        assert message["To"] == "ops@alpha.example"
        assert message["Subject"] == "Hub 00-DB-12-00-00-00-00-01 returned (fault) by RSA1"
        assert message["Auto-Submitted"] == "auto-generated"
        text = message.get_content()
        assert "Communications Hub 00-DB-12-00-00-00-00-01 was returned." in text
        assert "https://hub.example/portal/inbox" in text
        row = _mail(session)
        assert (row.state, row.attempts, row.sent_at) == ("sent", 1, NOW)

    def test_the_servers_worker_sends_it_by_itself(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        worker = Worker(mail_settings)
        worker.start()
        try:
            deadline = time.monotonic() + 20
            while not smtp_server.messages() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.stop()
        assert [m.rcpt_tos for m in smtp_server.messages()] == [["ops@alpha.example"]]
        assert _mail(session).state == "sent"

    def test_with_no_smtp_host_mail_stays_queued(
        self, session: Session, settings: Settings
    ) -> None:
        _queue(session)
        mailer = Mailer(settings)
        assert not mailer.enabled
        assert mailer.dispatch() is False
        assert _mail(session).state == "queued"


class TestFailures:
    def test_a_temporary_failure_is_retried_after_the_back_off_and_then_delivered(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        smtp_server.data_reply = "451 4.3.0 Mailbox busy, try again later"
        run = _lane(mail_settings, NOW).run()
        assert (run.sent, run.retried) == (0, 1)
        row = _mail(session)
        assert row.state == "queued" and row.attempts == 1
        assert row.next_attempt_at == NOW + timedelta(seconds=mail_settings.mail_retry_seconds)
        assert row.last_error is not None and "451" in row.last_error

        smtp_server.data_reply = "250 OK"
        assert _lane(mail_settings, NOW + timedelta(seconds=59)).run().sent == 0
        assert _lane(mail_settings, NOW + timedelta(seconds=60)).run().sent == 1
        assert len(smtp_server.messages()) == 1
        assert _mail(session).state == "sent"

    def test_a_server_that_refuses_connections_gets_the_mail_later(
        self,
        session: Session,
        mail_settings: Settings,
        smtp_server: Mailbox,
    ) -> None:
        _queue(session)
        nobody = mail_settings.model_copy(update={"smtp_port": free_port()})
        assert _lane(nobody, NOW).run().retried == 1
        row = _mail(session)
        assert row.state == "queued" and "ConnectionRefused" in (row.last_error or "")

        later = NOW + timedelta(minutes=5)
        assert _lane(mail_settings, later).run().sent == 1
        assert len(smtp_server.messages()) == 1

    def test_back_off_doubles_and_the_last_attempt_fails_the_mail(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        smtp_server.data_reply = "421 4.7.0 Too busy"
        settings = mail_settings.model_copy(update={"mail_max_attempts": 3})
        at, waits = NOW, []
        for _ in range(3):
            _lane(settings, at).run()
            row = _mail(session)
            waits.append(row.next_attempt_at - at)
            at = row.next_attempt_at
        assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
        assert row.state == "failed" and "gave up after 3 attempts" in (row.last_error or "")
        assert smtp_server.messages() == []

    def test_a_refused_recipient_fails_at_once_and_the_operator_can_queue_it_again(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        smtp_server.rcpt_reply = "550 5.1.1 No such mailbox"
        assert _lane(mail_settings, NOW).run().failed == 1
        row = _mail(session)
        assert row.state == "failed" and "550" in (row.last_error or "")

        smtp_server.rcpt_reply = "250 OK"
        later = NOW + timedelta(hours=1)
        outbox.retry(session, actor=SYSTEM, mail_id=row.id, now=later)
        session.commit()
        assert _lane(mail_settings, later).run().sent == 1
        assert len(smtp_server.messages()) == 1


class TestRestarts:
    def test_a_mail_the_server_accepted_is_not_sent_again_by_a_restarted_lane(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        first = _lane(mail_settings, NOW)
        assert first.run().sent == 1
        first.close()

        later = NOW + timedelta(days=1)
        restarted = _lane(mail_settings, later)
        assert restarted.dispatch() is False
        assert restarted.run().sent == 0
        assert len(smtp_server.messages()) == 1

    def test_a_mail_cut_off_while_sending_is_sent_after_a_restart(
        self, session: Session, mail_settings: Settings, smtp_server: Mailbox
    ) -> None:
        _queue(session)
        # The lane claimed it and committed, then the process died before the server answered.
        with session_scope(mail_settings.database_url) as s:
            [claimed] = outbox.claim_due(s, now=NOW)
        stuck_for = timedelta(seconds=mail_settings.mail_stuck_seconds)

        assert _lane(mail_settings, NOW + stuck_for / 2).run().sent == 0
        assert _mail(session).state == "sending"
        restarted = _lane(mail_settings, NOW + stuck_for)
        assert restarted.run().sent == 1
        [got] = smtp_server.messages()
        assert got.message["Message-ID"].startswith(f"<meterhub.{claimed.id}.")
        row = _mail(session)
        assert (row.state, row.attempts) == ("sent", 2)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_server_without_tls_is_not_sent_mail_in_clear_when_tls_is_asked(
    session: Session, mail_settings: Settings, smtp_server: Mailbox, security: str
) -> None:
    """With STARTTLS or TLS configured, a server that offers neither gets nothing in clear."""
    _queue(session)
    settings = mail_settings.model_copy(update={"smtp_security": security})
    assert _lane(settings, NOW).run().retried == 1
    assert smtp_server.messages() == []
    assert _mail(session).state == "queued"
