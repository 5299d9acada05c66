"""The customer's consent page: GET only shows, POST (CSRF-protected) declines.

Mail scanners fetch links with GET or HEAD; neither changes anything. No JavaScript submits on
the customer's behalf.

The page shows the claim as the customer portal does and offers the same choice: the whole
association or only some workloads (`claims.workflow.decline_workloads`, through
`services.decline_by_link`). The link answers for its one claim only: the rest of the
organisation's associations are behind the portal's own sign-in, which it links to.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from claims.workflow import TransitionRefused
from consent import associations, services
from consent.decision_forms import DeclineForm, refusal_text
from consent.services import NoticeState
from cpor.ratelimit import rate_limit_per_ip


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit_per_ip("consent", limit_setting="CPOR_CONSENT_RATE_LIMIT")
def notice(request: HttpRequest, token: str) -> HttpResponse:
    consent_request = services.find_request(token)
    if consent_request is None:
        raise Http404("Unknown consent link")
    language = request.GET.get("lang") or consent_request.language
    if language not in dict(settings.LANGUAGES):
        language = consent_request.language
    with translation.override(language):
        claim = consent_request.claim
        state = services.notice_state(consent_request)
        form = DeclineForm(claim=claim, empty_means_all=True)
        just_recorded = already_recorded = False
        declined: list[str] = []
        refusal = ""
        status = 200
        if request.method == "POST":
            if state in (NoticeState.DENIED, NoticeState.ANSWERED):
                already_recorded = True
            elif state == NoticeState.OPEN:
                form = DeclineForm(request.POST, claim=claim, empty_means_all=True)
                if not form.is_valid():
                    status = 400
                else:
                    try:
                        services.decline_by_link(
                            consent_request,
                            form.cleaned_data["declined"],
                            decline_all=form.cleaned_data["decline_all"],
                            reason=form.cleaned_data["reason"],
                            expected_status=form.expected_status,
                        )
                    except (TransitionRefused, ValidationError) as error:
                        refusal = refusal_text(error)
                        status = 409
                    else:
                        just_recorded = True
                        declined = [product.name for product in form.cleaned_data["declined"]]
                    consent_request.refresh_from_db()
                    claim = consent_request.claim
                    state = services.notice_state(consent_request)
        # Read once, shown three times: the summary, the decline form and its choices.
        products = services.notice_products(claim)
        response = render(
            request,
            "consent/notice.html",
            {
                "consent_request": consent_request,
                "claim": claim,
                "products": products,
                "workloads": [product.name for product in products],
                "decline_products": products,
                "state": state,
                "status": associations.customer_status(claim),
                "decline_form": form,
                "decline_action": request.get_full_path(),
                "refusal": refusal,
                "declined": declined,
                "just_recorded": just_recorded,
                "already_recorded": already_recorded,
                "language": language,
                "other_language": "tr" if language == "en" else "en",
            },
            status=status,
        )
    # same-origin: the token never leaks in a Referer to other sites, yet the form POST keeps its Origin.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
