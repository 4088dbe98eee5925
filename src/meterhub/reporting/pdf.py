"""One PDF per recipient, drawn from the frozen CSVs and manifest a run has just written.

Nothing is recomputed: every number on a page is read back from ``<PARTY>/<definition>.csv``
and every name, version and hash from ``<PARTY>/manifest.json``, so the PDF and the CSVs are two
views of one snapshot. The PDF's own SHA-256 is then added to the manifest (``pdf``).

Pages: a title page (party, roles, month, content hash, contents); one page per definition,
grouped by report, with a chart and a table of its rows (peers appear only by the labels the
CSVs carry); a methodology page naming every definition and version with each file's SHA-256
and the content hash. Charts, chosen from the definition's shape:

* daily definitions: a trend (one line per series, own and industry);
* min/median/mean/max measures (RTT, alert delivery): range bars with median and mean marks;
* league tables: each party's success rate per process, ordered by position, own highlighted;
* anything else with measures: grouped bars of its headline measure (a rate, share or ratio if
  it has one) by dimension, one bar per series (own, industry, peers);
* data files (no measures): the table only.

Value axes fit the data at nice ticks (``kit/axes.py``, as the portal's charts do): rates of
0.95 to 0.99 get an axis over that band rather than 0 to 1, and the axis label then says where
it starts; counts always start at 0.

Rendering uses matplotlib's PDF backend with one reused figure; the PDF's creation date is
the day after the month (not the clock). Text is set in the PDF standard fonts (Helvetica and
Courier, which every PDF reader has), so nothing is embedded and text extracts as written:
embedding a TrueType font made each PDF about three times slower to draw, glyph by glyph. Text
is therefore Windows-1252 (the standard fonts' encoding); a character outside it would print as
"?". The same CSVs give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import os
import textwrap
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from meterhub.kit.axes import nice_axis
from meterhub.reporting.disclosure import noun_of_role

A4: Final = (8.27, 11.69)
REPORT_TITLES: Final = {
    "inventory": "Inventory",
    "business_process": "Business process",
    "alerts": "Alerts",
    "league_tables": "League tables",
}
#: Most rows a page's table shows; the CSV has them all.
TABLE_ROWS: Final = 28
#: Smallest table font size, and how many monospaced characters fit a line at it.
SMALLEST: Final = 5.5
TABLE_CHARS_AT_SMALLEST: Final = 158
#: Most categories and series a bar chart shows.
MAX_CATEGORIES: Final = 12
MAX_SERIES: Final = 8
#: Axes of a page's chart; horizontal bar charts leave room for their labels.
CHART: Final = (0.12, 0.50, 0.80, 0.24)
HORIZONTAL: Final = (0.34, 0.50, 0.58, 0.26)
OWN_COLOUR: Final = "#1f5fa8"
INDUSTRY_COLOUR: Final = "#7f7f7f"
PEER_COLOURS: Final = ("#e3a33b", "#6aa84f", "#b35e9e", "#4fb0b8", "#c4513f", "#8c7a4f")
RC: Final[dict[str, Any]] = {
    "pdf.use14corefonts": True,
    "pdf.compression": 6,
    "font.family": "sans-serif",
    # Helvetica and Courier for the page; matplotlib's own DejaVu where it looks for a TrueType.
    "font.sans-serif": ["Helvetica", "DejaVu Sans"],
    "font.monospace": ["Courier", "DejaVu Sans Mono"],
    "font.weight": "medium",  # the weight the standard fonts' metrics are filed under
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "meterhub",
}

Row = dict[str, str]


@dataclass(frozen=True)
class PdfReport:
    path: Path
    sha256: str
    pages: int


def pdf_name(recipient: str, month: str) -> str:
    return f"{recipient}-{month}.pdf"


def render_recipient_pdf(directory: Path, path: Path | None = None) -> PdfReport:
    """Render ``directory``'s report (manifest and CSVs) to one PDF, by default
    ``<PARTY>-<YYYY-MM>.pdf`` beside the directory (so the directory still holds only the
    frozen CSVs and manifest), and record its SHA-256, pages and path (relative to the
    directory) under ``pdf`` in the manifest."""
    manifest_path = directory / "manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    manifest.pop("pdf", None)
    path = path or directory.parent / pdf_name(manifest["recipient"], manifest["month"])
    # A data file (no measures) only shows its first rows; a chart needs every row.
    charted = {f"{d['id']}@v{d['version']}" for d in manifest["definitions"] if d["measures"]}
    tables = {
        f["path"]: _read_csv(
            directory / f["path"], limit=None if f["definition"] in charted else TABLE_ROWS
        )
        for f in manifest["files"]
    }
    pages = _render(path, manifest, tables)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["pdf"] = {
        "path": os.path.relpath(path, directory),
        "sha256": digest,
        "pages": pages,
        "content_hash": manifest["content_hash"],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return PdfReport(path, digest, pages)


def _read_csv(path: Path, *, limit: int | None = None) -> list[Row]:
    """The file's rows (its first ``limit``)."""
    with path.open(newline="") as f:
        return list(itertools.islice(csv.DictReader(f), limit))


def _creation_date(manifest: dict[str, Any]) -> datetime:
    last = date.fromisoformat(manifest["period"]["last"])
    return datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


# ---- document ----------------------------------------------------------------------------


def _render(path: Path, manifest: dict[str, Any], tables: dict[str, list[Row]]) -> int:
    definitions: list[dict[str, Any]] = manifest["definitions"]
    file_of = {f["definition"]: f for f in manifest["files"]}
    order = {r: i for i, r in enumerate(REPORT_TITLES)}
    ordered = sorted(definitions, key=lambda d: order.get(d["report"], len(order)))
    stamp = _creation_date(manifest)
    metadata = {
        "Title": f"MP176 Customer Analytics report {manifest['month']} {manifest['recipient']}",
        "Author": "DCC Customer Analytics (meterhub)",
        "Subject": f"content hash {manifest['content_hash']}",
        "Creator": "meterhub",
        "CreationDate": stamp,
        "ModDate": stamp,
    }
    with (
        matplotlib.rc_context(RC),  # type: ignore[arg-type]
        _quiet_font_weights(),
        PdfPages(path, metadata=metadata) as pdf,
    ):
        fig = Figure(figsize=A4)
        pages = 0

        def emit() -> None:
            nonlocal pages
            pages += 1
            fig.text(
                0.5,
                0.02,
                f"{manifest['recipient']} · {manifest['month']} · page {pages}",
                ha="center",
                fontsize=7,
                color="#555555",
            )
            pdf.savefig(fig)
            fig.clear()

        _title_page(fig, manifest, ordered)
        emit()
        section = ""
        for d in ordered:
            entry = file_of[f"{d['id']}@v{d['version']}"]
            _definition_page(
                fig,
                d,
                tables[entry["path"]],
                total=entry["rows"],
                new_section=d["report"] != section,
            )
            section = d["report"]
            emit()
        for chunk in _methodology_chunks(manifest, ordered, file_of):
            _methodology_page(fig, manifest, chunk)
            emit()
    return pages


class _FontWeightNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("findfont: Failed to find font weight")


@contextmanager
def _quiet_font_weights() -> Iterator[None]:
    """Drop matplotlib's notice that a font was found in another weight than asked: the
    standard fonts' metrics are filed as "medium" and matplotlib's own TrueType check (which
    tick formatters run) finds DejaVu at 400; either way the font used is the one meant."""
    logger = logging.getLogger("matplotlib.font_manager")
    notice = _FontWeightNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def _title_page(fig: Figure, manifest: dict[str, Any], definitions: list[dict[str, Any]]) -> None:
    roles = ", ".join(f"{r} ({noun_of_role(r)})" for r in manifest["roles"]) or "-"
    fig.text(0.08, 0.90, "Customer Analytics Report (MP176)", fontsize=20, weight="bold")
    lines = [
        ("Party", manifest["recipient"]),
        ("User role", roles),
        ("Month", manifest["month"]),
        ("Period", f"{manifest['period']['first']} to {manifest['period']['last']}"),
        ("Run content hash", manifest["content_hash"]),
        ("Engine", manifest["engine"]),
        ("Smallest peer cohort", str(manifest["min_cohort"])),
    ]
    y = 0.84
    for label, value in lines:
        fig.text(0.08, y, label, fontsize=9, color="#555555")
        fig.text(0.32, y, value, fontsize=9, family="monospace" if "hash" in label else None)
        y -= 0.025
    y -= 0.02
    fig.text(0.08, y, "Contents", fontsize=12, weight="bold")
    y -= 0.028
    section = ""
    for page, d in enumerate(definitions, start=2):
        if d["report"] != section:
            section = d["report"]
            fig.text(0.08, y, REPORT_TITLES.get(section, section), fontsize=9, weight="bold")
            y -= 0.02
        fig.text(0.10, y, _clip(d["title"], 85), fontsize=8)
        fig.text(0.90, y, str(page), fontsize=8, ha="right")
        y -= 0.018
    fig.text(0.10, y, "Methodology: definitions, versions and file hashes", fontsize=8)
    fig.text(0.90, y, str(len(definitions) + 2), fontsize=8, ha="right")
    y -= 0.04
    note = (
        "Every number in this document is read from the CSV files of the same run; the "
        "methodology page lists each file's SHA-256 and the content hash over them. Other "
        "parties of your user role appear only under anonymised labels (for example "
        "'Supplier 3'), numbered afresh for each recipient and month. 'Industry' is every party "
        "of the role, you included."
    )
    fig.text(0.08, y, textwrap.fill(note, 110), fontsize=8, va="top", color="#333333")


def _definition_page(
    fig: Figure, d: dict[str, Any], rows: list[Row], *, total: int, new_section: bool
) -> None:
    """One definition's page: ``rows`` are the file's rows (a data file's first ones only),
    ``total`` how many it holds."""
    report = REPORT_TITLES.get(d["report"], d["report"])
    if new_section:
        fig.text(
            0.08,
            0.955,
            f"  {report}  ",
            fontsize=9,
            weight="bold",
            color="white",
            bbox={"facecolor": OWN_COLOUR, "edgecolor": "none", "pad": 2},
        )
    else:
        fig.text(0.08, 0.955, report, fontsize=8, color="#555555")
    fig.text(0.08, 0.93, _clip(d["title"], 92), fontsize=11.5, weight="bold")
    fig.text(
        0.08,
        0.912,
        f"{d['id']} v{d['version']}",
        fontsize=7.5,
        family="monospace",
        color="#555555",
    )
    fig.text(0.08, 0.90, textwrap.fill(d["description"], 115), fontsize=7.5, va="top")
    measures = [m["name"] for m in d["measures"]]
    table_top = 0.80
    if not rows:
        fig.text(0.08, 0.78, "No rows for this month.", fontsize=10, color="#555555")
        return
    if measures:
        ax = fig.add_axes(CHART)
        drawn = _chart(ax, d, rows, measures)
        if drawn:
            table_top = 0.44
        else:
            fig.delaxes(ax)
    _table(fig, d, rows, table_top, total=total)


# ---- charts ------------------------------------------------------------------------------


def _chart(ax: Axes, d: dict[str, Any], rows: list[Row], measures: list[str]) -> bool:
    if d["grain"] == "day" and "day" in rows[0]:
        return _trend(ax, d, rows, measures)
    if d["disclosure"] == "league" and "position" in measures:
        return _league(ax, d, rows, measures)
    if any(m.startswith("worst_") for m in measures) and any(
        m.startswith("median_") for m in measures
    ):
        return _distribution(ax, d, rows, measures)
    return _bars(ax, d, rows, measures)


def _num(v: str | None) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return None


def _headline(d: dict[str, Any], measures: list[str]) -> str:
    for m in measures:
        if m.endswith(("_rate", "_share", "share_of_model", "_ratio")) and "failure" not in m:
            return m
    return measures[0]


def _measure_title(d: dict[str, Any], name: str) -> str:
    return next((m["title"] for m in d["measures"] if m["name"] == name), name)


def _whole(values: Sequence[float | None]) -> bool:
    return all(v is None or float(v).is_integer() for v in values)


def _is_rate(measure: str) -> bool:
    return measure.endswith(("rate", "share", "share_of_model"))


def _fit(ax: Axes, values: Sequence[float | None], *, which: str, rate: bool, title: str) -> None:
    """Fit the value axis to ``values`` at nice ticks (``kit/axes.py``, as the portal does):
    rates of 0.95 to 0.99 get an axis over that band, not 0 to 1, so parties can be told
    apart; the axis label names the measure and says where the axis does not start at 0.
    Counts always start at 0: a bar's length is the count."""
    if rate:
        axis = nice_axis(values, ceiling=1.0, least_step=0.0001)
    else:
        axis = nice_axis([0.0, *values], least_step=1.0 if _whole(values) else 1e-6)
    ticks = axis.ticks
    label = title if axis.from_zero else f"{title} (axis starts at {axis.label(axis.low)}, not 0)"
    if which == "y":
        ax.set_ylim(axis.low, axis.high)
        ax.set_yticks(ticks, [axis.label(t) for t in ticks])
        ax.set_ylabel(_clip(label, 70), fontsize=7)
    else:
        ax.set_xlim(axis.low, axis.high)
        ax.set_xticks(ticks, [axis.label(t) for t in ticks])
        ax.set_xlabel(_clip(label, 90), fontsize=7)


def _series_colours(parties: Sequence[str], rows: list[Row]) -> dict[str, str]:
    kind = {r["party"]: r["series"] for r in rows}
    colours: dict[str, str] = {}
    peers = 0
    for p in parties:
        if kind.get(p) == "own":
            colours[p] = OWN_COLOUR
        elif kind.get(p) == "industry":
            colours[p] = INDUSTRY_COLOUR
        else:
            colours[p] = PEER_COLOURS[peers % len(PEER_COLOURS)]
            peers += 1
    return colours


def _parties(rows: list[Row]) -> list[str]:
    """Series labels in file order (own, industry, peers), at most ``MAX_SERIES``."""
    seen: dict[str, None] = {}
    for r in rows:
        seen.setdefault(r["party"])
        if len(seen) == MAX_SERIES:
            break
    return list(seen)


def _legend(ax: Axes, entries: int) -> None:
    """Above the plot, under its title, so it never hides a bar."""
    ax.legend(
        fontsize=7,
        frameon=False,
        ncols=min(entries, 4),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
    )
    ax.set_title(ax.get_title(), pad=4 + 11 * ((min(entries, 8) + 3) // 4))


def _trend(ax: Axes, d: dict[str, Any], rows: list[Row], measures: list[str]) -> bool:
    measure = measures[0]
    totals: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        v = _num(r.get(measure))
        if v is not None:
            totals[r["party"]][date.fromisoformat(r["day"]).day] += v
    parties = _parties(rows)
    colours = _series_colours(parties, rows)
    for p in parties:
        days = sorted(totals[p])
        ax.plot(
            days,
            [totals[p][x] for x in days],
            marker="o",
            markersize=3,
            linewidth=1.4,
            color=colours[p],
            linestyle="--" if p == "Industry" else "-",
            label=p,
        )
    first = date.fromisoformat(rows[0]["day"]).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    ax.set_xlim(0.5, last.day + 0.5)
    ax.set_xticks(range(1, last.day + 1, 3))
    ax.set_xlabel(f"day of {first:%B %Y} (UTC)")
    _fit(
        ax,
        [v for p in parties for v in totals[p].values()],
        which="y",
        rate=_is_rate(measure),
        title=_measure_title(d, measure),
    )
    ax.set_title(f"Daily trend: {_measure_title(d, measure)} (all dimensions summed)")
    _legend(ax, len(parties))
    ax.grid(axis="y", alpha=0.3)
    return True


def _category(r: Row, d: dict[str, Any]) -> str:
    return " / ".join(r.get(c, "") or "-" for c in d["dimensions"]) or "all"


def _bars(ax: Axes, d: dict[str, Any], rows: list[Row], measures: list[str]) -> bool:
    measure = _headline(d, measures)
    parties = _parties(rows)
    shown = set(parties)
    # The first MAX_CATEGORIES categories in file order, and each one's value per series.
    categories: dict[str, None] = {}
    values: dict[tuple[str, str], float | None] = {}
    for r in rows:
        c = _category(r, d)
        if c not in categories:
            if len(categories) == MAX_CATEGORIES:
                continue
            categories[c] = None
        if r["party"] in shown:
            values[(c, r["party"])] = _num(r.get(measure))
    colours = _series_colours(parties, rows)
    width = 0.8 / len(parties)
    for i, p in enumerate(parties):
        xs = [c + (i - (len(parties) - 1) / 2) * width for c in range(len(categories))]
        ys = [values.get((cat, p)) or 0.0 for cat in categories]
        # Bars stand on the axis floor, which need not be zero (``_fit`` says so).
        ax.bar(xs, ys, width=width, color=colours[p], label=p)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(
        [_clip(c, 28) for c in categories],
        rotation=20 if len(categories) > 3 else 0,
        ha="right" if len(categories) > 3 else "center",
        fontsize=7,
    )
    ax.set_title(
        _clip(
            _measure_title(d, measure)
            + (" by " + ", ".join(d["dimensions"]) if d["dimensions"] else ""),
            90,
        )
    )
    shown_values = [v for v in values.values() if v is not None]
    _fit(ax, shown_values, which="y", rate=_is_rate(measure), title=_measure_title(d, measure))
    _legend(ax, len(parties))
    ax.grid(axis="y", alpha=0.3)
    return True


def _distribution(ax: Axes, d: dict[str, Any], rows: list[Row], measures: list[str]) -> bool:
    """Range bars from best (or zero) to worst, with the median (bar) and mean (diamond)."""

    def pick(prefix: str) -> str | None:
        return next((m for m in measures if m.startswith(prefix)), None)

    best, worst, median, mean = pick("best_"), pick("worst_"), pick("median_"), pick("mean_")
    items = [r for r in rows if r["series"] in ("own", "industry")][: MAX_CATEGORIES * 2]
    if not items:
        return False
    colours = _series_colours(_parties(items), items)
    labels = []
    for y, r in enumerate(items):
        low = _num(r.get(best)) if best else 0.0
        high = _num(r.get(worst or ""))
        if low is None or high is None:
            continue
        ax.barh(y, high - low, left=low, height=0.6, color=colours[r["party"]], alpha=0.35)
        med = _num(r.get(median or ""))
        if med is not None:
            ax.plot([med, med], [y - 0.3, y + 0.3], color=colours[r["party"]], linewidth=2)
        avg = _num(r.get(mean or ""))
        if avg is not None:
            ax.plot([avg], [y], marker="D", markersize=4, color="black")
        labels.append((y, f"{r['party']}: {_category(r, d)}"))
    ax.set_yticks([y for y, _ in labels])
    ax.set_yticklabels([_clip(text, 40) for _, text in labels], fontsize=6.5)
    ax.set_position(HORIZONTAL)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    unit = "ms" if (worst or "").endswith("_ms") else ""
    ax.set_xlabel(f"{unit}: bar from {'best' if best else '0'} to worst; | median; diamond mean")
    ax.set_title(
        "Distribution: " + ", ".join(_measure_title(d, m) for m in (best, median, mean, worst) if m)
    )
    ax.grid(axis="x", alpha=0.3)
    return True


def _league(ax: Axes, d: dict[str, Any], rows: list[Row], measures: list[str]) -> bool:
    ranked = [r for r in rows if _num(r.get("position")) is not None]
    if not ranked:
        return _bars(ax, d, rows, measures)
    by_process: dict[str, list[Row]] = defaultdict(list)
    for r in ranked:
        by_process[_category(r, d)].append(r)
    labels: list[str] = []
    rates: list[float | None] = []
    y = 0
    for process in list(by_process)[:4]:
        group = sorted(by_process[process], key=lambda r: (_num(r["position"]) or 0, r["party"]))
        for r in group[:MAX_SERIES]:
            own = r["series"] == "own"
            rates.append(_num(r["success_rate"]))
            ax.barh(
                y,
                _num(r["success_rate"]) or 0.0,
                color=OWN_COLOUR if own else "#bbbbbb",
                height=0.7,
            )
            labels.append(f"{process}  #{r['position']}  {r['party']}")
            y += 1
        y += 1
        labels.append("")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=6.5)
    ax.set_position(HORIZONTAL)
    ax.invert_yaxis()
    _fit(ax, rates, which="x", rate=True, title="Success rate")
    ax.set_title("Success rate by position in the role (you in blue)")
    ax.grid(axis="x", alpha=0.3)
    return True


# ---- tables and text ---------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(value: str, measure: bool) -> str:
    v = _num(value)
    if not measure or v is None:
        return value
    return f"{v:,.4f}".rstrip("0").rstrip(".") if "." in value else f"{int(v):,}"


def _table(fig: Figure, d: dict[str, Any], rows: list[Row], top: float, *, total: int) -> None:
    columns = [c for c in rows[0] if c not in ("month", "series", "role")]
    shown = rows[:TABLE_ROWS]
    measures = {m["name"] for m in d["measures"]}
    cells = [[_clip(_cell(r.get(c) or "", c in measures), 24) for c in columns] for r in shown]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    # Keep the columns that fit the page at the smallest readable size; the CSV has the rest.
    fits = len(columns)
    while fits > 1 and sum(widths[:fits]) + 2 * fits > TABLE_CHARS_AT_SMALLEST:
        fits -= 1
    omitted = columns[fits:]
    columns, widths = columns[:fits], widths[:fits]
    cells = [row[:fits] for row in cells]
    line_width = sum(widths) + 2 * len(widths)
    size = max(SMALLEST, min(7.5, 7.5 * 118 / max(line_width, 1)))

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if _num(v.replace(",", "")) is not None else v.ljust(w)
            for v, w in zip(values, widths, strict=True)
        )

    fig.text(0.08, top, f"Rows ({total})", fontsize=9, weight="bold")
    text = "\n".join([line(columns), "-" * min(line_width, 220), *(line(c) for c in cells)])
    fig.text(0.08, top - 0.012, text, fontsize=size, family="monospace", va="top")
    if omitted:
        fig.text(
            0.08,
            0.065,
            _clip(f"Not shown here (in {d['id']}.csv): {', '.join(omitted)}", 150),
            fontsize=7,
            color="#555555",
        )
    if total > TABLE_ROWS:
        fig.text(
            0.08,
            0.05,
            f"… and {total - TABLE_ROWS} more rows in {d['id']}.csv",
            fontsize=7.5,
            color="#555555",
        )


def _methodology_chunks(
    manifest: dict[str, Any], definitions: list[dict[str, Any]], file_of: dict[str, Any]
) -> Iterator[list[tuple[dict[str, Any], dict[str, Any]]]]:
    pairs = [(d, file_of[f"{d['id']}@v{d['version']}"]) for d in definitions]
    per_page = 11
    for i in range(0, len(pairs), per_page):
        yield pairs[i : i + per_page]


def _methodology_page(
    fig: Figure, manifest: dict[str, Any], chunk: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    fig.text(0.08, 0.94, "Methodology", fontsize=16, weight="bold")
    intro = (
        f"Definitions and versions used for this report, each with the CSV file it produced, "
        f"its row count and SHA-256. Content hash of the run (SHA-256 over the files): "
        f"{manifest['content_hash']}. Peer labels: {manifest['peer_labels']}. Peers are broken "
        f"out only when the role has at least {manifest['min_cohort']} parties."
    )
    fig.text(0.08, 0.925, textwrap.fill(intro, 110), fontsize=7.5, va="top")
    y = 0.86
    for d, f in chunk:
        fig.text(
            0.08,
            y,
            f"{d['id']}  version {d['version']}",
            fontsize=8.5,
            weight="bold",
        )
        y -= 0.016
        detail = (
            f"{d['title']}. Grain: {d['grain']}; disclosure: {d['disclosure']}; dimensions: "
            f"{', '.join(d['dimensions']) or 'none'}; measures: "
            f"{', '.join(m['name'] for m in d['measures']) or 'none (data file)'}."
        )
        wrapped = textwrap.fill(detail, 125)
        fig.text(0.10, y, wrapped, fontsize=6.8, va="top")
        y -= 0.0115 * (wrapped.count("\n") + 1)
        fig.text(
            0.10,
            y,
            f"{f['path']}  rows {f['rows']}  sha256 {f['sha256']}",
            fontsize=6.3,
            family="monospace",
            va="top",
            color="#333333",
        )
        y -= 0.022
    fig.text(
        0.08,
        max(y - 0.01, 0.05),
        f"Content hash: {manifest['content_hash']}",
        fontsize=8,
        weight="bold",
    )
