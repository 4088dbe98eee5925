"""User roles. DUIS roles send service requests; the gas roles work contacts in the CMS.

The hub operator's own staff (DCC for electricity and the gateway, CDSP for gas) hold ``OPERATOR``
and may read every party's records; everyone else sees only their own party's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


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


#: Each role in words, as the portal's Users page lists the permissions a user may be given.
ROLE_TITLES: Final[dict[str, str]] = {
    Role.IMPORT_SUPPLIER.value: "Import Supplier",
    Role.EXPORT_SUPPLIER.value: "Export Supplier",
    Role.GAS_SUPPLIER.value: "Gas Supplier",
    Role.ELECTRICITY_DISTRIBUTOR.value: "Electricity Distributor",
    Role.GAS_TRANSPORTER.value: "Gas Transporter",
    Role.REGISTERED_SUPPLIER_AGENT.value: "Registered Supplier Agent",
    Role.OTHER_USER.value: "Other User",
    Role.SHIPPER.value: "Shipper",
    Role.SUPPLIER.value: "Supplier (gas contacts)",
    Role.DN.value: "Distribution Network",
    Role.IGT.value: "Independent Gas Transporter",
    Role.RECCO.value: "Retail Energy Code Company",
    Role.OPERATOR.value: "Hub operator",
}

# The role lists every domain uses, as the codes DUIS, the lake and the reports carry.
#: Every DUIS role, in the order the lake and the reports list them: suppliers, network
#: operators, then agents and other users.
DUIS_ROLE_ORDER: Final[tuple[str, ...]] = tuple(
    r.value
    for r in (
        Role.IMPORT_SUPPLIER,
        Role.EXPORT_SUPPLIER,
        Role.GAS_SUPPLIER,
        Role.ELECTRICITY_DISTRIBUTOR,
        Role.GAS_TRANSPORTER,
        Role.REGISTERED_SUPPLIER_AGENT,
        Role.OTHER_USER,
    )
)
#: The same roles as a set, for "does this role send DUIS requests?"
DUIS_ROLES: Final = frozenset(Role(code) for code in DUIS_ROLE_ORDER)
#: The roles a supplier acts in: import and export electricity, gas.
SUPPLIER_ROLES: Final[tuple[str, ...]] = (
    Role.IMPORT_SUPPLIER.value,
    Role.EXPORT_SUPPLIER.value,
    Role.GAS_SUPPLIER.value,
)
#: The roles a network operator acts in: the Electricity Distributor and the Gas Transporter.
NETWORK_ROLES: Final[tuple[str, ...]] = (
    Role.ELECTRICITY_DISTRIBUTOR.value,
    Role.GAS_TRANSPORTER.value,
)
#: The registered supplier's and the network operator's roles at an electricity meter point ...
ELECTRICITY_ROLES: Final[tuple[str, str]] = (
    Role.IMPORT_SUPPLIER.value,
    Role.ELECTRICITY_DISTRIBUTOR.value,
)
#: ... and at a gas one.
GAS_ROLES: Final[tuple[str, str]] = (Role.GAS_SUPPLIER.value, Role.GAS_TRANSPORTER.value)


class PartyKind(StrEnum):
    SUPPLIER = "supplier"
    NETWORK_OPERATOR = "network_operator"
    GAS_TRANSPORTER = "gas_transporter"
    SHIPPER = "shipper"
    AGENT = "agent"
    RECCO = "recco"
    OTHER = "other"
    OPERATOR = "operator"
