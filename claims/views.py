from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from claims.models import Claim, membership_of


def home(request: HttpRequest) -> HttpResponse:
    """The landing page; a signed-in partner user sees their organization's latest claims."""
    membership = membership_of(request.user)
    claims = []
    if membership is not None:
        claims = list(
            Claim.objects.filter(partner_id=membership.partner_id)
            .select_related("mpn")
            .order_by("-created_at", "-id")[:50]
        )
    return render(request, "home.html", {"membership": membership, "claims": claims})
