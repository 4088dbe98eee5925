"""The report pages' SVG charts: the value axis fits the data and says where it does not start
at zero, the days are labelled often enough to read a month, and every axis is named."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markupsafe import Markup

from meterhub.portal.charts import (
    INDUSTRY_COLOUR,
    OWN_COLOUR,
    Bar,
    Line,
    bar_chart,
    duration_label,
    histogram_chart,
    line_chart,
)
from meterhub.reporting.cube import RTT_EDGES_MS

SVG = "{http://www.w3.org/2000/svg}"
JUNE = [f"2024-06-{d:02d}" for d in range(1, 31)]


def texts(chart: Markup) -> list[str]:
    root = ET.fromstring(str(chart))
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def percent_ticks(chart: Markup) -> list[float]:
    return [float(t[:-1]) for t in texts(chart) if re.fullmatch(r"\d+(\.\d+)?%", t)]


class TestDailyChart:
    def chart(self, own: list[float | None], industry: list[float | None]) -> Markup:
        return line_chart(
            "Daily success rate",
            JUNE,
            [Line("ESUP1", OWN_COLOUR, own), Line("Industry", INDUSTRY_COLOUR, industry)],
        )

    def test_a_95_to_97_percent_band_fills_the_axis(self) -> None:
        chart = self.chart([95.2 + (d % 3) * 0.6 for d in range(30)], [96.0] * 30)
        ticks = percent_ticks(chart)
        assert min(ticks) >= 94.0 and max(ticks) <= 98.0
        assert len(ticks) >= 4
        assert "Axis starts at 95.00%, not 0" in texts(chart)

    def test_a_month_has_a_date_label_every_few_days(self) -> None:
        labels = [t for t in texts(self.chart([96.0] * 30, [97.0] * 30)) if " Jun" in t]
        assert len(labels) >= 8
        assert labels[:3] == ["1 Jun", "4 Jun", "7 Jun"]

    def test_axes_are_named(self) -> None:
        shown = texts(self.chart([96.0] * 30, [97.0] * 30))
        assert "Success rate (%)" in shown and "Day (UTC, 2024)" in shown

    def test_rates_near_zero_start_at_zero_and_say_nothing(self) -> None:
        chart = self.chart([10.0, 80.0, *([None] * 28)], [50.0] * 30)
        assert percent_ticks(chart) == [0, 20, 40, 60, 80]
        assert not [t for t in texts(chart) if t.startswith("Axis starts")]


class TestPeerBars:
    def test_bars_for_rates_of_95_to_99_are_told_apart(self) -> None:
        chart = bar_chart(
            "Success rate",
            [Bar("ESUP1", 95.1, OWN_COLOUR), Bar("Industry", 97.0, INDUSTRY_COLOUR)]
            + [Bar(f"Supplier {i}", 96 + i, INDUSTRY_COLOUR) for i in range(4)],
        )
        root = ET.fromstring(str(chart))
        widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
        # The shortest bar is less than half the longest: on a 0-100% axis it was 96%.
        assert min(widths) < max(widths) / 2
        assert "Axis starts at 94%, not 0" in texts(chart)
        assert "Success rate (%)" in texts(chart)


class TestRttHistogram:
    def test_buckets_are_labelled_at_each_doubling(self) -> None:
        edges = [0.0, *RTT_EDGES_MS[:24]]
        chart = histogram_chart(
            "RTT", edges, [("ESUP1", OWN_COLOUR, [100 / len(edges)] * len(edges))]
        )
        shown = texts(chart)
        assert [t for t in shown if t.endswith(" ms") or t.endswith(" s")] == [
            "100 ms",
            "200 ms",
            "400 ms",
            "800 ms",
            "1.6 s",
            "3.2 s",
        ]
        assert "Share of responses (%)" in shown
        assert any(t.startswith("RTT") for t in shown)
        assert min(percent_ticks(chart)) == 0

    def test_a_few_buckets_are_each_labelled(self) -> None:
        edges = list(RTT_EDGES_MS[10:16])
        chart = histogram_chart("RTT", edges, [("ESUP1", OWN_COLOUR, [10.0] * len(edges))])
        shown = [t for t in texts(chart) if t.endswith((" ms", " s"))]
        assert shown == [duration_label(e) for e in edges]
        assert shown[0] == "566 ms" and len(shown) == 6

    def test_durations_read_as_people_say_them(self) -> None:
        assert [duration_label(ms) for ms in (0, 141.4, 1414.2, 22627.4)] == [
            "0 ms",
            "141 ms",
            "1.4 s",
            "23 s",
        ]
