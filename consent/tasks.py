from celery import shared_task

from claims.models import Claim
from claims.workflow import sweep_due


@shared_task(ignore_result=True)
def close_consent_windows() -> int:
    """Approved claims whose 7-day opt-out window has ended become associated (sent for assessment)."""
    return sweep_due(
        action="close_consent_window",
        status=Claim.Status.APPROVED,
        deadline_field="consent_window_ends_at",
    )
