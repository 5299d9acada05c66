"""The review queue's rows, written once per page instead of cell by cell (issue 16).

Django's change list renders each of the page's 1,100 cells through `items_for_result`: a field
lookup that fails before the display method is found, a `display_for_value`, a `format_html`, then
a template loop over every cell. For the queue's 100 rows that cost more than its queries. Here the
page's labels, links and formats are worked out once, and each row is one string of the same HTML
the stock rendering writes (`tests/reviews/test_queue_rendering.py` holds them equal, cell by cell,
in English and Turkish).

The page reads only the columns it shows (`QUEUE_COLUMNS`) and the products' names in one query,
with no Product instances.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from claims.models import Claim, MpnId, Partner, Product
from reviews.sla import SlaState

# The claim's columns the queue shows or computes with, and the related rows' ones.
QUEUE_COLUMNS = (
    "id",
    "name",
    "status",
    "customer_name",
    "customer_domain",
    "submitted_at",
    "created_at",
    "sla_due_at",
    "partner_id",
    "mpn_id",
    "assigned_reviewer_id",
)
# The related rows' one shown value each, read in the same query as values rather than as 300
# Partner, MpnId and User instances. Subqueries, not joins: the page's capped count (which drops
# unused annotations) then counts claims alone, and only the 100 rows shown look them up. Each looks up
# a primary key, so none is ordered (the models' default ordering would add a sort to each).
QUEUE_RELATED = {
    "queue_partner_name": Subquery(
        Partner.objects.filter(pk=OuterRef("partner_id")).order_by().values("name")
    ),
    "queue_mpn_number": Subquery(MpnId.objects.filter(pk=OuterRef("mpn_id")).order_by().values("number")),
    "queue_reviewer_email": Subquery(
        get_user_model().objects.filter(pk=OuterRef("assigned_reviewer_id")).order_by().values("email")
    ),
}
PK_MARK = "0"  # reversed once in place of each row's primary key (a digit: valid in every pattern)


HTML_SPECIAL = re.compile("[&<>\"']")


def escape(value: object) -> str:
    """Django's `escape` without its lazy-string wrapper (the same five characters, the same entities):
    it runs about 1,500 times a page, and given a lazy label it would return another lazy string.
    Most values hold none of the five characters: those are returned as they are."""
    text = str(value)
    return html.escape(text) if HTML_SPECIAL.search(text) else text


class QueueChangeList(ChangeList):
    """The queue's change list: only the shown columns, and each row's product names as one string."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Claim]:
        queryset = super().get_queryset(request, exclude_parameters)
        # The claim page's Product prefetch is not wanted here: `attach_product_names` reads names only.
        return (
            queryset.prefetch_related(None)
            .select_related(None)
            .only(*QUEUE_COLUMNS)
            .annotate(**QUEUE_RELATED)
        )

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        attach_product_names(self.result_list)


def attach_product_names(claims: list[Claim]) -> None:
    """Set `queue_product_names` ("A, B", by name) on each claim, from one query for the page.

    The query is written out: the ORM spent longer building it (a lookup prepared per id of the
    page) than the database took to answer it.
    """
    if not claims:
        return
    through = Claim.products.through
    connection = connections[router.db_for_read(through)]
    quote = connection.ops.quote_name
    ids = [claim.pk for claim in claims]
    sql = (
        f"SELECT cp.{quote('claim_id')}, p.{quote('name')}"  # noqa: S608  (names from the models, ids as parameters)
        f" FROM {quote(through._meta.db_table)} cp"
        f" INNER JOIN {quote(Product._meta.db_table)} p ON p.{quote('id')} = cp.{quote('product_id')}"
        f" WHERE cp.{quote('claim_id')} IN ({', '.join(['%s'] * len(ids))})"
        f" ORDER BY p.{quote('name')}, cp.{quote('product_id')}"
    )
    names: dict[int, list[str]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        for claim_id, name in cursor.fetchall():
            names[claim_id].append(name)
    for claim in claims:
        claim.queue_product_names = ", ".join(names.get(claim.pk, ()))


class QueueRows:
    """Writes the page's rows; everything that is the same for every row is computed in __init__."""

    def __init__(self, cl: ChangeList) -> None:
        self.cl = cl
        self.empty = cl.model_admin.get_empty_value_display()
        self.statuses = {value: escape(label) for value, label in Claim.Status.choices}
        self.sla_cells = {
            state: f'<span class="sla sla-{escape(state)}">{escape(label)}</span>'
            for state, label in SlaState.choices
        }
        self.end_flag = f'<br><span class="end-request-flag">{escape(_("Customer asked to end"))}</span>'
        self.competing_flag = f'<span class="competing-flag">{escape(_("Competing"))}</span>'
        self.select_label = _("Select this object for an action - {}")
        self.hours, self.days = _("%(hours)s h"), _("%(days)s d")
        self.now = timezone.now()
        self.deadlines: dict[dt.datetime, str] = {}
        self.link_head, self.link_tail = self._link_parts()
        self.cells: dict[str, Callable[[Claim], str]] = {
            "claim": self.claim,
            "partner_and_mpn": self.partner_and_mpn,
            "customer": self.customer,
            "product_names": self.product_names,
            "status_label": self.status_label,
            "assigned": self.assigned,
            "age": self.age,
            "sla_deadline": self.sla_deadline,
            "sla_state_label": self.sla_state_label,
            "competing": self.competing,
        }
        # Anything this writer does not know (a popup, an editable list, a column added later) is left
        # to Django's own cells, row by row, so the page never loses a column or a form field.
        self.fast = (
            not cl.is_popup
            and not cl.to_field
            and cl.formset is None
            and list(cl.list_display) == ["action_checkbox", *self.cells]
            and list(cl.list_display_links) == ["claim"]
            and self.link_head is not None
        )

    def _link_parts(self) -> tuple[str | None, str]:
        """The change link of any row, with its preserved filters, split around the primary key."""
        opts = self.cl.opts
        try:
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[PK_MARK],
                current_app=self.cl.model_admin.admin_site.name,
            )
        except NoReverseMatch:
            return None, ""
        url = add_preserved_filters({"preserved_filters": self.cl.preserved_filters, "opts": opts}, url)
        path, mark, query = url.partition("?")
        suffix = f"/{PK_MARK}/change/"
        if not path.endswith(suffix):
            return None, ""
        return escape(path[: -len(suffix) + 1]), escape(f"/change/{mark}{query}")

    def rows(self, claims: Iterable[Claim]) -> list[SafeString]:
        if not self.fast:
            return [
                mark_safe("<tr>" + "".join(items_for_result(self.cl, claim, None)) + "</tr>")  # noqa: S308
                for claim in claims
            ]
        return [self.row(claim) for claim in claims]

    def row(self, claim: Claim) -> SafeString:
        pk = claim.pk
        title = escape(f"#{pk} {claim.name}")
        cells = [
            '<tr><td class="action-checkbox"><input type="checkbox" name="'
            f'{helpers.ACTION_CHECKBOX_NAME}" value="{pk}" class="action-select" aria-label="'
            f'{escape(self.select_label.format(f"#{pk} {claim.name}"))}"></td>'
            f'<th class="field-claim"><a href="{self.link_head}{pk}{self.link_tail}">{title}</a></th>'
        ]
        for name, cell in self.cells.items():
            if name != "claim":
                cells.append(f'<td class="field-{name}">{cell(claim) or self.empty}</td>')
        cells.append("</tr>")
        # Every value above went through escape(); the rest is this module's own markup.
        return mark_safe("".join(cells))  # noqa: S308

    # -- the cells, each the HTML of ClaimAdmin's display method of the same name ------------------

    def claim(self, claim: Claim) -> str:
        return escape(f"#{claim.pk} {claim.name}")

    def partner_and_mpn(self, claim: Claim) -> str:
        return f"{escape(claim.queue_partner_name)}<br><small>MPN {escape(claim.queue_mpn_number)}</small>"

    def customer(self, claim: Claim) -> str:
        return f"{escape(claim.customer_name)}<br><small>{escape(claim.customer_domain)}</small>"

    def product_names(self, claim: Claim) -> str:
        names = claim.queue_product_names
        return escape(names) if names.strip() else ""

    def status_label(self, claim: Claim) -> str:
        label = self.statuses.get(claim.status) or escape(claim.status)
        return label + self.end_flag if getattr(claim, "end_requested", False) else label

    def assigned(self, claim: Claim) -> str:
        if claim.assigned_reviewer_id is None:
            return "—"
        local, at, domain = claim.queue_reviewer_email.partition("@")
        return f"{escape(local)}<wbr>{escape(at)}{escape(domain)}"

    def age(self, claim: Claim) -> str:
        elapsed = self.now - (claim.submitted_at or claim.created_at)
        if elapsed < dt.timedelta(days=1):
            return escape(self.hours % {"hours": max(0, int(elapsed.total_seconds() // 3600))})
        return escape(self.days % {"days": elapsed.days})

    def sla_deadline(self, claim: Claim) -> str:
        due = claim.sla_due_at
        if due is None:
            return "—"
        if due not in self.deadlines:
            local = timezone.localtime(due)
            self.deadlines[due] = (
                f"{escape(date_format(local, 'SHORT_DATE_FORMAT'))}"
                f"<br><small>{escape(time_format(local, 'TIME_FORMAT'))}</small>"
            )
        return self.deadlines[due]

    def sla_state_label(self, claim: Claim) -> str:
        state = getattr(claim, "sla_state", "")
        return self.sla_cells[state] if state else "—"

    def competing(self, claim: Claim) -> str:
        return self.competing_flag if getattr(claim, "is_competing", False) else ""
