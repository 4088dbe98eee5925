"""The first caller: a hub return tells the holder's users, who are charged for it, in the same
transaction as the return (an RSA returning a supplier's hub under SECMP0039 included), and the
e-mail reaches the SMTP server."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.jobs.mail import Mailer
from meterhub.kit.clock import utcnow
from meterhub.notifications import outbox
from meterhub.notifications import service as notifications
from meterhub.parties.service import appoint_agent
from tests.factories import SYSTEM
from tests.gateway.duis_factories import build_estate, duis_id, hub_return
from tests.gateway.test_submit import code_of, send
from tests.notifications.helpers import user_actor, with_email
from tests.notifications.smtp import Mailbox


def test_an_rsa_return_tells_the_supplier_it_is_charged_and_mails_it(
    session: Session, client: TestClient, mail_settings: Settings, smtp_server: Mailbox
) -> None:
    e = build_estate(session)
    with_email(session, e.supplier_login, "stock@supplier.example")
    appoint_agent(
        session,
        actor=SYSTEM,
        supplier_code=e.supplier.code,
        agent_code=e.agent.code,
        valid_from=date.today() - timedelta(days=1),
        now=utcnow(),
    )
    session.commit()

    r = send(
        client, e.agent_login.headers, hub_return(duis_id(e.agent_login), e.hub_id, 1, fault=True)
    )
    assert code_of(r.content) == "I99", r.text

    session.rollback()
    [entry] = notifications.inbox(session, actor=user_actor(e.supplier_login))
    assert entry.kind == "hub.returned"
    assert e.hub_id in entry.subject and e.agent.code in entry.subject
    assert f"on behalf of {e.supplier.code}" in entry.body
    assert "£6.70" in entry.body
    assert notifications.inbox(session, actor=user_actor(e.agent_login)) == []
    assert notifications.inbox(session, actor=user_actor(e.other_login)) == []

    assert Mailer(mail_settings).run().sent == 1
    [got] = smtp_server.messages()
    assert got.rcpt_tos == ["stock@supplier.example"]
    assert "£6.70" in got.message.get_content()


def test_a_refused_return_tells_nobody(session: Session, client: TestClient) -> None:
    e = build_estate(session)
    with_email(session, e.supplier_login, "stock@supplier.example")
    session.commit()

    r = send(
        client, e.agent_login.headers, hub_return(duis_id(e.agent_login), e.hub_id, 1, fault=False)
    )
    assert code_of(r.content) == "E4"  # not appointed

    session.rollback()
    assert notifications.unread_count(session, actor=user_actor(e.supplier_login)) == 0
    assert outbox.list_outbox(session) == []
