"""meterhub's test suite. Imported before any conftest, so settings made here hold everywhere."""

import os

# Cheap argon2 parameters for the thousands of logins the tests make (see parties/passwords.py).
os.environ.setdefault("METERHUB_ARGON2_PROFILE", "test")
# Commits that need not survive a power cut: the tests' PostgreSQL runs with fsync off too.
os.environ.setdefault("METERHUB_SQLITE_SYNCHRONOUS", "NORMAL")
