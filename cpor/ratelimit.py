"""A small fixed-window rate limit on the Django cache (Redis in production, per-process locally).

A limit fails open: when the cache cannot count (Redis is down), the request goes through and a
warning is logged. Sign-in lockouts are not built on this: django-axes keeps them in the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cpor.cache import CacheUnavailable, FailOpenRedisCache
from cpor.client_ip import client_ip

logger = logging.getLogger(__name__)


def hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit; return True while the caller is within `limit` hits in the current window
    (and when the cache cannot count)."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"rl:{scope}:{key}:{bucket}"
    timeout = window_seconds + 5
    backend = caches["default"]
    try:
        if isinstance(backend, FailOpenRedisCache):
            count = backend.count(cache_key, timeout)  # one round trip to Redis
        else:  # a per-process cache (development, tests)
            count = _count(cache_key, timeout)
    except CacheUnavailable:
        logger.warning("rate limit %s not applied: the cache is unavailable", scope)
        return True
    return count <= limit


def _count(cache_key: str, timeout: int) -> int:
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=timeout)
        return 1


def rate_limit_per_ip(scope: str, *, limit_setting: str, window_seconds: int = 60) -> Callable[..., Any]:
    """Answer 429 past `settings.<limit_setting>` requests per client IP per window."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            limit = getattr(settings, limit_setting)
            if not hit(scope, client_ip(request) or "unknown", limit=limit, window_seconds=window_seconds):
                response = HttpResponse(
                    _("Too many requests. Please wait a minute and try again."),
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(window_seconds)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
