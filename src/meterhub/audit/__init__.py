"""Append-only audit log: every change through any interface, with actor, time and what changed."""
