"""The Partner API answers a NUL in its path or query string as a problem document, by parameter
(the site's own middleware, after this one, answers other paths with a plain 400)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.problems import problem_response, validation_problem
from cpor.middleware import nul_parameters, refused_message

API_PREFIX = "/api/"


class ApiRejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refused = nul_parameters(request)
            if "\x00" in request.path or refused:
                names = [key if "\x00" not in key else "__all__" for key in refused] or ["__all__"]
                return problem_response(validation_problem({name: [refused_message()] for name in names}))
        return self.get_response(request)
