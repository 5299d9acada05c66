from celery import shared_task

from claims.models import Claim
from claims.workflow import sweep_due
from consent import signin


@shared_task(ignore_result=True)
def close_consent_windows() -> int:
    """Approved claims whose 7-day opt-out window has ended become associated (sent for assessment)."""
    return sweep_due(
        action="close_consent_window",
        status=Claim.Status.APPROVED,
        deadline_field="consent_window_ends_at",
    )


@shared_task(ignore_result=True)
def send_sign_in_link(link_id: int) -> bool:
    """A customer asked for a sign-in link: check the domain, and queue the mail for a verified one."""
    return signin.send_link(link_id)


@shared_task(ignore_result=True)
def send_requested_sign_in_links() -> int:
    """Check the sign-in requests whose task the broker did not take (an outage delays, loses nothing)."""
    return signin.send_requested_links()


@shared_task(ignore_result=True)
def purge_sign_in_links() -> int:
    """Delete sign-in link rows some days past expiry, and the rows of unknown domains."""
    return signin.purge_links()
