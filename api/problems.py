"""RFC 9457 problem details: every error of the Partner API is `application/problem+json`.

Each problem carries a stable machine `code` beside the human `title` and `detail`; validation
problems name their fields in `errors` (field → messages), as the portal shows them by field.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES: dict[str, Any] = {
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "validation_error": "Validation error",
    "transition_refused": "Action refused",
    "conflict": "Conflict",
    "idempotency_key_reused": "Idempotency key reused",
    "rate_limited": "Too many requests",
}


class Problem(Exception):  # noqa: N818 (it is the problem, not an error about one)
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def problem_response(problem: Problem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"urn:cpor:problem:{problem.code}",
        "title": TITLES.get(problem.code, problem.code),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=problem.status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in problem.headers.items():
        response[name] = value
    if problem.status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def not_found() -> Problem:
    return Problem(404, "not_found", _("There is no such claim, or it is not your organization's."))


def validation_problem(errors: dict[str, list[str]], detail: str = "") -> Problem:
    return Problem(
        422,
        "validation_error",
        detail or " ".join(message for messages in errors.values() for message in messages),
        errors=errors,
    )
