"""The customer portal's pages (being built: issue 13)."""

from django.http import Http404, HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    raise Http404


def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def sign_out(request: HttpRequest) -> HttpResponse:
    raise Http404


def association(request: HttpRequest, claim_id: int) -> HttpResponse:
    raise Http404


def receipt(request: HttpRequest, claim_id: int, event_id: int) -> HttpResponse:
    raise Http404
