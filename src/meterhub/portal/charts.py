"""Small charts drawn on the server as inline SVG: the report pages need no JavaScript, and the
portal's Content Security Policy allows no inline styles, so everything is drawn with SVG
presentation attributes. Each chart has a ``<title>`` and ``<desc>`` for screen readers, and the
numbers are always in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

OWN_COLOUR = "#1d4ed8"
INDUSTRY_COLOUR = "#9ca3af"
PEER_COLOUR = "#d1d5db"
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


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


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="#374151">{escape(text)}</text>'
    )


def _axis(top: float, bottom: float, maximum: float, unit: str) -> list[str]:
    out = []
    for i in range(5):
        value = maximum * i / 4
        y = bottom - (bottom - top) * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb" stroke-width="1"/>'
        )
        out.append(_text(LEFT - 4, y + 4, f"{value:.0f}{unit}", anchor="end", size=10))
    return out


def _legend(items: Sequence[tuple[str, str]], y: float) -> list[str]:
    out, x = [], float(LEFT)
    for name, colour in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y, name))
        x += 24 + 7 * len(name)
    return out


def line_chart(
    title: str, labels: Sequence[str], lines: Sequence[Line], *, maximum: float = 100.0
) -> Markup:
    """Lines over the x labels (days), y from 0 to ``maximum`` (a percentage by default)."""
    top, bottom = TOP, HEIGHT - BOTTOM
    body = _axis(top, bottom, maximum, "%")
    n = max(len(labels), 1)
    step = (WIDTH - LEFT - RIGHT) / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, bottom - (bottom - top) * min(max(v, 0.0), maximum) / maximum

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
    if labels:
        body.append(_text(LEFT, bottom + 14, labels[0], size=10))
        if len(labels) > 1:
            body.append(_text(WIDTH - RIGHT, bottom + 14, labels[-1], anchor="end", size=10))
    body += _legend([(line.name, line.colour) for line in lines], HEIGHT - 6)
    desc = "; ".join(
        f"{line.name}: " + ", ".join("-" if v is None else f"{v:.1f}" for v in line.points)
        for line in lines
    )
    return _frame(title, desc, body)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str


def bar_chart(
    title: str, bars: Sequence[Bar], *, maximum: float = 100.0, unit: str = "%"
) -> Markup:
    """Horizontal bars, one per label (own, industry, peers)."""
    row = 22
    height = TOP + row * max(len(bars), 1) + 8
    label_width = 120
    span = WIDTH - label_width - RIGHT - 50
    body: list[str] = []
    for i, bar in enumerate(bars):
        y = TOP + i * row
        width = span * min(max(bar.value, 0.0), maximum) / maximum if maximum else 0
        body.append(_text(label_width - 6, y + 14, bar.label, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{bar.colour}"/>'
        )
        body.append(_text(label_width + width + 4, y + 14, f"{bar.value:.1f}{unit}"))
    desc = "; ".join(f"{b.label}: {b.value:.1f}{unit}" for b in bars)
    return _frame(title, desc, body, height=height)


def histogram_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]]
) -> Markup:
    """Side-by-side bars per bucket: ``series`` is (name, colour, share per bucket in %)."""
    top, bottom = TOP, HEIGHT - BOTTOM
    maximum = max([v for _, _, values in series for v in values] + [1.0])
    maximum = min(100.0, (int(maximum / 10) + 1) * 10.0)
    body = _axis(top, bottom, maximum, "%")
    n = max(len(labels), 1)
    slot = (WIDTH - LEFT - RIGHT) / n
    width = max(slot / max(len(series), 1) - 1, 1)
    for k, (_, colour, values) in enumerate(series):
        for i, v in enumerate(values):
            h = (bottom - top) * min(v, maximum) / maximum
            x = LEFT + i * slot + k * width
            body.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{colour}"/>'
            )
    if labels:
        body.append(_text(LEFT, bottom + 14, labels[0], size=10))
        body.append(_text(WIDTH - RIGHT, bottom + 14, labels[-1], anchor="end", size=10))
    body += _legend([(name, colour) for name, colour, _ in series], HEIGHT - 6)
    desc = "; ".join(
        f"{name}: "
        + ", ".join(f"{label} {v:.1f}%" for label, v in zip(labels, values, strict=True))
        for name, _, values in series
    )
    return _frame(title, desc, body)
