"""Reading DUIS service requests safely, as XML or as the gateway's JSON form.

Anything a DCC user sends is hostile until proven otherwise. Before lxml sees a byte the size is
checked and the text must be UTF-8. DUIS never needs a DTD, so every entity trick (external
entities that read local files, "billion laughs" expansion) is refused outright rather than
defused: the parser reports a document type declaration (internal subset or external id) before
the root element's start, and the request is abandoned there, before its body is read. The
question is asked of the parser, not of the bytes, so ``<!DOCTYPE`` written as text (inside a
CDATA section or a comment) is just text. The parser also resolves no entities, loads no DTD,
touches no network and keeps libxml2's size limits (``huge_tree=False``); elements are counted
as they are read so a deeply nested document is abandoned at ``max_depth``, not after it is
built. Every refusal is a :class:`DuisRejected` carrying ``E65``; nothing else escapes
:func:`parse_request`.

What comes out is a :class:`DuisRequest`: the header (RequestID split into originator, target and
counter), the SRV, and the body as plain dicts, enough for the request store to apply access
control and body rules without touching XML again. The digital signature is carried in ``raw``
but not checked here.

The JSON form of a request (for users of the JSON endpoint) is::

    {"request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1000",
     "srv": "8.14.3", "service_reference": "8.14", "command_variant": 8,
     "body_name": "CHFFaultReturn",
     "body": {"DeviceID": "00-DB-12-34-56-78-90-A2", "CHFFaultReturnType": "..."},
     "schema_version": "5.4"}                        # optional, defaults to "5.4"

``body`` uses the same shape :func:`parse_request` produces: a child element is a key by its local
name; a simple element is its text, a complex one a dict; repeated elements are a list; XML
attributes are ``"@name"`` keys and the text of an element that also has attributes is ``"#text"``.
:func:`request_to_xml` turns the JSON form into DUIS XML, and :func:`parse_request_json` parses
that XML, so both endpoints store the same request.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from meterhub.gateway.codes import DuisRejected, ResponseCode

__all__ = [
    "DUIS_NS",
    "DuisRejected",
    "DuisRequest",
    "XsdValidator",
    "parse_request",
    "parse_request_json",
    "parse_then_validate",
    "request_to_json",
    "request_to_xml",
]

DUIS_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSION = "5.4"
MAX_COUNTER = 2**64 - 1

_SR = "{" + DUIS_NS + "}"
_REJECT = ResponseCode.FAILED_VALIDATION
_EUI = r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}"
_REQUEST_ID = re.compile(rf"^({_EUI}):({_EUI}):(0|[1-9][0-9]{{0,19}})$")
_XML_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_SR_HEADER_FIELDS = ("RequestID", "CommandVariant", "ServiceReference", "ServiceReferenceVariant")


@dataclass(frozen=True)
class DuisRequest:
    """One service request as the gateway understood it.

    ``originator`` is the sending user's DUIS user ID and ``target`` the device (or the DCC's
    own ID for a non-device request), both canonical EUI-64 (``00-DB-12-...``, upper case);
    ``counter`` must rise per originator. ``raw`` is exactly what was stored: the bytes received
    for XML, the generated XML for the JSON form.
    """

    request_id: str
    originator: str
    target: str
    counter: int
    srv: str
    service_reference: str
    command_variant: int
    schema_version: str
    body_name: str
    body: dict[str, Any]
    raw: bytes
    first_in_sequence: bool | None = None
    preceding_request_id: str | None = None


def split_request_id(value: str) -> tuple[str, str, int]:
    """``"90-b3-...:00-DB-...:1000"`` -> (originator, target, counter), EUI-64s upper-cased.

    Follows the schema's ``RequestIDType``: two EUI-64s and a counter of at most 2^64-1 with no
    leading zeros. Anything else is refused with E65 and no RequestID to echo.
    """
    match = _REQUEST_ID.match(value.strip())
    if match is None or int(match[3]) > MAX_COUNTER:
        raise DuisRejected(
            _REJECT,
            f"RequestID {value[:120]!r} is not originator:target:counter "
            "(two EUI-64s like 90-B3-D5-1F-30-01-00-00 and a counter up to 2^64-1)",
        )
    return match[1].upper(), match[2].upper(), int(match[3])


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _element_value(el: etree._Element) -> Any:
    children = [c for c in el if isinstance(c.tag, str)]
    if not children and not el.attrib:
        return el.text or ""
    value: dict[str, Any] = {"@" + _local(k): v for k, v in el.attrib.items()}
    if not children:
        value["#text"] = el.text or ""
    for child in children:
        name = _local(child.tag)
        item = _element_value(child)
        if name in value:
            existing = value[name]
            if isinstance(existing, list):
                existing.append(item)
            else:
                value[name] = [existing, item]
        else:
            value[name] = item
    return value


def _body_dict(el: etree._Element) -> dict[str, Any]:
    value = _element_value(el)
    return value if isinstance(value, dict) else {"#text": value}


def _check_bytes(data: bytes, max_bytes: int) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DuisRejected(_REJECT, "a service request must be bytes")
    if len(data) > max_bytes:
        raise DuisRejected(_REJECT, f"request of {len(data)} bytes exceeds the {max_bytes} limit")
    if not data:
        raise DuisRejected(_REJECT, "empty request")
    head = bytes(data[:200])
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00", b"\x4c\x6f\xa7\x94")):
        raise DuisRejected(_REJECT, "requests must be UTF-8")
    declared = _XML_DECL_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if declared is not None and declared[1].decode("ascii").lower() not in _UTF8_NAMES:
        raise DuisRejected(_REJECT, "requests must be UTF-8")
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DuisRejected(_REJECT, f"request is not valid UTF-8 at byte {exc.start}") from None


def _parse_tree(data: bytes, max_depth: int) -> etree._Element:
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    depth = 0
    root: etree._Element | None = None
    try:
        for event, el in events:
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise DuisRejected(_REJECT, f"request nests deeper than {max_depth} elements")
                if root is None:
                    root = el
                    # A DTD can only come before the root element, so the parser has read all
                    # of it by now; entity declarations live only inside one.
                    if _declares_dtd(el):
                        raise DuisRejected(_REJECT, "DTDs and entity declarations are refused")
            else:
                depth -= 1
    except etree.XMLSyntaxError as exc:
        raise DuisRejected(_REJECT, f"request is not well-formed XML: {exc.msg}") from None
    except (ValueError, LookupError, MemoryError) as exc:
        raise DuisRejected(_REJECT, f"request could not be read as XML: {exc}") from None
    if root is None:  # pragma: no cover - libxml2 reports an empty document as a syntax error
        raise DuisRejected(_REJECT, "request has no root element")
    return root


def _declares_dtd(root: etree._Element) -> bool:
    """Whether the document has a document type declaration, as libxml2 parsed it.

    ``<!DOCTYPE r>``, ``<!DOCTYPE r [...]>`` and ``<!DOCTYPE r SYSTEM "...">`` all give the
    document an internal subset node (empty or not); an external subset would only appear had a
    DTD been loaded, which this parser never does, but it is refused too should it ever be.
    """
    info = root.getroottree().docinfo
    return info.internalDTD is not None or info.externalDTD is not None


def _child(parent: etree._Element, name: str, request_id: str | None) -> etree._Element:
    found = parent.find(_SR + name)
    if found is None:
        raise DuisRejected(_REJECT, f"missing {name}", request_id)
    return found


def _text(parent: etree._Element, name: str, request_id: str | None) -> str:
    return (_child(parent, name, request_id).text or "").strip()


def _request_from_tree(root: etree._Element, raw: bytes) -> DuisRequest:
    if root.tag != _SR + "Request":
        raise DuisRejected(
            _REJECT, f"expected a DUIS Request, got {_local(root.tag) or 'no element'}"
        )
    header = _child(root, "Header", None)
    request_id = _text(header, "RequestID", None)
    originator, target, counter = split_request_id(request_id)
    request_id = f"{originator}:{target}:{counter}"
    variant_text = _text(header, "CommandVariant", request_id)
    if not variant_text.isdigit() or len(variant_text) > 3:
        raise DuisRejected(
            _REJECT, f"CommandVariant {variant_text[:20]!r} is not a number", request_id
        )
    body_parent = _child(root, "Body", request_id)
    bodies = [c for c in body_parent if isinstance(c.tag, str)]
    if len(bodies) != 1:
        raise DuisRejected(_REJECT, "Body must hold exactly one request element", request_id)
    first = header.find(_SR + "FirstInSequence")
    preceding = header.find(_SR + "PrecedingServiceRequestID")
    return DuisRequest(
        request_id=request_id,
        originator=originator,
        target=target,
        counter=counter,
        srv=_text(header, "ServiceReferenceVariant", request_id),
        service_reference=_text(header, "ServiceReference", request_id),
        command_variant=int(variant_text),
        schema_version=(root.get("schemaVersion") or "").strip(),
        body_name=_local(bodies[0].tag),
        body=_body_dict(bodies[0]),
        raw=raw,
        first_in_sequence=None if first is None else (first.text or "").strip() in ("true", "1"),
        preceding_request_id=None if preceding is None else (preceding.text or "").strip(),
    )


def parse_request(
    data: bytes,
    *,
    max_bytes: int = 1_048_576,
    max_depth: int = 64,
    validator: XsdValidator | None = None,
) -> DuisRequest:
    """Read one DUIS ``Request``; refuse anything unsafe or malformed with :class:`DuisRejected`.

    With a ``validator`` the document is also checked against the DUIS schema before the
    header is trusted (the refusal then carries the RequestID when it was readable).
    """
    _check_bytes(data, max_bytes)
    raw = bytes(data)
    root = _parse_tree(raw, max_depth)
    if validator is not None:
        validator.validate(root)
    return _request_from_tree(root, raw)


def parse_then_validate(
    data: bytes,
    *,
    max_bytes: int = 1_048_576,
    max_depth: int = 64,
    validator: XsdValidator | None = None,
) -> DuisRequest:
    """What the endpoint does: :func:`parse_request`, then the schema check of the same tree.

    The same result as ``validator.validate(parse_request(data))`` (the header's refusals come
    first, the schema's after), without reading the document a second time for the schema.
    """
    _check_bytes(data, max_bytes)
    raw = bytes(data)
    root = _parse_tree(raw, max_depth)
    request = _request_from_tree(root, raw)
    if validator is not None:
        validator.validate_tree(root, request.request_id)
    return request


def _json_str(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise DuisRejected(_REJECT, f"{name} must be a string or number")


def _append_value(parent: etree._Element, name: str, value: Any, depth: int) -> None:
    if depth > 64:
        raise DuisRejected(_REJECT, "body nests too deeply")
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list):
                raise DuisRejected(_REJECT, f"{name}: a list may not directly hold a list")
            _append_value(parent, name, item, depth)
        return
    try:
        el = etree.SubElement(parent, _SR + name)
    except ValueError:
        raise DuisRejected(_REJECT, f"{name[:40]!r} is not an element name") from None
    if isinstance(value, Mapping):
        _fill(el, value, depth + 1)
    elif value is not None:
        el.text = _json_str(value, name)


def _fill(el: etree._Element, value: Mapping[str, Any], depth: int) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise DuisRejected(_REJECT, "body keys must be strings")
        try:
            if key == "#text":
                el.text = _json_str(item, key)
            elif key.startswith("@"):
                el.set(key[1:], _json_str(item, key))
            else:
                _append_value(el, key, item, depth)
        except ValueError:
            raise DuisRejected(_REJECT, f"{key[:40]!r} cannot be written as XML") from None


def request_to_xml(obj: Mapping[str, Any]) -> bytes:
    """The JSON form of a request (see the module docstring) as DUIS XML bytes, unsigned."""
    if not isinstance(obj, Mapping):
        raise DuisRejected(_REJECT, "a JSON service request must be an object")
    missing = [
        k
        for k in ("request_id", "srv", "service_reference", "command_variant", "body_name")
        if k not in obj
    ]
    if missing:
        raise DuisRejected(_REJECT, f"JSON service request lacks {', '.join(missing)}")
    request_id = _json_str(obj["request_id"], "request_id")
    split_request_id(request_id)
    body = obj.get("body") or {}
    if not isinstance(body, Mapping):
        raise DuisRejected(_REJECT, "body must be an object", request_id)
    nsmap = {"sr": DUIS_NS, "ds": DSIG_NS, "xsi": XSI_NS}
    root = etree.Element(_SR + "Request", nsmap=nsmap)
    root.set(
        "schemaVersion", _json_str(obj.get("schema_version", SCHEMA_VERSION), "schema_version")
    )
    header = etree.SubElement(root, _SR + "Header")
    try:
        etree.SubElement(header, _SR + "RequestID").text = request_id
        if obj.get("first_in_sequence") is not None:
            etree.SubElement(header, _SR + "FirstInSequence").text = _json_str(
                bool(obj["first_in_sequence"]), "first_in_sequence"
            )
        if obj.get("preceding_request_id") is not None:
            etree.SubElement(header, _SR + "PrecedingServiceRequestID").text = _json_str(
                obj["preceding_request_id"], "preceding_request_id"
            )
        for name, key in (
            ("CommandVariant", "command_variant"),
            ("ServiceReference", "service_reference"),
            ("ServiceReferenceVariant", "srv"),
        ):
            etree.SubElement(header, _SR + name).text = _json_str(obj[key], key)
        body_el = etree.SubElement(
            etree.SubElement(root, _SR + "Body"), _SR + str(obj["body_name"])
        )
    except ValueError as exc:
        raise DuisRejected(
            _REJECT, f"JSON service request cannot be written as XML: {exc}", request_id
        ) from None
    try:
        _fill(body_el, body, 1)
    except DuisRejected as exc:
        raise DuisRejected(_REJECT, exc.message, request_id) from None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_request_json(
    obj: Mapping[str, Any], *, validator: XsdValidator | None = None
) -> DuisRequest:
    """The JSON form of a request, parsed exactly as its XML would be (``raw`` is that XML)."""
    return parse_request(request_to_xml(obj), validator=validator)


def request_to_json(request: DuisRequest) -> dict[str, Any]:
    """The JSON form of a parsed request: what a JSON user would have sent for it."""
    obj: dict[str, Any] = {
        "request_id": request.request_id,
        "srv": request.srv,
        "service_reference": request.service_reference,
        "command_variant": request.command_variant,
        "body_name": request.body_name,
        "body": request.body,
        "schema_version": request.schema_version,
    }
    if request.first_in_sequence is not None:
        obj["first_in_sequence"] = request.first_in_sequence
    if request.preceding_request_id is not None:
        obj["preceding_request_id"] = request.preceding_request_id
    return obj


class _LocalOnly(etree.Resolver):
    """Lets the schema import its siblings from its own folder, and nothing else."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder.resolve()

    def resolve(  # type: ignore[override]  # lxml passes a context the stubs omit
        self, system_url: str, public_id: str, context: object
    ) -> Any:
        name = system_url.removeprefix("file://")
        path = (self.folder / Path(name).name).resolve()
        if path.parent != self.folder or not path.is_file():
            raise DuisRejected(_REJECT, f"schema may only import from {self.folder}: {system_url}")
        return self.resolve_filename(str(path), context)  # type: ignore[attr-defined]


class XsdValidator:
    """Validates DUIS documents against ``DUIS_Schema_V5.4.xsd`` found in ``schema_dir``.

    The schema is third-party material and is not shipped: deployments point this at their own
    copy. Its imports (xmldsig, the MMC schema) are read from the same folder only; no network.
    lxml schema objects are not safe to share between threads, so validation takes a lock.
    """

    SCHEMA_FILE = "DUIS_Schema_V5.4.xsd"

    def __init__(self, schema_dir: Path) -> None:
        folder = Path(schema_dir)
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        parser.resolvers.add(_LocalOnly(folder))
        schema_doc = etree.parse(str(folder / self.SCHEMA_FILE), parser)
        self._schema = etree.XMLSchema(schema_doc)
        self._lock = threading.Lock()

    def validate(self, doc: etree._Element | etree._ElementTree | bytes | DuisRequest) -> None:
        """Return if ``doc`` is schema-valid, else raise :class:`DuisRejected` (E65)."""
        request_id: str | None = None
        if isinstance(doc, DuisRequest):
            request_id = doc.request_id
            doc = doc.raw
        if isinstance(doc, bytes):
            _check_bytes(doc, 16 * 1_048_576)
            doc = _parse_tree(doc, 256)
        self.validate_tree(doc, request_id)

    def validate_tree(
        self, doc: etree._Element | etree._ElementTree, request_id: str | None = None
    ) -> None:
        """Check a document already parsed by this module's secure parser."""
        with self._lock:
            ok = self._schema.validate(doc)
            error = None if ok else self._schema.error_log.last_error  # type: ignore[attr-defined]
        if ok:
            return
        if request_id is None:
            request_id = _readable_request_id(doc)
        where = f"line {error.line}: " if error is not None else ""
        message = error.message[:300] if error is not None else "not valid"
        raise DuisRejected(_REJECT, f"not valid against DUIS 5.4: {where}{message}", request_id)


def _readable_request_id(doc: etree._Element | etree._ElementTree) -> str | None:
    root = doc.getroot() if isinstance(doc, etree._ElementTree) else doc
    found = root.find(f"{_SR}Header/{_SR}RequestID")
    if found is None or not found.text:
        return None
    try:
        originator, target, counter = split_request_id(found.text)
    except DuisRejected:
        return None
    return f"{originator}:{target}:{counter}"
