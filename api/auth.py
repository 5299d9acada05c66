"""Bearer API keys: who a call acts as.

A call acts as the key's creating user within the key's partner. A key is refused (401) when it is
unknown or revoked, or when its creator no longer administers that partner; a read key on a write
operation is refused with 403.

Each key has a rate limit per minute (a fixed window on the cache, `cpor.ratelimit`): reads
(GET) up to `CPOR_API_RATE_READ`, writes up to `CPOR_API_RATE_WRITE`. Past it the answer is 429
`rate_limited` with `Retry-After`, the seconds until the window turns. When the cache cannot count
(Redis down) the limit is not applied, as for the portal's limits.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.models import ApiKey, key_hash
from api.problems import Problem
from claims.models import Membership
from claims.selectors import membership_for
from cpor import ratelimit

# Who may create and hold keys: the admins who run the partner's claims programme.
KEY_ROLES = frozenset({Membership.Role.GLOBAL_ADMIN, Membership.Role.INCENTIVES_ADMIN})
RATE_WINDOW_SECONDS = 60
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_rate(key: ApiKey, request: HttpRequest) -> None:
    """Count this call against the key's reads or writes; raise a 429 Problem past the limit."""
    kind = "read" if request.method in READ_METHODS else "write"
    limit = settings.CPOR_API_RATE_READ if kind == "read" else settings.CPOR_API_RATE_WRITE
    started = time.time()
    # The stored hash names the key in the cache: unique per key, and not the secret.
    if ratelimit.hit(f"api-{kind}", key.hashed_key[:24], limit=limit, window_seconds=RATE_WINDOW_SECONDS):
        return
    retry_after = max(1, math.ceil(RATE_WINDOW_SECONDS - started % RATE_WINDOW_SECONDS))
    message = (
        _("This API key made more than %(count)s read requests this minute; retry in %(seconds)s seconds.")
        if kind == "read"
        else _(
            "This API key made more than %(count)s write requests this minute; retry in %(seconds)s seconds."
        )
    )
    raise Problem(
        429,
        "rate_limited",
        message % {"count": limit, "seconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def may_manage_keys(membership: Membership | None) -> bool:
    return membership is not None and membership.role in KEY_ROLES


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; `request.auth` is the ApiKey, `request.user` its creator."""

    def __init__(self, *, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def __call__(self, request: HttpRequest) -> Any:
        result = super().__call__(request)
        if result is None:
            raise Problem(401, "unauthorized", _("Send a valid API key: Authorization: Bearer <key>."))
        return result

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key = (
            ApiKey.objects.select_related("partner", "created_by")
            .filter(hashed_key=key_hash(token.strip()))
            .first()
        )
        if key is None or not key.is_active:
            raise Problem(401, "unauthorized", _("This API key is unknown or has been revoked."))
        user = key.created_by
        membership = membership_for(user)
        if not may_manage_keys(membership) or membership.partner_id != key.partner_id:
            raise Problem(
                401, "unauthorized", _("The person who created this API key no longer manages this partner.")
            )
        if self.write and not key.can_write:
            raise Problem(403, "forbidden", _("This API key may only read; use a read-write key."))
        check_rate(key, request)
        key.touch(timezone.now())
        request.user = user
        return key


read_key = ApiKeyAuth()
write_key = ApiKeyAuth(write=True)
