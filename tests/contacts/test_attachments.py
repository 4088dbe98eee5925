"""Attachments: a size limit, a content type its bytes bear out, seen by the contact's parties."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from meterhub.contacts import attachments
from meterhub.contacts import service as contacts
from meterhub.errors import InvalidInput, NotFound, PayloadTooLarge
from tests.contacts.conftest import NOW, GasWorld, raise_tog

PDF = b"%PDF-1.4\n% evidence\n"


class TestAttachments:
    def test_a_pdf_is_kept_and_read_by_the_other_party(
        self, session: Session, gas: GasWorld
    ) -> None:
        contact = raise_tog(session, gas)
        added = contacts.add_attachment(
            session,
            actor=gas.actor(gas.dn_login),
            contact_id=contact.id,
            filename="C:\\visits\\bypass report.pdf",
            content_type="application/pdf",
            data=PDF,
            now=NOW,
        )
        assert added.filename == "bypass report.pdf" and added.size == len(PDF)
        got = contacts.attachment(
            session,
            actor=gas.actor(gas.shipper_a_login),
            contact_id=contact.id,
            attachment_id=added.id,
        )
        assert got.data == PDF
        for login in (gas.shipper_b_login, gas.outsider_login):
            with pytest.raises(NotFound):
                contacts.attachment(
                    session, actor=gas.actor(login), contact_id=contact.id, attachment_id=added.id
                )

    def test_too_large_is_refused(self) -> None:
        with pytest.raises(PayloadTooLarge):
            attachments.check(
                filename="big.pdf",
                content_type="application/pdf",
                data=PDF + b"0" * attachments.MAX_BYTES,
            )
        name, kind = attachments.check(
            filename="edge.pdf",
            content_type="application/pdf",
            data=PDF + b"0" * (attachments.MAX_BYTES - len(PDF)),
        )
        assert (name, kind) == ("edge.pdf", "application/pdf")

    @pytest.mark.parametrize(
        ("content_type", "data", "code"),
        [
            ("application/x-msdownload", b"MZ\x90\x00", "attachment_type_refused"),
            ("application/pdf", b"<html>not a pdf</html>", "attachment_content_mismatch"),
            ("image/png", PDF, "attachment_content_mismatch"),
            (
                "text/plain",
                b"<!DOCTYPE html><script>alert(1)</script>",
                "attachment_content_mismatch",
            ),
            ("text/plain", b"\xff\xfe\x00binary", "attachment_content_mismatch"),
            ("text/plain", b"", "empty_attachment"),
        ],
    )
    def test_the_content_must_be_what_its_type_says(
        self, content_type: str, data: bytes, code: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            attachments.check(filename="evidence", content_type=content_type, data=data)
        assert refused.value.code == code
