"""`manage.py assess_outstanding`: assess the associations that hold no assessment under terms.

Two kinds: associations queued before CPOR assessed at hand-off (their rows moved from consent/ by
migration, never assessed), and associations assessed when their programme had no terms in force
for their month. Run it once after publishing a programme's first terms; running it again assesses
nothing twice. The monthly job writes lines only for assessed, eligible associations.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from earnings.assessment import assess_outstanding


class Command(BaseCommand):
    help = "Assess the associations never assessed, or assessed before their programme had terms."

    def handle(self, *args: Any, **options: Any) -> None:
        count = assess_outstanding(now=timezone.now())
        self.stdout.write(self.style.SUCCESS(f"Assessed {count} association{'s' if count != 1 else ''}."))
