"""GB business days, as the gas industry counts response windows: England and Wales working days.

A business day is a Monday to Friday that is not an England and Wales bank holiday. The holidays
come from the maintained ``holidays`` library for England (subdivision ``ENG``; Wales has the same
bank holidays), never from a list written here: one-off holidays (2023-05-08, the Coronation of
Charles III; 2022-09-19, the State Funeral) and substitute days arrive with the library. A
calendar for "GB" as a whole would be wrong both ways: Scotland's 2 January and St Andrew's Day
are not holidays in England, and Easter Monday is not one in Scotland.

Deadlines are instants: a window of N business days after a step ends at midnight (UK time, so
BST in summer) at the end of the Nth business day after the day the step happened. A contact
submitted on a Friday with a window of 1 is due by the end of Monday.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

#: The clock the GB industry's working days are counted on.
UK_TIME = ZoneInfo("Europe/London")


@functools.cache
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def bank_holiday(day: date) -> bool:
    """Is ``day`` an England and Wales bank holiday (including a substitute day)?"""
    return day in _bank_holidays(day.year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not bank_holiday(day)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself not counted; ``count`` 0:
    ``day`` if it is a business day, else the next one)."""
    if count < 0:
        raise ValueError("a window counts forwards")
    current = day
    if count == 0:
        while not is_business_day(current):
            current += timedelta(days=1)
        return current
    while count:
        current += timedelta(days=1)
        if is_business_day(current):
            count -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """How many business days lie after ``start`` up to and including ``end``."""
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_business_day(current):
            days += 1
    return days


def uk_day(at: datetime) -> date:
    """The calendar day in the UK at the instant ``at``."""
    return at.astimezone(UK_TIME).date()


def deadline_after(at: datetime, business_days: int) -> datetime:
    """When a window of ``business_days`` opened at ``at`` closes: the end (midnight UK time)
    of the ``business_days``-th business day after the UK day of ``at``, as UTC."""
    last = add_business_days(uk_day(at), business_days)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UK_TIME)
    return end.astimezone(UTC)
