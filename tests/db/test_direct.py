"""``Direct`` runs Core statements on the driver: what it stores must read back exactly as if the
ORM had stored it (UTC timestamps, JSON), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from meterhub.db.direct import Direct
from meterhub.gateway.models import ServiceRequest
from tests.factories import make_login, make_party

_INSERT = Direct(
    insert(ServiceRequest)
    .values(
        request_id=bindparam("request_id"),
        party_id=bindparam("party_id"),
        user_id=bindparam("user_id"),
        received_at=bindparam("received_at"),
        ack_code=bindparam("ack_code"),
        state=bindparam("state"),
        planned=bindparam("planned"),
        body=bindparam("body"),
        raw=bindparam("raw"),
    )
    .returning(ServiceRequest.id)
)
_BY_ID = Direct(
    select(ServiceRequest.request_id, ServiceRequest.ack_code).where(
        ServiceRequest.id == bindparam("id")
    )
)


def test_what_direct_stores_reads_back_like_the_orms(session: Session) -> None:
    party = make_party(session, roles=("IS",))
    login = make_login(session, party=party)
    session.commit()
    at = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC)
    inserted = _INSERT.first(
        session,
        {
            "request_id": "R-1",
            "party_id": party.id,
            "user_id": login.user.id,
            "received_at": at,
            "ack_code": "I99",
            "state": "queued",
            "planned": {"rtt_ms": 812.5, "alerts": ["N13"]},
            "body": {"DeviceID": "00-DB-12-34-56-78-90-A2"},
            "raw": "<Request/>",
        },
    )
    assert inserted is not None
    session.commit()

    row = session.get(ServiceRequest, inserted[0])
    assert row is not None
    assert row.received_at == at and row.received_at.tzinfo is not None
    assert row.planned == {"rtt_ms": 812.5, "alerts": ["N13"]}
    assert row.body == {"DeviceID": "00-DB-12-34-56-78-90-A2"}
    found = _BY_ID.first(session, {"id": inserted[0]})
    assert (found.request_id, found.ack_code) == ("R-1", "I99")
    assert _BY_ID.first(session, {"id": inserted[0] + 1000}) is None


def test_selecting_a_timestamp_is_refused(session: Session) -> None:
    """The driver would hand SQLite's text back unconverted, so Direct will not select one."""
    statement = Direct(
        select(ServiceRequest.received_at).where(ServiceRequest.id == bindparam("id"))
    )
    with pytest.raises(TypeError, match="timestamp"):
        statement.first(session, {"id": 1})


class _Acknowledged(NamedTuple):
    request_id: str
    ack_code: str


def test_rows_come_back_as_the_named_tuple_given(session: Session) -> None:
    party = make_party(session, roles=("IS",))
    login = make_login(session, party=party)
    session.add(
        ServiceRequest(
            request_id="R-2",
            party_id=party.id,
            user_id=login.user.id,
            ack_code="E4",
            state="refused",
        )
    )
    session.flush()
    by_request_id = Direct(
        select(ServiceRequest.request_id, ServiceRequest.ack_code).where(
            ServiceRequest.request_id == bindparam("request_id")
        ),
        row=_Acknowledged,
    )
    found = by_request_id.first(session, {"request_id": "R-2"})
    assert found == _Acknowledged(request_id="R-2", ack_code="E4")
    assert isinstance(found, _Acknowledged)
    assert by_request_id.all(session, {"request_id": "R-2"}) == [found]


def test_a_row_type_not_naming_the_columns_is_refused(session: Session) -> None:
    """Fields in another order would put each value under the wrong name."""
    swapped = Direct(
        select(ServiceRequest.ack_code, ServiceRequest.request_id).where(
            ServiceRequest.id == bindparam("id")
        ),
        row=_Acknowledged,
    )
    with pytest.raises(TypeError, match="not the columns"):
        swapped.first(session, {"id": 1})
