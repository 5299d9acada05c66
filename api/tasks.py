from celery import shared_task

from api.webhooks import delivery


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> bool:
    return delivery.deliver(delivery_id)


@shared_task(ignore_result=True)
def redeliver_pending_webhooks() -> int:
    return delivery.redeliver_pending()
