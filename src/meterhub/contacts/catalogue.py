"""Every contact type the hub runs, by code. A new process is a new definition module and one
entry here; the engine, the queues, the API and the portal take it from this table."""

from __future__ import annotations

from types import MappingProxyType

from meterhub.contacts.definitions import ContactType
from meterhub.contacts.sut import SUPPLIER_THEFT_OF_GAS
from meterhub.contacts.tog import THEFT_OF_GAS
from meterhub.errors import NotFound

CONTACT_TYPES: MappingProxyType[str, ContactType] = MappingProxyType(
    {definition.code: definition for definition in (THEFT_OF_GAS, SUPPLIER_THEFT_OF_GAS)}
)


def contact_type(code: str) -> ContactType:
    """The definition of contact type ``code`` (``TOG``); an unknown one is a 404."""
    found = CONTACT_TYPES.get(code.strip().upper())
    if found is None:
        raise NotFound(f"there is no contact type {code[:20]!r}", code="unknown_contact_type")
    return found
