"""Chart axes that fit their data: a value axis with ticks at nice numbers, and which of many
category or date labels to print.

Success rates in this industry live between 95 and 99.9%: an axis from 0 to 100% draws every
party as the same full bar and flattens the band that matters. So an axis starts at zero only
when the data come near it (its lowest value is no more than the data's own spread above zero);
otherwise it starts at a nice number just below the data, and the chart says so. The portal's
SVG charts and the PDFs' matplotlib charts take their axes from here, so both read the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Step sizes (times a power of ten) a reader counts in without effort.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Axis:
    """A value axis from ``low`` to ``high`` with a tick every ``step``."""

    low: float
    high: float
    step: float

    @property
    def ticks(self) -> list[float]:
        n = round((self.high - self.low) / self.step)
        return [self._clean(self.low + i * self.step) for i in range(n + 1)]

    @property
    def from_zero(self) -> bool:
        return self.low == 0

    @property
    def decimals(self) -> int:
        """Decimals that tell every tick apart (0 for a step of 5, 1 for 0.5, 2 for 0.25)."""
        for d in range(0, 7):
            if abs(round(self.step, d) - self.step) < 1e-9 * max(1.0, abs(self.step)):
                return d
        return 6

    def label(self, value: float, unit: str = "") -> str:
        return f"{value:.{self.decimals}f}{unit}"

    def position(self, value: float) -> float:
        """Where ``value`` falls on the axis, 0 at ``low`` and 1 at ``high`` (clamped)."""
        if self.high == self.low:
            return 0.0
        return min(max((value - self.low) / (self.high - self.low), 0.0), 1.0)

    def _clean(self, v: float) -> float:
        return round(v, self.decimals + 2)


def nice_step(raw: float, *, at_least: bool = False) -> float:
    """The nice step (1, 2, 2.5 or 5 times a power of ten) nearest ``raw``, or with
    ``at_least`` the smallest not below it."""
    if raw <= 0:
        return 1.0
    power = math.floor(math.log10(raw))
    steps = [float(f"{s}e{power}") for s in NICE_STEPS]  # exact decimals: 0.01, not 0.0099..
    if at_least:
        return next(s for s in steps if s >= raw * (1 - 1e-9))
    return min(steps, key=lambda s: abs(math.log(s / raw)))


def nice_axis(
    values: Sequence[float | None],
    *,
    ceiling: float | None = None,
    floor: float | None = 0.0,
    ticks: int = 5,
    least_step: float = 1e-6,
) -> Axis:
    """An axis fitting ``values`` (``None`` ignored) with about ``ticks`` ticks, never above
    ``ceiling`` (100% for a percentage) nor below ``floor``. It starts at zero when the lowest
    value is within the data's spread of zero, else just below the lowest value. Ticks are
    never closer than ``least_step`` (the finest difference worth a tick: 0.01 for a
    percentage shown to two decimals)."""
    shown = [v for v in values if v is not None and math.isfinite(v)]
    if not shown:
        top = ceiling if ceiling is not None else 1.0
        return Axis(0.0, top, nice_step(top / (ticks - 1)))
    low, high = min(shown), max(shown)
    if floor is not None and low >= floor and low - floor <= high - low:
        low = floor
    else:  # a margin under the lowest value, so it does not sit on the axis
        spread = high - low or abs(high) * 0.02 or 1.0
        low -= spread * 0.1
        if floor is not None:
            low = max(low, floor)
    spread = high - low
    if spread == 0:
        spread = 1.0
        high = low + spread
    step = max(nice_step(spread / (ticks - 1)), nice_step(least_step, at_least=True))
    while True:
        digits = max(0, 3 - math.floor(math.log10(step)))
        start = round(math.floor(low / step + 1e-9) * step, digits)
        end = round(math.ceil(high / step - 1e-9) * step, digits)
        if end == start:
            end = start + step
        if ceiling is not None and end > ceiling:
            end = ceiling
            start = min(start, ceiling - step)
        if floor is not None and start < floor:
            start = floor
        if (end - start) / step <= ticks + 1:
            break
        step = nice_step(step * 1.01, at_least=True)
    return Axis(float(start), float(end), step)


def label_every(count: int, *, most: int) -> int:
    """Label every n-th of ``count`` evenly spaced labels so at most ``most`` are printed
    (n from 1, 2, 3, 5, 7, 10, 14, then multiples of 7)."""
    if count <= most:
        return 1
    for n in (2, 3, 5, 7, 10, 14):
        if math.ceil(count / n) <= most:
            return n
    return 7 * math.ceil(count / (7 * most))
