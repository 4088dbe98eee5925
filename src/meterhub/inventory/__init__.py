"""Smart Metering Inventory: every device, its status and owner, with an append-only history."""
