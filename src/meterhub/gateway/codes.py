"""DUIS response codes the gateway answers with, and which validation stage answers with which.

Every DUIS ``Response`` carries one ``ResponseCode``. ``I`` codes are information (success or
acknowledgement), ``E`` codes errors, ``W`` codes warnings. The DUIS 5.4 schema enumerates the
allowed values (``ResponseCode`` simple type) but carries no description of them; the meanings
below are the project's own summary of what DUIS uses each code for. Codes from ``E31`` upwards
that this module does not list are not used by the hub; where a meaning below is our best reading
rather than a certainty it says so.

Besides the common codes there are SRV-specific ones shaped ``E`` + service reference in two-digit
groups + a two-digit reason, e.g. ``E081401`` is the first specific reason for SR 8.14
(Communications Hub Status Update). :func:`srv_specific_code` builds such a code; whether a given
reason number exists is for the schema to say (the tests check against it).

The validation order (DOMAIN.md) decides which code a refused request gets: the *first* failing
stage answers, so a user who is not eligible for an SRV learns nothing about the device it named.

:class:`DuisRejected` is the one exception the protocol layer raises: the response code to answer
with, a message for logs and the user, and the RequestID when it could be read (so the error
response can echo it back).
"""

from __future__ import annotations

import re
from enum import Enum, StrEnum

from meterhub.errors import BadRequest


class ResponseCode(StrEnum):
    """The DUIS response codes meterhub emits, each documented by :data:`MEANINGS`."""

    SUCCESS = "I0"
    ACKNOWLEDGEMENT = "I99"
    INVALID_USER = "E1"
    ROLE_NOT_PERMITTED_FOR_SRV = "E2"
    USER_STATUS_NOT_PERMITTED = "E3"
    NOT_AUTHORISED_FOR_DEVICE = "E4"
    DEVICE_STATUS_INCOMPATIBLE = "E5"
    SRV_NOT_FOR_DEVICE_TYPE = "E11"
    COMMAND_VARIANT_NOT_APPLICABLE = "E12"
    REQUEST_TYPE_NOT_FOR_URL = "E13"
    NOT_AVAILABLE_FOR_LOCAL_DELIVERY = "E17"
    DEVICE_UNKNOWN = "E19"
    UNABLE_TO_COMMUNICATE = "E20"
    NO_RESPONSE_FROM_DEVICE = "E21"
    FUTURE_DATED_TIMEOUT = "E30"
    FAILED_VALIDATION = "E65"


MEANINGS: dict[ResponseCode, str] = {
    ResponseCode.SUCCESS: "Success: the request had the outcome asked for.",
    ResponseCode.ACKNOWLEDGEMENT: (
        "Acknowledgement: the request passed access control and was accepted for sending to the "
        "device; the outcome follows later as a response. Also the answer to a successful "
        "non-device request that returns no data."
    ),
    ResponseCode.INVALID_USER: (
        "The sending user and user role are not a valid SEC party and role: an unknown user, or "
        "an originator in the RequestID that is not one of the authenticated user's DUIS user IDs."
    ),
    ResponseCode.ROLE_NOT_PERMITTED_FOR_SRV: (
        "The user role may not send this Service Reference Variant (not an eligible role)."
    ),
    ResponseCode.USER_STATUS_NOT_PERMITTED: (
        "The user's status (e.g. suspended) does not allow sending this service request."
    ),
    ResponseCode.NOT_AUTHORISED_FOR_DEVICE: (
        "The user is not entitled to this device at the date and time of the request: not its "
        "registered supplier or network operator, nor an agent appointed by that supplier."
    ),
    ResponseCode.DEVICE_STATUS_INCOMPATIBLE: (
        "The device's Smart Metering Inventory status does not allow this service request."
    ),
    ResponseCode.SRV_NOT_FOR_DEVICE_TYPE: "The SRV cannot be sent to a device of this type.",
    ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE: (
        "The command variant is not one this SRV may be sent with."
    ),
    ResponseCode.REQUEST_TYPE_NOT_FOR_URL: (
        "The request was sent to the wrong interface, e.g. a non-device request to the "
        "transform endpoint."
    ),
    ResponseCode.NOT_AVAILABLE_FOR_LOCAL_DELIVERY: (
        "The command cannot be returned for local (HAN) delivery for this role and device status."
    ),
    ResponseCode.DEVICE_UNKNOWN: "The device ID is not in the Smart Metering Inventory.",
    ResponseCode.UNABLE_TO_COMMUNICATE: (
        "The DCC could not establish communications with the device."
    ),
    ResponseCode.NO_RESPONSE_FROM_DEVICE: (
        "The device did not answer an on-demand or future-dated command in time."
    ),
    ResponseCode.FUTURE_DATED_TIMEOUT: (
        "A future-dated command held by the DCC timed out. (Our reading; DUIS's exact wording is "
        "not reproduced here.)"
    ),
    ResponseCode.FAILED_VALIDATION: (
        "The request failed validation: not well-formed, refused for safety (DTD, size, depth), "
        "not valid against the DUIS schema (including a malformed RequestID or an SRV the schema "
        "does not enumerate), or breaking a rule on its body. The DUIS sample acknowledgements "
        "use E65 for a request the DCC could not accept as sent; that the same code also covers "
        "body rules is our choice where no SRV-specific code fits."
    ),
}


class ValidationStage(Enum):
    """The checks a service request passes, in the order they run (the enum's order).

    An unknown device is checked before entitlement: no-one is entitled to a device that does
    not exist, so checking entitlement first would answer every unknown device with E4 and
    never with E19. The command-variant and device-type checks are DUIS checks DOMAIN.md folds
    into "SRV body rules"; they are separate here because DUIS gives them their own codes. The
    counter check runs last so that a refused request never burns the originator's counter.
    """

    MALFORMED = "malformed"
    UNKNOWN_SENDER = "unknown_sender"
    SRV_UNKNOWN = "srv_unknown"
    COMMAND_VARIANT_NOT_ALLOWED = "command_variant_not_allowed"
    ROLE_NOT_ELIGIBLE = "role_not_eligible"
    UNKNOWN_DEVICE = "unknown_device"
    NOT_ENTITLED = "not_entitled"
    DEVICE_TYPE_NOT_ALLOWED = "device_type_not_allowed"
    DEVICE_STATUS_DISALLOWS = "device_status_disallows"
    BODY_RULE_FAILED = "body_rule_failed"
    COUNTER_NOT_INCREASING = "counter_not_increasing"


CODE_FOR_STAGE: dict[ValidationStage, ResponseCode] = {
    ValidationStage.MALFORMED: ResponseCode.FAILED_VALIDATION,
    ValidationStage.UNKNOWN_SENDER: ResponseCode.INVALID_USER,
    # The schema enumerates every SRV, so an SRV it does not know fails schema validation.
    ValidationStage.SRV_UNKNOWN: ResponseCode.FAILED_VALIDATION,
    ValidationStage.COMMAND_VARIANT_NOT_ALLOWED: ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE,
    ValidationStage.ROLE_NOT_ELIGIBLE: ResponseCode.ROLE_NOT_PERMITTED_FOR_SRV,
    ValidationStage.UNKNOWN_DEVICE: ResponseCode.DEVICE_UNKNOWN,
    ValidationStage.NOT_ENTITLED: ResponseCode.NOT_AUTHORISED_FOR_DEVICE,
    ValidationStage.DEVICE_TYPE_NOT_ALLOWED: ResponseCode.SRV_NOT_FOR_DEVICE_TYPE,
    ValidationStage.DEVICE_STATUS_DISALLOWS: ResponseCode.DEVICE_STATUS_INCOMPATIBLE,
    ValidationStage.BODY_RULE_FAILED: ResponseCode.FAILED_VALIDATION,
    # No DUIS code we could confirm names a repeated or lower counter; it is a request that
    # fails validation, and the message says why.
    ValidationStage.COUNTER_NOT_INCREASING: ResponseCode.FAILED_VALIDATION,
}

VALIDATION_ORDER: tuple[ValidationStage, ...] = tuple(ValidationStage)

_SERVICE_REFERENCE = re.compile(r"^(\d{1,2})\.(\d{1,2})$")


def srv_specific_code(service_reference: str, reason: int) -> str:
    """``("8.14", 1)`` -> ``"E081401"``: DUIS's shape for an error specific to one SR."""
    match = _SERVICE_REFERENCE.match(service_reference)
    if match is None or not 0 < reason < 100:
        raise ValueError(f"no SRV-specific code for {service_reference!r} reason {reason}")
    return f"E{int(match[1]):02d}{int(match[2]):02d}{reason:02d}"


class DuisRejected(BadRequest):
    """A service request refused by the protocol layer, with the DUIS code to answer with.

    ``response_code`` is the DUIS code (``E65`` ...); ``code`` stays the meterhub machine code
    ``duis_rejected`` like every other error. ``request_id`` is set when the RequestID could be
    read, so the error response can echo it back; a malformed one is never echoed.
    """

    code = "duis_rejected"

    def __init__(
        self, response_code: ResponseCode | str, message: str, request_id: str | None = None
    ) -> None:
        super().__init__(
            message,
            details={"response_code": str(response_code), "request_id": request_id},
        )
        self.response_code = str(response_code)
        self.request_id = request_id

    @classmethod
    def at_stage(
        cls, stage: ValidationStage, message: str, request_id: str | None = None
    ) -> DuisRejected:
        """The refusal for a failed validation stage, with that stage's code."""
        return cls(CODE_FOR_STAGE[stage], message, request_id)
