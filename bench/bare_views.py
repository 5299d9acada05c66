"""The benchmark's bare views and the URL configuration that serves them beside the site's own.

Used only by `bench/wrk_bench.py`, through `bench/wrk_settings.py` (production settings with
ROOT_URLCONF pointing here): `cpor.urls`, the production URL configuration, never names these views,
so no deployment serves them.

Each bare view serves the rows its page shows from ONE raw SELECT through a minimal template, under
the same server, middleware, session and database as the page: the floor the page is measured
against. What the page adds above it (its other queries, forms, layout, translation) is the ratio.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path
from django.utils import timezone

from claims.models import Activity, Claim
from claims.selectors import PAGE_SIZE, DashboardRow
from consent.models import hash_token
from cpor.deadlines import describe_deadline
from reviews.competing import HELD_STATUSES
from reviews.sla import due_soon_edge

DEADLINES = list(Claim.DEADLINE_BY_STATUS.values())

# The dashboard's page of rows (bench/dashboard_bench.py's bare view, the same SELECT).
DASHBOARD_SQL = f"""
SELECT c.id, c.name, c.customer_name, c.customer_domain, c.customer_tenant_id, c.activity, c.status,
       c.submitted_at, {", ".join(f"c.{name}" for name in DEADLINES)},
       (SELECT string_agg(p.name, ', ' ORDER BY p.name)
          FROM claims_claim_products cp JOIN claims_product p ON p.id = cp.product_id
         WHERE cp.claim_id = c.id)
  FROM claims_claim c
 WHERE c.partner_id = (SELECT partner_id FROM claims_membership WHERE user_id = %s)
 ORDER BY c.created_at DESC, c.id DESC
 LIMIT {PAGE_SIZE}
"""

# One claim as its partner sees it: the claim, its MPN, products and partner-visible history.
CLAIM_SQL = """
SELECT c.id, c.name, c.status, c.customer_name, c.customer_domain, c.customer_tenant_id, c.activity,
       c.solution_area, c.created_at, c.submitted_at, c.work_description, c.customer_contact_name,
       c.customer_contact_email, c.partner_contact_name, c.partner_contact_email, m.number,
       (SELECT string_agg(p.name, ', ' ORDER BY p.name)
          FROM claims_claim_products cp JOIN claims_product p ON p.id = cp.product_id
         WHERE cp.claim_id = c.id),
       (SELECT json_agg(json_build_object('at', e.created_at, 'action', e.action, 'to', e.to_status)
                        ORDER BY e.created_at, e.id)
          FROM claims_claimevent e WHERE e.claim_id = c.id AND e.partner_visible)
  FROM claims_claim c JOIN claims_mpnid m ON m.id = c.mpn_id
 WHERE c.id = %s AND c.partner_id = (SELECT partner_id FROM claims_membership WHERE user_id = %s)
"""

# The consent link's claim, found by the link's hash as the page finds it.
CONSENT_SQL = """
SELECT r.contact_name, r.expires_at, r.used_at, c.id, c.name, c.status, c.customer_name,
       c.customer_domain, c.consent_window_ends_at, p.name,
       (SELECT string_agg(pr.name, ', ' ORDER BY pr.name)
          FROM claims_claim_products cp JOIN claims_product pr ON pr.id = cp.product_id
         WHERE cp.claim_id = c.id)
  FROM consent_consentrequest r
  JOIN claims_claim c ON c.id = r.claim_id
  JOIN claims_partner p ON p.id = c.partner_id
 WHERE r.token_hash = %s
"""

# The review queue's first page (bench/queue_bench.py's raw page, the same SELECT).
QUEUE_SQL = """
SELECT c.id, c.name, c.status, c.customer_name, c.customer_domain, c.submitted_at, c.created_at,
       c.sla_due_at, p.name, m.number, u.email,
       (SELECT string_agg(pr.name, ', ' ORDER BY pr.name)
          FROM claims_claim_products cp JOIN claims_product pr ON pr.id = cp.product_id
         WHERE cp.claim_id = c.id) AS products,
       CASE WHEN c.sla_due_at IS NULL THEN ''
            WHEN c.sla_due_at <= %(now)s THEN 'breached'
            WHEN c.sla_due_at <= %(soon)s THEN 'due_soon'
            ELSE 'on_time' END AS sla_state,
       EXISTS (SELECT 1 FROM claims_claim o
                 JOIN claims_claim_products op ON op.claim_id = o.id
                 JOIN claims_claim_products cp ON cp.product_id = op.product_id AND cp.claim_id = c.id
                WHERE o.customer_tenant_id = c.customer_tenant_id AND o.partner_id <> c.partner_id
                  AND o.status = ANY(%(held)s)) AS competing
  FROM claims_claim c
  JOIN claims_partner p ON p.id = c.partner_id
  JOIN claims_mpnid m ON m.id = c.mpn_id
  LEFT JOIN auth_user u ON u.id = c.assigned_reviewer_id
 WHERE c.status <> 'editing'
 ORDER BY c.sla_due_at ASC NULLS LAST, c.id ASC
 LIMIT 100
"""

# Minimal templates: a title and the SELECT's values, escaped, nothing else.
TABLE = engines["django"].from_string(
    "<!doctype html><html lang=en><title>{{ title }}</title><table>"
    "{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}"
    "</table>"
)
RECORD = engines["django"].from_string(
    "<!doctype html><html lang=en><title>{{ title }}</title><dl>"
    "{% for name, value in fields %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>"
)


def _select(sql: str, params: object) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@login_required
def bare_dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard's 25 rows in the dashboard's own row template."""
    now = timezone.now()
    statuses, activities = dict(Claim.Status.choices), dict(Activity.choices)
    rows = []
    for pk, name, customer, domain, tenant, activity, status, submitted, *deadlines, products in _select(
        DASHBOARD_SQL, [request.user.pk]
    ):
        field = Claim.DEADLINE_BY_STATUS.get(status)
        at = deadlines[DEADLINES.index(field)] if field else None
        rows.append(
            DashboardRow(
                pk=pk,
                name=name,
                customer_name=customer,
                customer_domain=domain,
                customer_tenant_id=tenant,
                activity=activity,
                activity_label=str(activities.get(activity, activity)),
                status=status,
                status_label=str(statuses.get(status, status)),
                submitted_at=submitted,
                deadline=describe_deadline(field, at, now),
                product_names=products or "",
            )
        )
    return render(request, "claims/dashboard_rows.html", {"rows": rows})


def _record(request: HttpRequest, title: str, names: list[str], rows: list[tuple]) -> HttpResponse:
    if not rows:
        raise Http404("No such row")
    return HttpResponse(RECORD.render({"title": title, "fields": list(zip(names, rows[0], strict=True))}))


@login_required
def bare_claim(request: HttpRequest, pk: int) -> HttpResponse:
    names = [
        "id", "name", "status", "customer", "domain", "tenant", "activity", "area", "created",
        "submitted", "work", "contact", "contact email", "partner contact", "partner email", "MPN",
        "products", "history",
    ]  # fmt: skip
    return _record(request, "claim", names, _select(CLAIM_SQL, [pk, request.user.pk]))


def bare_consent(request: HttpRequest, token: str) -> HttpResponse:
    names = [
        "contact", "expires", "answered", "claim", "name", "status", "customer", "domain",
        "window ends", "partner", "products",
    ]  # fmt: skip
    return _record(request, "consent", names, _select(CONSENT_SQL, [hash_token(token)]))


@login_required
def bare_queue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = _select(QUEUE_SQL, {"now": now, "soon": due_soon_edge(now), "held": list(HELD_STATUSES)})
    return HttpResponse(TABLE.render({"title": "queue", "rows": rows}))


urlpatterns = [
    path("bench/bare/dashboard/", bare_dashboard),
    path("bench/bare/claim/<int:pk>/", bare_claim),
    path("bench/bare/consent/<str:token>/", bare_consent),
    path("bench/bare/queue/", bare_queue),
    path("", include("cpor.urls")),
]
