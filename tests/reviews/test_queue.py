"""The review queue: columns, order, filters, search, a constant number of queries, no full count."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims import workflow
from claims.models import Claim, Product, SolutionArea
from cpor.business_days import add_business_days
from reviews.admin import CappedCountPaginator, ClaimAdmin
from tests.factories import PartnerFactory, claim_in, reviewer

from .admin_pages import client_for, queue

pytestmark = pytest.mark.django_db
S = Claim.Status
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, no US holiday in the following weeks


def listed(response: Any) -> list[int]:
    return [claim.pk for claim in response.context["cl"].result_list]


def clone(claim: Claim, count: int, **changes: Any) -> list[Claim]:
    """`count` copies of a submitted claim, written directly: the queue reads them, nothing moves them."""
    partners = [PartnerFactory() for _ in range(3)]
    copies = []
    for index in range(count):
        copy = Claim.objects.get(pk=claim.pk)
        copy.pk = None
        copy.partner = partners[index % 3]
        copy.name = f"Copy {index}"
        copy.customer_tenant_id = uuid.uuid4()
        copy.sla_due_at = claim.sla_due_at + dt.timedelta(minutes=index) if claim.sla_due_at else None
        for name, value in changes.items():
            setattr(copy, name, value)
        copies.append(copy)
    Claim.objects.bulk_create(copies)
    through = Claim.products.through
    product_ids = list(claim.products.values_list("pk", flat=True))
    through.objects.bulk_create(
        through(claim_id=copy.pk, product_id=product_id) for copy in copies for product_id in product_ids
    )
    return copies


def test_the_queue_shows_what_a_reviewer_decides_on() -> None:
    rita = reviewer(email="rita@cpor.example", username="rita@cpor.example")
    claim = claim_in(
        S.UNDER_REVIEW,
        review_by=rita,
        name="Contoso Sales rollout",
        customer_name="Northwind Traders",
        customer_domain="northwind.example",
        products=("d365-sales", "power-bi"),
    )

    html = client_for(reviewer()).get(queue()).content.decode()

    for text in (
        f"#{claim.pk} Contoso Sales rollout",
        claim.partner.name,
        claim.mpn.number,
        "Northwind Traders",
        "northwind.example",
        "Dynamics 365 Sales, Power BI",
        "Under review",
        "rita<wbr>@cpor.example",  # may break before the "@" so the column stays narrow
        "On time",
    ):
        assert text in html, text
    for header in ("claim", "partner", "customer", "products", "status", "assigned reviewer", "age"):
        assert f">{header.capitalize()}<" in html or f">{header}<" in html.lower(), header
    assert "SLA deadline" in html and "SLA state" in html and "Competing" in html


def test_ordered_by_sla_deadline_with_claims_off_the_sla_last() -> None:
    with time_machine.travel(T0, tick=False) as clock:
        approved = claim_in(S.APPROVED)
        late = claim_in(S.SUBMITTED)
        clock.move_to(T0 - dt.timedelta(days=3))  # the Friday before: due a business day earlier
        early = claim_in(S.UNDER_REVIEW)
        clock.move_to(T0 + dt.timedelta(hours=1))
        latest = claim_in(S.DISPUTED)

    response = client_for(reviewer()).get(queue())

    assert listed(response) == [early.pk, late.pk, latest.pk, approved.pk]


def test_sla_state_on_time_due_soon_breached_and_its_filter() -> None:
    with time_machine.travel(T0, tick=False) as clock:
        breached = claim_in(S.SUBMITTED)
        clock.move_to(T0 + dt.timedelta(days=3))
        due_soon = claim_in(S.SUBMITTED)
        clock.move_to(T0 + dt.timedelta(days=7))
        on_time = claim_in(S.SUBMITTED)
        off_sla = claim_in(S.APPROVED)
        now = add_business_days(due_soon.sla_due_at, 0) - dt.timedelta(hours=1)
        clock.move_to(now)
        assert (
            breached.sla_due_at <= now < due_soon.sla_due_at <= add_business_days(now, 1) < on_time.sla_due_at
        )
        client = client_for(reviewer())

        everything = client.get(queue())
        by_state = {
            state: listed(client.get(queue() + f"?sla={state}"))
            for state in ("breached", "due_soon", "on_time")
        }

    states = {claim.pk: claim.sla_state for claim in everything.context["cl"].result_list}
    assert states == {breached.pk: "breached", due_soon.pk: "due_soon", on_time.pk: "on_time", off_sla.pk: ""}
    assert by_state == {"breached": [breached.pk], "due_soon": [due_soon.pk], "on_time": [on_time.pk]}
    html = everything.content.decode()
    assert "Breached" in html and "Due soon" in html and "On time" in html


def test_filters_status_assignment_solution_area_product() -> None:
    rita, leo = reviewer(), reviewer(lead=True)
    mine = claim_in(S.UNDER_REVIEW, review_by=rita)
    theirs = claim_in(S.UNDER_REVIEW, review_by=leo)
    unassigned = claim_in(S.SUBMITTED, products=("power-bi",))
    m365 = claim_in(
        S.SUBMITTED, solution_area=SolutionArea.MICROSOFT_365, activity="usage", products=("m365-teams",)
    )
    client = client_for(rita)

    def pks(query: str) -> set[int]:
        return set(listed(client.get(queue() + query)))

    assert pks("?status=under_review") == {mine.pk, theirs.pk}
    assert pks("?assigned=me") == {mine.pk}
    assert pks("?assigned=none") == {unassigned.pk, m365.pk}
    assert pks("?solution_area__exact=microsoft_365") == {m365.pk}
    assert pks("?product=power-bi") == {unassigned.pk}
    assert pks("?product=d365-sales") == {mine.pk, theirs.pk}
    assert pks("?status=submitted&assigned=none&product=m365-teams") == {m365.pk}


def test_search_by_tenant_customer_domain_partner_mpn_and_claim_name() -> None:
    tenant = uuid.uuid4()
    target = claim_in(
        S.SUBMITTED,
        name="Fabrikam pilot",
        customer_name="Lucerne Publishing",
        customer_domain="tailspin.example",
        customer_tenant_id=tenant,
        partner=PartnerFactory(name="Wide World Importers"),
    )
    other = claim_in(S.SUBMITTED, name="Something else")
    client = client_for(reviewer())

    def found(term: str) -> list[int]:
        return listed(client.get(queue(), {"q": term}))

    assert found(str(tenant)) == [target.pk]
    assert found(str(tenant).upper()) == [target.pk]
    assert found("tailspin") == [target.pk]
    assert found("wide world") == [target.pk]
    assert found(target.mpn.number) == [target.pk]
    assert found("fabrikam PILOT") == [target.pk]
    assert found("lucerne pub") == [target.pk]
    assert found(str(uuid.uuid4())) == []
    assert set(found("example")) == {target.pk, other.pk}


def test_the_competing_flag_and_filter() -> None:
    tenant = uuid.uuid4()
    ours = claim_in(S.UNDER_REVIEW, customer_tenant_id=tenant, products=("d365-sales", "power-bi"))
    theirs = claim_in(S.SUBMITTED, customer_tenant_id=tenant, products=("power-bi",))
    other_product = claim_in(S.SUBMITTED, customer_tenant_id=tenant, products=("d365-finance",))
    same_partner = claim_in(
        S.SUBMITTED,
        partner=ours.partner,
        customer_tenant_id=tenant,
        activity="presales",
        products=("power-bi",),
    )
    rejected = claim_in(S.REJECTED, customer_tenant_id=tenant, products=("d365-sales",))
    client = client_for(reviewer())

    flags = {c.pk: c.is_competing for c in client.get(queue()).context["cl"].result_list}
    competing = set(listed(client.get(queue() + "?competing=yes")))
    not_competing = set(listed(client.get(queue() + "?competing=no")))

    # `ours` and `same_partner` share Power BI with `theirs` (another partner); a rejected claim holds
    # nothing, so it competes with nobody.
    assert competing == {ours.pk, theirs.pk, same_partner.pk}
    assert not_competing == {other_product.pk, rejected.pk}
    assert flags == {pk: pk in competing for pk in flags}
    # Competing claims carry a tag; the others show nothing (no red "no" icon reading like an error).
    html = client.get(queue()).content.decode()
    assert html.count('class="competing-flag"') == len(competing)
    assert "icon-no.svg" not in html


def queries_for_queue(client: Any, query: str = "") -> list[str]:
    client.get(queue() + query)  # warm the session and the user's permission caches alike
    with CaptureQueriesContext(connection) as captured:
        response = client.get(queue() + query)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(
    "query", ["", "?sla=breached&competing=yes", "?assigned=none&product=d365-sales&q=Copy"]
)
def test_the_queue_runs_as_many_queries_for_200_claims_as_for_10(query: str) -> None:
    with time_machine.travel(T0, tick=False):
        first = claim_in(S.SUBMITTED, products=("d365-sales", "power-bi"))
    clone(first, 9)
    client = client_for(reviewer())
    ten = queries_for_queue(client, query)
    clone(first, 190)
    two_hundred = queries_for_queue(client, query)

    assert Claim.objects.count() == 200
    assert len(two_hundred) == len(ten) <= 12
    counts = [sql for sql in two_hundred if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and "LIMIT" in counts[0].upper()


def test_the_count_is_capped_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(ClaimAdmin, "list_per_page", 2)
    first = claim_in(S.SUBMITTED)
    clone(first, 7)
    client = client_for(reviewer())

    response = client.get(queue())
    last_page = client.get(queue() + "?p=3")

    assert response.context["cl"].result_count == 5
    assert "More than 5 claims" in response.content.decode()
    assert len(listed(response)) == 2
    assert response.context["cl"].paginator.num_pages == 3
    assert len(listed(last_page)) == 1  # the pages cover the first `cap` rows


def test_products_in_the_list_come_from_the_catalogue() -> None:
    claim_in(S.SUBMITTED, products=("d365-sales",))
    html = client_for(reviewer()).get(queue()).content.decode()
    assert Product.objects.get(code="d365-sales").name in html


# ---------------------------------------------------------------------------------------------
# Bulk actions


def act(client: Any, action: str, claims: list[Claim], **extra: Any) -> Any:
    return client.post(
        queue(), {"action": action, "_selected_action": [c.pk for c in claims], "index": 0, **extra}
    )


def bulk_messages(response: Any) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


def test_bulk_start_review_reports_each_claims_outcome() -> None:
    waiting = [claim_in(S.SUBMITTED) for _ in range(2)]
    started = claim_in(S.UNDER_REVIEW)
    rita = reviewer()

    response = act(client_for(rita), "start_review_action", [*waiting, started])

    assert response.status_code == 302
    for claim in waiting:
        claim.refresh_from_db()
        assert (claim.status, claim.assigned_reviewer) == (S.UNDER_REVIEW, rita)
        assert claim.events.filter(action="start_review").count() == 1
    started.refresh_from_db()
    assert started.assigned_reviewer != rita
    assert bulk_messages(response) == [
        f"Review started: #{waiting[0].pk}, #{waiting[1].pk}.",
        f"Not done for #{started.pk}: “Review started” is not possible while the claim is Under review.",
    ]


def test_bulk_assign_to_me() -> None:
    rita = reviewer()
    claims = [claim_in(S.UNDER_REVIEW), claim_in(S.SUBMITTED)]
    rejected = claim_in(S.REJECTED)

    response = act(client_for(rita), "assign_to_me_action", [*claims, rejected])

    assert all(Claim.objects.get(pk=c.pk).assigned_reviewer == rita for c in claims)
    assert Claim.objects.get(pk=rejected.pk).assigned_reviewer != rita
    assert bulk_messages(response)[0] == f"Assigned to you: #{claims[0].pk}, #{claims[1].pk}."
    assert "has no reviewer to assign" in bulk_messages(response)[1]


def test_a_lead_assigns_to_another_reviewer_through_a_form() -> None:
    leo, rita = reviewer(lead=True), reviewer()
    claims = [claim_in(S.UNDER_REVIEW), claim_in(S.SUBMITTED)]
    client = client_for(leo)

    form = act(client, "assign_to_action", claims)
    done = act(client, "assign_to_action", claims, reviewer=rita.pk, apply="Assign")

    assert form.status_code == 200 and f'<option value="{rita.pk}">' in form.content.decode()
    assert all(Claim.objects.get(pk=c.pk).assigned_reviewer == rita for c in claims)
    assert all(c.events.filter(action="assign").exists() for c in claims)
    assert done.status_code == 302


def test_a_reviewer_has_no_assign_to_action_and_cannot_forge_it() -> None:
    rita, other = reviewer(), reviewer()
    claim = claim_in(S.UNDER_REVIEW)
    assigned = claim.assigned_reviewer
    client = client_for(rita)

    html = client.get(queue()).content.decode()
    forged = act(client, "assign_to_action", [claim], reviewer=other.pk, apply="Assign")

    assert 'value="assign_to_action"' not in html
    assert 'value="start_review_action"' in html and 'value="assign_to_me_action"' in html
    assert forged.status_code in (200, 302)
    assert Claim.objects.get(pk=claim.pk).assigned_reviewer == assigned


def test_bulk_actions_go_through_the_workflow_for_leads_too() -> None:
    leo = reviewer(lead=True)
    claim = claim_in(S.SUBMITTED)
    workflow.transition(claim, "withdraw", by=claim.created_by, reason="wrong_mpn")

    response = act(client_for(leo), "start_review_action", [claim])

    assert Claim.objects.get(pk=claim.pk).status == S.REJECTED
    assert "is not possible while the claim is Rejected" in bulk_messages(response)[0]
