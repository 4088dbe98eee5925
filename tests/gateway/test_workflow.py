"""The SRVs that move a device's status do it by the inventory's workflow table: each is
acknowledged from its from-statuses and refused with E5 from the others, changing nothing; and one
request's device history and audit entries carry the request's own time."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meterhub.audit.models import AuditEntry
from meterhub.gateway.models import ServiceRequest
from meterhub.inventory.models import Device, DeviceHistory
from tests.gateway.duis_factories import (
    DCC_TARGET,
    Estate,
    build_estate,
    duis_id,
    duis_xml,
    hub_return,
    update_inventory,
)
from tests.gateway.test_submit import code_of, send


def hub_install(originator: str, hub_id: str, counter: int, mpxn: str, *, wan: bool) -> bytes:
    """8.14.1 (install and commission) when ``wan``, else 8.14.2 (install and leave)."""
    element = "CHFInstallSuccessSMWAN" if wan else "CHFInstallSuccessNoSMWAN"
    return duis_xml(
        originator=originator,
        target=DCC_TARGET,
        counter=counter,
        srv="8.14.1" if wan else "8.14.2",
        service_reference="8.14",
        command_variant=8,
        body=(
            f"<sr:{element}><sr:DeviceID>{hub_id}</sr:DeviceID>"
            "<sr:CHFInstallType>New CHF Install</sr:CHFInstallType>"
            f"<sr:MPxN>{mpxn}</sr:MPxN><sr:AerialInstall>false</sr:AerialInstall>"
            f"<sr:CHFLocation>Basement or Cellar</sr:CHFLocation></sr:{element}>"
        ),
    )


def decommission(originator: str, device_id: str, counter: int) -> bytes:
    """8.3 Decommission Device."""
    return duis_xml(
        originator=originator,
        target=DCC_TARGET,
        counter=counter,
        srv="8.3",
        service_reference="8.3",
        command_variant=8,
        body=f"<sr:DecommissionDevice><sr:DeviceID>{device_id}</sr:DeviceID></sr:DecommissionDevice>",
    )


def _set_status(session: Session, device_id: str, status: str) -> None:
    device = session.get(Device, device_id)
    assert device is not None
    device.status = status
    session.commit()


def _device(session: Session, device_id: str) -> Device:
    session.rollback()  # end the test's read transaction: see what the request committed
    device = session.get(Device, device_id)
    assert device is not None
    return device


def _meter_point(session: Session, e: Estate) -> str:
    mpxn = _device(session, e.esme_id).mpxn
    assert mpxn is not None
    return mpxn


def _writes(session: Session) -> tuple[int, int]:
    session.rollback()
    history = session.scalar(select(func.count()).select_from(DeviceHistory)) or 0
    audit = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return history, audit


class TestInstall:
    def test_8_14_1_commissions_a_pending_hub_at_its_meter_point(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        mpxn = _meter_point(session, e)
        r = send(
            client,
            e.supplier_login.headers,
            hub_install(duis_id(e.supplier_login), e.hub_id, 1, mpxn, wan=True),
        )
        assert code_of(r.content) == "I99", r.text
        hub = _device(session, e.hub_id)
        assert (hub.status, hub.mpxn) == ("Commissioned", mpxn)

    def test_8_14_1_for_a_commissioned_hub_is_e5_and_changes_nothing(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        _set_status(session, e.hub_id, "Commissioned")
        before = _writes(session)
        r = send(
            client,
            e.supplier_login.headers,
            hub_install(duis_id(e.supplier_login), e.hub_id, 1, _meter_point(session, e), wan=True),
        )
        assert code_of(r.content) == "E5"
        hub = _device(session, e.hub_id)
        assert (hub.status, hub.mpxn) == ("Commissioned", None)
        assert _writes(session) == before

    def test_8_14_2_leaves_a_pending_hub_installed_not_commissioned(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            hub_install(
                duis_id(e.supplier_login), e.hub_id, 1, _meter_point(session, e), wan=False
            ),
        )
        assert code_of(r.content) == "I99", r.text
        assert _device(session, e.hub_id).status == "InstalledNotCommissioned"

    def test_8_14_2_for_a_decommissioned_hub_is_e5(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        _set_status(session, e.hub_id, "Decommissioned")
        r = send(
            client,
            e.supplier_login.headers,
            hub_install(
                duis_id(e.supplier_login), e.hub_id, 1, _meter_point(session, e), wan=False
            ),
        )
        assert code_of(r.content) == "E5"
        assert _device(session, e.hub_id).status == "Decommissioned"


class TestReturns:
    def test_8_14_4_withdraws_a_commissioned_hub(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        _set_status(session, e.hub_id, "Commissioned")
        r = send(
            client,
            e.supplier_login.headers,
            hub_return(duis_id(e.supplier_login), e.hub_id, 1, fault=False),
        )
        assert code_of(r.content) == "I99", r.text
        assert _device(session, e.hub_id).status == "Withdrawn"

    def test_8_14_3_for_a_withdrawn_hub_is_e5(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        _set_status(session, e.hub_id, "Withdrawn")
        r = send(
            client, e.supplier_login.headers, hub_return(duis_id(e.supplier_login), e.hub_id, 1)
        )
        assert code_of(r.content) == "E5"


class TestDecommission:
    def test_8_3_decommissions_a_commissioned_meter(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client, e.supplier_login.headers, decommission(duis_id(e.supplier_login), e.esme_id, 1)
        )
        assert code_of(r.content) == "I99", r.text
        assert _device(session, e.esme_id).status == "Decommissioned"

    def test_8_3_for_a_meter_never_installed_is_e5(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        _set_status(session, e.esme_id, "Pending")
        r = send(
            client, e.supplier_login.headers, decommission(duis_id(e.supplier_login), e.esme_id, 1)
        )
        assert code_of(r.content) == "E5"
        assert _device(session, e.esme_id).status == "Pending"


class TestUpdateInventoryStatus:
    def test_8_4_commissions_an_installed_hub(self, session: Session, client: TestClient) -> None:
        e = build_estate(session)
        _set_status(session, e.hub_id, "InstalledNotCommissioned")
        change = "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH>"
        r = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.hub_id, 1, change),
        )
        assert code_of(r.content) == "I99", r.text
        assert _device(session, e.hub_id).status == "Commissioned"

    def test_8_4_cannot_commission_a_hub_in_stock(
        self, session: Session, client: TestClient
    ) -> None:
        """Only 8.14.1 takes a hub from stock to Commissioned; 8.4 corrects, it does not install."""
        e = build_estate(session)
        change = "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH>"
        r = send(
            client,
            e.supplier_login.headers,
            update_inventory(duis_id(e.supplier_login), e.hub_id, 1, change),
        )
        assert code_of(r.content) == "E5"
        assert _device(session, e.hub_id).status == "Pending"


class TestOneClock:
    def test_history_and_audit_entries_carry_the_requests_time(
        self, session: Session, client: TestClient
    ) -> None:
        e = build_estate(session)
        r = send(
            client,
            e.supplier_login.headers,
            hub_install(duis_id(e.supplier_login), e.hub_id, 1, _meter_point(session, e), wan=True),
        )
        assert code_of(r.content) == "I99", r.text
        session.rollback()
        request = session.scalars(select(ServiceRequest)).one()
        history = session.scalars(
            select(DeviceHistory).where(
                DeviceHistory.device_id == e.hub_id, DeviceHistory.reason.startswith("8.14.1")
            )
        ).all()
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == e.hub_id, AuditEntry.action.like("device.%_changed")
            )
        ).all()
        assert {h.field for h in history} == {"mpxn", "status"}
        assert len(audit) == 2
        assert {h.at for h in history} | {a.at for a in audit} == {request.received_at}
