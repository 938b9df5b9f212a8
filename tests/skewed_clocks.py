"""Clocks of app instances set wrong (a host whose NTP is broken), for the tests that leases and
claims follow the database's clock (issue #26): patch a module's ``datetime`` with one of these."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest


class AnHourAhead(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(hours=1)


class AnHourBehind(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) - timedelta(hours=1)


# (the holder's clock, the other instance's clock): either way round, the holder keeps what it holds
HOLDER_AND_OTHER_CLOCKS = pytest.mark.parametrize(
    "holder_clock, other_clock",
    [(datetime, AnHourAhead), (AnHourBehind, datetime)],
    ids=["the-other-instance-an-hour-ahead", "the-holder-an-hour-behind"],
)
