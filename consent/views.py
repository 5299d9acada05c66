"""The customer's consent page: GET only shows, POST (CSRF-protected) denies.

Mail scanners fetch links with GET or HEAD; neither changes anything. No JavaScript submits on
the customer's behalf.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from consent import services
from consent.forms import DenyForm
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
        state = services.notice_state(consent_request)
        form = DenyForm()
        just_recorded = already_recorded = False
        if request.method == "POST":
            if state == NoticeState.DENIED:
                already_recorded = True
            elif state == NoticeState.OPEN:
                form = DenyForm(request.POST)
                if form.is_valid():
                    just_recorded = services.deny(consent_request, reason=form.cleaned_data["reason"])
                    consent_request.claim.refresh_from_db()
                    state = services.notice_state(consent_request)
        claim = consent_request.claim
        response = render(
            request,
            "consent/notice.html",
            {
                "consent_request": consent_request,
                "claim": claim,
                "products": list(claim.products.all()),
                "state": state,
                "form": form,
                "just_recorded": just_recorded,
                "already_recorded": already_recorded,
                "language": language,
                "other_language": "tr" if language == "en" else "en",
            },
        )
    # same-origin: the token never leaks in a Referer to other sites, yet the form POST keeps its Origin.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
