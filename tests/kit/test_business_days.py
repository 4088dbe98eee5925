"""Business days against dates people in the GB industry know."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meterhub.kit.business_days import (
    add_business_days,
    bank_holiday,
    business_days_between,
    deadline_after,
    is_business_day,
)


class TestBankHolidays:
    def test_the_coronation_was_a_bank_holiday(self) -> None:
        assert bank_holiday(date(2023, 5, 8))
        assert not is_business_day(date(2023, 5, 8))

    @pytest.mark.parametrize(
        "easter_monday", [date(2023, 4, 10), date(2024, 4, 1), date(2025, 4, 21), date(2026, 4, 6)]
    )
    def test_easter_monday_and_good_friday(self, easter_monday: date) -> None:
        assert bank_holiday(easter_monday)
        assert bank_holiday(date.fromordinal(easter_monday.toordinal() - 3))  # Good Friday

    def test_scottish_holidays_are_working_days_in_england(self) -> None:
        assert is_business_day(date(2024, 1, 2))  # 2 January: Scotland only
        assert is_business_day(date(2023, 11, 30))  # St Andrew's Day (a Thursday)

    def test_weekends_are_not_business_days(self) -> None:
        assert not is_business_day(date(2024, 6, 1))  # Saturday
        assert is_business_day(date(2024, 6, 3))


class TestCounting:
    def test_a_window_over_the_coronation_weekend(self) -> None:
        # Friday 5 May 2023 + 1 business day: Monday the 8th was the Coronation.
        assert add_business_days(date(2023, 5, 5), 1) == date(2023, 5, 9)

    def test_a_window_spanning_christmas_and_new_year(self) -> None:
        # Friday 22 Dec 2023: 25, 26 Dec and 1 Jan are holidays, plus two weekends, so the
        # working days after it are 27, 28, 29 Dec, 2 and 3 Jan.
        assert add_business_days(date(2023, 12, 22), 5) == date(2024, 1, 3)
        assert add_business_days(date(2023, 12, 22), 4) == date(2024, 1, 2)
        assert business_days_between(date(2023, 12, 22), date(2024, 1, 3)) == 5

    def test_substitute_day_when_christmas_falls_at_a_weekend(self) -> None:
        # 2022: Christmas on a Sunday, Boxing Day Monday, the substitute day Tuesday the 27th.
        assert bank_holiday(date(2022, 12, 27))
        assert add_business_days(date(2022, 12, 23), 1) == date(2022, 12, 28)

    def test_zero_days_is_the_next_business_day(self) -> None:
        assert add_business_days(date(2024, 4, 1), 0) == date(2024, 4, 2)  # Easter Monday
        assert add_business_days(date(2024, 4, 3), 0) == date(2024, 4, 3)


class TestDeadlines:
    def test_closes_at_midnight_uk_time_in_summer(self) -> None:
        # Submitted Friday 5 May 2023, window 1: the end of Tuesday the 9th, BST (UTC+1).
        due = deadline_after(datetime(2023, 5, 5, 15, 0, tzinfo=UTC), 1)
        assert due == datetime(2023, 5, 9, 23, 0, tzinfo=UTC)

    def test_late_evening_utc_is_already_the_next_uk_day_in_summer(self) -> None:
        # 23:30 UTC on Thursday 4 May is 00:30 on Friday the 5th in London.
        due = deadline_after(datetime(2023, 5, 4, 23, 30, tzinfo=UTC), 1)
        assert due == datetime(2023, 5, 9, 23, 0, tzinfo=UTC)

    def test_in_winter_the_uk_day_ends_at_midnight_utc(self) -> None:
        due = deadline_after(datetime(2023, 12, 22, 10, 0, tzinfo=UTC), 5)
        assert due == datetime(2024, 1, 4, 0, 0, tzinfo=UTC)  # the end of Wednesday 3 January
