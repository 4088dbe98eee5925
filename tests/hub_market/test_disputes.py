"""Disputes over a stock transfer (MP140 requirement 7): raised by either side, answered by the
other, resolved by the operator, with custody and charges corrected by an upheld outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.comms_hubs import service as comms_hubs
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market import disputes, transfers
from meterhub.hub_market.disputes import Resolution
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.notifications.models import Notification
from tests.factories import SYSTEM
from tests.hub_market.test_transfers import RECEIVED, act, dispatched, lines_of
from tests.hub_market.transfer_world import TransferWorld, make_transfer_world

RAISED = datetime(2030, 3, 7, 9, 0, tzinfo=UTC)
RESOLVED = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> TransferWorld:
    w = make_transfer_world(session)
    dispatched(session, w)
    transfers.receive(
        session,
        actor=act(w, "receiver"),
        transfer_id=w.transfer.id,
        lines=lines_of(*(h.device_id for h in w.hubs)),
        now=RECEIVED,
    )
    session.commit()
    return w


def raised(session: Session, world: TransferWorld, by: str = "receiver") -> int:
    dispute = disputes.raise_dispute(
        session,
        actor=act(world, by),
        transfer_id=world.transfer.id,
        kind="firmware",
        statement="Two hubs report firmware 2.9.9 once powered",
        now=RAISED,
    )
    session.commit()
    return dispute.id


class TestRaiseAndAnswer:
    def test_either_side_raises_and_the_other_answers(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispute_id = raised(session, world, by="sender")
        assert world.transfer.status == "disputed"
        with pytest.raises(PermissionDenied):
            disputes.answer_dispute(
                session, actor=act(world, "sender"), dispute_id=dispute_id, answer="x", now=RAISED
            )
        dispute = disputes.answer_dispute(
            session,
            actor=act(world, "receiver"),
            dispute_id=dispute_id,
            answer="They were as listed",
            now=RAISED,
        )
        assert dispute.status == "answered"
        kinds = [
            s.kind
            for s in transfers.timeline(
                session, actor=act(world, "receiver"), transfer_id=world.transfer.id
            )
        ]
        assert kinds == ["dispatched", "received", "dispute_raised", "dispute_answered"]
        told = session.scalars(
            select(Notification.party_id).where(Notification.kind.like("hub_transfer.dispute%"))
        ).all()
        assert sorted(told) == sorted([world.sender.id, world.receiver.id] * 2)

    def test_a_third_party_finds_no_dispute(self, session: Session, world: TransferWorld) -> None:
        dispute_id = raised(session, world)
        with pytest.raises(NotFound):
            disputes.get_dispute(session, actor=act(world, "third"), dispute_id=dispute_id)
        with pytest.raises(NotFound):
            disputes.raise_dispute(
                session,
                actor=act(world, "third"),
                transfer_id=world.transfer.id,
                kind="model",
                statement="x",
                now=RAISED,
            )

    def test_one_open_dispute_at_a_time_and_no_receipt_meanwhile(
        self, session: Session, world: TransferWorld
    ) -> None:
        raised(session, world)
        with pytest.raises(Conflict):
            raised(session, world, by="sender")

    def test_an_allocated_transfer_cannot_be_disputed(self, session: Session) -> None:
        w = make_transfer_world(session)
        with pytest.raises(Conflict):
            raised(session, w)

    def test_a_dispute_names_its_kind(self, session: Session, world: TransferWorld) -> None:
        with pytest.raises(InvalidInput):
            disputes.raise_dispute(
                session,
                actor=act(world, "receiver"),
                transfer_id=world.transfer.id,
                kind="colour",
                statement="x",
                now=RAISED,
            )


class TestResolve:
    def test_only_the_operator_resolves(self, session: Session, world: TransferWorld) -> None:
        dispute_id = raised(session, world)
        with pytest.raises(PermissionDenied):
            disputes.resolve_dispute(
                session,
                actor=act(world, "sender"),
                dispute_id=dispute_id,
                resolution=Resolution(outcome="rejected", resolution="no"),
                now=RESOLVED,
            )

    def test_rejected_changes_nothing(self, session: Session, world: TransferWorld) -> None:
        dispute_id = raised(session, world)
        dispute = disputes.resolve_dispute(
            session,
            actor=act(world, "operator"),
            dispute_id=dispute_id,
            resolution=Resolution(outcome="rejected", resolution="The firmware matches"),
            now=RESOLVED,
        )
        assert dispute.status == "resolved" and dispute.outcome == "rejected"
        assert world.transfer.status == "received"
        owners = set(
            session.scalars(select(Device.owner_party_id).where(Device.device_type == "CHF"))
        )
        assert owners == {world.receiver.id}

    def test_upheld_moves_hubs_back_and_adjusts_the_charge(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispute_id = raised(session, world)
        back = [world.hubs[0].device_id, world.hubs[1].device_id]
        dispute = disputes.resolve_dispute(
            session,
            actor=act(world, "operator"),
            dispute_id=dispute_id,
            resolution=Resolution(
                outcome="upheld",
                resolution="Two hubs had the wrong firmware",
                return_hubs=back,
                adjustment_party="receiver",
                adjustment_pence=-120,
            ),
            now=RESOLVED,
        )
        session.commit()
        assert dispute.hubs_returned == 2
        assert world.transfer.status == "received"
        assert world.transfer.received_quantity == 2
        owner_of = dict(session.execute(select(Device.device_id, Device.owner_party_id)).all())
        assert [owner_of[d] for d in back] == [world.sender.id] * 2
        assert owner_of[world.hubs[2].device_id] == world.receiver.id
        moved_back = session.scalars(
            select(DeviceHistory).where(
                DeviceHistory.field == "owner", DeviceHistory.new_value == "SEND"
            )
        ).all()
        assert sorted(h.device_id for h in moved_back) == sorted(back)
        assert all(dispute.reference in h.reason and h.at == RESOLVED for h in moved_back)
        back_on = comms_hubs.holder_on(
            session, actor=SYSTEM, device_id=back[0], day=RESOLVED.date()
        )
        held_before = comms_hubs.holder_on(
            session, actor=SYSTEM, device_id=back[0], day=RESOLVED.date() - timedelta(days=1)
        )
        assert back_on is not None and back_on.party == "SEND"
        assert held_before is not None and held_before.party == "RECV"
        adjustments = comms_hubs.adjustments_in(
            session, party_id=world.receiver.id, start=RAISED, end=RESOLVED + timedelta(days=1)
        )
        assert [(a.amount_pence, a.reference) for a in adjustments] == [(-120, dispute.reference)]

    def test_only_hubs_the_transfer_moved_go_back(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispute_id = raised(session, world)
        with pytest.raises(InvalidInput) as bad:
            disputes.resolve_dispute(
                session,
                actor=act(world, "operator"),
                dispute_id=dispute_id,
                resolution=Resolution(
                    outcome="upheld", resolution="x", return_hubs=["00-DB-12-FF-FF-FF-FF-01"]
                ),
                now=RESOLVED,
            )
        assert bad.value.code == "not_moved_by_transfer"
