"""The review queue's filters and action bar are Django's own HTML, rendered once per distinct
content (`review_queue.queue_list_filter`, `reviews.forms.QueueActionForm`): each is held equal to
Django's stock rendering, for reviewers and leads, in English and Turkish, with filters on or off.
"""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import admin_list_filter
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import html, translation

from claims.models import Claim
from reviews import queue_rows
from reviews.forms import QueueActionForm
from reviews.queue_rows import attach_product_names
from reviews.templatetags.review_queue import queue_list_filter
from tests.factories import claim_in, reviewer

from .admin_pages import client_for, queue

pytestmark = pytest.mark.django_db
S = Claim.Status


@pytest.fixture
def claims() -> list[Claim]:
    return [
        claim_in(S.SUBMITTED, products=("d365-sales", "power-bi"), name="Sales <rollout> & more"),
        claim_in(S.UNDER_REVIEW, products=("power-bi",)),
    ]


@pytest.mark.parametrize("language", ["en", "tr"])
@pytest.mark.parametrize("lead", [False, True])
@pytest.mark.parametrize("query", ["", "?status=submitted&product=power-bi", "?q=rollout&sla=breached&o=-1"])
def test_filters_and_action_bar_are_djangos_html(
    claims: list[Claim], language: str, lead: bool, query: str
) -> None:
    client = client_for(reviewer(lead=lead))
    with translation.override(language):
        response = client.get(queue() + query, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        cl = response.context_data["cl"]
        assert len(cl.filter_specs) == 7
        for spec in cl.filter_specs:
            stock = admin_list_filter(cl, spec)
            assert queue_list_filter(cl, spec) == stock  # rendered
            assert queue_list_filter(cl, spec) == stock  # reused
            assert stock in response.content.decode()

        action_form = response.context_data["action_form"]
        assert isinstance(action_form, QueueActionForm)
        stock_form = helpers.ActionForm(auto_id=None)
        stock_form.fields["action"].choices = action_form.fields["action"].choices
        assert [f.name for f in action_form] == [f.name for f in stock_form] == ["action", "select_across"]
        for ours, theirs in zip(action_form, stock_form, strict=True):
            assert ours.label == theirs.label
            assert str(ours) == str(ours) == str(theirs)
            assert str(theirs) in response.content.decode()
        choices = dict(action_form.fields["action"].choices)
        assert ("assign_to_action" in choices) is lead


def test_the_reused_html_follows_the_language_and_the_choices(claims: list[Claim]) -> None:
    client = client_for(reviewer(lead=True))
    cl = client.get(queue()).context_data["cl"]
    status = cl.filter_specs[0]
    with translation.override("en"):
        english = queue_list_filter(cl, status)
    with translation.override("tr"):
        turkish = queue_list_filter(cl, status)
        assert turkish == admin_list_filter(cl, status)
    assert english != turkish

    def select(choices: list[tuple[str, str]]) -> str:
        form = QueueActionForm(auto_id=None)
        form.fields["action"].choices = choices
        return str(form["action"])

    one = select([("", "---------"), ("a", "Start <review>")])
    other = select([("", "---------"), ("b", "Assign")])
    assert "Start &lt;review&gt;" in one and "Assign" in other and one != other
    assert select([("", "---------"), ("a", "Start <review>")]) == one


def test_product_names_of_a_page(claims: list[Claim]) -> None:
    bare = claim_in(S.SUBMITTED)
    bare.products.clear()
    page = list(Claim.objects.filter(pk__in=[claims[0].pk, claims[1].pk, bare.pk]).order_by("pk"))
    attach_product_names(page)
    assert [claim.queue_product_names for claim in page] == ["Dynamics 365 Sales, Power BI", "Power BI", ""]
    with CaptureQueriesContext(connection) as queries:
        attach_product_names([])
    assert not queries.captured_queries


@pytest.mark.parametrize(
    "value", ["", "plain", "Acme & <Partners>", 'say "hi"', "it's", "&amp;", "Türkiye", 42, "a\nb", "<>&\"'"]
)
def test_the_rows_escape_as_django_does(value: object) -> None:
    assert queue_rows.escape(value) == html.escape(value)
    assert type(queue_rows.escape(value)) is str
