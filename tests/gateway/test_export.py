"""What the gateway hands the event lake: finished requests with their alerts, and alerts no
request raised, each batch until it is marked exported and never after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from meterhub.gateway.export import ExportBatch, mark_exported, unexported
from meterhub.gateway.models import OutboundMessage, ServiceRequest
from meterhub.gateway.service import release_due
from tests.gateway.duis_factories import Estate, build_estate, duis_id

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _request(
    session: Session, e: Estate, counter: int, *, state: str, alerts: list[str] | None = None
) -> ServiceRequest:
    originator = duis_id(e.supplier_login)
    row = ServiceRequest(
        request_id=f"{originator}:{e.esme_id}:{counter}",
        originator=originator,
        target=e.esme_id,
        counter=counter,
        srv="4.1.1" if state != "refused" else None,
        service_reference="4.1" if state != "refused" else None,
        party_id=e.supplier.id,
        user_id=e.supplier_login.user.id,
        role="IS",
        device_id=e.esme_id,
        received_at=T0 + timedelta(seconds=counter),
        ack_code="I99" if state != "refused" else "E4",
        state="queued" if state == "responded" else state,
        due_at=T0 + timedelta(seconds=counter + 1) if state != "refused" else None,
        planned={"response_code": "I0", "rtt_ms": 900, "alerts": alerts or []},
    )
    session.add(row)
    session.flush()
    return row


def _outage_alert(session: Session, e: Estate, code: str) -> OutboundMessage:
    message = OutboundMessage(
        user_id=e.dno_login.user.id,
        party_id=e.dno.id,
        kind="alert",
        code=code,
        device_id=e.esme_id,
        created_at=T0,
        xml="<Alert/>",
        recipient_role="ED",
    )
    session.add(message)
    session.flush()
    return message


def _ids(batch: ExportBatch) -> tuple[list[int], list[str], list[int]]:
    return (
        [r.id for r in batch.requests],
        [a.code for a in batch.request_alerts],
        [a.id for a in batch.alerts],
    )


class TestUnexported:
    def test_hands_over_finished_requests_their_alerts_and_outage_alerts(
        self, session: Session
    ) -> None:
        e = build_estate(session)
        refused = _request(session, e, 1, state="refused")
        answered = _request(session, e, 2, state="responded", alerts=["N13"])
        waiting = _request(session, e, 3, state="queued")
        waiting.due_at = T0 + timedelta(hours=1)
        assert release_due(session, now=T0 + timedelta(minutes=1)) == 1
        outage = _outage_alert(session, e, "AD1")
        batch = unexported(session, limit=100)
        assert _ids(batch) == ([refused.id, answered.id], ["N13"], [outage.id])
        finished = batch.requests[1]
        assert (finished.state, finished.response_code, finished.rtt_ms) == ("responded", "I0", 900)
        assert finished.responded_at == T0 + timedelta(seconds=3)
        assert batch.request_alerts[0].service_request_id == answered.id
        assert (batch.alerts[0].party_id, batch.alerts[0].recipient_role) == (e.dno.id, "ED")

    def test_a_batch_not_marked_is_handed_over_again(self, session: Session) -> None:
        e = build_estate(session)
        _request(session, e, 1, state="refused")
        _outage_alert(session, e, "AD1")
        assert _ids(unexported(session, limit=100)) == _ids(unexported(session, limit=100))

    def test_at_most_limit_of_each(self, session: Session) -> None:
        e = build_estate(session)
        first = _request(session, e, 1, state="refused")
        _request(session, e, 2, state="refused")
        alert = _outage_alert(session, e, "AD1")
        _outage_alert(session, e, "0x8F35")
        assert _ids(unexported(session, limit=1)) == ([first.id], [], [alert.id])


class TestMarkExported:
    def test_a_marked_batch_is_never_handed_over_again(self, session: Session) -> None:
        e = build_estate(session)
        _request(session, e, 1, state="refused")
        _outage_alert(session, e, "AD1")
        mark_exported(session, batch=unexported(session, limit=100), now=T0)
        later = _request(session, e, 2, state="refused")
        assert _ids(unexported(session, limit=100)) == ([later.id], [], [])

    def test_marks_only_what_the_batch_held(self, session: Session) -> None:
        e = build_estate(session)
        _request(session, e, 1, state="refused")
        batch = unexported(session, limit=100)
        arrived = _outage_alert(session, e, "AD1")
        mark_exported(session, batch=batch, now=T0)
        assert _ids(unexported(session, limit=100)) == ([], [], [arrived.id])
