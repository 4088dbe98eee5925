"""Identifiers: EUI-64 device and user IDs, MPAN cores with their check digit, MPRNs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterhub.errors import InvalidInput
from meterhub.kit.ids import (
    fuel_of,
    is_eui64,
    make_mpan,
    mpan_check_digit,
    normalise_eui64,
    normalise_mpxn,
)

CANONICAL = "00-DB-12-34-56-78-90-A2"


class TestNormaliseEui64:
    @pytest.mark.parametrize(
        "value",
        [
            "00-DB-12-34-56-78-90-A2",
            "00-db-12-34-56-78-90-a2",
            "00db1234567890a2",
            "00DB1234567890A2",
            "00:DB:12:34:56:78:90:A2",
            "  00-DB-12-34-56-78-90-A2  ",
        ],
    )
    def test_accepted_forms_give_the_canonical_form(self, value: str) -> None:
        assert normalise_eui64(value) == CANONICAL

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "00-DB-12-34-56-78-90",  # seven octets
            "00-DB-12-34-56-78-90-A2-FF",  # nine octets
            "00-DB-12-34-56-78-90-G2",  # not hex
            "00 DB 12 34 56 78 90 A2",  # spaces are not a separator
            "0x00DB1234567890A2",
            "00DB1234567890A2\n-",  # a newline hidden before a separator
            "\uff10\uff10DB1234567890A2",  # full-width digits
        ],
    )
    def test_bad_forms_are_refused_with_bad_eui64(self, value: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_eui64(value)
        assert caught.value.code == "bad_eui64"
        assert caught.value.status == 422

    def test_non_string_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_eui64(1234)  # type: ignore[arg-type]
        assert caught.value.code == "bad_eui64"

    def test_message_names_the_field(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_eui64("nope", field="duis_user_id")
        assert "duis_user_id" in caught.value.message

    def test_is_eui64(self) -> None:
        assert is_eui64("00db1234567890a2")
        assert not is_eui64("00db1234567890")

    @given(st.binary(min_size=8, max_size=8))
    def test_any_eight_octets_round_trip(self, octets: bytes) -> None:
        canonical = "-".join(f"{b:02X}" for b in octets)
        assert normalise_eui64(octets.hex()) == canonical
        assert normalise_eui64(canonical.lower()) == canonical
        assert normalise_eui64(canonical) == canonical


class TestMpanCheckDigit:
    @pytest.mark.parametrize(
        "first_twelve",
        ["120000000001", "100000000000", "230123456789", "199999999999"],
    )
    def test_made_mpans_pass(self, first_twelve: str) -> None:
        mpan = make_mpan(first_twelve)
        assert len(mpan) == 13
        assert normalise_mpxn(mpan) == mpan
        assert fuel_of(mpan) == "electricity"

    def test_known_check_digit(self) -> None:
        # 1*3 + 2*5 + 1*43 = 56; 56 % 11 = 1; 1 % 10 = 1
        assert mpan_check_digit("120000000001") == 1
        assert make_mpan("120000000001") == "1200000000011"

    def test_a_changed_digit_fails(self) -> None:
        mpan = make_mpan("141234567890")
        changed = mpan[:5] + str((int(mpan[5]) + 1) % 10) + mpan[6:]
        with pytest.raises(InvalidInput) as caught:
            normalise_mpxn(changed)
        assert caught.value.code == "bad_mpxn"
        assert "check digit" in caught.value.message

    def test_spaces_are_ignored(self) -> None:
        mpan = make_mpan("141234567890")
        assert normalise_mpxn(f" {mpan[:2]} {mpan[2:6]} {mpan[6:]} ") == mpan

    @given(
        st.text(alphabet="0123456789", min_size=12, max_size=12),
        st.integers(min_value=1, max_value=9),
    )
    def test_made_mpan_passes_and_any_other_check_digit_fails(
        self, first_twelve: str, shift: int
    ) -> None:
        mpan = make_mpan(first_twelve)
        assert normalise_mpxn(mpan) == mpan
        wrong = first_twelve + str((int(mpan[12]) + shift) % 10)
        with pytest.raises(InvalidInput) as caught:
            normalise_mpxn(wrong)
        assert caught.value.code == "bad_mpxn"


class TestMprnShape:
    @pytest.mark.parametrize("mprn", ["123456", "1234567", "12345678", "123456789", "1234567890"])
    def test_six_to_ten_digits_are_gas(self, mprn: str) -> None:
        assert normalise_mpxn(mprn) == mprn
        assert fuel_of(mprn) == "gas"

    @pytest.mark.parametrize(
        "value",
        [
            "12345",
            "12345678901",
            "123456789012",
            "12345a",
            "",
            "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
            "-123456",
            "12.3456",
        ],
    )
    def test_other_shapes_are_refused(self, value: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_mpxn(value)
        assert caught.value.code == "bad_mpxn"

    def test_non_string_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            normalise_mpxn(1234567)  # type: ignore[arg-type]
        assert caught.value.code == "bad_mpxn"
