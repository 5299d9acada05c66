"""The customer's decisions in the portal (being built: issue 13)."""

from django.http import Http404, HttpRequest, HttpResponse


def decline(request: HttpRequest, claim_id: int) -> HttpResponse:
    raise Http404


def request_end(request: HttpRequest, claim_id: int) -> HttpResponse:
    raise Http404
