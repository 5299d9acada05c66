"""`manage.py assess_earnings --month YYYY-MM`: write a month's earning lines by hand, as the daily
beat job `earnings.tasks.assess_previous_month` does for the month before.

Idempotent: associations that already have their line for the month are skipped, so running it
again, or beside the beat job, writes nothing twice. Refuses the current month and future ones.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from earnings.ledger import MonthNotEnded, assess_month

MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: str) -> dt.date:
    """`YYYY-MM` as the first day of that month; CommandError saying what is wrong otherwise."""
    found = MONTH.fullmatch(value.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        raise CommandError(f"--month must be a month as YYYY-MM (for example 2026-05), not {value!r}.")
    return dt.date(int(found[1]), int(found[2]), 1)


class Command(BaseCommand):
    help = "Write the earning lines of one month that has ended (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="the month to assess")

    def handle(self, *args: Any, **options: Any) -> None:
        month = parse_month(options["month"])
        if month >= dt.date(9999, 12, 1):  # no month follows it in the calendar: it never ends
            raise CommandError(f"{month:%Y-%m} has not ended yet.")
        try:
            result = assess_month(month)
        except MonthNotEnded as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{month:%Y-%m}: wrote {result.written} earning line{'s' if result.written != 1 else ''}."
            )
        )
        totals = "; ".join(f"{currency} {amount:,.2f}" for currency, amount in result.month_totals.items())
        self.stdout.write(
            f"{month:%Y-%m} now holds {result.month_lines} earning line"
            f"{'s' if result.month_lines != 1 else ''} (before any reversal)"
            + (f", per currency: {totals}." if totals else ".")
        )
