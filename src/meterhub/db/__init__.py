"""Database plumbing: the declarative Base, engines and sessions, and shipped Alembic migrations."""
