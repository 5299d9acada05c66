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
        refused = sorted(
            key
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in value for value in values)
        )
        if "\x00" in request.path or refused:
            message = _("The request contains a character that is not allowed.")
            if request.path.startswith("/api/"):
                # The Partner API answers every refusal as a problem document, by field.
                from api.problems import problem_response, validation_problem

                names = [key if "\x00" not in key else "__all__" for key in refused] or ["__all__"]
                return problem_response(validation_problem({name: [message] for name in names}))
            return HttpResponseBadRequest(message)
        return self.get_response(request)
