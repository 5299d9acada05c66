from celery import shared_task
from django.conf import settings
from django.utils import timezone

from earnings.ledger import add_months, assess_month, month_of


@shared_task(ignore_result=True)
def assess_previous_month() -> int:
    """Write the earning lines of the month before this one (idempotent: a later day's run writes
    only what is still missing, such as an association assessed late); returns lines written.

    It waits until more than `CPOR_EARNINGS_USAGE_DAYS` days of this month have passed, so that the
    usage feed has reported the month before: a line once written is never recomputed."""
    now = timezone.now()
    if timezone.localtime(now, timezone.get_default_timezone()).day <= settings.CPOR_EARNINGS_USAGE_DAYS:
        return 0
    return assess_month(add_months(month_of(now), -1), now=now).written
