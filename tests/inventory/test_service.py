"""Smart Metering Inventory rules: who sees a device, adding one, its status and its owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, entries_for
from meterhub.db import bulk
from meterhub.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from meterhub.inventory import service
from meterhub.inventory.catalogue import LIFECYCLE_EVENTS, DeviceStatus
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.kit.clock import today, utcnow
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from meterhub.registration import service as registration
from tests.factories import (
    SYSTEM,
    make_api_login,
    make_appointment,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)
from tests.hub_market.conftest import hold_hubs

MPRN = "7512345678"

S = DeviceStatus
#: Where a person may move a device by naming its next status (the API's and portal's change).
LIFECYCLE: dict[DeviceStatus, set[DeviceStatus]] = {
    S.PENDING: {S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED, S.WITHDRAWN},
    S.WHITELISTED: {S.INSTALLED_NOT_COMMISSIONED, S.PENDING, S.WITHDRAWN},
    S.INSTALLED_NOT_COMMISSIONED: {S.COMMISSIONED, S.DECOMMISSIONED, S.WITHDRAWN},
    S.COMMISSIONED: {S.SUSPENDED, S.DECOMMISSIONED, S.RECOVERY},
    S.SUSPENDED: {S.COMMISSIONED, S.DECOMMISSIONED},
    S.RECOVERY: {S.RECOVERED, S.COMMISSIONED},
    S.RECOVERED: {S.COMMISSIONED, S.DECOMMISSIONED},
    S.DECOMMISSIONED: set(),
    S.WITHDRAWN: set(),
}


def _actor(session: Session, party: Party) -> Actor:
    return actor_for(make_api_login(session, party=party).user, "api")


def _sees(session: Session, party: Party, device: Device) -> bool:
    try:
        service.get_device(session, actor=_actor(session, party), device_id=device.device_id)
    except NotFound:
        return False
    return True


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _add(session: Session, actor: Actor, **overrides: str | None) -> Device:
    fields: dict[str, str | None] = {
        "device_id": "00-DB-12-34-56-78-90-A2",
        "device_type": "ESME",
        "manufacturer": "Acme",
        "model": "ACME-1",
        "firmware_version": "1.0.0",
        "smets_version": "SMETS2",
        "csp_region": "North",
    }
    fields.update(overrides)
    return service.add_device(session, actor=actor, **fields, now=utcnow())  # type: ignore[arg-type]


class TestVisibility:
    def test_change_of_supplier_today(self, session: Session) -> None:
        old, new = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        outsider = make_party(session, roles=("IS",))
        mpan = make_mpan_for(1)
        make_registration(
            session,
            mpxn=mpan,
            supplier=old,
            network=dno,
            effective_from=today() - timedelta(days=400),
        )
        make_registration(session, mpxn=mpan, supplier=new, network=dno, effective_from=today())
        meter = make_device(session, mpxn=mpan)
        assert _sees(session, new, meter)
        assert not _sees(session, old, meter)
        assert _sees(session, dno, meter)
        assert not _sees(session, outsider, meter)

    def test_a_supplier_gaining_tomorrow_does_not_see_it_yet(self, session: Session) -> None:
        old, new = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        mpan = make_mpan_for(1)
        make_registration(
            session,
            mpxn=mpan,
            supplier=old,
            network=dno,
            effective_from=today() - timedelta(days=30),
        )
        make_registration(
            session,
            mpxn=mpan,
            supplier=new,
            network=dno,
            effective_from=today() + timedelta(days=1),
        )
        meter = make_device(session, mpxn=mpan)
        assert _sees(session, old, meter)
        assert not _sees(session, new, meter)

    def test_gas_shipper_and_transporter_see_the_meter(self, session: Session) -> None:
        supplier, gt = make_party(session, roles=("GS",)), make_party(session, roles=("GT",))
        shipper = make_party(session, roles=("SHIPPER",))
        make_registration(
            session,
            mpxn=MPRN,
            supplier=supplier,
            network=gt,
            shipper=shipper,
            effective_from=today() - timedelta(days=10),
        )
        meter = make_device(session, device_type="GSME", mpxn=MPRN)
        assert all(_sees(session, p, meter) for p in (supplier, gt, shipper))

    def test_agents_see_what_their_supplier_holds_while_appointed(self, session: Session) -> None:
        supplier, previous = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        appointed_today = make_party(session, roles=("RSA",))
        ended = make_party(session, roles=("RSA",))
        starts_tomorrow = make_party(session, roles=("RSA",))
        previous_suppliers_agent = make_party(session, roles=("RSA",))
        mpan = make_mpan_for(1)
        make_registration(
            session,
            mpxn=mpan,
            supplier=previous,
            network=dno,
            effective_from=today() - timedelta(days=400),
        )
        make_registration(
            session,
            mpxn=mpan,
            supplier=supplier,
            network=dno,
            effective_from=today() - timedelta(days=100),
        )
        make_appointment(session, supplier=supplier, agent=appointed_today, valid_from=today())
        make_appointment(
            session,
            supplier=supplier,
            agent=ended,
            valid_from=today() - timedelta(days=50),
            valid_to=today() - timedelta(days=1),
        )
        make_appointment(
            session,
            supplier=supplier,
            agent=starts_tomorrow,
            valid_from=today() + timedelta(days=1),
        )
        make_appointment(
            session,
            supplier=previous,
            agent=previous_suppliers_agent,
            valid_from=today() - timedelta(days=500),
        )
        meter = make_device(session, mpxn=mpan)
        assert _sees(session, appointed_today, meter)
        assert not _sees(session, ended, meter)
        assert not _sees(session, starts_tomorrow, meter)
        assert not _sees(session, previous_suppliers_agent, meter)

    def test_an_agent_on_its_last_day_still_sees_it(self, session: Session) -> None:
        supplier, dno = make_party(session, roles=("IS",)), make_party(session, roles=("ED",))
        agent = make_party(session, roles=("RSA",))
        mpan = make_mpan_for(1)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        make_appointment(
            session,
            supplier=supplier,
            agent=agent,
            valid_from=today() - timedelta(days=5),
            valid_to=today(),
        )
        assert _sees(session, agent, make_device(session, mpxn=mpan))

    def test_hub_owner_sees_its_pending_hubs_and_nobody_else_does(self, session: Session) -> None:
        owner, other = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        hub = make_device(
            session, device_type="CHF", owner=owner, status="Pending", smets_version="CHTS"
        )
        assert _sees(session, owner, hub)
        assert not _sees(session, other, hub)
        owner_actor = _actor(session, owner)
        page = service.list_devices(
            session, actor=owner_actor, flt=service.DeviceFilter(status="Pending")
        )
        assert [d.device_id for d in page.items] == [hub.device_id]

    def test_operator_sees_everything(self, session: Session) -> None:
        hub = make_device(session, device_type="CHF", smets_version="CHTS")
        assert service.get_device(session, actor=SYSTEM, device_id=hub.device_id) is hub

    def test_an_actor_without_a_party_sees_nothing(self, session: Session) -> None:
        hub = make_device(session, device_type="CHF", owner=make_party(session))
        nobody = Actor(name="x", party_id=None, interface="api")
        with pytest.raises(NotFound):
            service.get_device(session, actor=nobody, device_id=hub.device_id)


class TestAddDevice:
    def test_operator_adds_a_device_with_history_and_audit(self, session: Session) -> None:
        supplier, dno = make_party(session, roles=("IS",)), make_party(session, roles=("ED",))
        mpan = make_mpan_for(1)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=supplier)
        device = _add(
            session,
            SYSTEM,
            device_id="00db1234567890a2",
            manufacturer=" Acme ",
            mpxn=mpan,
            comms_hub_id=hub.device_id.lower().replace("-", ""),
        )
        assert device.device_id == "00-DB-12-34-56-78-90-A2"
        assert (device.status, device.manufacturer) == ("Pending", "Acme")
        assert (device.mpxn, device.comms_hub_id) == (mpan, hub.device_id)
        assert device.updated_at.tzinfo is not None
        history = service.device_history(session, actor=SYSTEM, device_id=device.device_id)
        assert [(h.field, h.old_value, h.new_value) for h in history] == [
            ("status", None, "Pending")
        ]
        entry = entries_for(session, object_type="device", object_id=device.device_id)[-1]
        assert entry.action == "device.added"
        assert entry.changes["mpxn"] == mpan

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("device_id", "00-DB-12", "bad_eui64"),
            ("device_type", "TOASTER", "bad_device_type"),
            ("status", "Broken", "bad_status"),
            ("csp_region", "Scotland", "bad_region"),
            ("smets_version", "SMETS3", "bad_smets_version"),
            ("manufacturer", "  ", "bad_manufacturer"),
            ("model", "M" * 81, "bad_model"),
            ("firmware_version", "", "bad_firmware_version"),
            ("mpxn", "1234", "bad_mpxn"),
            ("mpxn", "7500000001", "unknown_mpxn"),
            ("comms_hub_id", "00-DB-FF-FF-FF-FF-FF-FF", "unknown_comms_hub"),
            ("comms_hub_id", "nonsense", "bad_eui64"),
            ("owner", "NOBODY", "unknown_party"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_written(
        self, session: Session, field: str, value: str, code: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            _add(session, SYSTEM, **{field: value})
        assert caught.value.code == code
        assert _count(session, Device) == 0
        assert _count(session, DeviceHistory) == 0

    def test_a_meter_is_not_a_comms_hub(self, session: Session) -> None:
        meter = make_device(session, device_type="ESME")
        with pytest.raises(InvalidInput) as caught:
            _add(session, SYSTEM, comms_hub_id=meter.device_id)
        assert caught.value.code == "unknown_comms_hub"

    def test_an_existing_device_is_a_conflict(self, session: Session) -> None:
        existing = make_device(session, status="Commissioned")
        with pytest.raises(Conflict) as caught:
            _add(session, SYSTEM, device_id=existing.device_id, status="Pending")
        assert caught.value.code == "device_exists"
        assert existing.status == "Commissioned"

    def test_a_party_adds_devices_it_holds_itself(self, session: Session) -> None:
        party, other = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        actor = _actor(session, party)
        device = _add(session, actor, device_type="CHF", smets_version="CHTS")
        assert device.owner_party_id == party.id
        entry = entries_for(session, object_type="device", object_id=device.device_id)[-1]
        assert entry.changes["owner"] == party.code
        with pytest.raises(InvalidInput) as caught:
            _add(session, actor, device_id="00-DB-00-00-00-00-00-09", owner=other.code)
        assert caught.value.code == "not_your_device"

    def test_a_party_links_only_to_what_it_holds(self, session: Session) -> None:
        mine, theirs = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        my_mpan, their_mpan = make_mpan_for(1), make_mpan_for(2)
        make_registration(session, mpxn=my_mpan, supplier=mine, network=dno)
        make_registration(session, mpxn=their_mpan, supplier=theirs, network=dno)
        their_hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=theirs)
        my_hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=mine)
        actor = _actor(session, mine)
        for field, value, code in (
            ("mpxn", their_mpan, "unknown_mpxn"),
            ("comms_hub_id", their_hub.device_id, "unknown_comms_hub"),
        ):
            with pytest.raises(InvalidInput) as caught:
                _add(session, actor, **{field: value})
            assert caught.value.code == code
        device = _add(session, actor, mpxn=my_mpan, comms_hub_id=my_hub.device_id)
        assert device.mpxn == my_mpan


class TestStatusWorkflow:
    @pytest.mark.parametrize("start", list(DeviceStatus))
    def test_every_step_from(self, session: Session, start: DeviceStatus) -> None:
        for target in DeviceStatus:
            device = make_device(session, status=start.value)
            allowed = target in LIFECYCLE[start]
            before = _count(session, DeviceHistory)
            if allowed:
                service.change_status(
                    session,
                    actor=SYSTEM,
                    device_id=device.device_id,
                    status=target.value,
                    reason="field visit",
                    now=utcnow(),
                )
                assert device.status == target.value
                last = service.device_history(session, actor=SYSTEM, device_id=device.device_id)
                assert (last[-1].field, last[-1].old_value, last[-1].new_value) == (
                    "status",
                    start.value,
                    target.value,
                )
                assert last[-1].reason == "field visit"
                entry = entries_for(session, object_type="device", object_id=device.device_id)
                assert entry[-1].action == "device.status_changed"
                changes = dict(entry[-1].changes)
                assert changes.pop("event") in LIFECYCLE_EVENTS
                assert changes == {"status": [start.value, target.value], "reason": "field visit"}
                assert _count(session, DeviceHistory) == before + 1
            else:
                with pytest.raises(InvalidTransition) as caught:
                    service.change_status(
                        session,
                        actor=SYSTEM,
                        device_id=device.device_id,
                        status=target.value,
                        reason="field visit",
                        now=utcnow(),
                    )
                assert caught.value.code == "invalid_transition"
                assert caught.value.status == 409
                assert device.status == start.value
                assert _count(session, DeviceHistory) == before

    def test_unknown_status_and_blank_reason(self, session: Session) -> None:
        device = make_device(session, status="Pending")
        with pytest.raises(InvalidInput) as caught:
            service.change_status(
                session,
                actor=SYSTEM,
                device_id=device.device_id,
                status="Lost",
                reason="x",
                now=utcnow(),
            )
        assert caught.value.code == "bad_status"
        with pytest.raises(InvalidInput) as caught:
            service.change_status(
                session,
                actor=SYSTEM,
                device_id=device.device_id,
                status="Whitelisted",
                reason="   ",
                now=utcnow(),
            )
        assert caught.value.code == "reason_required"
        assert device.status == "Pending"


class TestChangeOwner:
    def test_holder_passes_a_hub_on(self, session: Session) -> None:
        giver, taker = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        hub = make_device(
            session, device_type="CHF", smets_version="CHTS", owner=giver, status="Pending"
        )
        giver_actor = _actor(session, giver)
        service.change_owner(
            session,
            actor=giver_actor,
            device_id=hub.device_id,
            owner=taker.code.lower(),
            reason="MP140 transfer",
            now=utcnow(),
        )
        assert hub.owner_party_id == taker.id
        assert not _sees(session, giver, hub)
        assert _sees(session, taker, hub)
        history = service.device_history(session, actor=SYSTEM, device_id=hub.device_id)
        assert (history[-1].field, history[-1].old_value, history[-1].new_value) == (
            "owner",
            giver.code,
            taker.code,
        )
        assert history[-1].actor == giver_actor.name
        entry = entries_for(session, object_type="device", object_id=hub.device_id)[-1]
        assert entry.action == "device.owner_changed"
        assert entry.changes["owner"] == [giver.code, taker.code]

    def test_a_party_that_sees_but_does_not_hold_it_is_refused(self, session: Session) -> None:
        supplier, dno = make_party(session, roles=("IS",)), make_party(session, roles=("ED",))
        holder = make_party(session, roles=("IS",))
        mpan = make_mpan_for(1)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=holder, mpxn=mpan)
        with pytest.raises(PermissionDenied):
            service.change_owner(
                session,
                actor=_actor(session, supplier),
                device_id=hub.device_id,
                owner=supplier.code,
                reason="mine now",
                now=utcnow(),
            )
        assert hub.owner_party_id == holder.id

    def test_unknown_new_owner_and_blank_reason(self, session: Session) -> None:
        holder = make_party(session, roles=("IS",))
        hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=holder)
        for owner, reason, code in (
            ("NOBODY", "x", "unknown_party"),
            (holder.code, " ", "reason_required"),
        ):
            with pytest.raises(InvalidInput) as caught:
                service.change_owner(
                    session,
                    actor=SYSTEM,
                    device_id=hub.device_id,
                    owner=owner,
                    reason=reason,
                    now=utcnow(),
                )
            assert caught.value.code == code
        assert hub.owner_party_id == holder.id
        assert len(service.device_history(session, actor=SYSTEM, device_id=hub.device_id)) == 1

    def test_another_partys_device_is_not_found(self, session: Session) -> None:
        holder, other = make_party(session, roles=("IS",)), make_party(session, roles=("IS",))
        hub = make_device(session, device_type="CHF", smets_version="CHTS", owner=holder)
        actor = _actor(session, other)
        with pytest.raises(NotFound):
            service.change_owner(
                session,
                actor=actor,
                device_id=hub.device_id,
                owner=other.code,
                reason="x",
                now=utcnow(),
            )
        with pytest.raises(NotFound):
            service.change_status(
                session,
                actor=actor,
                device_id=hub.device_id,
                status="Withdrawn",
                reason="x",
                now=utcnow(),
            )
        with pytest.raises(NotFound):
            service.device_history(session, actor=actor, device_id=hub.device_id)
        assert (hub.owner_party_id, hub.status) == (holder.id, "Commissioned")


class TestMeterPointLink:
    def test_8_4_links_a_gas_meter_to_a_new_gas_meter_point(self, session: Session) -> None:
        meter = make_device(session, device_type="GSME")
        service.update_from_duis(
            session,
            actor=SYSTEM,
            device=meter,
            field="mpxn",
            value=MPRN,
            reason="8.4",
            now=utcnow(),
        )
        point = registration.meter_point(session, mpxn=MPRN)
        assert meter.mpxn == MPRN
        assert point is not None and point.fuel == "gas"

    def test_the_meter_point_fuel_follows_the_device_not_the_number(self, session: Session) -> None:
        # A gas proxy is gas whatever the MPxN's length says.
        mpan = make_mpan_for(31)
        proxy = make_device(session, device_type="GPF")
        service.update_from_duis(
            session,
            actor=SYSTEM,
            device=proxy,
            field="mpxn",
            value=mpan,
            reason="8.4",
            now=utcnow(),
        )
        point = registration.meter_point(session, mpxn=mpan)
        assert point is not None and point.fuel == "gas"

    def test_a_known_meter_point_is_reused(self, session: Session) -> None:
        supplier, dno = make_party(session, roles=("IS",)), make_party(session, roles=("ED",))
        mpan = make_mpan_for(32)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        hub = make_device(session, device_type="CHF")
        service.update_from_duis(
            session, actor=SYSTEM, device=hub, field="mpxn", value=mpan, reason="8.4", now=utcnow()
        )
        point = registration.meter_point(session, mpxn=mpan)
        assert point is not None and point.fuel == "electricity"
        assert [
            h.field for h in service.device_history(session, actor=SYSTEM, device_id=hub.device_id)
        ][-1] == "mpxn"


class TestExport:
    def test_columns_asked_for_without_the_excluded_statuses(self, session: Session) -> None:
        kept = make_device(session, device_type="CHF", status="Commissioned")
        make_device(session, device_type="ESME", status="Withdrawn")
        rows = session.execute(
            service.device_export_query(
                columns=("device_id", "device_type", "status"),
                excluding_statuses=("Withdrawn",),
                by_device_id=True,
            )
        ).all()
        assert [tuple(r) for r in rows] == [(kept.device_id, "CHF", "Commissioned")]

    def test_a_column_outside_the_export_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            service.device_export_query(columns=("device_id", "created_at"))

    def test_bulk_loaded_devices_are_in_the_inventory(self, session: Session) -> None:
        _, encode_instant = bulk.encoders(session)
        at = encode_instant(utcnow())
        device_id = "00-DB-12-34-56-78-90-FF"
        device = (device_id, "CHF", "Acme", "H1", "1.0", "SMETS2", "North", "Pending")
        service.load_devices(
            session,
            devices=[(*device, None, None, None, at, at)],
            history=[(device_id, at, "status", None, "Pending", "seed", "seeded")],
        )
        assert service.device_count(session) == 1
        history = service.device_history(session, actor=SYSTEM, device_id=device_id)
        assert [(h.field, h.new_value) for h in history] == [("status", "Pending")]


class TestPendingHubStock:
    """The stock a holder may offer on the MP140 marketplace: its Pending hubs, by kind."""

    def test_only_pending_hubs_the_party_holds_are_counted_by_kind(self, session: Session) -> None:
        holder, other = make_party(session), make_party(session)
        hold_hubs(session, owner=holder, count=3)
        hold_hubs(session, owner=holder, count=2, firmware_version="2.0.0")
        hold_hubs(session, owner=holder, count=4, status="Commissioned")
        hold_hubs(session, owner=other, count=5)
        stock = service.pending_hub_stock(session, party_id=holder.id)
        assert [(s.firmware_version, s.hubs) for s in stock] == [("1.0.0", 3), ("2.0.0", 2)]
        held = service.pending_hubs_held(
            session,
            party_id=holder.id,
            manufacturer="Acme",
            model="ACME-1",
            firmware_version="1.0.0",
            csp_region="North",
        )
        assert held == 3
