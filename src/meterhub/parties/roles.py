"""User roles. DUIS roles send service requests; the gas roles work contacts in the CMS.

The hub operator's own staff (DCC for electricity and the gateway, CDSP for gas) hold ``OPERATOR``
and may read every party's records; everyone else sees only their own party's.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    IMPORT_SUPPLIER = "IS"
    EXPORT_SUPPLIER = "ES"
    GAS_SUPPLIER = "GS"
    ELECTRICITY_DISTRIBUTOR = "ED"
    GAS_TRANSPORTER = "GT"
    REGISTERED_SUPPLIER_AGENT = "RSA"
    OTHER_USER = "OU"
    SHIPPER = "SHIPPER"
    SUPPLIER = "SUPPLIER"
    DN = "DN"
    IGT = "IGT"
    RECCO = "RECCO"
    OPERATOR = "OPERATOR"


DUIS_ROLES = frozenset(
    {
        Role.IMPORT_SUPPLIER,
        Role.EXPORT_SUPPLIER,
        Role.GAS_SUPPLIER,
        Role.ELECTRICITY_DISTRIBUTOR,
        Role.GAS_TRANSPORTER,
        Role.REGISTERED_SUPPLIER_AGENT,
        Role.OTHER_USER,
    }
)
SUPPLIER_ROLES = frozenset({Role.IMPORT_SUPPLIER, Role.EXPORT_SUPPLIER, Role.GAS_SUPPLIER})


class PartyKind(StrEnum):
    SUPPLIER = "supplier"
    NETWORK_OPERATOR = "network_operator"
    GAS_TRANSPORTER = "gas_transporter"
    SHIPPER = "shipper"
    AGENT = "agent"
    RECCO = "recco"
    OTHER = "other"
    OPERATOR = "operator"
