"""The SLA job flags each breach once and mails the leads one digest a day; the overview charts it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection

from claims import workflow
from claims.models import Claim, ClaimEvent
from cpor import outbox
from cpor.models import OutboundEmail
from reviews.models import SlaDigest
from reviews.tasks import flag_sla_breaches
from tests.factories import claim_in, reviewer

from .admin_pages import client_for, queue, sla_url, stored

S = Claim.Status
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, no US holiday in the following weeks


def breach_events(claim: Claim) -> list[tuple[str, bool]]:
    return list(
        ClaimEvent.objects.filter(claim=claim, action="sla_breach").values_list(
            "actor_kind", "partner_visible"
        )
    )


def digests() -> list[str]:
    return sorted(OutboundEmail.objects.filter(kind="sla_digest").values_list("to", flat=True))


@pytest.mark.django_db
def test_a_breach_is_flagged_once_and_the_leads_get_one_digest_a_day() -> None:
    leads = sorted([reviewer(lead=True).email, reviewer(lead=True).email])
    reviewer()  # a reviewer who is not a lead gets no digest
    with time_machine.travel(T0, tick=False) as clock:
        late = claim_in(S.SUBMITTED, name="Waiting too long")
        clock.move_to(T0 + dt.timedelta(days=2))
        in_time = claim_in(S.UNDER_REVIEW, name="Still in time")
        deadline = late.sla_due_at
        assert deadline is not None and in_time.sla_due_at > deadline + dt.timedelta(days=1)

        clock.move_to(deadline - dt.timedelta(minutes=1))
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 0}
        assert breach_events(late) == [] and digests() == []

        flagged_at = deadline + dt.timedelta(minutes=1)
        clock.move_to(flagged_at)
        assert flag_sla_breaches() == {"flagged": 1, "mailed": 2}
        late.refresh_from_db()
        assert late.sla_breached_at == flagged_at
        assert breach_events(late) == [("system", False)]
        assert digests() == leads
        after_first_run = stored()

        # Again at once, and later that day: nothing more is flagged, nothing more is mailed.
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 0}
        clock.move_to(flagged_at + dt.timedelta(hours=3))
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 0}
        assert stored() == after_first_run
        in_time.refresh_from_db()
        assert in_time.sla_breached_at is None and breach_events(in_time) == []

        # The next day the claim is still overdue: a new digest, still no second flag.
        clock.move_to(flagged_at + dt.timedelta(days=1))
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 2}
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 0}
        assert digests() == sorted(leads * 2)
        assert breach_events(late) == [("system", False)]
        assert list(SlaDigest.objects.order_by("day").values_list("day", "breached_count")) == [
            (flagged_at.date(), 1),
            (flagged_at.date() + dt.timedelta(days=1), 1),
        ]

        # Starting the review puts the claim on a new SLA, no longer breached.
        workflow.transition(late, "start_review", by=reviewer())
        late.refresh_from_db()
        assert late.sla_breached_at is None and late.sla_due_at > flagged_at + dt.timedelta(days=1)


@pytest.mark.django_db
def test_the_digest_lists_the_overdue_claims_with_links() -> None:
    leo = reviewer(lead=True)
    with time_machine.travel(T0, tick=False) as clock:
        late = claim_in(S.SUBMITTED, name="Waiting too long")
        clock.move_to(late.sla_due_at + dt.timedelta(hours=1))
        flag_sla_breaches()
        (digest,) = OutboundEmail.objects.filter(kind="sla_digest")
        assert outbox.deliver(digest.pk)

    (sent,) = mail.outbox
    assert sent.to == [leo.email]
    assert sent.subject == "CPOR review SLA digest 2026-03-09: 1 claim past due"
    assert f"#{late.pk} “Waiting too long”" in sent.body and late.partner.name in sent.body
    assert f"/admin/claims/claim/{late.pk}/change/" in sent.body
    assert "/admin/claims/claim/?sla=breached" in sent.body
    assert "Submitted: 1" in sent.body


@pytest.mark.django_db
def test_the_turkish_digest_template_renders() -> None:
    subject, body = outbox.render_email(
        "sla_digest",
        "tr",
        {
            "day": "2026-03-09",
            "count": 3,
            "newly": 1,
            "by_status": [],
            "rows": [],
            "more": 3,
            "queue_url": "u",
        },
    )
    assert subject == "CPOR inceleme SLA özeti 2026-03-09: süresi geçmiş 3 talep"
    assert "3 talep daha" in body


@pytest.mark.django_db
def test_no_breach_no_digest() -> None:
    reviewer(lead=True)
    with time_machine.travel(T0, tick=False):
        claim_in(S.SUBMITTED)
        assert flag_sla_breaches() == {"flagged": 0, "mailed": 0}
    assert not SlaDigest.objects.exists() and digests() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_once_flag_each_breach_once_and_mail_once() -> None:
    reviewer(lead=True)
    with time_machine.travel(T0, tick=False) as clock:
        claims = [claim_in(S.SUBMITTED) for _ in range(30)]
        clock.move_to(claims[-1].sla_due_at + dt.timedelta(minutes=1))
        barrier = threading.Barrier(2, timeout=30)
        results: list[dict[str, int]] = []
        crashes: list[BaseException] = []

        def job() -> None:
            try:
                barrier.wait()
                results.append(flag_sla_breaches())
            except BaseException as exc:  # surfaced below
                crashes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=job) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert crashes == []
    assert sum(r["flagged"] for r in results) == 30
    assert sum(r["mailed"] for r in results) == 1
    assert ClaimEvent.objects.filter(action="sla_breach").count() == 30
    assert OutboundEmail.objects.filter(kind="sla_digest").count() == 1


@pytest.mark.django_db
def test_the_sla_overview_charts_open_claims_by_state_and_age() -> None:
    with time_machine.travel(T0, tick=False) as clock:
        claim_in(S.SUBMITTED)
        claim_in(S.PARTNER_ACTION_REQUIRED)
        clock.move_to(T0 + dt.timedelta(days=20))
        claim_in(S.SUBMITTED)
        claim_in(S.UNDER_REVIEW)
        claim_in(S.APPROVED)  # not open: the customer's window, not the reviewers'
        claim_in(S.EDITING)
        lead = client_for(reviewer(lead=True))
        before = stored()

        response = lead.get(sla_url())
        link_in_queue = lead.get(queue()).content.decode()
        refused = client_for(reviewer()).get(sla_url())

    assert stored() == before
    assert response.status_code == 200 and refused.status_code == 403
    assert f'href="{sla_url()}"' in link_in_queue
    overview = response.context["overview"]
    ages = {row.status: [bar.count for bar in row.bars] for row in overview.by_age}
    assert ages == {
        S.SUBMITTED: [1, 0, 0, 1, 0],  # 0–2 days and 11–30 days
        S.UNDER_REVIEW: [1, 0, 0, 0, 0],
        S.PARTNER_ACTION_REQUIRED: [0, 0, 0, 1, 0],
        S.DISPUTED: [0, 0, 0, 0, 0],
    }
    slas = {row.status: [bar.count for bar in row.bars] for row in overview.by_sla}
    assert slas == {S.SUBMITTED: [1, 0, 1], S.UNDER_REVIEW: [0, 0, 1], S.DISPUTED: [0, 0, 0]}
    html = response.content.decode()
    chart = html[html.index('<div id="content-main" class="sla-overview">') :]
    assert 'class="chart"' in chart and 'class="segment age-0"' in chart
    assert "<script" not in chart.split("</main>")[0]  # server-rendered: no JavaScript draws it
    assert "4 open claims; 1 past their review SLA" in html
