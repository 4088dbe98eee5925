"""Orders and deliveries: an order placed, confirmed or declined by the DCC, shipped with an
advance shipment notice, and accepted (lines rejected with a reason) into the inventory as
Pending stock at the delivery location; every bad input refused whole, naming its lines."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from meterhub.comms_hubs import orders
from meterhub.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from meterhub.inventory import service as inventory
from meterhub.kit.clock import utcnow
from meterhub.notifications import service as notifications
from tests.comms_hubs.conftest import (
    HubsWorld,
    confirmed,
    guids,
    lines_of,
    next_month,
    placed,
    shipped,
)
from tests.factories import make_device


def inbox_kinds(session: Session, hubs: HubsWorld, login: object) -> list[str]:
    return [n.kind for n in notifications.inbox(session, actor=hubs.actor(login))]  # type: ignore[arg-type]


class TestPlaceOrder:
    def test_an_order_is_placed_for_the_party_and_awaits_the_dcc(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = placed(session, hubs, quantity=896)
        assert (order.party_id, order.state, order.quantity) == (hubs.a.id, "placed", 896)
        assert orders.outstanding(session, order=order) == 896

    def test_a_variant_not_made_for_the_region_is_refused(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            orders.place_order(
                session,
                actor=hubs.actor(hubs.a_login),
                csp_region="South",
                variant_code="N-SM",
                quantity=10,
                delivery_month=next_month(),
                delivery_location="Depot",
                now=utcnow(),
            )
        assert refused.value.code == "variant_not_in_region"

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("variant_code", "NOPE", "unknown_variant"),
            ("csp_region", "Atlantis", "bad_region"),
            ("quantity", 0, "bad_quantity"),
            ("delivery_month", "2020-01", "month_begun"),
            ("delivery_month", "next month", "bad_month"),
            ("delivery_location", "  ", "bad_location"),
            ("delivery_location", "two\nlines", "bad_location"),
        ],
    )
    def test_bad_order_fields_are_refused(
        self, session: Session, hubs: HubsWorld, field: str, value: object, code: str
    ) -> None:
        fields: dict[str, object] = {
            "csp_region": "North",
            "variant_code": "N-SM",
            "quantity": 10,
            "delivery_month": next_month(),
            "delivery_location": "Depot",
        } | {field: value}
        with pytest.raises(InvalidInput) as refused:
            orders.place_order(session, actor=hubs.actor(hubs.a_login), now=utcnow(), **fields)  # type: ignore[arg-type]
        assert refused.value.code == code


class TestConfirmOrDecline:
    def test_the_dcc_confirms_and_the_party_is_told(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = confirmed(session, hubs)
        assert order.state == "confirmed"
        [entry] = notifications.inbox(session, actor=hubs.actor(hubs.a_login))
        assert entry.kind == "hub_order.confirmed" and f"order {order.id}" in entry.body
        assert entry.link == f"/portal/hubs/orders/{order.id}"

    def test_the_dcc_declines_with_a_reason_the_party_reads(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = placed(session, hubs)
        orders.decline_order(
            session,
            actor=hubs.actor(hubs.dcc_login),
            order_id=order.id,
            reason="no North stock that month",
            now=utcnow(),
        )
        assert (order.state, order.decline_reason) == ("declined", "no North stock that month")
        [entry] = notifications.inbox(session, actor=hubs.actor(hubs.a_login))
        assert entry.kind == "hub_order.declined" and "no North stock" in entry.body

    def test_a_decline_needs_a_reason(self, session: Session, hubs: HubsWorld) -> None:
        order = placed(session, hubs)
        with pytest.raises(InvalidInput):
            orders.decline_order(
                session,
                actor=hubs.actor(hubs.dcc_login),
                order_id=order.id,
                reason=" ",
                now=utcnow(),
            )
        assert order.state == "placed"

    def test_only_the_dcc_decides_and_a_decided_order_stays_decided(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = placed(session, hubs)
        with pytest.raises(PermissionDenied):
            orders.confirm_order(
                session, actor=hubs.actor(hubs.a_login), order_id=order.id, now=utcnow()
            )
        orders.confirm_order(
            session, actor=hubs.actor(hubs.dcc_login), order_id=order.id, now=utcnow()
        )
        with pytest.raises(InvalidTransition):
            orders.decline_order(
                session,
                actor=hubs.actor(hubs.dcc_login),
                order_id=order.id,
                reason="x",
                now=utcnow(),
            )

    def test_another_partys_order_is_not_found(self, session: Session, hubs: HubsWorld) -> None:
        order = placed(session, hubs)
        with pytest.raises(NotFound):
            orders.get_order(session, actor=hubs.actor(hubs.b_login), order_id=order.id)
        assert orders.list_orders(session, actor=hubs.actor(hubs.b_login)).items == []
        assert [
            o.id for o in orders.list_orders(session, actor=hubs.actor(hubs.dcc_login)).items
        ] == [order.id]


class TestRecordConsignment:
    def test_an_asn_is_recorded_and_the_party_told_it_shipped(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = confirmed(session, hubs, quantity=5)
        consignment = shipped(session, hubs, order=order, hub_ids=guids(3))
        lines = orders.consignment_lines(
            session, actor=hubs.actor(hubs.a_login), consignment_id=consignment.id
        )
        assert [(x.line, x.state) for x in lines] == [
            (1, "shipped"),
            (2, "shipped"),
            (3, "shipped"),
        ]
        assert orders.outstanding(session, order=order) == 2
        assert "hub_consignment.shipped" in inbox_kinds(session, hubs, hubs.a_login)
        # Nothing is in the inventory until the party accepts.
        assert inventory.existing_device_ids(session, device_ids=guids(3)) == set()

    def test_an_unconfirmed_order_is_not_delivered(self, session: Session, hubs: HubsWorld) -> None:
        order = placed(session, hubs)
        with pytest.raises(InvalidTransition):
            shipped(session, hubs, order=order)

    def test_an_unknown_order_is_not_found(self, session: Session, hubs: HubsWorld) -> None:
        with pytest.raises(NotFound):
            orders.record_consignment(
                session,
                actor=hubs.actor(hubs.dcc_login),
                order_id=999,
                asn_reference="A1",
                lines=lines_of(guids(1)),
                now=utcnow(),
            )

    def test_bad_lines_are_all_named_and_nothing_is_recorded(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = confirmed(session, hubs, quantity=10)
        taken = make_device(session, device_type="CHF", owner=hubs.b, status="Pending")
        ok = guids(2)
        with pytest.raises(InvalidInput) as refused:
            shipped(
                session,
                hubs,
                order=order,
                hub_ids=[ok[0], "not-a-guid", ok[0], taken.device_id, ok[1]],
            )
        err = refused.value
        assert err.code == "bad_asn"
        assert [(p["line"], p["guid"]) for p in err.details] == [
            (2, "not-a-guid"),
            (3, ok[0]),
            (4, taken.device_id),
        ]
        assert "line 2" in err.message and "line 3" in err.message and "line 4" in err.message
        assert "listed twice (first on line 1)" in err.message
        assert "already in the inventory" in err.message
        assert orders.list_consignments(session, actor=hubs.actor(hubs.dcc_login)).items == []

    def test_more_hubs_than_outstanding_is_a_quantity_mismatch(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        order = confirmed(session, hubs, quantity=2)
        with pytest.raises(InvalidInput) as refused:
            shipped(session, hubs, order=order, hub_ids=guids(3))
        assert "lists 3 hubs but order" in refused.value.message
        assert "2 outstanding of 2 ordered" in refused.value.message

    def test_a_guid_on_another_consignment_and_a_reused_reference_are_refused(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        first = shipped(session, hubs, hub_ids=guids(3))
        order = confirmed(session, hubs, quantity=3)
        with pytest.raises(InvalidInput) as refused:
            shipped(session, hubs, order=order, hub_ids=guids(1), reference="ASN-0002")
        assert f"already on consignment {first.asn_reference}" in refused.value.message
        with pytest.raises(Conflict):
            shipped(session, hubs, order=order, hub_ids=guids(1, start=50), reference="ASN-0001")

    def test_only_the_dcc_records_an_asn(self, session: Session, hubs: HubsWorld) -> None:
        order = confirmed(session, hubs)
        with pytest.raises(PermissionDenied):
            orders.record_consignment(
                session,
                actor=hubs.actor(hubs.a_login),
                order_id=order.id,
                asn_reference="A",
                lines=lines_of(guids(1)),
                now=utcnow(),
            )


class TestSettleConsignment:
    def test_accepted_hubs_enter_the_inventory_pending_held_at_the_location(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        ids = guids(3)
        consignment = shipped(session, hubs, hub_ids=ids)
        orders.settle_consignment(
            session,
            actor=hubs.actor(hubs.a_login),
            consignment_id=consignment.id,
            rejections={ids[1].lower(): "case crushed"},
            now=utcnow(),
        )
        assert consignment.state == "settled"
        lines = orders.consignment_lines(
            session, actor=hubs.actor(hubs.a_login), consignment_id=consignment.id
        )
        assert [(x.state, x.reject_reason) for x in lines] == [
            ("accepted", ""),
            ("rejected", "case crushed"),
            ("accepted", ""),
        ]
        for guid in (ids[0], ids[2]):
            device = inventory.get_device(session, actor=hubs.actor(hubs.a_login), device_id=guid)
            assert (device.device_type, device.status, device.owner_party_id) == (
                "CHF",
                "Pending",
                hubs.a.id,
            )
            assert (device.manufacturer, device.model, device.csp_region) == (
                "Toshiba",
                "CH-N-SM",
                "North",
            )
            where = orders.stock_location(session, device_id=guid)
            assert where is not None and where.location == "Unit 4, Trafford Park, Manchester"
        assert inventory.existing_device_ids(session, device_ids=[ids[1]]) == set()
        # The rejected hub is outstanding again: the DCC ships a replacement.
        order = orders.get_order(
            session, actor=hubs.actor(hubs.a_login), order_id=consignment.order_id
        )
        assert orders.outstanding(session, order=order) == 1

    def test_rejecting_a_guid_not_on_it_or_without_a_reason_changes_nothing(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        ids = guids(2)
        consignment = shipped(
            session, hubs, order=confirmed(session, hubs, quantity=2), hub_ids=ids
        )
        with pytest.raises(InvalidInput) as refused:
            orders.settle_consignment(
                session,
                actor=hubs.actor(hubs.a_login),
                consignment_id=consignment.id,
                rejections={"00-DB-FF-FF-FF-FF-FF-FF": "not ours", ids[0]: " "},
                now=utcnow(),
            )
        assert "00-DB-FF-FF-FF-FF-FF-FF is not a line" in refused.value.message
        assert f"rejecting {ids[0]} needs a reason" in refused.value.message
        assert consignment.state == "shipped"
        assert inventory.existing_device_ids(session, device_ids=ids) == set()

    def test_a_hub_that_reached_the_inventory_meanwhile_refuses_the_whole_acceptance(
        self, session: Session, hubs: HubsWorld
    ) -> None:
        ids = guids(2)
        consignment = shipped(
            session, hubs, order=confirmed(session, hubs, quantity=2), hub_ids=ids
        )
        make_device(session, device_type="CHF", owner=hubs.b, device_id=ids[1], status="Pending")
        with pytest.raises(Conflict) as refused:
            orders.settle_consignment(
                session,
                actor=hubs.actor(hubs.a_login),
                consignment_id=consignment.id,
                rejections={},
                now=utcnow(),
            )
        assert ids[1] in refused.value.message
        assert inventory.existing_device_ids(session, device_ids=[ids[0]]) == set()

    def test_only_the_ordering_party_settles_once(self, session: Session, hubs: HubsWorld) -> None:
        consignment = shipped(session, hubs)
        with pytest.raises(NotFound):
            orders.settle_consignment(
                session,
                actor=hubs.actor(hubs.b_login),
                consignment_id=consignment.id,
                rejections={},
                now=utcnow(),
            )
        with pytest.raises(PermissionDenied):
            orders.settle_consignment(
                session,
                actor=hubs.actor(hubs.dcc_login),
                consignment_id=consignment.id,
                rejections={},
                now=utcnow(),
            )
        orders.settle_consignment(
            session,
            actor=hubs.actor(hubs.a_login),
            consignment_id=consignment.id,
            rejections={},
            now=utcnow(),
        )
        with pytest.raises(InvalidTransition):
            orders.settle_consignment(
                session,
                actor=hubs.actor(hubs.a_login),
                consignment_id=consignment.id,
                rejections={},
                now=utcnow(),
            )
