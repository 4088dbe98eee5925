"""Dispatch and receipt of a stock transfer (MP140 requirement 5): who may take each step,
every refusal reason, nothing moving for a refused line, and custody moved on the receipt day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.audit.service import Actor
from meterhub.comms_hubs import service as comms_hubs
from meterhub.db import bulk
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market import transfers
from meterhub.hub_market.transfers import ReceiptLine, parse_guid_list, parse_transfer_file
from meterhub.inventory import service as inventory
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.notifications.models import Notification
from meterhub.parties.service import actor_for
from tests.factories import SYSTEM, make_device
from tests.hub_market.transfer_world import TransferWorld, make_hubs, make_transfer_world

DISPATCHED = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
RECEIVED = datetime(2030, 3, 6, 15, 30, tzinfo=UTC)


@pytest.fixture
def world(session: Session) -> TransferWorld:
    return make_transfer_world(session)


def act(world: TransferWorld, who: str) -> Actor:
    return actor_for(getattr(world, f"{who}_login").user, "api")


def dispatched(session: Session, world: TransferWorld) -> None:
    transfers.dispatch(
        session, actor=act(world, "sender"), transfer_id=world.transfer.id, now=DISPATCHED
    )
    session.commit()


def lines_of(*guids: str) -> list[ReceiptLine]:
    return [ReceiptLine(line_no=i, guid=g) for i, g in enumerate(guids, 1)]


def holders(session: Session, world: TransferWorld) -> set[int | None]:
    ids = [h.device_id for h in world.hubs]
    return set(session.scalars(select(Device.owner_party_id).where(Device.device_id.in_(ids))))


class TestDispatch:
    def test_the_sender_dispatches_and_both_sides_are_told(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispatched(session, world)
        assert world.transfer.status == "dispatched"
        assert world.transfer.dispatched_at == DISPATCHED
        told = session.scalars(
            select(Notification.party_id).where(Notification.kind == "hub_transfer.dispatched")
        ).all()
        assert sorted(told) == sorted([world.sender.id, world.receiver.id])
        link = session.scalars(select(Notification.link)).first()
        assert link == f"/portal/transfers/{world.transfer.id}"

    def test_the_receiver_may_not_dispatch(self, session: Session, world: TransferWorld) -> None:
        with pytest.raises(PermissionDenied):
            transfers.dispatch(
                session,
                actor=act(world, "receiver"),
                transfer_id=world.transfer.id,
                now=DISPATCHED,
            )

    def test_a_third_party_finds_no_transfer(self, session: Session, world: TransferWorld) -> None:
        with pytest.raises(NotFound):
            transfers.dispatch(
                session, actor=act(world, "third"), transfer_id=world.transfer.id, now=DISPATCHED
            )

    def test_dispatching_twice_is_refused(self, session: Session, world: TransferWorld) -> None:
        dispatched(session, world)
        with pytest.raises(Conflict) as refused:
            dispatched(session, world)
        assert refused.value.code == "not_allocated"


class TestReceipt:
    def test_a_receipt_before_dispatch_is_refused(
        self, session: Session, world: TransferWorld
    ) -> None:
        with pytest.raises(Conflict) as refused:
            transfers.receive(
                session,
                actor=act(world, "receiver"),
                transfer_id=world.transfer.id,
                lines=lines_of(world.hubs[0].device_id),
                now=RECEIVED,
            )
        assert refused.value.code == "not_dispatched"

    def test_only_the_receiver_confirms_receipt(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispatched(session, world)
        with pytest.raises(PermissionDenied):
            transfers.receive(
                session,
                actor=act(world, "sender"),
                transfer_id=world.transfer.id,
                lines=lines_of(world.hubs[0].device_id),
                now=RECEIVED,
            )
        with pytest.raises(NotFound):
            transfers.receive(
                session,
                actor=act(world, "third"),
                transfer_id=world.transfer.id,
                lines=lines_of(world.hubs[0].device_id),
                now=RECEIVED,
            )

    def test_ownership_moves_from_the_receipt_day_with_history_and_audit(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispatched(session, world)
        receipt = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(*(h.device_id.replace("-", "").lower() for h in world.hubs)),
            now=RECEIVED,
        )
        session.commit()
        assert receipt.accepted and receipt.moved == 4
        assert holders(session, world) == {world.receiver.id}
        assert world.transfer.status == "received"
        assert world.transfer.received_quantity == 4
        history = session.scalars(
            select(DeviceHistory).where(DeviceHistory.field == "owner").order_by(DeviceHistory.id)
        ).all()
        assert [h.device_id for h in history] == sorted(h.device_id for h in world.hubs)
        assert {(h.old_value, h.new_value, h.at) for h in history} == {("SEND", "RECV", RECEIVED)}
        assert all("TR-000001" in h.reason for h in history)
        assert {h.actor for h in history} == {world.receiver_login.user.username}
        audited = session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "device.owner_changed")
        ).all()
        assert sorted(audited) == sorted(h.device_id for h in world.hubs)
        # The custody ledger: the sender held them (as stock) to the day before the receipt,
        # the receiver from the receipt day, whose stock charge they are from then.
        hub = world.hubs[0].device_id
        before = comms_hubs.holder_on(
            session, actor=SYSTEM, device_id=hub, day=RECEIVED.date() - timedelta(days=1)
        )
        on_the_day = comms_hubs.holder_on(session, actor=SYSTEM, device_id=hub, day=RECEIVED.date())
        assert before is not None and (before.party, before.in_stock) == ("SEND", True)
        assert on_the_day is not None and (on_the_day.party, on_the_day.in_stock) == ("RECV", True)
        told = session.scalars(
            select(Notification.party_id).where(Notification.kind == "hub_transfer.received")
        ).all()
        assert sorted(told) == sorted([world.sender.id, world.receiver.id])

    def test_fewer_hubs_than_allocated_are_received(
        self, session: Session, world: TransferWorld
    ) -> None:
        dispatched(session, world)
        receipt = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(world.hubs[0].device_id, world.hubs[1].device_id),
            now=RECEIVED,
        )
        assert receipt.moved == 2
        assert "2 fewer than allocated" in receipt.event.note

    def test_a_second_receipt_is_refused(self, session: Session, world: TransferWorld) -> None:
        dispatched(session, world)
        transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(world.hubs[0].device_id),
            now=RECEIVED,
        )
        with pytest.raises(Conflict):
            transfers.receive(
                session,
                actor=act(world, "receiver"),
                transfer_id=world.transfer.id,
                lines=lines_of(world.hubs[1].device_id),
                now=RECEIVED,
            )


class TestRefusals:
    """Each reason a GUID line is refused; with any line refused, no hub moves at all."""

    def refused(self, session: Session, world: TransferWorld, lines: list[ReceiptLine]) -> dict:
        dispatched(session, world)
        receipt = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines,
            now=RECEIVED,
        )
        session.commit()
        assert not receipt.accepted and receipt.moved == 0
        # Nothing moved: every hub, the good ones too, is still the sender's.
        assert holders(session, world) == {world.sender.id}
        assert session.scalar(select(DeviceHistory).where(DeviceHistory.field == "owner")) is None
        assert world.transfer.status == "dispatched"
        return {r.line_no: (r.reason, r.detail) for r in receipt.refused}

    def test_unknown_guid(self, session: Session, world: TransferWorld) -> None:
        got = self.refused(
            session, world, lines_of(world.hubs[0].device_id, "00-DB-12-FF-FF-FF-FF-01")
        )
        assert got == {2: ("unknown_guid", transfers.REFUSAL_REASONS["unknown_guid"])}

    def test_a_meter_is_no_hub(self, session: Session, world: TransferWorld) -> None:
        meter = make_device(session, device_type="ESME", status="Pending")
        got = self.refused(session, world, lines_of(world.hubs[0].device_id, meter.device_id))
        assert got[2][0] == "unknown_guid"

    def test_not_a_guid(self, session: Session, world: TransferWorld) -> None:
        got = self.refused(session, world, lines_of(world.hubs[0].device_id, "hub-42"))
        assert got[2][0] == "not_a_guid"

    def test_foreign_holder(self, session: Session, world: TransferWorld) -> None:
        theirs = make_hubs(session, owner=world.third, count=1)[0]
        mine = make_hubs(session, owner=world.receiver, count=1)[0]
        got = self.refused(
            session, world, lines_of(world.hubs[0].device_id, theirs.device_id, mine.device_id)
        )
        assert got == {
            2: ("foreign_holder", "not held by SEND"),
            3: ("foreign_holder", "already held by you"),
        }

    def test_not_pending(self, session: Session, world: TransferWorld) -> None:
        installed = make_hubs(session, owner=world.sender, count=1, status="Commissioned")[0]
        got = self.refused(session, world, lines_of(world.hubs[0].device_id, installed.device_id))
        assert got == {2: ("not_pending", "status Commissioned, not Pending")}

    def test_duplicate(self, session: Session, world: TransferWorld) -> None:
        h = world.hubs[0].device_id
        got = self.refused(session, world, lines_of(h, world.hubs[1].device_id, h.lower()))
        assert got == {3: ("duplicate", "also on line 1")}

    def test_over_quantity(self, session: Session, world: TransferWorld) -> None:
        extra = make_hubs(session, owner=world.sender, count=1)[0]
        got = self.refused(
            session, world, lines_of(*(h.device_id for h in world.hubs), extra.device_id)
        )
        assert got == {5: ("over_quantity", "the transfer is for 4 hubs")}

    def test_wrong_receiving_party_in_the_file(
        self, session: Session, world: TransferWorld
    ) -> None:
        lines = [
            ReceiptLine(1, world.hubs[0].device_id, "recv"),
            ReceiptLine(2, world.hubs[1].device_id, "THRD"),
        ]
        got = self.refused(session, world, lines)
        assert got[2][0] == "wrong_receiver"

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"manufacturer": "Landis"}, "wrong_manufacturer"),
            ({"model": "CH-SOUTH-1"}, "wrong_model"),
            ({"firmware_version": "2.9.9"}, "wrong_firmware"),
            ({"csp_region": "South"}, "wrong_region"),
        ],
    )
    def test_wrong_make_model_firmware_or_region(
        self, session: Session, world: TransferWorld, changes: dict[str, str], reason: str
    ) -> None:
        other = make_hubs(session, owner=world.sender, count=1, **changes)[0]
        got = self.refused(session, world, lines_of(world.hubs[0].device_id, other.device_id))
        assert got[2][0] == reason

    def test_the_refused_attempt_is_on_the_timeline_with_its_lines(
        self, session: Session, world: TransferWorld
    ) -> None:
        self.refused(session, world, lines_of(world.hubs[0].device_id, "nope"))
        steps = transfers.timeline(
            session, actor=act(world, "sender"), transfer_id=world.transfer.id
        )
        assert [s.kind for s in steps] == ["dispatched", "receipt_refused"]
        lines = transfers.event_lines(session, actor=act(world, "sender"), event_id=steps[1].id)
        assert [(x.line_no, x.guid, x.outcome, x.reason) for x in lines] == [
            (2, "nope", "refused", "not_a_guid")
        ]
        # A corrected receipt then moves them.
        receipt = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(world.hubs[0].device_id),
            now=RECEIVED + timedelta(hours=1),
        )
        assert receipt.moved == 1


class TestMoveHubs:
    def test_a_hub_changed_since_the_check_moves_nothing(
        self, session: Session, world: TransferWorld
    ) -> None:
        installed = make_hubs(session, owner=world.sender, count=1, status="Commissioned")[0]
        with pytest.raises(Conflict):
            inventory.move_hubs(
                session,
                actor=act(world, "receiver"),
                device_ids=[world.hubs[0].device_id, installed.device_id],
                from_party_id=world.sender.id,
                to_party_id=world.receiver.id,
                reason="test",
                now=RECEIVED,
            )


class TestParsing:
    def test_a_pasted_list_keeps_line_numbers(self) -> None:
        lines = parse_guid_list("00-DB-12-00-00-00-00-01\n\n00DB120000000002, 00db120000000003\n")
        assert [(x.line_no, x.guid) for x in lines] == [
            (1, "00-DB-12-00-00-00-00-01"),
            (3, "00DB120000000002"),
            (3, "00db120000000003"),
        ]
        assert all(x.receiving_party is None for x in lines)

    def test_a_stock_transfer_file(self) -> None:
        data = (
            b"\xef\xbb\xbfReceiving_Party,Hub_ID\r\n"
            b"RECV,00-DB-12-00-00-00-00-01\r\n\r\nRECV,00DB120000000002\r\n"
        )
        lines = parse_transfer_file(data)
        assert [(x.line_no, x.guid, x.receiving_party) for x in lines] == [
            (2, "00-DB-12-00-00-00-00-01", "RECV"),
            (4, "00DB120000000002", "RECV"),
        ]

    def test_the_operator_names_the_columns(self) -> None:
        layout = transfers.TransferFileLayout(hub_column="CH ID", party_column="New SU")
        lines = parse_transfer_file(b"CH ID,New SU\n00DB120000000002,RECV\n", layout=layout)
        assert lines[0].guid == "00DB120000000002"

    def test_a_file_without_the_columns_names_line_1(self) -> None:
        with pytest.raises(InvalidInput) as bad:
            parse_transfer_file(b"guid\n00DB120000000002\n")
        assert bad.value.code == "bad_transfer_file"
        assert bad.value.details == {
            "lines": [
                {"line": 1, "problem": "no column hub_id"},
                {"line": 1, "problem": "no column receiving_party"},
            ]
        }

    def test_lines_in_the_wrong_shape_are_named(self) -> None:
        data = b"hub_id,receiving_party\n00DB120000000001,RECV\n00DB120000000002\n,RECV\n"
        with pytest.raises(InvalidInput) as bad:
            parse_transfer_file(data)
        assert [p["line"] for p in bad.value.details["lines"]] == [3, 4]
        assert "lines 3, 4" in bad.value.message

    def test_not_utf8(self) -> None:
        with pytest.raises(InvalidInput) as bad:
            parse_transfer_file(b"hub_id,receiving_party\n\xff\xfe\n")
        assert bad.value.code == "bad_transfer_file"


class TestLargeReceipt:
    """Past a thousand GUIDs the hubs are read and moved through a temporary table of their
    IDs: the same outcome as a small receipt, refusals included."""

    def load(self, session: Session, world: TransferWorld, count: int) -> list[str]:
        _, stamp = bulk.encoders(session)
        at = stamp(RECEIVED)
        ids = [f"00-DB-14-00-00-00-{n // 256:02X}-{n % 256:02X}" for n in range(count)]
        inventory.load_devices(
            session,
            devices=[
                (
                    d,
                    "CHF",
                    "Toshiba",
                    "CH-NORTH-2",
                    "3.1.0",
                    "CHTS",
                    "North",
                    "Pending",
                    world.sender.id,
                    None,
                    None,
                    at,
                    at,
                )
                for d in ids
            ],
            history=[],
        )
        world.transfer.quantity = count
        session.commit()
        return ids

    def test_1500_hubs_move_and_one_bad_line_stops_them_all(
        self, session: Session, world: TransferWorld
    ) -> None:
        ids = self.load(session, world, 1500)
        dispatched(session, world)
        refused = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(*ids[:-1], world.hubs[0].device_id.replace("00-DB-12", "00-DB-99")),
            now=RECEIVED,
        )
        session.commit()
        assert [(r.line_no, r.reason) for r in refused.refused] == [(1500, "unknown_guid")]
        owners = set(
            session.scalars(select(Device.owner_party_id).where(Device.device_id.in_(ids[:900])))
        )
        assert owners == {world.sender.id}
        receipt = transfers.receive(
            session,
            actor=act(world, "receiver"),
            transfer_id=world.transfer.id,
            lines=lines_of(*ids),
            now=RECEIVED,
        )
        session.commit()
        assert receipt.moved == 1500
        moved = inventory.device_attributes_by_id(session, device_ids=ids)
        assert {a.owner_party_id for a in moved.values()} == {world.receiver.id}
        assert len(moved) == 1500
