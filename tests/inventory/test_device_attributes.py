"""What the gateway and the event lake read of devices, through the inventory's service."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from meterhub.inventory import service
from meterhub.kit.clock import utcnow
from tests.factories import SYSTEM, make_device, make_mpan_for, make_party, make_registration

_ids = itertools.count(1)


def _device(
    session: Session,
    kind: str,
    mpan: str,
    *,
    region: str = "North",
    status: str = "Commissioned",
    hub: str | None = None,
) -> str:
    n = next(_ids)
    return service.add_device(
        session,
        actor=SYSTEM,
        device_id=f"00-DB-AB-00-00-00-{n // 256:02X}-{n % 256:02X}",
        device_type=kind,
        manufacturer="Acme",
        model="M-1",
        firmware_version="1.0.0",
        smets_version="CHTS" if kind == "CHF" else "SMETS2",
        csp_region=region,
        status=status,
        mpxn=mpan,
        comms_hub_id=hub,
        now=utcnow(),
    ).device_id


class TestDeviceAttributes:
    def test_reads_the_record_whoever_holds_it(self, session: Session) -> None:
        holder = make_party(session, roles=("IS",))
        device = make_device(
            session, device_type="CHF", owner=holder, model="HUB-9", manufacturer="Hubco"
        )
        session.flush()
        found = service.device_attributes(session, device_id=device.device_id)
        assert found == service.DeviceAttributes(
            device_id=device.device_id,
            device_type="CHF",
            status="Commissioned",
            owner_party_id=holder.id,
            mpxn=None,
            manufacturer="Hubco",
            model="HUB-9",
            firmware_version="1.0.0",
            csp_region="North",
            smets_version="SMETS2",
        )
        assert service.device_attributes(session, device_id="00-00-00-00-00-00-00-00") is None

    def test_by_id_answers_for_the_known_devices_only(self, session: Session) -> None:
        a = make_device(session, model="A-1")
        b = make_device(session, model="B-1")
        session.flush()
        found = service.device_attributes_by_id(
            session, device_ids=[a.device_id, b.device_id, "00-00-00-00-00-00-00-00"]
        )
        assert {k: v.model for k, v in found.items()} == {a.device_id: "A-1", b.device_id: "B-1"}
        assert service.device_attributes_by_id(session, device_ids=[]) == {}


class TestPremisesRun:
    def test_a_run_of_commissioned_premises_in_mpan_order(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        premises = []
        for n in range(4):
            mpan = make_mpan_for(7300 + n)
            make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
            hub = _device(session, "CHF", mpan)
            meter = _device(session, "ESME", mpan, hub=hub)
            premises.append(service.PremisesOnSupply(hub, meter, mpan))
        # Not in the run: a hub not commissioned, a meter not commissioned, another region.
        for n, (hub_status, meter_status, region) in enumerate(
            [
                ("InstalledNotCommissioned", "Commissioned", "North"),
                ("Commissioned", "InstalledNotCommissioned", "North"),
                ("Commissioned", "Commissioned", "South"),
            ]
        ):
            mpan = make_mpan_for(7400 + n)
            make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
            hub = _device(session, "CHF", mpan, status=hub_status, region=region)
            _device(session, "ESME", mpan, status=meter_status, region=region, hub=hub)
        session.flush()
        run = service.premises_run(session, csp_region="North", position=0.0, length=10)
        assert run == sorted(premises, key=lambda p: p.mpxn)
        from_half = service.premises_run(session, csp_region="North", position=0.5, length=1)
        assert from_half == run[2:3]
        assert service.premises_run(session, csp_region="Central", position=0.0, length=5) == []

    def test_one_row_per_premises_however_many_meters(self, session: Session) -> None:
        supplier = make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        mpan = make_mpan_for(7500)
        make_registration(session, mpxn=mpan, supplier=supplier, network=dno)
        hub = _device(session, "CHF", mpan)
        first = _device(session, "ESME", mpan, hub=hub)
        _device(session, "ESME", mpan, hub=hub)
        session.flush()
        run = service.premises_run(session, csp_region="North", position=0.0, length=5)
        assert run == [service.PremisesOnSupply(hub, first, mpan)]
