"""Working days (bot/workdays.py): weekends and Indonesian national holidays excluded."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from bot.workdays import add_working_days, is_working_day

ID_HOLIDAYS = holidays.country_holidays("ID", years=range(2025, 2028))


def days_of(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


# --- is_working_day ------------------------------------------------------------------------


def test_weekends_are_not_working_days():
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday
    assert is_working_day(date(2026, 3, 9))  # Monday, no holiday


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (date(2026, 8, 17), 0),  # Hari Kemerdekaan, a Monday
        (date(2026, 12, 25), 4),  # Natal, a Friday
        (date(2026, 1, 1), 3),  # Tahun Baru, a Thursday
        (date(2026, 5, 1), 4),  # Hari Buruh, a Friday
        (date(2026, 6, 1), 0),  # Hari Lahir Pancasila, a Monday
    ],
)
def test_fixed_national_holidays_on_weekdays_are_not_working_days(day, weekday):
    assert day.weekday() == weekday  # a weekday: only the holiday rule can exclude it
    assert day in ID_HOLIDAYS
    assert not is_working_day(day)


def test_the_day_after_independence_day_is_a_working_day():
    assert is_working_day(date(2026, 8, 18))


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_every_day_agrees_with_the_holidays_package(year):
    for day in days_of(year):
        expected = day.weekday() < 5 and day not in ID_HOLIDAYS
        assert is_working_day(day) is expected, (day, ID_HOLIDAYS.get(day))


def test_weekday_holidays_of_2026_from_the_package_are_all_excluded():
    weekday_holidays = [day for day in holidays.country_holidays("ID", years=2026) if day.weekday() < 5]
    assert len(weekday_holidays) >= 10  # Isra Mi'raj, Nyepi, Idul Adha, Maulid, ... not just fixed dates
    assert not any(is_working_day(day) for day in weekday_holidays)


# --- add_working_days ----------------------------------------------------------------------


def test_zero_working_days_is_the_start_itself():
    assert add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 7)


def test_friday_plus_one_is_the_next_monday_when_it_is_no_holiday():
    friday = date(2026, 3, 6)
    monday = date(2026, 3, 9)
    assert friday.weekday() == 4 and monday not in ID_HOLIDAYS
    assert add_working_days(friday, 1) == monday


def test_weekend_start_counts_from_the_next_working_day():
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday
    assert add_working_days(date(2026, 3, 8), 1) == date(2026, 3, 9)  # Sunday -> Monday


def test_friday_before_independence_day_plus_one_skips_the_holiday_monday():
    assert add_working_days(date(2026, 8, 14), 1) == date(2026, 8, 18)


def test_three_working_days_over_17_august():
    # Thursday 13 Aug: Fri 14, (weekend, Mon 17 holiday), Tue 18, Wed 19
    assert add_working_days(date(2026, 8, 13), 3) == date(2026, 8, 19)


def test_over_christmas_and_new_year():
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)  # Fri 25 Dec is Christmas
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)  # Fri 1 Jan 2027 is New Year


def test_add_working_days_lands_on_a_working_day_after_exactly_n_working_days():
    start = date(2026, 1, 1)
    for offset in range(0, 365, 3):
        begin = start + timedelta(days=offset)
        for n in (1, 3, 5, 14):
            end = add_working_days(begin, n)
            assert is_working_day(end), (begin, n, end)
            between = [begin + timedelta(days=k) for k in range(1, (end - begin).days + 1)]
            assert sum(1 for day in between if is_working_day(day)) == n, (begin, n, end)
