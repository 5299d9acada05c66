from celery import shared_task

from claims.models import Claim
from claims.workflow import send_due_reminders, sweep_due, sweep_lapsed_subscriptions


@shared_task(ignore_result=True)
def expire_partner_action_claims() -> int:
    """Reject claims left in "Partner action required" past their 5-business-day deadline."""
    return sweep_due(
        action="expire",
        status=Claim.Status.PARTNER_ACTION_REQUIRED,
        deadline_field="partner_response_due_at",
    )


@shared_task(ignore_result=True)
def remind_partner_action_claims() -> int:
    """Email partners 2 business days before their information-request deadline (once per request)."""
    return send_due_reminders()


@shared_task(ignore_result=True)
def lapse_inactive_subscriptions() -> int:
    """End associations whose subscription has been out of active/grace longer than CPOR_LAPSE_DAYS."""
    return sweep_lapsed_subscriptions()
