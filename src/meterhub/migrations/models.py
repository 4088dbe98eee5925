"""Every domain's models, imported so ``Base.metadata`` knows all tables (for Alembic)."""

from meterhub.audit.models import AuditEntry
from meterhub.comms_hubs.models import (
    ChargeAdjustment,
    HubConsignment,
    HubConsignmentLine,
    HubOrder,
    HubReturn,
    HubStockLocation,
    HubTariff,
)
from meterhub.contacts.models import (
    Contact,
    ContactAttachment,
    ContactEvent,
    ContactHandler,
    ContactInvolvement,
    ContactNote,
    ContactReferenceCounter,
)
from meterhub.db.base import Base
from meterhub.forecasts.models import InstallForecast
from meterhub.gateway.models import (
    Callback,
    FirmwareDelivery,
    OutboundMessage,
    RequestCounter,
    ServiceRequest,
)
from meterhub.hub_market.models import (
    AllocationRule,
    Listing,
    ListingRequest,
    Transfer,
    TransferDispute,
    TransferEvent,
    TransferLine,
)
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.notifications.models import Notification, OutboxMail
from meterhub.parties.models import AgentAppointment, ApiToken, Party, PartyRole, User, UserRole
from meterhub.portal.models import LoginThrottle, PortalSession
from meterhub.registration.models import MeterPoint, Registration
from meterhub.settlement.models import EnergyAdjustment, InvoiceLine, UnitRate

__all__ = [
    "AgentAppointment",
    "AllocationRule",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Callback",
    "ChargeAdjustment",
    "Contact",
    "ContactAttachment",
    "ContactEvent",
    "ContactHandler",
    "ContactInvolvement",
    "ContactNote",
    "ContactReferenceCounter",
    "Device",
    "DeviceHistory",
    "EnergyAdjustment",
    "FirmwareDelivery",
    "HubConsignment",
    "HubConsignmentLine",
    "HubOrder",
    "HubReturn",
    "HubStockLocation",
    "HubTariff",
    "InstallForecast",
    "InvoiceLine",
    "Listing",
    "ListingRequest",
    "LoginThrottle",
    "MeterPoint",
    "Notification",
    "OutboundMessage",
    "OutboxMail",
    "Party",
    "PartyRole",
    "PortalSession",
    "Registration",
    "RequestCounter",
    "ServiceRequest",
    "Transfer",
    "TransferDispute",
    "TransferEvent",
    "TransferLine",
    "UnitRate",
    "User",
    "UserRole",
]
