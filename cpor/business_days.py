"""The business calendar: weekends and the public holidays of CPOR_HOLIDAY_COUNTRY.

Deadlines such as "+5 business days" keep the wall-clock time in TIME_ZONE. A start on a
non-business day counts from the next business day at the same wall-clock time, so a claim
submitted on Saturday 10:00 is due the following week's Monday + 5 business days, 10:00.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=8)
def _calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _calendar(settings.CPOR_HOLIDAY_COUNTRY)


def add_business_days(moment: dt.datetime, days: int) -> dt.datetime:
    """Return the aware UTC moment `days` business days after `moment`, same local wall-clock time.

    A wall-clock time that does not exist on the due date (the spring DST gap) moves forward by
    the gap (02:30 becomes 03:30); an ambiguous one (the autumn repeat) takes its first occurrence.
    """
    if timezone.is_naive(moment):
        raise ValueError("add_business_days needs an aware datetime")
    if days < 0:
        raise ValueError("add_business_days counts forward only")
    zone = timezone.get_default_timezone()
    # Through UTC: astimezone() to the moment's own zone is a no-op that would keep a wall-clock
    # time which never happened (02:30 on spring-forward day) instead of the real one (03:30).
    local = moment.astimezone(dt.UTC).astimezone(zone)
    day = local.date()
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    remaining = days
    while remaining:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    due_local = dt.datetime.combine(day, local.time().replace(fold=0), tzinfo=zone)
    return due_local.astimezone(dt.UTC)
