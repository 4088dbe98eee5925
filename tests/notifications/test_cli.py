"""``meterhub mail list|send|retry`` and ``meterhub user add --email``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.notifications import outbox
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from tests.factories import make_party
from tests.notifications.helpers import api_user
from tests.notifications.smtp import Mailbox

runner = CliRunner()
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _queue(session: Session) -> None:
    party = make_party(session)
    api_user(session, party, "ops@alpha.example")
    session.commit()
    notifications.notify(
        session, party_id=party.id, kind="hub.returned", subject="Hub returned", body="B", now=NOW
    )
    session.commit()


def test_send_delivers_due_mail_and_list_shows_it_sent(
    session: Session, mail_settings: Settings, smtp_server: Mailbox
) -> None:
    _queue(session)
    queued = runner.invoke(app, ["mail", "list", "--state", "queued"])
    assert queued.exit_code == 0 and "ops@alpha.example" in queued.stdout

    sent = runner.invoke(app, ["mail", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 sent, 0 to retry later, 0 failed" in sent.stdout
    assert [m.rcpt_tos for m in smtp_server.messages()] == [["ops@alpha.example"]]
    listed = runner.invoke(app, ["mail", "list"])
    assert " sent " in listed.stdout
    assert runner.invoke(app, ["mail", "send"]).stdout.startswith("0 sent")


def test_send_with_mail_off_says_so_and_leaves_it_queued(
    session: Session, settings: Settings
) -> None:
    _queue(session)
    result = runner.invoke(app, ["mail", "send"])
    assert result.exit_code == 1
    assert "METERHUB_SMTP_HOST" in result.stderr
    session.rollback()
    assert [m.state for m in outbox.list_outbox(session)] == ["queued"]


def test_retry_of_a_sent_mail_is_refused(
    session: Session, mail_settings: Settings, smtp_server: Mailbox
) -> None:
    _queue(session)
    runner.invoke(app, ["mail", "send"])
    session.rollback()
    [mail] = outbox.list_outbox(session)
    result = runner.invoke(app, ["mail", "retry", str(mail.id)])
    assert result.exit_code == 2 and "mail_sent" in result.stderr
    assert len(smtp_server.messages()) == 1


def test_user_add_and_user_email_set_the_address(session: Session, settings: Settings) -> None:
    make_party(session, code="ALPHA")
    session.commit()
    added = runner.invoke(
        app,
        ["user", "add", "ALPHA", "ops", "--role", "IS", "--email", "ops@alpha.example"],
        input="a long enough password\na long enough password\n",
    )
    assert added.exit_code == 0, added.output
    user = parties.user_by_username(session, "ops")
    assert user is not None and user.email == "ops@alpha.example"

    bad = runner.invoke(app, ["user", "email", "ops", "not an address"])
    assert bad.exit_code == 2 and "bad_email" in bad.stderr
    cleared = runner.invoke(app, ["user", "email", "ops"])
    assert cleared.exit_code == 0
    session.rollback()
    user = parties.user_by_username(session, "ops")
    assert user is not None and user.email is None
