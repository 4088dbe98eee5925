"""What a contact's attachment may be: its size, its name, and a content type that its bytes
bear out. A file claiming to be a PDF that does not start as one is refused, so what another
party downloads as evidence is what it was said to be (and no HTML page hides behind
"text/plain")."""

from __future__ import annotations

import re
import unicodedata

from meterhub.errors import InvalidInput, PayloadTooLarge

#: The largest attachment: evidence photographs and reports, within the API's 1 MiB body limit.
MAX_BYTES = 768 * 1024
MAX_NAME = 200


def _pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def _png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def _jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    head = text[:512].lstrip().lower()
    return "\x00" not in text and not head.startswith(("<!doctype", "<html", "<script", "<svg"))


#: The content types the hub accepts, each with the check its bytes must pass.
ACCEPTED = {
    "application/pdf": _pdf,
    "image/png": _png,
    "image/jpeg": _jpeg,
    "text/plain": _text,
    "text/csv": _text,
}


def check(*, filename: str, content_type: str, data: bytes) -> tuple[str, str]:
    """The cleaned file name and content type, or the refusal: too large (413), empty, of a
    type the hub does not take, or with content that is not of its type (422)."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(
            f"an attachment is at most {MAX_BYTES // 1024} KiB;"
            f" this one is {len(data) // 1024} KiB",
            code="attachment_too_large",
        )
    if not data:
        raise InvalidInput("the attachment is empty", code="empty_attachment")
    kind = content_type.split(";")[0].strip().lower()
    sniff = ACCEPTED.get(kind)
    if sniff is None:
        raise InvalidInput(
            f"an attachment is one of {', '.join(sorted(ACCEPTED))}; not {kind[:60]!r}",
            code="attachment_type_refused",
        )
    if not sniff(data):
        raise InvalidInput(f"the file's content is not {kind}", code="attachment_content_mismatch")
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", filename)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        raise InvalidInput("the attachment needs a file name", code="bad_filename")
    return name[-MAX_NAME:], kind
