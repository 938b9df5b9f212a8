"""Working days: weekends and Indonesian national holidays excluded.

Holidays come from the maintained ``holidays`` package (it knows Indonesia's fixed and
lunar-calendar holidays for every year), not from a hand-typed list.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year).keys())


def warm(today: date | None = None) -> None:
    """Load this year's and next year's holidays now: the first call imports the ``holidays`` package
    (every country's module, ~0.1-0.2 s with the GIL held), which must not happen during a citizen's turn."""
    year = (today or date.today()).year
    _holidays_of(year)
    _holidays_of(year + 1)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
