"""Bulk import: operators load parties, users, appointments, registrations and devices from CSV.

Every row goes through the same domain service an API call would use, inside one transaction
with a savepoint per row, so a file is loaded whole or not at all (docs/import.md).
"""
