"""Every domain's models, imported so ``Base.metadata`` knows all tables (for Alembic)."""

from meterhub.audit.models import AuditEntry
from meterhub.db.base import Base
from meterhub.inventory.models import Device, DeviceHistory
from meterhub.parties.models import AgentAppointment, ApiToken, Party, PartyRole, User, UserRole
from meterhub.registration.models import MeterPoint, Registration

__all__ = [
    "AgentAppointment",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Device",
    "DeviceHistory",
    "MeterPoint",
    "Party",
    "PartyRole",
    "Registration",
    "User",
    "UserRole",
]
