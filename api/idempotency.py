"""`Idempotency-Key` on every POST and PATCH of the Partner API.

The first request with a key reserves it (a row under a unique constraint, committed before the
work starts), does the work, and stores its response. A retry with the same key and the same
request gets that response again and changes nothing; the same key with another request is a 422
problem; a retry while the first is still running is a 409 problem (try again shortly). Only
successful responses are kept: a refused request changed nothing, so it may be retried as it is.
Keys are scoped per API key and forgotten after 24 hours.

The fingerprint is made from the parsed request (JSON canonicalized, each uploaded file by name
and SHA-256), not its raw bytes: a client's retry of a multipart upload picks a new boundary.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import IDEMPOTENCY_TTL, IdempotentRequest
from api.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    content_type = request.content_type or ""
    if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(json.dumps(["field", name, value]).encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                content = hashlib.sha256()
                for chunk in upload.chunks():
                    content.update(chunk)
                upload.seek(0)
                digest.update(json.dumps(["file", name, upload.name, content.hexdigest()]).encode())
    else:
        body = request.body
        try:
            digest.update(json.dumps(json.loads(body or b"null"), sort_keys=True).encode())
        except ValueError:
            digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type=record.response_content_type or "application/json",
    )
    response[REPLAY_HEADER] = "true"
    return response


def _reserve(api_key_id: int, key: str, print_: str) -> IdempotentRequest | HttpResponse:
    """Our own reservation row, or the stored response to replay; raises a Problem otherwise."""
    now = timezone.now()
    with transaction.atomic():
        IdempotentRequest.objects.filter(
            api_key_id=api_key_id, key=key, created_at__lt=now - IDEMPOTENCY_TTL
        ).delete()
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(
                    api_key_id=api_key_id, key=key, fingerprint=print_, created_at=now
                )
        except IntegrityError:
            pass
    existing = IdempotentRequest.objects.filter(api_key_id=api_key_id, key=key).first()
    if existing is None:  # the other request failed and let its key go in between: ours now
        return _reserve(api_key_id, key, print_)
    if existing.fingerprint != print_:
        raise Problem(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was used for a different request; use a new key for a new request."),
        )
    if existing.response_status is None:
        raise Problem(
            409,
            "conflict",
            _("A request with this Idempotency-Key is still being processed; retry shortly."),
            headers={"Retry-After": "1"},
        )
    return _replay(existing)


def idempotent(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a POST/PATCH operation that returns an HttpResponse."""

    @functools.wraps(handler)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(
                422,
                "validation_error",
                _("An Idempotency-Key is 1 to %(count)s printable characters.") % {"count": MAX_KEY_LENGTH},
                errors={HEADER: [_("Not a valid Idempotency-Key.")]},
            )
        reserved = _reserve(request.auth.pk, key, fingerprint(request))
        if isinstance(reserved, HttpResponse):
            return reserved
        try:
            response = handler(request, *args, **kwargs)
        except BaseException:
            IdempotentRequest.objects.filter(pk=reserved.pk).delete()
            raise
        if 200 <= response.status_code < 300:
            IdempotentRequest.objects.filter(pk=reserved.pk).update(
                response_status=response.status_code,
                response_body=response.content,
                response_content_type=response.get("Content-Type", ""),
            )
        else:
            IdempotentRequest.objects.filter(pk=reserved.pk).delete()
        return response

    return wrapper


def purge_expired(*, batch_size: int = 1000) -> int:
    """Forget the keys older than IDEMPOTENCY_TTL, `batch_size` rows per statement; return how many.

    Each batch deletes by id among rows still past the cutoff, so a second run, or a run in another
    process at the same time, deletes nothing twice and fails on nothing. A retry after the purge
    (or after 24 hours even before it: `_reserve` drops a stale row of its key) is a new request.
    """
    cutoff = timezone.now() - IDEMPOTENCY_TTL
    expired = IdempotentRequest.objects.filter(created_at__lt=cutoff)
    total = 0
    while True:
        ids = list(expired.order_by("created_at", "id").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        deleted, _by_model = expired.filter(pk__in=ids).delete()
        total += deleted
