"""`manage.py reencrypt_webhook_secrets`: after putting a new key first in CPOR_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from api.webhooks.endpoints import reencrypt_secrets


class Command(BaseCommand):
    help = (
        "Encrypt every webhook signing secret under the first key of CPOR_ENCRYPTION_KEYS, "
        "so older keys can be removed from the list."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done, unreadable = reencrypt_secrets()
        self.stdout.write(f"{done} webhook secrets re-encrypted under the first key.")
        if unreadable:
            self.stderr.write(
                f"{unreadable} secrets open with none of the listed keys: "
                "those endpoints need to be registered again."
            )
