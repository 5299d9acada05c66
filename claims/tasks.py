from celery import shared_task

from claims.models import Claim
from claims.workflow import sweep_due


@shared_task(ignore_result=True)
def expire_partner_action_claims() -> int:
    """Reject claims left in "Partner action required" past their 5-business-day deadline."""
    return sweep_due(
        action="expire",
        status=Claim.Status.PARTNER_ACTION_REQUIRED,
        deadline_field="partner_response_due_at",
    )
