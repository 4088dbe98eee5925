"""Small charts drawn on the server as inline SVG: the report pages need no JavaScript, and the
portal's Content Security Policy allows no inline styles, so everything is drawn with SVG
presentation attributes. Each chart has a ``<title>`` and ``<desc>`` for screen readers, and the
numbers are always in a table beside it.

Every chart names its axes, and its value axis fits the data (``kit/axes.py``): success rates
of 95 to 99% get an axis from, say, 94 to 100%, not one from 0 that flattens them, and a chart
whose axis does not start at zero says so in words above the plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from meterhub.kit.axes import Axis, label_every, nice_axis

OWN_COLOUR = "#1d4ed8"
INDUSTRY_COLOUR = "#6b7280"
PEER_COLOUR = "#c7ccd4"
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 28, 62
GRID, INK = "#e5e7eb", "#374151"
#: Most x labels a chart prints (each about 40 px wide at the chart's size).
MOST_X_LABELS = 12


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: Sequence[float | None]  # one per x label; None leaves a gap


def _frame(title: str, desc: str, body: list[str], height: int = HEIGHT) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: int = 11,
    rotate: bool = False,
    weight: str = "normal",
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    bold = f' font-weight="{weight}"' if weight != "normal" else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{bold} '
        f'fill="{INK}"{turn}>{escape(text)}</text>'
    )


def axis_note(axis: Axis, unit: str) -> str:
    """What a reader must be told about an axis that does not start at zero."""
    if axis.from_zero:
        return ""
    return f"Axis starts at {axis.label(axis.low, unit)}, not 0"


def _value_axis(axis: Axis, unit: str, top: float, bottom: float, title: str) -> list[str]:
    """Horizontal grid lines and labels at the axis ticks, the axis title up the left side and,
    when the axis does not start at zero, a note saying so above the plot."""
    out = []
    for value in axis.ticks:
        y = bottom - (bottom - top) * axis.position(value)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(LEFT - 5, y + 4, axis.label(value, unit), anchor="end", size=10))
    out.append(_text(14, (top + bottom) / 2, title, anchor="middle", size=10, rotate=True))
    note = axis_note(axis, unit)
    if note:
        out.append(_text(LEFT, top - 10, note, size=10, weight="bold"))
        # A break mark on the axis line: the bars and lines do not start at zero.
        y = bottom - 6
        out.append(
            f'<path d="M{LEFT - 4} {y + 3} l4 -6 l4 6 l4 -6" fill="none" stroke="{INK}" '
            'stroke-width="1.2"/>'
        )
    return out


def _legend(items: Sequence[tuple[str, str]], y: float) -> list[str]:
    out, x = [], float(LEFT)
    for name, colour in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y, name))
        x += 24 + 7 * len(name)
    return out


def day_label(day: str, *, with_year: bool) -> str:
    """``2024-06-03`` as ``3 Jun`` (``3 Jun 2024`` where the year is not said elsewhere)."""
    d = date.fromisoformat(day)
    return f"{d.day} {d:%b}" + (f" {d.year}" if with_year else "")


def line_chart(
    title: str,
    days: Sequence[str],
    lines: Sequence[Line],
    *,
    unit: str = "%",
    ceiling: float | None = 100.0,
    value_title: str = "Success rate (%)",
) -> Markup:
    """Lines over the days (ISO dates), the value axis fitted to the points (a percentage by
    default, never above 100), a date label every day or every few days."""
    top, bottom = TOP, HEIGHT - BOTTOM
    axis = nice_axis([v for line in lines for v in line.points], ceiling=ceiling, least_step=0.01)
    body = _value_axis(axis, unit, top, bottom, value_title)
    n = max(len(days), 1)
    step = (WIDTH - LEFT - RIGHT) / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, bottom - (bottom - top) * axis.position(v)

    for line in lines:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(line.points):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = xy(i, v)
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{line.colour}"/>')
        if segment:
            segments.append(segment)
        for s in segments:
            if len(s) > 1:
                body.append(
                    f'<polyline points="{" ".join(s)}" fill="none" stroke="{line.colour}" '
                    'stroke-width="2"/>'
                )
    years = {d[:4] for d in days}
    every = label_every(len(days), most=MOST_X_LABELS)
    for i in range(0, len(days), every):
        x = LEFT + i * step
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="{INK}"/>'
        )
        anchor = "start" if n == 1 else "middle"
        body.append(_text(x, bottom + 16, day_label(days[i], with_year=False), anchor=anchor))
    year = ", ".join(sorted(years))
    body.append(
        _text(
            (LEFT + WIDTH - RIGHT) / 2,
            bottom + 32,
            f"Day (UTC{', ' + year if year else ''})",
            anchor="middle",
            size=10,
        )
    )
    body += _legend([(line.name, line.colour) for line in lines], HEIGHT - 8)
    desc = "; ".join(
        f"{line.name}: "
        + ", ".join(
            f"{d} {'-' if v is None else f'{v:.2f}{unit}'}"
            for d, v in zip(days, line.points, strict=True)
        )
        for line in lines
    )
    note = axis_note(axis, unit)
    return _frame(title, desc + (f". {note}." if note else ""), body)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    unit: str = "%",
    ceiling: float | None = 100.0,
    value_title: str = "Success rate (%)",
) -> Markup:
    """Horizontal bars, one per label (own, industry, peers), on an axis fitted to the values
    with its ticks along the bottom."""
    row = 22
    label_width = 130
    plot_top = TOP
    height = plot_top + row * max(len(bars), 1) + 44
    bottom = plot_top + row * max(len(bars), 1)
    right = WIDTH - RIGHT - 50
    span = right - label_width
    axis = nice_axis([b.value for b in bars], ceiling=ceiling, least_step=0.01)
    body: list[str] = []
    for value in axis.ticks:
        x = label_width + span * axis.position(value)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{plot_top}" y2="{bottom}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(x, bottom + 14, axis.label(value, unit), anchor="middle", size=10))
    body.append(
        _text((label_width + right) / 2, bottom + 32, value_title, anchor="middle", size=10)
    )
    note = axis_note(axis, unit)
    if note:
        body.append(_text(label_width, plot_top - 10, note, size=10, weight="bold"))
    for i, bar in enumerate(bars):
        y = plot_top + i * row
        width = span * axis.position(bar.value)
        body.append(_text(label_width - 6, y + 14, bar.label, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{bar.colour}"/>'
        )
        body.append(_text(label_width + width + 4, y + 14, f"{bar.value:.2f}{unit}"))
    desc = "; ".join(f"{b.label}: {b.value:.2f}{unit}" for b in bars)
    return _frame(title, desc + (f". {note}." if note else ""), body, height=height)


def duration_label(ms: float) -> str:
    """A bucket edge as a reader says it: ``141 ms``, ``1.4 s``, ``23 s``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def labelled_edges(edges_ms: Sequence[float], *, most: int) -> list[int]:
    """Which bucket edges to label, at most ``most``: every bucket if they fit, else every
    second (100, 141, 200 ms, ...), every doubling (100, 200, 400 ms, ...), or every second or
    fourth doubling; evenly spaced edges if these are not the cube's buckets."""
    quarters: list[tuple[int, int]] = []
    for i, e in enumerate(edges_ms):
        if e > 0:
            q = 4 * math.log2(e / 100)
            if abs(q - round(q)) < 1e-6:
                quarters.append((i, round(q)))
    if len(quarters) < len([e for e in edges_ms if e > 0]):
        return list(range(0, len(edges_ms), label_every(len(edges_ms), most=most)))
    for stride in (1, 2, 4, 8, 16, 32):
        chosen = [i for i, q in quarters if q % stride == 0]
        if len(chosen) <= most:
            return chosen
    return chosen


def histogram_chart(
    title: str,
    edges_ms: Sequence[float],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    value_title: str = "Share of responses (%)",
    bucket_title: str = "RTT (lower edge of each bucket; four buckets per doubling)",
) -> Markup:
    """Side-by-side bars per bucket: ``edges_ms`` the lower edge of each bucket, ``series``
    (name, colour, share per bucket in %). The share axis starts at zero (the bars are
    counts); edges are labelled every bucket or every few."""
    top, bottom = TOP, HEIGHT - BOTTOM
    axis = nice_axis(
        [0.0, *(v for _, _, values in series for v in values)], ceiling=100.0, least_step=0.01
    )
    body = _value_axis(axis, "%", top, bottom, value_title)
    n = max(len(edges_ms), 1)
    slot = (WIDTH - LEFT - RIGHT) / n
    width = max(slot / max(len(series), 1) - 1, 1)
    for k, (_, colour, values) in enumerate(series):
        for i, v in enumerate(values):
            h = (bottom - top) * axis.position(v)
            x = LEFT + i * slot + k * width
            body.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{colour}"/>'
            )
    for i in labelled_edges(edges_ms, most=MOST_X_LABELS - 2):
        x = LEFT + i * slot
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="{INK}"/>'
        )
        body.append(_text(x, bottom + 16, duration_label(edges_ms[i]), anchor="middle", size=10))
    body.append(
        _text((LEFT + WIDTH - RIGHT) / 2, bottom + 32, bucket_title, anchor="middle", size=10)
    )
    body += _legend([(name, colour) for name, colour, _ in series], HEIGHT - 8)
    desc = "; ".join(
        f"{name}: "
        + ", ".join(
            f"from {duration_label(e)} {v:.1f}%" for e, v in zip(edges_ms, values, strict=True)
        )
        for name, _, values in series
    )
    return _frame(title, desc, body)
