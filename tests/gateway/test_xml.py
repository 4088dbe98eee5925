from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterhub.gateway.xml import (
    DuisRejected,
    DuisRequest,
    XsdValidator,
    parse_request,
    parse_request_json,
    request_to_json,
    request_to_xml,
)

from .conftest import duis_files

REQUESTS = duis_files("requests")
_HEADER = re.compile(
    rb"<sr:RequestID>([^:<]+):([^:<]+):(\d+)</sr:RequestID>.*?"
    rb"<sr:ServiceReferenceVariant>([^<]+)</sr:ServiceReferenceVariant>",
    re.S,
)

FAULT_RETURN = b"""<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-b3-d5-1f-30-01-00-00:00-DB-12-34-56-78-90-A2:1000</sr:RequestID>
    <sr:CommandVariant>8</sr:CommandVariant>
    <sr:ServiceReference>8.14</sr:ServiceReference>
    <sr:ServiceReferenceVariant>8.14.3</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
    <sr:CHFFaultReturn>
      <sr:DeviceID>00-DB-12-34-56-78-90-A2</sr:DeviceID>
      <sr:CHFFaultReturnType>Fault identified prior to installation</sr:CHFFaultReturnType>
    </sr:CHFFaultReturn>
  </sr:Body>
</sr:Request>"""


def _refused(data: bytes, **kwargs: int) -> DuisRejected:
    with pytest.raises(DuisRejected) as caught:
        parse_request(data, **kwargs)
    return caught.value


def _fields(request: DuisRequest) -> dict[str, object]:
    return {k: v for k, v in vars(request).items() if k != "raw"}


class TestParseRequest:
    def test_reads_header_and_body(self) -> None:
        request = parse_request(FAULT_RETURN)
        assert request.originator == "90-B3-D5-1F-30-01-00-00"
        assert request.target == "00-DB-12-34-56-78-90-A2"
        assert request.counter == 1000
        assert request.request_id == "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1000"
        assert (request.srv, request.service_reference, request.command_variant) == (
            "8.14.3",
            "8.14",
            8,
        )
        assert request.schema_version == "5.4"
        assert request.body_name == "CHFFaultReturn"
        assert request.body["DeviceID"] == "00-DB-12-34-56-78-90-A2"
        assert request.raw == FAULT_RETURN

    @pytest.mark.parametrize(
        "request_id",
        [
            "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE::1000",
            "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:01000",
            "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36:1000",
            "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:18446744073709551616",
            "ZZ-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:1",
        ],
    )
    def test_malformed_request_id_is_refused_without_echo(self, request_id: str) -> None:
        data = FAULT_RETURN.replace(
            b"90-b3-d5-1f-30-01-00-00:00-DB-12-34-56-78-90-A2:1000", request_id.encode()
        )
        refused = _refused(data)
        assert refused.response_code == "E65"
        assert refused.request_id is None

    def test_largest_counter_is_accepted(self) -> None:
        data = FAULT_RETURN.replace(b":1000<", b":18446744073709551615<")
        assert parse_request(data).counter == 2**64 - 1

    def test_missing_header_field_is_refused_with_the_request_id(self) -> None:
        data = re.sub(rb"<sr:CommandVariant>.*?</sr:CommandVariant>", b"", FAULT_RETURN)
        refused = _refused(data)
        assert refused.response_code == "E65"
        assert refused.request_id == "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1000"

    def test_a_response_is_not_a_request(self) -> None:
        data = FAULT_RETURN.replace(b"sr:Request", b"sr:Response")
        assert _refused(data).response_code == "E65"

    @pytest.mark.parametrize(
        "data",
        [b"", b"not xml", b"<a>", b"<?xml version='1.0'?>", b"\xff\xfe<\x00a\x00/>\x00"],
    )
    def test_garbage_is_refused(self, data: bytes) -> None:
        assert _refused(data).response_code == "E65"

    def test_non_utf8_encoding_is_refused(self) -> None:
        data = FAULT_RETURN.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
        assert "UTF-8" in _refused(data).message


class TestParseRequestSecurity:
    """Hostile input is refused cheaply: no file read, no entity expanded, memory bounded."""

    def test_external_entity_is_refused_and_no_file_is_read(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET", encoding="utf-8")
        data = FAULT_RETURN.replace(
            b"<sr:Request xmlns",
            f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<sr:Request xmlns'.encode(),
        ).replace(b"Fault identified prior to installation", b"&xxe;")
        refused = _refused(data)
        assert refused.response_code == "E65"
        assert "TOP-SECRET" not in str(refused)

    def test_shared_xxe_edge_case_is_refused(self, duis_dir: Path) -> None:
        refused = _refused((duis_dir / "edge-cases" / "duis-xxe.xml").read_bytes())
        assert refused.response_code == "E65"
        assert "root:" not in refused.message

    def test_billion_laughs_is_refused_within_bounded_memory(self) -> None:
        entities = "".join(
            f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
        )
        bomb = (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]><r>&l9;</r>'
        ).encode()
        tracemalloc.start()
        try:
            refused = _refused(bomb)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert refused.response_code == "E65"
        assert peak < 2_000_000

    @pytest.mark.parametrize(
        "doctype",
        [
            b"<!DOCTYPE sr:Request>",
            b"<!DOCTYPE sr:Request []>",
            b'<!DOCTYPE sr:Request [<!ELEMENT sr:Request ANY><!ATTLIST sr:Request a CDATA "1">]>',
            b'<!DOCTYPE sr:Request SYSTEM "http://203.0.113.9/duis.dtd">',
            b'<!DOCTYPE sr:Request PUBLIC "-//DCC//DUIS//EN" "file:///etc/duis.dtd">',
            b"<!DOCTYPE\n  sr:Request\n[\n]\n>",
        ],
    )
    def test_a_real_dtd_is_refused_however_it_is_written(self, doctype: bytes) -> None:
        data = FAULT_RETURN.replace(b"<sr:Request xmlns", doctype + b"\n<sr:Request xmlns")
        refused = _refused(data)
        assert refused.response_code == "E65"
        assert "DTD" in refused.message

    @pytest.mark.parametrize(
        "text",
        [
            b"<![CDATA[<!DOCTYPE x>]]>",
            b'<![CDATA[<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>]]>',
            b"<![CDATA[<!ENTITY lol 'lol'>]]>",
        ],
    )
    def test_doctype_text_inside_cdata_is_only_text(self, text: bytes) -> None:
        data = FAULT_RETURN.replace(b"Fault identified prior to installation", text)
        request = parse_request(data)
        inner = text.removeprefix(b"<![CDATA[").removesuffix(b"]]>").decode()
        assert request.body["CHFFaultReturnType"] == inner

    def test_doctype_text_inside_a_comment_is_ignored(self) -> None:
        data = FAULT_RETURN.replace(b"<sr:Header>", b"<sr:Header><!-- <!DOCTYPE x> -->")
        assert parse_request(data).counter == 1000

    def test_deep_nesting_is_refused_within_bounded_memory(self) -> None:
        deep = b"<a>" * 100_000 + b"</a>" * 100_000
        tracemalloc.start()
        try:
            refused = _refused(deep)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "deeper than 64" in refused.message
        assert peak < 4_000_000

    def test_depth_limit_is_a_parameter(self) -> None:
        assert parse_request(FAULT_RETURN, max_depth=4).body_name == "CHFFaultReturn"
        assert "deeper than 3" in _refused(FAULT_RETURN, max_depth=3).message

    def test_oversized_request_is_refused_before_parsing(self) -> None:
        huge = FAULT_RETURN + b" " * 1_048_576
        tracemalloc.start()
        try:
            refused = _refused(huge)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "exceeds" in refused.message
        assert peak < 100_000
        assert "exceeds" in _refused(FAULT_RETURN, max_bytes=100).message

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=2_000))
    def test_arbitrary_bytes_only_ever_raise_duis_rejected(self, data: bytes) -> None:
        try:
            parse_request(data)
        except DuisRejected as refused:
            assert refused.response_code == "E65"

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.integers(min_value=0, max_value=len(FAULT_RETURN) - 1),
        st.integers(min_value=1, max_value=40),
        st.binary(max_size=40),
    )
    def test_mutated_requests_only_ever_raise_duis_rejected(
        self, at: int, cut: int, insert: bytes
    ) -> None:
        data = FAULT_RETURN[:at] + insert + FAULT_RETURN[at + cut :]
        try:
            request = parse_request(data)
        except DuisRejected as refused:
            assert refused.response_code == "E65"
        else:
            assert request.counter >= 0 and request.originator.count("-") == 7


@pytest.mark.skipif(not REQUESTS, reason="shared/duis/requests not found beside the repo")
class TestRealDuisSamples:
    """Every one of the 202 published request samples parses, validates and round-trips."""

    @pytest.mark.parametrize("path", REQUESTS, ids=[p.name for p in REQUESTS])
    def test_sample_parses_to_its_header_and_validates(self, path: Path, xsd: XsdValidator) -> None:
        data = path.read_bytes()
        request = parse_request(data, validator=xsd)
        header = _HEADER.search(data)
        assert header is not None
        originator, target, counter, srv = header.groups()
        assert request.originator == originator.decode().upper()
        assert request.target == target.decode().upper()
        assert request.counter == int(counter)
        assert request.srv == srv.decode()
        assert request.body_name
        xsd.validate(request)

    @pytest.mark.parametrize("path", REQUESTS, ids=[p.name for p in REQUESTS])
    def test_json_form_round_trips_to_the_same_request(self, path: Path, xsd: XsdValidator) -> None:
        request = parse_request(path.read_bytes())
        again = parse_request_json(request_to_json(request), validator=xsd)
        assert _fields(again) == _fields(request)
        assert again.raw == request_to_xml(request_to_json(request))


class TestEdgeCases:
    def test_invalid_request_id_sample_is_refused(self, duis_dir: Path, xsd: XsdValidator) -> None:
        data = duis_dir / "edge-cases" / "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML"
        for validator in (None, xsd):
            with pytest.raises(DuisRejected) as caught:
                parse_request(data.read_bytes(), validator=validator)
            assert caught.value.response_code == "E65"
            assert caught.value.request_id is None

    def test_unknown_originator_sample_parses_for_the_sender_check(
        self, duis_dir: Path, xsd: XsdValidator
    ) -> None:
        path = (
            duis_dir
            / "edge-cases"
            / "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-nonexist-businessid.XML"
        )
        request = parse_request(path.read_bytes(), validator=xsd)
        assert request.originator == "80-B3-D5-1F-30-01-00-00"

    def test_invalid_response_sample_is_refused_with_its_request_id(
        self, duis_dir: Path, xsd: XsdValidator
    ) -> None:
        data = (duis_dir / "edge-cases" / "readfw-response-invalid.xml").read_bytes()
        with pytest.raises(DuisRejected) as caught:
            xsd.validate(data)
        assert caught.value.response_code == "E65"
        assert (
            caught.value.request_id
            == "90-B3-D5-1F-30-01-00-00:88-73-84-57-00-2F-96-6C:1655991767747"
        )
        assert _refused(data).response_code == "E65"


class TestJsonForm:
    def test_json_request_matches_its_xml_twin(self) -> None:
        obj = {
            "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1000",
            "srv": "8.14.3",
            "service_reference": "8.14",
            "command_variant": 8,
            "body_name": "CHFFaultReturn",
            "body": {
                "DeviceID": "00-DB-12-34-56-78-90-A2",
                "CHFFaultReturnType": "Fault identified prior to installation",
            },
        }
        assert _fields(parse_request_json(obj)) == _fields(parse_request(FAULT_RETURN))

    def test_lists_and_attributes_become_repeated_elements(self) -> None:
        obj = {
            "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:7",
            "srv": "1.2.1",
            "service_reference": "1.2",
            "command_variant": 4,
            "body_name": "Thing",
            "body": {"Price": [{"@index": "1", "#text": "10"}, {"@index": "2", "#text": "20"}]},
        }
        xml = request_to_xml(obj)
        assert b'<sr:Price index="1">10</sr:Price><sr:Price index="2">20</sr:Price>' in xml
        assert parse_request_json(obj).body == obj["body"]

    @pytest.mark.parametrize(
        "obj",
        [
            {},
            [],
            {
                "request_id": "x",
                "srv": "8.2",
                "service_reference": "8.2",
                "command_variant": 8,
                "body_name": "A",
            },
            {
                "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:7",
                "srv": "8.2",
                "service_reference": "8.2",
                "command_variant": 8,
                "body_name": "bad name",
            },
            {
                "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:7",
                "srv": "8.2",
                "service_reference": "8.2",
                "command_variant": 8,
                "body_name": "A",
                "body": {"x y": "1"},
            },
            {
                "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:7",
                "srv": "8.2",
                "service_reference": "8.2",
                "command_variant": 8,
                "body_name": "A",
                "body": {"B": {"C": object()}},
            },
        ],
    )
    def test_bad_json_forms_are_refused(self, obj: object) -> None:
        with pytest.raises(DuisRejected) as caught:
            parse_request_json(obj)  # type: ignore[arg-type]
        assert caught.value.response_code == "E65"

    @settings(max_examples=100, deadline=None)
    @given(
        st.recursive(
            st.text(max_size=20) | st.integers() | st.booleans() | st.none(),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=8), children, max_size=3)
            ),
            max_leaves=15,
        )
    )
    def test_arbitrary_json_bodies_only_ever_raise_duis_rejected(self, body: object) -> None:
        obj = {
            "request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:7",
            "srv": "8.2",
            "service_reference": "8.2",
            "command_variant": 8,
            "body_name": "ReadInventory",
            "body": body,
        }
        try:
            parse_request_json(obj)
        except DuisRejected as refused:
            assert refused.response_code == "E65"
