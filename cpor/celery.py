"""The Celery app and the one beat schedule: every clock-driven job of CPOR is listed here."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings")

app = Celery("cpor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Re-send outbox mail that the after-commit task did not deliver (broker or SMTP outage).
    "redeliver-pending-email": {
        "task": "cpor.tasks.redeliver_pending_email",
        "schedule": 60.0,
    },
    # Retry webhook deliveries that are due, and send those whose after-commit task was lost.
    "redeliver-pending-webhooks": {
        "task": "api.tasks.redeliver_pending_webhooks",
        "schedule": 30.0,
    },
    # Daily at 04:00 UTC: delete webhook events and their delivery log past CPOR_WEBHOOK_RETENTION_DAYS.
    "purge-old-webhook-events": {
        "task": "api.tasks.purge_old_webhook_events",
        "schedule": crontab(hour=4, minute=0),
    },
    # Reject claims whose partner did not answer an information request within 5 business days.
    "expire-partner-action-claims": {
        "task": "claims.tasks.expire_partner_action_claims",
        "schedule": 300.0,
    },
    # Remind partners 2 business days before their information-request deadline.
    "remind-partner-action-claims": {
        "task": "claims.tasks.remind_partner_action_claims",
        "schedule": 900.0,
    },
    # Close the customer's 7-day opt-out window and hand the claim to incentive assessment.
    "close-consent-windows": {
        "task": "consent.tasks.close_consent_windows",
        "schedule": 300.0,
    },
    # Check customers' sign-in requests whose after-commit task the broker did not take.
    "send-requested-sign-in-links": {
        "task": "consent.tasks.send_requested_sign_in_links",
        "schedule": 60.0,
    },
    # Daily at 03:45 UTC: delete sign-in link rows past CPOR_CUSTOMER_LINK_RETENTION_DAYS after expiry.
    "purge-sign-in-links": {
        "task": "consent.tasks.purge_sign_in_links",
        "schedule": crontab(hour=3, minute=45),
    },
    # Daily at 07:00 UTC: flag claims past their reviewer SLA and mail the review leads one digest.
    "flag-sla-breaches": {
        "task": "reviews.tasks.flag_sla_breaches",
        "schedule": crontab(hour=7, minute=0),
    },
    # Daily at 05:00 UTC: end associations whose subscription has been inactive longer than
    # CPOR_LAPSE_DAYS (after the night's commerce feed import has set `inactive_since`).
    "lapse-inactive-subscriptions": {
        "task": "claims.tasks.lapse_inactive_subscriptions",
        "schedule": crontab(hour=5, minute=0),
    },
    # Daily at 06:00 UTC (after the night's feeds and the lapse job): write the previous month's
    # earning lines once CPOR_EARNINGS_USAGE_DAYS (5) days of the month have passed, so the usage
    # feed has reported it; idempotent, so each later day only adds what was missing.
    "assess-previous-month": {
        "task": "earnings.tasks.assess_previous_month",
        "schedule": crontab(hour=6, minute=0),
    },
    # Daily at 03:30 UTC: forget Partner API idempotency keys older than 24 hours.
    "purge-idempotency-keys": {
        "task": "api.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=30),
    },
}
