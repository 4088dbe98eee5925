"""Interactive MP176 reporting: one party's performance over any date range and filter, read
from the report cube (``reporting/cube.py``) under the same disclosure control as the frozen
monthly reports (``reporting/disclosure.py``).

The portal's report pages and ``/api/v1/reports`` both call :func:`explore`; the benchmark
(``benchmarks/report_portal.py``) times the same call.

What a caller sees, for the user role it chooses among those it acted in during the period:

* **its own numbers**, named with its party code: totals, a daily series, a breakdown by one
  dimension, the RTT distribution, every failure by reason code, and alert delivery;
* **the industry** (every party of the role, the caller included), labelled ``Industry``;
* **anonymised peers** (``Supplier 7``) only when at least ``min_cohort`` parties of the role
  have rows under the current filters. Labels come from ``PeerLabeller`` keyed by the caller and
  the period: stable whatever filters are chosen within one period, unrelated across callers
  and periods. The population numbered is everyone in the period, not only those under the
  filter, so a label says nothing about how many parties a filter left;
* **league tables** per business process: the caller's own position named, the others
  labelled, and positions only when the process's cohort is big enough.

Filters make a stricter rule necessary than in the monthly files: a user could narrow a filter
until one other party is left and read it off as "industry minus own". So as soon as any
dimension filter is applied, an industry figure is shown only where at least ``min_cohort``
parties contribute to it (per row: per day, per breakdown value, per alert code); with the date
range alone the industry is shown as in the monthly reports. The cube has no device or meter
point columns, so no view can ever hold another party's device-level rows.

The package is split by job:

* ``query``: what the caller asks for (:class:`ExploreQuery`), parsed and checked;
* ``cube_reader``: the cube loaded into a private DuckDB, one shared reader per process;
* ``tables``: the shape of each table and how it is built from rows already read;
* ``view``: :func:`explore`, the disclosure-controlled queries and the rules above.
"""

from meterhub.reporting.explore.cube_reader import (
    ROLLUPS,
    CubeReader,
    CubeSnapshot,
    cube_dir_of,
    reader_for,
)
from meterhub.reporting.explore.query import (
    ALERT_FILTERS,
    BREAKDOWNS,
    CHOICES,
    FILTER_TITLES,
    FILTERS,
    MAX_DAYS,
    MIN_DEFAULT_DAYS,
    ExploreQuery,
    default_period,
)
from meterhub.reporting.explore.tables import TABLE_IDS, Column, Table, display
from meterhub.reporting.explore.view import ExploreView, explore, label_secret

__all__ = [
    "ALERT_FILTERS",
    "BREAKDOWNS",
    "CHOICES",
    "FILTERS",
    "FILTER_TITLES",
    "MAX_DAYS",
    "MIN_DEFAULT_DAYS",
    "ROLLUPS",
    "TABLE_IDS",
    "Column",
    "CubeReader",
    "CubeSnapshot",
    "ExploreQuery",
    "ExploreView",
    "Table",
    "cube_dir_of",
    "default_period",
    "display",
    "explore",
    "label_secret",
    "reader_for",
]
