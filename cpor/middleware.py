"""Requests carrying a NUL character in a parameter are refused before any view sees them.

PostgreSQL cannot store or compare text with NUL; a stray one in a filter or form would otherwise
surface as a database error deep in a view.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(_("The request contains a character that is not allowed."))
        return self.get_response(request)
