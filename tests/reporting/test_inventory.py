"""The month-end device snapshot, exported from the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.db.session import get_engine
from meterhub.reporting.inventory import device_snapshot
from tests.factories import make_device, make_mpan_for, make_party, make_registration


class TestDeviceSnapshot:
    def test_devices_go_to_the_supplier_and_network_registered_at_month_end(
        self, session: Session, settings: Settings
    ) -> None:
        old = make_party(session, code="OLDS", roles=("IS",))
        new = make_party(session, code="NEWS", roles=("IS", "GS"))
        dno = make_party(session, code="DNOA", roles=("ED",))
        gt = make_party(session, code="GASN", roles=("GT",))
        shipper = make_party(session, code="SHIP", roles=("SHIPPER",))
        mpan, mprn = make_mpan_for(1), "7000001"
        make_registration(
            session, mpxn=mpan, supplier=old, network=dno, effective_to=date(2024, 6, 15)
        )
        make_registration(
            session, mpxn=mpan, supplier=new, network=dno, effective_from=date(2024, 6, 16)
        )
        make_registration(session, mpxn=mprn, supplier=new, network=gt, shipper=shipper)
        hub = make_device(session, device_type="CHF", owner=new, model="HUB-1")
        make_device(session, mpxn=mpan).comms_hub_id = hub.device_id
        make_device(session, device_type="GSME", mpxn=mprn, model="GAS-1")
        make_device(session, device_type="CHF", owner=old, status="Pending", model="HUB-1")
        make_device(session, device_type="CHF", owner=old, status="Withdrawn", model="HUB-1")
        session.commit()

        rows = device_snapshot(get_engine(settings.database_url), on=date(2024, 6, 30)).to_pylist()
        held = sorted((r["party"], r["role"], r["device_type"]) for r in rows)
        assert held == [
            ("DNOA", "ED", "CHF"),
            ("DNOA", "ED", "ESME"),
            ("GASN", "GT", "GSME"),
            ("NEWS", "GS", "GSME"),
            ("NEWS", "IS", "CHF"),
            ("NEWS", "IS", "ESME"),
            ("OLDS", "IS", "CHF"),
        ]
