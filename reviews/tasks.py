"""The reviews beat job: flag SLA breaches and mail the review leads their daily digest."""

from __future__ import annotations

from celery import shared_task

from reviews import sla


@shared_task(ignore_result=True)
def flag_sla_breaches() -> dict[str, int]:
    """Flag claims past their reviewer SLA (each once), then send the day's digest (once a day)."""
    flagged = sla.flag_breaches()
    mailed = sla.send_digest()
    return {"flagged": flagged, "mailed": mailed}
