"""Signed webhooks of the Partner API: endpoints, events written with each change, delivery.

The public interface (the portal's pages and the API's `/webhooks` router use these):
`EVENT_TYPES`, `create_endpoint`, `delete_endpoint`, `enable_endpoint`, `send_test_event`,
`may_manage_webhooks`. Import it once the app registry is ready (it imports models).
"""

from api.webhooks.endpoints import (
    create_endpoint,
    delete_endpoint,
    enable_endpoint,
    may_manage_webhooks,
    send_test_event,
)
from api.webhooks.events import EVENT_TYPE_CODES, EVENT_TYPES, TEST_EVENT

__all__ = [
    "EVENT_TYPES",
    "EVENT_TYPE_CODES",
    "TEST_EVENT",
    "create_endpoint",
    "delete_endpoint",
    "enable_endpoint",
    "may_manage_webhooks",
    "send_test_event",
]
