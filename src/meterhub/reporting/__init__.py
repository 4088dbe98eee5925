"""Customer Analytics Reporting (MP176): each DCC user's monthly report against anonymised peers.

``definitions`` says what a metric is (id, version, grain, dimensions, measures, SRV groups, and
an Ibis expression over unbound tables); ``suite`` is the registry of the MP176 report suite;
``engines`` runs the same expressions on DuckDB or PySpark; ``inventory`` exports the device
estate from the database so both engines read the same table; ``disclosure`` turns industry-wide
results into one recipient's view (peer labels, minimum cohorts, own rows only); ``run`` freezes
one month's run as CSV files with a manifest of definitions and content hashes.
docs/reporting.md describes the reports and the rules.
"""
