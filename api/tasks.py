from celery import shared_task

from api import idempotency
from api.webhooks import delivery


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> bool:
    return delivery.deliver(delivery_id)


@shared_task(ignore_result=True)
def redeliver_pending_webhooks() -> int:
    return delivery.redeliver_pending()


@shared_task(ignore_result=True)
def purge_old_webhook_events() -> int:
    return delivery.purge_old_events()


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()
