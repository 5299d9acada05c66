"""The customer portal's pages: signing in, every association on the tenant, one association, a receipt.

Views are thin: the customer comes from `customer_session`, what they may see from
`associations`, links from `signin`. Nothing here changes a claim; the customer's decisions are
`decision_views`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from claims.models import AssociationEndRequest, Claim
from consent import associations, customer_session, signin
from consent.customer_session import customer_required
from consent.forms import CustomerSignInForm
from cpor.client_ip import client_ip
from cpor.ratelimit import rate_limit_per_ip


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: every association on the tenant. Otherwise: the sign-in form (its POST: `ask_for_link`)."""
    customer, problem = customer_session.read(request)
    if customer is None and problem is not None:
        return _private(customer_session.ended_page(request, problem))
    if request.method == "POST":
        return _private(ask_for_link(request))
    if customer is not None:
        request.customer = customer  # type: ignore[attr-defined]
        return _private(_associations_page(request))
    return _private(customer_session.sign_in_page(request))


def ask_for_link(request: HttpRequest) -> HttpResponse:
    """The sign-in form's POST: a clear error for a malformed address, else "check your email"."""
    form = CustomerSignInForm(request.POST)
    if not form.is_valid():
        return customer_session.sign_in_page(request, form=form)
    # Whatever happens (sent, unknown domain, rate-limited), the answer is this same page.
    signin.request_link(
        email=form.cleaned_data["email"],
        language=translation.get_language() or "en",
        client_ip=client_ip(request) or "unknown",
    )
    return render(
        request,
        "consent/portal/check_mail.html",
        {"email": form.cleaned_data["email"], "minutes": settings.CPOR_CUSTOMER_LINK_MINUTES},
    )


def _associations_page(request: HttpRequest) -> HttpResponse:
    claims = list(associations.tenant_associations(request.customer.tenant))  # type: ignore[attr-defined]
    now = timezone.now()
    workloads = associations.shown_workloads(claims)
    rows = [(claim, associations.customer_status(claim, now=now), workloads[claim.pk]) for claim in claims]
    return render(
        request,
        "consent/portal/associations.html",
        {"customer": request.customer, "rows": rows},  # type: ignore[attr-defined]
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit_per_ip("customer_link", limit_setting="CPOR_CUSTOMER_LINK_RATE_LIMIT")
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET/HEAD: a page with a "Sign in" button, changing nothing. POST: use the link once."""
    if request.method == "POST":
        state, link = signin.redeem(token)
        if state == signin.LinkState.VALID and link is not None:
            customer_session.sign_in(request, link)
            return HttpResponseRedirect(reverse("consent:customer_home"))
    else:
        state = signin.link_state(signin.find_link(token))
    status = {signin.LinkState.VALID: 200, signin.LinkState.UNKNOWN: 404}.get(state, 410)
    response = render(
        request,
        "consent/portal/link.html",
        {
            "state": state,
            "minutes": settings.CPOR_CUSTOMER_LINK_MINUTES,
            # The language switch returns to the portal, not to this page: its path is the token.
            "language_next": reverse("consent:customer_home"),
        },
        status=status,
    )
    # same-origin: the token never leaks in a Referer to other sites, yet the form POST keeps its Origin.
    response["Referrer-Policy"] = "same-origin"
    return _private(response)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    customer_session.sign_out(request)
    return HttpResponseRedirect(reverse("consent:customer_home"))


@never_cache
@require_http_methods(["GET", "HEAD"])
@customer_required
def association(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = associations.association_for(request.customer, claim_id)  # type: ignore[attr-defined]
    return _private(render(request, "consent/portal/association.html", association_context(request, claim)))


def association_context(request: HttpRequest, claim: Claim, **extra: object) -> dict[str, object]:
    """What the association page shows; lane D's decision views render the page with their forms."""
    status = associations.customer_status(claim)
    end_requests = list(claim.end_requests.order_by("-created_at", "-id"))
    # The workflow keeps a request pending only while the association stands (it is settled when
    # the association ends any other way), so a pending one is waiting for a review lead.
    pending = next((r for r in end_requests if r.outcome == AssociationEndRequest.Outcome.PENDING), None)
    return {
        "customer": request.customer,  # type: ignore[attr-defined]
        "claim": claim,
        "status": status,
        "workloads": associations.shown_workloads([claim])[claim.pk],
        "receipts": associations.receipts_of(claim),
        "end_requests": end_requests,
        "pending_end_request": pending,
        "may_decline": status.is_open,
        "may_ask_to_end": claim.status == Claim.Status.ASSOCIATED,
        **extra,
    }


@never_cache
@require_http_methods(["GET", "HEAD"])
@customer_required
def receipt(request: HttpRequest, claim_id: int, event_id: int) -> HttpResponse:
    claim = associations.association_for(request.customer, claim_id)  # type: ignore[attr-defined]
    event = associations.receipt_event(claim, event_id)
    return _private(
        render(
            request,
            "consent/portal/receipt.html",
            {
                "customer": request.customer,  # type: ignore[attr-defined]
                "claim": claim,
                "receipt": associations.receipt_of(claim, event),
            },
        )
    )
