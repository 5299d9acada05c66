"""Requests carrying a NUL character in a parameter are refused before any view sees them.

PostgreSQL cannot store or compare text with NUL; a stray one in a filter or form would otherwise
surface as a database error deep in a view. The Partner API refuses them earlier, in its own
words (`api.middleware`); this one answers every other path.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _


def nul_parameters(request: HttpRequest) -> list[str]:
    """The names of the query parameters whose name or a value holds a NUL, sorted."""
    return sorted(
        key
        for key, values in request.GET.lists()
        if "\x00" in key or any("\x00" in value for value in values)
    )


def refused_message() -> str:
    return _("The request contains a character that is not allowed.")


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or nul_parameters(request):
            return HttpResponseBadRequest(refused_message())
        return self.get_response(request)
