from celery import shared_task
from django.utils import timezone

from earnings.ledger import add_months, assess_month, month_of


@shared_task(ignore_result=True)
def assess_previous_month() -> int:
    """Write the earning lines of the month before this one (idempotent: a later day's run writes
    only what is still missing, such as an association assessed late); returns lines written."""
    now = timezone.now()
    return assess_month(add_months(month_of(now), -1), now=now).written
