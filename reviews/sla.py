"""The reviewer SLA: each claim's state against its deadline, breach flags, the leads' digest, the overview.

A claim runs on a reviewer SLA while it waits for the review to start, for a decision, or for a
dispute answer; `Claim.sla_due_at` holds that deadline (set and cleared by the state machine), so
every question here is an index range scan on one column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Case, Count, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import LEAD_GROUP, Claim, ClaimEvent
from cpor import outbox
from cpor.business_days import add_business_days
from reviews.models import SlaDigest

S = Claim.Status
SLA_STATUSES = (S.SUBMITTED, S.UNDER_REVIEW, S.DISPUTED)
# "Open" on the overview: claims the review team owes an answer or waits on the partner for.
OPEN_STATUSES = (S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.DISPUTED)
DIGEST_ROWS = 50  # the digest lists this many of the longest-overdue claims, then counts the rest


class SlaState(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    DUE_SOON = "due_soon", _("Due soon")
    BREACHED = "breached", _("Breached")


def due_soon_edge(now: dt.datetime) -> dt.datetime:
    """A deadline at or before this moment is due soon: within one business day."""
    return add_business_days(now, 1)


def sla_state_expression(now: dt.datetime) -> Case:
    """The SLA state as a database expression ('' for a claim not on a reviewer SLA)."""
    return Case(
        When(sla_due_at__isnull=True, then=Value("")),
        When(sla_due_at__lte=now, then=Value(SlaState.BREACHED)),
        When(sla_due_at__lte=due_soon_edge(now), then=Value(SlaState.DUE_SOON)),
        default=Value(SlaState.ON_TIME),
        output_field=models.CharField(),
    )


def in_sla_state(claims: QuerySet[Claim], state: str, now: dt.datetime) -> QuerySet[Claim]:
    """Claims in `state`, as a range on `sla_due_at` (so the index answers it)."""
    if state == SlaState.BREACHED:
        return claims.filter(sla_due_at__lte=now)
    if state == SlaState.DUE_SOON:
        return claims.filter(sla_due_at__gt=now, sla_due_at__lte=due_soon_edge(now))
    if state == SlaState.ON_TIME:
        return claims.filter(sla_due_at__gt=due_soon_edge(now))
    return claims


# ---------------------------------------------------------------------------------------------
# The beat job


def flag_breaches(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Mark every claim past its SLA deadline as breached, once; return how many this run marked.

    Per batch, in one transaction: lock due, unflagged claims (`skip_locked`: a claim someone is
    changing now is left for the next run), set `sla_breached_at` with a compare-and-swap update
    (only rows still unflagged), and append one internal `sla_breach` event per row it changed. A
    second run, or a run in another process, finds nothing left to flag.
    """
    flagged = 0
    while True:
        with transaction.atomic():
            moment = now or timezone.now()
            due = list(
                Claim.objects.select_for_update(skip_locked=True)
                .filter(sla_due_at__lte=moment, sla_breached_at__isnull=True)
                .order_by("sla_due_at", "pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not due:
                return flagged
            Claim.objects.filter(pk__in=due, sla_breached_at__isnull=True, sla_due_at__lte=moment).update(
                sla_breached_at=moment
            )
            marked = list(
                Claim.objects.filter(pk__in=due, sla_breached_at=moment).values_list(
                    "pk", "status", "sla_due_at"
                )
            )
            ClaimEvent.objects.bulk_create(
                ClaimEvent(
                    claim_id=pk,
                    created_at=moment,
                    actor_kind=ClaimEvent.ActorKind.SYSTEM,
                    action=ClaimEvent.Action.SLA_BREACH,
                    diff={"sla_due_at": due_at.isoformat()},
                    note=f"The review deadline ({due_at:%Y-%m-%d %H:%M} UTC) passed while {S(status).label}.",
                    partner_visible=False,
                )
                for pk, status, due_at in marked
            )
            flagged += len(marked)
        if len(due) < batch_size:
            return flagged


def lead_emails() -> list[str]:
    return list(
        get_user_model()
        .objects.filter(groups__name=LEAD_GROUP, is_active=True, is_staff=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def send_digest(*, now: dt.datetime | None = None) -> int:
    """Mail the review leads one digest of open SLA breaches per day; return how many mails it queued.

    The day's `SlaDigest` row (unique per day) is written in the same transaction as the mail, so a
    second run that day, or a run in another process at once, queues nothing.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    if SlaDigest.objects.filter(day=day).exists():
        return 0
    breached = Claim.objects.filter(sla_due_at__lte=now)
    count = breached.count()
    recipients = lead_emails()
    if not count or not recipients:
        return 0
    by_status = dict(breached.order_by().values_list("status").annotate(n=Count("pk")))
    previous = SlaDigest.objects.filter(day__lt=day).order_by("-day").first()
    since = previous.sent_at if previous else None
    newly = breached.filter(sla_breached_at__gt=since).count() if since else count
    rows = [
        {
            "id": pk,
            "name": name,
            "partner": partner,
            "status": str(S(status).label),
            "due": due_at,
            "reviewer": reviewer or "",
            "url": f"{settings.SITE_URL}{reverse('admin:claims_claim_change', args=[pk])}",
        }
        for pk, name, partner, status, due_at, reviewer in breached.order_by("sla_due_at", "pk").values_list(
            "pk", "name", "partner__name", "status", "sla_due_at", "assigned_reviewer__email"
        )[:DIGEST_ROWS]
    ]
    context = {
        "day": day.isoformat(),
        "count": count,
        "newly": newly,
        "by_status": [
            {"status": str(label), "count": by_status[value]}
            for value, label in S.choices
            if value in by_status
        ],
        "rows": rows,
        "more": max(0, count - len(rows)),
        "queue_url": (
            f"{settings.SITE_URL}{reverse('admin:claims_claim_changelist')}?sla={SlaState.BREACHED}"
        ),
    }
    with transaction.atomic():
        _digest, created = SlaDigest.objects.get_or_create(
            day=day, defaults={"sent_at": now, "breached_count": count, "recipients": len(recipients)}
        )
        if not created:
            return 0
        outbox.enqueue_many(
            outbox.Message(kind="sla_digest", to=email, language=settings.LANGUAGE_CODE, context=context)
            for email in recipients
        )
    return len(recipients)


# ---------------------------------------------------------------------------------------------
# The overview page


AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    # (label, upper bound in days since submission; None = no bound)
    ("0–2 days", 2),
    ("3–5 days", 5),
    ("6–10 days", 10),
    ("11–30 days", 30),
    ("over 30 days", None),
)


@dataclass
class Bar:
    label: str
    count: int
    percent: float
    css_class: str
    offset: float = 0.0  # where the segment starts in its stacked bar, in percent of the widest row


def _stacked(bars: list[Bar]) -> list[Bar]:
    """Each segment starts where the one before it ends (the chart is SVG: no inline widths)."""
    start = 0.0
    for bar in bars:
        bar.offset = round(start, 2)
        start += bar.percent
    return bars


@dataclass
class OverviewRow:
    status: str
    label: str
    total: int
    bars: list[Bar]


@dataclass
class Overview:
    by_age: list[OverviewRow]
    by_sla: list[OverviewRow]
    total: int
    breached: int
    bucket_labels: list[str]
    now: dt.datetime


def _age_bucket(now: dt.datetime) -> Case:
    whens = [
        When(submitted_at__gt=now - dt.timedelta(days=limit), then=Value(index))
        for index, (_label, limit) in enumerate(AGE_BUCKETS)
        if limit is not None
    ]
    return Case(*whens, default=Value(len(AGE_BUCKETS) - 1), output_field=models.IntegerField())


def overview(*, now: dt.datetime | None = None) -> Overview:
    """Open claims by state and age bucket, and SLA claims by state and SLA state: two GROUP BYs."""
    now = now or timezone.now()
    open_claims = Claim.objects.filter(status__in=OPEN_STATUSES).order_by()
    age_counts: dict[tuple[str, int], int] = {
        (status, bucket): n
        for status, bucket, n in open_claims.annotate(bucket=_age_bucket(now))
        .values_list("status", "bucket")
        .annotate(n=Count("pk"))
        .values_list("status", "bucket", "n")
    }
    sla_counts: dict[tuple[str, str], int] = {
        (status, state): n
        for status, state, n in Claim.objects.filter(status__in=SLA_STATUSES, sla_due_at__isnull=False)
        .order_by()
        .annotate(state=sla_state_expression(now))
        .values_list("status", "state")
        .annotate(n=Count("pk"))
        .values_list("status", "state", "n")
    }
    totals = {status: sum(n for (s, _b), n in age_counts.items() if s == status) for status in OPEN_STATUSES}
    widest = max(totals.values(), default=0) or 1
    by_age = [
        OverviewRow(
            status=status,
            label=str(S(status).label),
            total=totals[status],
            bars=_stacked(
                [
                    Bar(
                        label=label,
                        count=age_counts.get((status, index), 0),
                        percent=round(100 * age_counts.get((status, index), 0) / widest, 2),
                        css_class=f"age-{index}",
                    )
                    for index, (label, _limit) in enumerate(AGE_BUCKETS)
                ]
            ),
        )
        for status in OPEN_STATUSES
    ]
    sla_totals = {
        status: sum(n for (s, _x), n in sla_counts.items() if s == status) for status in SLA_STATUSES
    }
    sla_widest = max(sla_totals.values(), default=0) or 1
    by_sla = [
        OverviewRow(
            status=status,
            label=str(S(status).label),
            total=sla_totals[status],
            bars=_stacked(
                [
                    Bar(
                        label=str(state.label),
                        count=sla_counts.get((status, state.value), 0),
                        percent=round(100 * sla_counts.get((status, state.value), 0) / sla_widest, 2),
                        css_class=f"sla-{state.value}",
                    )
                    for state in (SlaState.BREACHED, SlaState.DUE_SOON, SlaState.ON_TIME)
                ]
            ),
        )
        for status in SLA_STATUSES
    ]
    return Overview(
        by_age=by_age,
        by_sla=by_sla,
        total=sum(totals.values()),
        breached=sum(n for (_s, state), n in sla_counts.items() if state == SlaState.BREACHED),
        bucket_labels=[label for label, _limit in AGE_BUCKETS],
        now=now,
    )
