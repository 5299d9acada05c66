"""Every deadline counted and worded one way, beside the business calendar that sets them.

A deadline set in business days (`add_business_days`) counts its days left from the same first
business day that `add_business_days` starts from: on a Sunday, "+5 business days" starts on Monday,
so a claim submitted on Sunday reads "within 5 business days" on every page, in the CSV, in mail and
in the admin, in every language. Calendar-day windows (the customer's 7 days, the 30 days to dispute)
count calendar days between local dates.

Deadlines are named by their `Claim` column, so this module needs no import of an app (cpor/ imports
none): the words are keyed by what the deadline is, not by the claim's status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cpor.business_days import is_business_day

# Deadlines set by `add_business_days`; the others are calendar-day windows.
BUSINESS_DAY_DEADLINES = frozenset(
    {"review_start_due_at", "review_due_at", "partner_response_due_at", "dispute_response_due_at"}
)
CALENDAR_DAY_DEADLINES = frozenset({"consent_window_ends_at", "dispute_window_ends_at"})
DEADLINES = BUSINESS_DAY_DEADLINES | CALENDAR_DAY_DEADLINES


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    words: str
    overdue: bool
    business_days: bool
    # Business or calendar days left (0 on the last day; None once overdue).
    count: int | None


def first_business_day(moment: dt.datetime) -> dt.date:
    """The local date `add_business_days` counts from: the moment's own date, or the next business day."""
    day = timezone.localtime(moment).date()
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def business_days_left(now: dt.datetime, due: dt.datetime) -> int:
    """Business days from the first business day on or after `now` to `due`'s local date.

    The inverse of `add_business_days`: `business_days_left(t, add_business_days(t, n)) == n` for any
    moment t, weekday, weekend or holiday.
    """
    zone = timezone.get_default_timezone()
    return _business_days_after(
        first_business_day(now), due.astimezone(zone).date(), settings.CPOR_HOLIDAY_COUNTRY
    )


@lru_cache(maxsize=4096)
def _business_days_after(first: dt.date, last: dt.date, country: str) -> int:
    """Business days in (first, last]; remembered, since a page asks for the same few spans."""
    count, day = 0, first
    while day < last:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def calendar_days_left(now: dt.datetime, due: dt.datetime) -> int:
    zone = timezone.get_default_timezone()
    return (due.astimezone(zone).date() - now.astimezone(zone).date()).days


def describe_deadline(
    field_name: str | None, at: dt.datetime | None, now: dt.datetime | None = None
) -> Deadline | None:
    """The deadline `field_name` = `at` in words as seen at `now` ("3 business days left to respond")."""
    if at is None or field_name is None:
        return None
    if field_name not in DEADLINES:
        raise ValueError(f"{field_name!r} is not a deadline")
    now = now or timezone.now()
    business = field_name in BUSINESS_DAY_DEADLINES
    if at <= now:
        return Deadline(at, _overdue_words(field_name), True, business, None)
    if business:
        count = business_days_left(now, at)
        due_today = timezone.localtime(at).date() == timezone.localtime(now).date()
        if count == 0 and not due_today:
            # Today is a weekend or holiday and the deadline falls on the next business day.
            return Deadline(at, _next_business_day_words(field_name), False, True, 0)
    else:
        count = calendar_days_left(now, at)
    return Deadline(at, _words(field_name, count), False, business, count)


def _overdue_words(field_name: str) -> str:
    return {
        "partner_response_due_at": _("The time to respond has passed"),
        "consent_window_ends_at": _("Opt-out window closed"),
        "dispute_window_ends_at": _("Dispute window closed"),
    }.get(field_name) or _("Past due")


def _next_business_day_words(field_name: str) -> str:
    return {
        "review_start_due_at": _("Review should start on the next business day"),
        "review_due_at": _("Decision due on the next business day"),
        "partner_response_due_at": _("Respond by the next business day"),
        "dispute_response_due_at": _("Dispute answer due on the next business day"),
    }[field_name]


def _words(field_name: str, count: int) -> str:
    if count <= 0:
        return {
            "review_start_due_at": _("Review should start today"),
            "review_due_at": _("Decision due today"),
            "partner_response_due_at": _("Last day to respond"),
            "consent_window_ends_at": _("Customer opt-out window closes today"),
            "dispute_window_ends_at": _("Last day to dispute"),
            "dispute_response_due_at": _("Dispute answer due today"),
        }[field_name]
    if field_name == "review_start_due_at":
        text = ngettext(
            "Review should start within %(count)s business day",
            "Review should start within %(count)s business days",
            count,
        )
    elif field_name == "review_due_at":
        text = ngettext(
            "Decision due within %(count)s business day", "Decision due within %(count)s business days", count
        )
    elif field_name == "partner_response_due_at":
        text = ngettext(
            "%(count)s business day left to respond", "%(count)s business days left to respond", count
        )
    elif field_name == "consent_window_ends_at":
        text = ngettext(
            "Customer opt-out window closes in %(count)s day",
            "Customer opt-out window closes in %(count)s days",
            count,
        )
    elif field_name == "dispute_window_ends_at":
        text = ngettext("%(count)s day left to dispute", "%(count)s days left to dispute", count)
    else:
        text = ngettext(
            "Dispute answer due within %(count)s business day",
            "Dispute answer due within %(count)s business days",
            count,
        )
    return text % {"count": count}
