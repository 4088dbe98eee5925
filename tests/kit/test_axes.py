"""Chart axes fit their data: success rates of 95 to 97% get an axis over that band, not 0 to
100%, with ticks at numbers a reader counts in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterhub.kit.axes import label_every, nice_axis, nice_step


class TestNiceAxis:
    def test_a_narrow_band_of_rates_is_not_flattened(self) -> None:
        axis = nice_axis([95.2, 96.4, 97.1], ceiling=100)
        assert (axis.low, axis.high, axis.step) == (95.0, 97.5, 0.5)
        assert [axis.label(t, "%") for t in axis.ticks] == [
            "95.0%",
            "95.5%",
            "96.0%",
            "96.5%",
            "97.0%",
            "97.5%",
        ]
        assert not axis.from_zero

    def test_rates_as_fractions(self) -> None:
        axis = nice_axis([0.95, 0.97, 0.99], ceiling=1.0)
        assert (axis.low, axis.high) == (0.94, 0.99)
        assert axis.ticks == [0.94, 0.95, 0.96, 0.97, 0.98, 0.99]

    def test_values_near_zero_start_at_zero(self) -> None:
        axis = nice_axis([3.5, 12.0, 40.2], ceiling=100)
        assert (axis.low, axis.high, axis.step) == (0.0, 50.0, 10.0)
        assert axis.from_zero

    def test_a_wide_spread_runs_from_zero(self) -> None:
        assert nice_axis([40.0, 97.0], ceiling=100).ticks == [0, 25, 50, 75, 100]

    def test_never_above_the_ceiling(self) -> None:
        axis = nice_axis([98.0, 99.99], ceiling=100)
        assert axis.high == 100.0 and axis.low == 97.5

    def test_no_values_and_one_value(self) -> None:
        assert nice_axis([None, None], ceiling=100).ticks == [0, 25, 50, 75, 100]
        single = nice_axis([100.0, 100.0], ceiling=100)
        assert single.low < 100.0 == single.high

    @given(
        st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=40)
    )
    def test_every_value_is_on_the_axis_at_nice_ticks(self, values: list[float]) -> None:
        axis = nice_axis(values, ceiling=100)
        assert axis.low <= min(values) and max(values) <= axis.high <= 100
        assert 2 <= len(axis.ticks) <= 7
        assert axis.step == nice_step(axis.step)
        labels = [axis.label(t) for t in axis.ticks]
        assert len(set(labels)) == len(labels)


class TestNiceStep:
    @pytest.mark.parametrize(
        ("raw", "step"), [(0.47, 0.5), (1.9, 2.0), (10.05, 10.0), (0.011, 0.01), (23, 25)]
    )
    def test_nearest_nice_step(self, raw: float, step: float) -> None:
        assert nice_step(raw) == pytest.approx(step)


class TestLabelEvery:
    @pytest.mark.parametrize(
        ("count", "every"), [(5, 1), (12, 1), (13, 2), (30, 3), (31, 3), (60, 5), (366, 35)]
    )
    def test_enough_labels_and_never_too_many(self, count: int, every: int) -> None:
        assert label_every(count, most=12) == every
        assert -(-count // every) <= 12
