"""The schema's history: the Alembic revisions shipped in the package, the environment that
runs them against every domain's models (``models.py``), and ``run.upgrade``. It sits above the
domains (it imports all of their models), beside ``app``; ``db/`` below them stays the ground."""
