"""REST plumbing shared by every domain's ``endpoints.py``: auth, sessions, error rendering."""
