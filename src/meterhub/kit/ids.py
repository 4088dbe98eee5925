"""Identifiers of the GB smart-metering world, validated and put in one canonical form.

* Device IDs and DUIS user IDs are EUI-64: eight octets, written ``00-DB-12-34-56-78-90-A2``.
* An MPAN core is 13 digits whose last digit is a check digit over the first twelve
  (weights 3,5,7,13,17,19,23,29,31,37,41,43; sum mod 11, mod 10). The first two digits are the
  distributor ID (10-23 for the 14 GB distribution areas, others for IDNOs).
* An MPRN is 6 to 10 digits. Its check scheme is not public, so only its shape is checked.
"""

from __future__ import annotations

import re

from meterhub.errors import InvalidInput

_EUI64_HEX = re.compile(r"[0-9A-Fa-f]{16}")
_MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def normalise_eui64(value: str, *, field: str = "device_id") -> str:
    """``00db1234567890a2`` or ``00-DB-12-34-56-78-90-A2`` -> ``00-DB-12-34-56-78-90-A2``."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be an EUI-64 string", code="bad_eui64")
    raw = value.strip().replace("-", "").replace(":", "")
    if not _EUI64_HEX.fullmatch(raw):
        raise InvalidInput(
            f"{field} {value!r} is not an EUI-64 (16 hex digits, e.g. 00-DB-12-34-56-78-90-A2)",
            code="bad_eui64",
        )
    raw = raw.upper()
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


def is_eui64(value: str) -> bool:
    try:
        normalise_eui64(value)
    except InvalidInput:
        return False
    return True


def mpan_check_digit(first_twelve: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_twelve, _MPAN_WEIGHTS, strict=True))
    return total % 11 % 10


def make_mpan(first_twelve: str) -> str:
    return first_twelve + str(mpan_check_digit(first_twelve))


def fuel_of(mpxn: str) -> str:
    """'electricity' for a 13-digit MPAN core, 'gas' for an MPRN."""
    return "electricity" if len(mpxn) == 13 else "gas"


def normalise_mpxn(value: str, *, field: str = "mpxn") -> str:
    """Validate an MPAN core (13 digits, check digit verified) or an MPRN (6-10 digits)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string of digits", code="bad_mpxn")
    digits = value.strip().replace(" ", "")
    if not digits.isdigit() or not digits.isascii():
        raise InvalidInput(f"{field} {value!r} must contain digits only", code="bad_mpxn")
    if len(digits) == 13:
        if mpan_check_digit(digits[:12]) != int(digits[12]):
            raise InvalidInput(f"{field} {value!r} fails the MPAN check digit", code="bad_mpxn")
        return digits
    if 6 <= len(digits) <= 10:
        return digits
    raise InvalidInput(
        f"{field} {value!r} is neither an MPAN core (13 digits) nor an MPRN (6-10 digits)",
        code="bad_mpxn",
    )
