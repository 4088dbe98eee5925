"""Building what the hub sends to DCC users: acknowledgements, responses and alerts, as DUIS XML.

Every message is a DUIS 5.4 ``Response`` document (``schemaVersion="5.4"``): a header with the
RequestID it answers (when there is one), optionally a ResponseID, the response code and the
time, then a body holding one of ``ResponseMessage`` (acknowledgements, errors and service
responses), ``DCCAlertMessage`` or ``DeviceAlertMessage``. The tests validate each kind against
the DUIS schema, so a user's own validator never rejects what the hub sends.

* :func:`acknowledgement` (``I99``) goes back at once when a request passes access control.
* :func:`error_response` answers a refused request with its ``E`` code.
* :func:`service_response` is the later outcome (``I0`` or a failure such as ``E21``), with a
  body for SRVs that return data, e.g. 8.2 Read Inventory's device rows (:class:`InventoryRow`).
* :func:`dcc_alert` and :func:`device_alert` flow the other way, unprompted.

Messages are not signed here; signing belongs to whoever holds the DCC's key.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from lxml import etree

from meterhub.gateway.catalogue import load_catalogue
from meterhub.gateway.codes import ResponseCode
from meterhub.gateway.xml import (
    DSIG_NS,
    DUIS_NS,
    RA_NS,
    SCHEMA_VERSION,
    DuisRequest,
    split_request_id,
)
from meterhub.kit.ids import normalise_eui64

_SR = "{" + DUIS_NS + "}"
_DS = "{" + DSIG_NS + "}"
_NSMAP = {"sr": DUIS_NS, "ra": RA_NS, "ds": DSIG_NS}

#: The DCC's own EUI-64 as the DUIS samples use it (target of non-device requests); the
#: originator of DCC alerts unless a deployment passes its own.
DEFAULT_DCC_ID = "90-B3-D5-1F-30-00-00-02"

#: Read Inventory returns the devices of one premises: at most 17 rows in DUIS 5.4.
MAX_INVENTORY_ROWS = 17

_CSP_REGION_SPELLING = {
    "North4G": "4G North",
    "Central4G": "4G Central",
    "South4G": "4G South",
}


@dataclass(frozen=True)
class InventoryRow:
    """One device as 8.2 Read Inventory reports it (the optional fields may be left out).

    ``csp_region`` takes meterhub's spelling (``North4G``) or DUIS's (``4G North``);
    ``smets_chts_version`` is free text such as ``SMETS2 V4.2`` or ``CHTS V1.4``.
    """

    device_id: str
    device_type: str
    manufacturer: str
    model: str
    status: str | None = None
    smets_chts_version: str | None = None
    firmware_version: str | None = None
    firmware_version_status: str | None = None
    cpl_status: str | None = None
    date_commissioned: date | None = None
    import_mpxn: str | None = None
    csp_region: str | None = None
    gbcs_version: str | None = None


def response_datetime(at: datetime) -> str:
    """``2025-12-28T16:51:01.185Z``: UTC with milliseconds, as the DCC writes it."""
    if at.tzinfo is None:
        raise ValueError("message times must be timezone-aware")
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def make_response_id(originator: str, target: str, counter: int) -> str:
    """A ResponseID ``originator:target:counter`` with both EUI-64s in canonical form."""
    if not 0 <= counter < 2**64:
        raise ValueError(f"counter {counter} is outside 0..2^64-1")
    return f"{normalise_eui64(originator)}:{normalise_eui64(target)}:{counter}"


def device_response_id(request_id: str) -> str:
    """The ResponseID of a device's answer: the RequestID with originator and target swapped."""
    originator, target, counter = split_request_id(request_id)
    return f"{target}:{originator}:{counter}"


def _response(
    *,
    request_id: str | None,
    response_id: str | None,
    code: ResponseCode | str,
    at: datetime,
) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_SR + "Response", nsmap=_NSMAP)
    root.set("schemaVersion", SCHEMA_VERSION)
    header = etree.SubElement(root, _SR + "Header")
    if request_id is not None:
        originator, target, counter = split_request_id(request_id)
        etree.SubElement(header, _SR + "RequestID").text = f"{originator}:{target}:{counter}"
    if response_id is not None:
        etree.SubElement(header, _SR + "ResponseID").text = response_id
    etree.SubElement(header, _SR + "ResponseCode").text = str(code)
    etree.SubElement(header, _SR + "ResponseDateTime").text = response_datetime(at)
    return root, etree.SubElement(root, _SR + "Body")


def _to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _service_reference_of(srv: str | None, service_reference: str | None) -> tuple[str, str] | None:
    """The (SR, SRV) pair to put in a ResponseMessage, or None when it cannot be named.

    The schema enumerates both, so an SRV the catalogue does not know (which is why a request
    may be refused in the first place) is left out rather than echoed.
    """
    if srv is None:
        return None
    known = load_catalogue().get(srv)
    if known is None:
        return None
    if service_reference is not None and service_reference != known.service_reference:
        return None
    return known.service_reference, known.srv


def _response_message(body: etree._Element, pair: tuple[str, str]) -> etree._Element:
    message = etree.SubElement(body, _SR + "ResponseMessage")
    etree.SubElement(message, _SR + "ServiceReference").text = pair[0]
    etree.SubElement(message, _SR + "ServiceReferenceVariant").text = pair[1]
    return message


def _request_id_of(request: DuisRequest | str | None) -> str | None:
    return request.request_id if isinstance(request, DuisRequest) else request


def acknowledgement(
    request: DuisRequest | str,
    srv: str | None,
    service_reference: str | None,
    at: datetime,
) -> bytes:
    """The ``I99`` sent at once for an accepted request.

    ``srv`` and ``service_reference`` may be None when ``request`` is a parsed request; its own
    are used.
    """
    if isinstance(request, DuisRequest):
        srv = srv or request.srv
        service_reference = service_reference or request.service_reference
    pair = _service_reference_of(srv, service_reference)
    if pair is None:
        raise ValueError(f"cannot acknowledge unknown SRV {srv!r}")
    request_id = _request_id_of(request)
    assert request_id is not None
    originator, target, counter = split_request_id(request_id)
    before, between, after = _acknowledgement_template(pair)
    return b"".join(
        (
            before,
            f"{originator}:{target}:{counter}".encode(),
            between,
            response_datetime(at).encode(),
            after,
        )
    )


_TEMPLATE_ID = "00-00-00-00-00-00-00-01:00-00-00-00-00-00-00-02:18446744073709551615"
_TEMPLATE_AT = datetime(1999, 12, 31, 23, 59, 58, 999000, tzinfo=UTC)


@cache
def _acknowledgement_template(pair: tuple[str, str]) -> tuple[bytes, bytes, bytes]:
    """An I99 for ``pair`` built once by lxml, cut where the RequestID and the time go: every
    acknowledgement is the same document but for those two texts, which need no escaping
    (hex digits, dashes, colons, digits), so the bytes are exactly what lxml would write."""
    root, body = _response(
        request_id=_TEMPLATE_ID,
        response_id=None,
        code=ResponseCode.ACKNOWLEDGEMENT,
        at=_TEMPLATE_AT,
    )
    _response_message(body, pair)
    whole = _to_bytes(root)
    rid = f">{_TEMPLATE_ID}<".encode()
    at = f">{response_datetime(_TEMPLATE_AT)}<".encode()
    assert whole.count(rid) == 1 and whole.count(at) == 1 and whole.index(rid) < whole.index(at)
    before, _, rest = whole.partition(rid)
    between, _, after = rest.partition(at)
    return before + b">", b"<" + between + b">", b"<" + after


def error_response(
    request_id: str | None,
    srv: str | None,
    service_reference: str | None,
    code: ResponseCode | str,
    at: datetime,
) -> bytes:
    """The answer to a refused request: its ``E`` code, echoing what could be read of it.

    When the SRV is unknown or unreadable the body is left empty: DUIS's ``ResponseMessage``
    must name a schema-enumerated SRV, so no schema-valid message exists for that case, and the
    header (RequestID if readable, the code, the time) is what the user needs.
    """
    if not str(code).startswith(("E", "W")):
        raise ValueError(f"{code} is not an error code")
    root, body = _response(request_id=request_id, response_id=None, code=code, at=at)
    pair = _service_reference_of(srv, service_reference)
    if pair is not None:
        _response_message(body, pair)
    return _to_bytes(root)


def inventory_body(rows: Sequence[InventoryRow]) -> etree._Element:
    """``DSPInventory`` for an 8.2 Read Inventory response, in the schema's field order."""
    if not rows:
        raise ValueError("Read Inventory returns at least one device")
    if len(rows) > MAX_INVENTORY_ROWS:
        raise ValueError(f"Read Inventory carries at most {MAX_INVENTORY_ROWS} devices")
    inventory = etree.Element(_SR + "DSPInventory")
    for row in rows:
        device = etree.SubElement(inventory, _SR + "Device")
        region = row.csp_region and _CSP_REGION_SPELLING.get(row.csp_region, row.csp_region)
        commissioned = row.date_commissioned.isoformat() if row.date_commissioned else None
        fields: tuple[tuple[str, str | None], ...] = (
            ("DeviceID", normalise_eui64(row.device_id)),
            ("DeviceType", row.device_type),
            ("DeviceStatus", row.status),
            ("DeviceManufacturer", row.manufacturer),
            ("DeviceModel", row.model),
            ("SMETSCHTSVersion", row.smets_chts_version),
            ("DeviceFirmwareVersion", row.firmware_version),
            ("DeviceFirmwareVersionStatus", row.firmware_version_status),
            ("CPLStatus", row.cpl_status),
            ("DateCommissioned", commissioned),
            ("ImportMPxN", row.import_mpxn),
            ("CSPRegion", region),
            ("DeviceGBCSVersion", row.gbcs_version),
        )
        for name, value in fields:
            if value is not None:
                etree.SubElement(device, _SR + name).text = value
    return inventory


def _element_from_mapping(parent: etree._Element, name: str, value: Any) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _element_from_mapping(parent, name, item)
        return
    el = etree.SubElement(parent, _SR + name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _element_from_mapping(el, key, item)
    elif value is not None:
        el.text = str(value)


def service_response(
    request_id: str,
    srv: str,
    service_reference: str,
    code: ResponseCode | str,
    at: datetime,
    body: etree._Element | Mapping[str, Any] | Sequence[InventoryRow] | None = None,
    *,
    from_device: bool = False,
) -> bytes:
    """The outcome of a request: ``I0`` with any data, or the failure code.

    ``body`` is an lxml element in the DUIS namespace (e.g. from :func:`inventory_body`), a
    mapping ``{"ElementName": {...children...}}`` built the same way, or a sequence of
    :class:`InventoryRow` for 8.2. ``from_device`` adds the ResponseID a device's own answer
    carries (the RequestID with originator and target swapped).
    """
    pair = _service_reference_of(srv, service_reference)
    if pair is None:
        raise ValueError(f"cannot respond for unknown SRV {srv!r} / {service_reference!r}")
    root, body_el = _response(
        request_id=request_id,
        response_id=device_response_id(request_id) if from_device else None,
        code=code,
        at=at,
    )
    message = _response_message(body_el, pair)
    if body is None:
        pass
    elif isinstance(body, etree._Element):
        message.append(body)
    elif isinstance(body, Mapping):
        for name, value in body.items():
            _element_from_mapping(message, name, value)
    else:
        message.append(inventory_body(list(body)))
    return _to_bytes(root)


# Which DCCAlert element each alert code is reported in (the codes the reports need).
DCC_ALERT_EVENTS: dict[str, str] = {
    "AD1": "PowerOutageEvent",
    "N13": "CommandFailure",
    "N16": "DeviceStatusChangeEvent",
    "N42": "SecurityCredentialsUpdated",
    "N55": "S1SPAlertDSP",
}


def _placeholder_signature(parent: etree._Element) -> None:
    """An enveloped-signature skeleton with placeholder values, as in the DUIS samples.

    The schema requires a signature inside an S1SP alert; signing is not this layer's job, so
    the values are placeholders (base64 of "unsigned") a real deployment replaces.
    """
    placeholder = base64.b64encode(b"unsigned").decode("ascii")
    signature = etree.SubElement(parent, _DS + "Signature")
    signed_info = etree.SubElement(signature, _DS + "SignedInfo")
    etree.SubElement(signed_info, _DS + "CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    etree.SubElement(signed_info, _DS + "SignatureMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    )
    reference = etree.SubElement(signed_info, _DS + "Reference")
    reference.set("URI", "")
    transforms = etree.SubElement(reference, _DS + "Transforms")
    etree.SubElement(transforms, _DS + "Transform").set(
        "Algorithm", "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    )
    etree.SubElement(reference, _DS + "DigestMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256"
    )
    etree.SubElement(reference, _DS + "DigestValue").text = placeholder
    etree.SubElement(signature, _DS + "SignatureValue").text = placeholder


def _require(value: Any, name: str, alert_code: str) -> Any:
    if value is None:
        raise ValueError(f"a {alert_code} alert needs {name}")
    return value


def dcc_alert(
    alert_code: str,
    device_id: str,
    at: datetime,
    *,
    response_id: str | None = None,
    mpxn: str | None = None,
    outage_start: datetime | None = None,
    command_request_id: str | None = None,
    remote_party_role: str = "Supplier",
    certificates: Sequence[tuple[str, bytes]] = (),
    s1sp_alert_code: str | None = None,
    additional_information: str | None = None,
) -> bytes:
    """A DCC alert (``DCCAlertMessage``) about ``device_id``.

    * ``AD1`` power outage: the comms hub ``device_id`` lost power at ``outage_start`` (default
      ``at``) at ``mpxn``. Restoration comes from the meter as a device alert (``8F35``).
    * ``N13`` no response from the device to ``command_request_id``.
    * ``N16`` device identity confirmation: the meter ``device_id`` serves ``mpxn``.
    * ``N42`` security credentials updated on the device: ``certificates`` are
      (CertificateType, hash) pairs replaced for ``remote_party_role``.
    * ``N55`` a SMETS1 service provider rejected a request (``s1sp_alert_code`` is the S1SP's
      own code; ``command_request_id`` the request it concerns, if any).

    ``response_id`` (``DCC-ID:recipient-user-ID:counter``, see :func:`make_response_id`) is for
    the caller, which knows the recipient and its alert counter.
    """
    event = DCC_ALERT_EVENTS.get(alert_code)
    if event is None:
        raise ValueError(
            f"no builder for DCC alert {alert_code}; known: {sorted(DCC_ALERT_EVENTS)}"
        )
    device = normalise_eui64(device_id)
    root, body = _response(
        request_id=None, response_id=response_id, code=ResponseCode.SUCCESS, at=at
    )
    message = etree.SubElement(body, _SR + "DCCAlertMessage")
    etree.SubElement(message, _SR + "DCCAlertCode").text = alert_code
    alert = etree.SubElement(message, _SR + "DCCAlert")
    element = etree.SubElement(alert, _SR + event)
    sub = etree.SubElement
    if alert_code == "AD1":
        sub(element, _SR + "CommsHubDeviceID").text = device
        sub(element, _SR + "StartDateTime").text = response_datetime(outage_start or at)
        sub(element, _SR + "MPxN").text = _require(mpxn, "mpxn", alert_code)
    elif alert_code == "N13":
        sub(element, _SR + "CommandRequestID").text = _require(
            command_request_id, "command_request_id", alert_code
        )
        sub(element, _SR + "DeviceID").text = device
    elif alert_code == "N16":
        sub(element, _SR + "DeviceID").text = device
        identity = sub(sub(element, _SR + "DeviceStatusChange"), _SR + "MeterIdentity")
        sub(sub(identity, _SR + "MeterMPxNs"), _SR + "ImportMPxN").text = _require(
            mpxn, "mpxn", alert_code
        )
    elif alert_code == "N42":
        sub(element, _SR + "DeviceID").text = device
        sub(element, _SR + "RemotePartyRole").text = remote_party_role
        if not 1 <= len(certificates) <= 3:
            raise ValueError("an N42 alert names one to three replaced certificates")
        for kind, digest in certificates:
            cert = sub(element, _SR + "Certificates")
            sub(cert, _SR + "CertificateType").text = kind
            sub(cert, _SR + "CertificateHash").text = base64.b64encode(digest).decode("ascii")
    else:  # N55
        s1sp = sub(element, _SR + "S1SPAlert")
        s1sp.set("schemaVersion", SCHEMA_VERSION)
        if command_request_id is not None:
            sub(s1sp, _SR + "RequestID").text = command_request_id
        sub(s1sp, _SR + "DeviceID").text = device
        sub(s1sp, _SR + "S1SPAlertCode").text = _require(
            s1sp_alert_code, "s1sp_alert_code", alert_code
        )
        if additional_information is not None:
            sub(s1sp, _SR + "AdditionalInformation").text = additional_information
        sub(s1sp, _SR + "DateTime").text = response_datetime(at)
        _placeholder_signature(s1sp)
    return _to_bytes(root)


def device_alert(
    alert_code: str,
    device_id: str,
    at: datetime,
    *,
    recipient: str | None = None,
    counter: int | None = None,
    gbcs_payload: bytes = b"",
) -> bytes:
    """A device alert (``DeviceAlertMessage``) such as ``0x8F35`` Supply Outage Restored.

    DUIS names the device in the ResponseID (``device:recipient:counter``), built when
    ``recipient`` and ``counter`` are given; the alert itself is the hex code and the GBCS
    payload as the device sent it (base64 in the XML).
    """
    code = alert_code.upper().removeprefix("0X")
    if len(code) != 4 or any(ch not in "0123456789ABCDEF" for ch in code):
        raise ValueError(f"device alert code {alert_code!r} is not four hex digits")
    device = normalise_eui64(device_id)
    response_id = None
    if recipient is not None and counter is not None:
        response_id = make_response_id(device, recipient, counter)
    root, body = _response(
        request_id=None, response_id=response_id, code=ResponseCode.SUCCESS, at=at
    )
    message = etree.SubElement(body, _SR + "DeviceAlertMessage")
    etree.SubElement(message, _SR + "AlertCode").text = code
    etree.SubElement(message, _SR + "GBCSPayload").text = base64.b64encode(gbcs_payload).decode(
        "ascii"
    )
    return _to_bytes(root)
