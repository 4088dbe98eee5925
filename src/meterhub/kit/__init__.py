"""Domain-free helpers: identifiers, time, pagination."""
