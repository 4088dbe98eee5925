"""The inventory API answers each party with its own devices only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_device, make_login, make_mpan_for, make_party, make_registration


class TestDeviceScoping:
    def test_supplier_sees_its_meter_and_not_anothers(
        self, session: Session, client: TestClient
    ) -> None:
        a = make_party(session, roles=("IS",))
        b = make_party(session, roles=("IS",))
        dno = make_party(session, roles=("ED",))
        mp_a, mp_b = make_mpan_for(1), make_mpan_for(2)
        make_registration(session, mpxn=mp_a, supplier=a, network=dno)
        make_registration(session, mpxn=mp_b, supplier=b, network=dno)
        dev_a = make_device(session, mpxn=mp_a)
        dev_b = make_device(session, mpxn=mp_b)
        login_a = make_login(session, party=a)
        session.commit()

        listed = client.get("/api/v1/devices", headers=login_a.headers)
        assert listed.status_code == 200
        assert [d["device_id"] for d in listed.json()["items"]] == [dev_a.device_id]
        assert (
            client.get(f"/api/v1/devices/{dev_a.device_id}", headers=login_a.headers).status_code
            == 200
        )
        other = client.get(f"/api/v1/devices/{dev_b.device_id}", headers=login_a.headers)
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "not_found"
