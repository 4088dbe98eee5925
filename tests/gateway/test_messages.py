from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from lxml import etree

from meterhub.gateway.codes import ResponseCode
from meterhub.gateway.messages import (
    InventoryRow,
    acknowledgement,
    dcc_alert,
    device_alert,
    device_response_id,
    error_response,
    make_response_id,
    response_datetime,
    service_response,
)
from meterhub.gateway.xml import DUIS_NS, XsdValidator, parse_request

AT = datetime(2025, 12, 28, 16, 51, 1, 185_000, tzinfo=UTC)
REQUEST_ID = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1000"
USER = "90-B3-D5-1F-30-01-00-00"
HUB = "00-DB-12-34-56-78-90-A2"
NS = {"sr": DUIS_NS}

ROWS = [
    InventoryRow(
        device_id="00-db-12-34-56-78-90-a2",
        device_type="CHF",
        status="Commissioned",
        manufacturer="106C",
        model="433100AC",
        smets_chts_version="CHTS V1.4",
        firmware_version="9001",
        firmware_version_status="Active",
        cpl_status="Active",
        date_commissioned=date(2025, 12, 28),
        csp_region="Central4G",
        gbcs_version="4.2",
    ),
    InventoryRow(
        device_id="00-DB-12-34-56-78-90-A3",
        device_type="ESME",
        status="InstalledNotCommissioned",
        manufacturer="GEO",
        model="9001",
        smets_chts_version="SMETS2 V4.2",
        firmware_version="1.0",
        import_mpxn="1200012345670",
        csp_region="North",
    ),
]


def _one(xml: bytes, path: str) -> str:
    found = etree.fromstring(xml).xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, path
    return str(found[0])


class TestAcknowledgement:
    def test_ack_for_a_parsed_request_validates(self, xsd: XsdValidator) -> None:
        request = parse_request(
            b'<sr:Request xmlns:sr="' + DUIS_NS.encode() + b'" schemaVersion="5.4"><sr:Header>'
            b"<sr:RequestID>" + REQUEST_ID.encode() + b"</sr:RequestID>"
            b"<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.14"
            b"</sr:ServiceReference><sr:ServiceReferenceVariant>8.14.4"
            b"</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:X/></sr:Body></sr:Request>"
        )
        xml = acknowledgement(request, None, None, AT)
        xsd.validate(xml)
        assert _one(xml, "//sr:ResponseCode/text()") == "I99"
        assert _one(xml, "//sr:RequestID/text()") == REQUEST_ID
        assert _one(xml, "//sr:ServiceReferenceVariant/text()") == "8.14.4"
        assert _one(xml, "/sr:Response/@schemaVersion") == "5.4"

    def test_ack_by_request_id(self, xsd: XsdValidator) -> None:
        xml = acknowledgement(REQUEST_ID, "4.1.1", "4.1", AT)
        xsd.validate(xml)
        assert _one(xml, "//sr:ResponseDateTime/text()") == "2025-12-28T16:51:01.185Z"

    def test_unknown_srv_cannot_be_acknowledged(self) -> None:
        with pytest.raises(ValueError):
            acknowledgement(REQUEST_ID, "99.9", "99.9", AT)


class TestErrorResponse:
    @pytest.mark.parametrize("code", [c for c in ResponseCode if c.startswith("E")])
    def test_each_error_code_validates(self, code: ResponseCode, xsd: XsdValidator) -> None:
        xml = error_response(REQUEST_ID, "8.14.3", "8.14", code, AT)
        xsd.validate(xml)
        assert _one(xml, "//sr:ResponseCode/text()") == code

    def test_srv_specific_code_validates(self, xsd: XsdValidator) -> None:
        xsd.validate(error_response(REQUEST_ID, "8.14.3", "8.14", "E081401", AT))

    def test_without_a_readable_request_id(self, xsd: XsdValidator) -> None:
        xml = error_response(None, "4.1.1", "4.1", "E65", AT)
        xsd.validate(xml)
        assert etree.fromstring(xml).find(f"{{{DUIS_NS}}}Header/{{{DUIS_NS}}}RequestID") is None

    def test_unknown_srv_leaves_the_body_empty(self) -> None:
        root = etree.fromstring(error_response(REQUEST_ID, "99.9", "99.9", "E65", AT))
        assert len(root.find(f"{{{DUIS_NS}}}Body")) == 0

    def test_success_is_not_an_error(self) -> None:
        with pytest.raises(ValueError):
            error_response(REQUEST_ID, "8.2", "8.2", "I0", AT)


class TestServiceResponse:
    @pytest.mark.parametrize(
        ("srv", "sr"),
        [("8.14.3", "8.14"), ("8.14.4", "8.14"), ("8.3", "8.3"), ("8.4", "8.4"), ("11.1", "11.1")],
    )
    def test_success_without_data_validates(self, srv: str, sr: str, xsd: XsdValidator) -> None:
        xsd.validate(service_response(REQUEST_ID, srv, sr, ResponseCode.SUCCESS, AT))

    def test_read_inventory_carries_device_rows(self, xsd: XsdValidator) -> None:
        xml = service_response(REQUEST_ID, "8.2", "8.2", "I0", AT, ROWS)
        xsd.validate(xml)
        root = etree.fromstring(xml)
        devices = root.findall(f".//{{{DUIS_NS}}}Device")
        assert [d.findtext(f"{{{DUIS_NS}}}DeviceID") for d in devices] == [
            "00-DB-12-34-56-78-90-A2",
            "00-DB-12-34-56-78-90-A3",
        ]
        assert devices[0].findtext(f"{{{DUIS_NS}}}CSPRegion") == "4G Central"
        assert devices[0].findtext(f"{{{DUIS_NS}}}SMETSCHTSVersion") == "CHTS V1.4"
        assert devices[1].findtext(f"{{{DUIS_NS}}}ImportMPxN") == "1200012345670"

    def test_read_inventory_has_the_shape_of_the_dcc_sample(self, duis_dir: object) -> None:
        from pathlib import Path

        sample = etree.parse(
            str(Path(str(duis_dir)) / "responses" / "read-inventory-response-5.4.xml")
        )
        ours = etree.fromstring(service_response(REQUEST_ID, "8.2", "8.2", "I0", AT, ROWS[:1]))

        def shape(el: etree._Element) -> list[str]:
            return [etree.QName(c).localname for c in el.iter() if isinstance(c.tag, str)]

        sample_device = sample.find(f".//{{{DUIS_NS}}}Device")
        our_device = ours.find(f".//{{{DUIS_NS}}}Device")
        assert sample_device is not None and our_device is not None
        theirs = shape(sample_device)
        assert [name for name in theirs if name in shape(our_device)] == shape(our_device)

    def test_more_than_seventeen_devices_is_refused(self) -> None:
        with pytest.raises(ValueError):
            service_response(REQUEST_ID, "8.2", "8.2", "I0", AT, ROWS * 9)

    def test_device_answer_carries_the_swapped_response_id(self, xsd: XsdValidator) -> None:
        xml = service_response(
            REQUEST_ID, "4.1.1", "4.1", "I0", AT, {"GBCSPayload": "3QAA"}, from_device=True
        )
        xsd.validate(xml)
        assert _one(xml, "//sr:ResponseID/text()") == f"{HUB}:{USER}:1000"

    def test_failure_outcome_validates(self, xsd: XsdValidator) -> None:
        xsd.validate(service_response(REQUEST_ID, "4.1.1", "4.1", "E21", AT))


class TestAlerts:
    @pytest.mark.parametrize(
        ("code", "kwargs"),
        [
            ("AD1", {"mpxn": "1200012345670", "outage_start": AT - timedelta(minutes=5)}),
            ("N13", {"command_request_id": REQUEST_ID}),
            ("N16", {"mpxn": "1200012345670"}),
            (
                "N42",
                {
                    "certificates": [
                        ("DigitalSigning", b"\x01" * 20),
                        ("KeyAgreement", b"\x02" * 20),
                    ]
                },
            ),
            ("N55", {"s1sp_alert_code": "S1SP-42", "command_request_id": REQUEST_ID}),
        ],
    )
    def test_each_dcc_alert_validates(
        self, code: str, kwargs: dict[str, object], xsd: XsdValidator
    ) -> None:
        response_id = make_response_id("90-B3-D5-1F-30-00-00-02", USER, 7)
        xml = dcc_alert(code, HUB.lower(), AT, response_id=response_id, **kwargs)  # type: ignore[arg-type]
        xsd.validate(xml)
        assert _one(xml, "//sr:DCCAlertCode/text()") == code
        assert _one(xml, "//sr:ResponseID/text()") == f"90-B3-D5-1F-30-00-00-02:{USER}:7"

    def test_outage_alert_names_the_hub_and_start(self) -> None:
        xml = dcc_alert(
            "AD1", HUB, AT, mpxn="1200012345670", outage_start=AT - timedelta(minutes=5)
        )
        assert _one(xml, "//sr:PowerOutageEvent/sr:CommsHubDeviceID/text()") == HUB
        assert (
            _one(xml, "//sr:PowerOutageEvent/sr:StartDateTime/text()") == "2025-12-28T16:46:01.185Z"
        )

    def test_missing_alert_detail_is_refused(self) -> None:
        with pytest.raises(ValueError, match="command_request_id"):
            dcc_alert("N13", HUB, AT)
        with pytest.raises(ValueError, match="no builder"):
            dcc_alert("N99", HUB, AT)

    def test_restoration_device_alert_validates(self, xsd: XsdValidator) -> None:
        xml = device_alert("0x8F35", HUB, AT, recipient=USER, counter=12, gbcs_payload=b"\xdd\x00")
        xsd.validate(xml)
        assert _one(xml, "//sr:AlertCode/text()") == "8F35"
        assert _one(xml, "//sr:GBCSPayload/text()") == "3QA="
        assert _one(xml, "//sr:ResponseID/text()") == f"{HUB}:{USER}:12"

    def test_device_alert_code_must_be_hex(self) -> None:
        with pytest.raises(ValueError):
            device_alert("ZZZZ", HUB, AT)


class TestIdsAndTimes:
    def test_response_time_is_utc_with_milliseconds(self) -> None:
        local = AT.astimezone(timezone(timedelta(hours=1)))
        assert response_datetime(local) == "2025-12-28T16:51:01.185Z"
        with pytest.raises(ValueError):
            response_datetime(datetime(2025, 1, 1))

    def test_device_response_id_swaps_originator_and_target(self) -> None:
        assert device_response_id(REQUEST_ID) == f"{HUB}:{USER}:1000"
