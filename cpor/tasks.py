from celery import shared_task

from cpor import outbox


@shared_task(ignore_result=True)
def deliver_email(email_id: int) -> bool:
    return outbox.deliver(email_id)


@shared_task(ignore_result=True)
def redeliver_pending_email() -> int:
    return outbox.redeliver_pending()
