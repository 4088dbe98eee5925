"""The status workflow table: each SRV-driven move is a row, allowed from its from-statuses and
refused from the others, and whatever the caller, a move not in the table changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.audit.service import entries_for
from meterhub.comms_hubs.models import HubReturn
from meterhub.comms_hubs.service import record_return
from meterhub.errors import InvalidTransition
from meterhub.inventory import service
from meterhub.inventory.catalogue import WORKFLOW, DeviceStatus, StatusEvent
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from tests.factories import (
    SYSTEM,
    make_api_login,
    make_device,
    make_mpan_for,
    make_party,
    make_registration,
)

S = DeviceStatus
V = StatusEvent
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MPAN = make_mpan_for(77)


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _hub(session: Session, status: DeviceStatus) -> Device:
    """A hub its holder may install at ``MPAN``, which the holder supplies."""
    holder = make_party(session, roles=("IS",))
    make_registration(
        session, mpxn=MPAN, supplier=holder, network=make_party(session, roles=("ED",))
    )
    return make_device(
        session, device_type="CHF", smets_version="CHTS", owner=holder, status=status.value
    )


def _last_status_change(session: Session, device: Device) -> tuple[str | None, str | None]:
    history = service.device_history(session, actor=SYSTEM, device_id=device.device_id)
    return history[-1].old_value, history[-1].new_value


def _refused_and_unchanged(session: Session, device: Device, move: object) -> None:
    before = (device.status, _count(session, DeviceHistory), _count(session, AuditEntry))
    with pytest.raises(InvalidTransition):
        move()  # type: ignore[operator]
    assert (device.status, _count(session, DeviceHistory), _count(session, AuditEntry)) == before


class TestTable:
    def test_every_event_has_a_row_and_only_8_14_2_may_leave_the_status_as_it_is(self) -> None:
        assert {row.event for row in WORKFLOW} == set(StatusEvent)
        assert all(row.from_statuses for row in WORKFLOW)
        assert {row.event for row in WORKFLOW if row.to in row.from_statuses} == {
            V.INSTALL_AND_LEAVE
        }

    def test_nothing_leaves_withdrawn_and_only_a_return_leaves_decommissioned(self) -> None:
        assert not [row for row in WORKFLOW if S.WITHDRAWN in row.from_statuses]
        assert {row.event for row in WORKFLOW if S.DECOMMISSIONED in row.from_statuses} == {
            V.FAULT_RETURN,
            V.NO_FAULT_RETURN,
        }


class TestInstallAndCommission:
    """8.14.1: the hub goes from stock straight to Commissioned."""

    @pytest.mark.parametrize("start", [S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED])
    def test_hub_is_commissioned_at_the_meter_point(
        self, session: Session, start: DeviceStatus
    ) -> None:
        hub = _hub(session, start)
        service.install_hub(
            session,
            actor=SYSTEM,
            device=hub,
            event=V.INSTALL_AND_COMMISSION,
            mpxn=MPAN,
            reason="8.14.1 test",
            now=NOW,
        )
        assert (hub.status, hub.mpxn) == ("Commissioned", MPAN)
        assert _last_status_change(session, hub) == (start.value, "Commissioned")
        entry = entries_for(session, object_type="device", object_id=hub.device_id)[-1]
        assert (entry.changes["event"], entry.changes["status"]) == (
            "8.14.1",
            [start.value, "Commissioned"],
        )

    @pytest.mark.parametrize("start", [S.COMMISSIONED, S.DECOMMISSIONED, S.WITHDRAWN])
    def test_hub_in_service_or_gone_is_refused_and_keeps_its_meter_point(
        self, session: Session, start: DeviceStatus
    ) -> None:
        hub = _hub(session, start)
        _refused_and_unchanged(
            session,
            hub,
            lambda: service.install_hub(
                session,
                actor=SYSTEM,
                device=hub,
                event=V.INSTALL_AND_COMMISSION,
                mpxn=MPAN,
                reason="8.14.1 test",
                now=NOW,
            ),
        )
        assert hub.mpxn is None


class TestInstallAndLeave:
    """8.14.2: fitted without SM WAN, the hub is InstalledNotCommissioned."""

    def test_stock_hub_is_installed_not_commissioned(self, session: Session) -> None:
        hub = _hub(session, S.PENDING)
        service.install_hub(
            session,
            actor=SYSTEM,
            device=hub,
            event=V.INSTALL_AND_LEAVE,
            mpxn=MPAN,
            reason="8.14.2",
            now=NOW,
        )
        assert hub.status == "InstalledNotCommissioned"
        assert _last_status_change(session, hub) == ("Pending", "InstalledNotCommissioned")

    def test_reported_again_it_moves_meter_point_and_writes_no_status_change(
        self, session: Session
    ) -> None:
        hub = _hub(session, S.INSTALLED_NOT_COMMISSIONED)
        service.install_hub(
            session,
            actor=SYSTEM,
            device=hub,
            event=V.INSTALL_AND_LEAVE,
            mpxn=MPAN,
            reason="8.14.2",
            now=NOW,
        )
        history = service.device_history(session, actor=SYSTEM, device_id=hub.device_id)
        assert [h.field for h in history] == ["status", "mpxn"]
        assert hub.status == "InstalledNotCommissioned"

    def test_commissioned_hub_is_refused(self, session: Session) -> None:
        hub = _hub(session, S.COMMISSIONED)
        _refused_and_unchanged(
            session,
            hub,
            lambda: service.install_hub(
                session,
                actor=SYSTEM,
                device=hub,
                event=V.INSTALL_AND_LEAVE,
                mpxn=MPAN,
                reason="8.14.2",
                now=NOW,
            ),
        )


class TestReturns:
    """8.14.3 and 8.14.4: the hub goes back to the DCC and is Withdrawn."""

    @pytest.mark.parametrize(("kind", "srv"), [("fault", "8.14.3"), ("no_fault", "8.14.4")])
    @pytest.mark.parametrize("start", [S.PENDING, S.COMMISSIONED, S.DECOMMISSIONED])
    def test_hub_is_withdrawn_and_the_dcc_holds_it(
        self, session: Session, kind: str, srv: str, start: DeviceStatus
    ) -> None:
        dcc = make_party(session, roles=("OPERATOR",), kind="operator")
        hub = _hub(session, start)
        holder = actor_for(make_api_login(session, party=_holder(session, hub)).user, "api")
        record_return(
            session,
            actor=holder,
            device=hub,
            kind=kind,
            reason="test",
            request_id=None,
            dcc_party_id=dcc.id,
            now=NOW,
        )
        assert (hub.status, hub.owner_party_id) == ("Withdrawn", dcc.id)
        entry = [
            e
            for e in entries_for(session, object_type="device", object_id=hub.device_id)
            if e.action == "device.status_changed"
        ][-1]
        assert entry.changes["event"] == srv

    @pytest.mark.parametrize("kind", ["fault", "no_fault"])
    def test_withdrawn_hub_is_refused_and_not_charged(self, session: Session, kind: str) -> None:
        hub = _hub(session, S.WITHDRAWN)
        holder = actor_for(make_api_login(session, party=_holder(session, hub)).user, "api")
        _refused_and_unchanged(
            session,
            hub,
            lambda: record_return(
                session,
                actor=holder,
                device=hub,
                kind=kind,
                reason="again",
                request_id=None,
                dcc_party_id=None,
                now=NOW,
            ),
        )
        session.flush()
        assert _count(session, HubReturn) == 0


def _holder(session: Session, hub: Device) -> Party:
    party = session.get(Party, hub.owner_party_id)
    assert party is not None
    return party


class TestDecommission:
    """8.3: the device leaves service."""

    @pytest.mark.parametrize(
        "start", [S.INSTALLED_NOT_COMMISSIONED, S.COMMISSIONED, S.SUSPENDED, S.RECOVERED]
    )
    def test_installed_device_is_decommissioned(
        self, session: Session, start: DeviceStatus
    ) -> None:
        device = make_device(session, status=start.value)
        service.decommission(session, actor=SYSTEM, device=device, reason="8.3", now=NOW)
        assert _last_status_change(session, device) == (start.value, "Decommissioned")

    @pytest.mark.parametrize("start", [S.PENDING, S.WHITELISTED, S.DECOMMISSIONED, S.WITHDRAWN])
    def test_device_never_installed_or_gone_is_refused(
        self, session: Session, start: DeviceStatus
    ) -> None:
        device = make_device(session, status=start.value)
        _refused_and_unchanged(
            session,
            device,
            lambda: service.decommission(
                session, actor=SYSTEM, device=device, reason="8.3", now=NOW
            ),
        )


class TestUpdateInventory:
    """8.4's status changes and DeleteDevice."""

    @pytest.mark.parametrize(
        ("start", "to"),
        [
            (S.WHITELISTED, S.PENDING),
            (S.PENDING, S.INSTALLED_NOT_COMMISSIONED),
            (S.INSTALLED_NOT_COMMISSIONED, S.COMMISSIONED),
            (S.INSTALLED_NOT_COMMISSIONED, S.WITHDRAWN),
        ],
    )
    def test_allowed_status_update(
        self, session: Session, start: DeviceStatus, to: DeviceStatus
    ) -> None:
        device = _hub(session, start)
        service.update_from_duis(
            session,
            actor=SYSTEM,
            device=device,
            field="status",
            value=to.value,
            reason="8.4",
            now=NOW,
        )
        assert _last_status_change(session, device) == (start.value, to.value)

    @pytest.mark.parametrize(
        ("start", "to"),
        [
            (S.COMMISSIONED, S.PENDING),
            (S.PENDING, S.COMMISSIONED),
            (S.COMMISSIONED, S.WITHDRAWN),
            (S.PENDING, S.PENDING),
        ],
    )
    def test_status_update_outside_the_table_is_refused(
        self, session: Session, start: DeviceStatus, to: DeviceStatus
    ) -> None:
        device = _hub(session, start)
        _refused_and_unchanged(
            session,
            device,
            lambda: service.update_from_duis(
                session,
                actor=SYSTEM,
                device=device,
                field="status",
                value=to.value,
                reason="8.4",
                now=NOW,
            ),
        )

    def test_delete_withdraws_a_device_never_installed_only(self, session: Session) -> None:
        stock = make_device(session, status="Pending")
        service.update_from_duis(
            session, actor=SYSTEM, device=stock, field="delete", value=None, reason="x", now=NOW
        )
        assert _last_status_change(session, stock) == ("Pending", "Withdrawn")
        installed = make_device(session, status="InstalledNotCommissioned")
        _refused_and_unchanged(
            session,
            installed,
            lambda: service.update_from_duis(
                session,
                actor=SYSTEM,
                device=installed,
                field="delete",
                value=None,
                reason="x",
                now=NOW,
            ),
        )


class TestTransition:
    def test_a_person_cannot_make_an_srv_move(self, session: Session) -> None:
        """8.14.1 takes a Pending hub to Commissioned; a person naming Commissioned cannot."""
        hub = _hub(session, S.PENDING)
        _refused_and_unchanged(
            session,
            hub,
            lambda: service.change_status(
                session,
                actor=SYSTEM,
                device_id=hub.device_id,
                status="Commissioned",
                reason="skip the install",
                now=NOW,
            ),
        )

    @pytest.mark.parametrize("event", list(StatusEvent))
    def test_move_not_in_the_table_is_refused_and_changes_nothing(
        self, session: Session, event: StatusEvent
    ) -> None:
        """Nothing leaves Withdrawn: every event is refused there, and nothing is written."""
        device = make_device(session, status="Withdrawn")
        _refused_and_unchanged(
            session,
            device,
            lambda: service.transition(
                session, actor=SYSTEM, device=device, event=event, reason="x", now=NOW
            ),
        )
        session.flush()
        assert device.status == "Withdrawn"

    def test_commissioned_meter_cannot_be_withdrawn_by_a_person(self, session: Session) -> None:
        device = make_device(session, status="Commissioned")
        _refused_and_unchanged(
            session,
            device,
            lambda: service.change_status(
                session,
                actor=SYSTEM,
                device_id=device.device_id,
                status="Withdrawn",
                reason="gone",
                now=NOW,
            ),
        )

    def test_history_and_audit_carry_the_callers_time(self, session: Session) -> None:
        device = make_device(session, status="Commissioned")
        service.transition(
            session, actor=SYSTEM, device=device, event=V.SUSPENDED, reason="hold", now=NOW
        )
        session.flush()
        history = service.device_history(session, actor=SYSTEM, device_id=device.device_id)[-1]
        entry = entries_for(session, object_type="device", object_id=device.device_id)[-1]
        assert history.at.replace(tzinfo=UTC) == NOW
        assert entry.at.replace(tzinfo=UTC) == NOW
        assert device.updated_at.replace(tzinfo=UTC) == NOW
