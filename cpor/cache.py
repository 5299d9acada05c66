"""Django's Redis cache, failing open: a Redis outage makes the cache empty, not the page a 500.

Everything CPOR caches can be recomputed (dashboard counts, the product list, a rendered filter
form) or may be forgotten for a while (rate-limit counters), so a failed read answers "not cached"
and a failed write is skipped, each with a logged warning. Counters are the exception: `incr` has
no neutral answer, so it raises `CacheUnavailable` and the caller decides (`cpor.ratelimit` lets
the request through).

After a failure the cache does not ask Redis again for `RETRY_AFTER_SECONDS`: with Redis
unreachable each request would otherwise wait for a connection timeout once per cache call.
Wrapping at the backend (rather than try/except at each call site) also covers calls we do not
write ourselves, such as the `{% cache %}` template tag.

Each thread's cache keeps one `redis.Redis` client per connection pool (`ReusedClientRedisCacheClient`):
Django's client builds a new one, with its table of response callbacks, for every cache call.
`count` is a rate-limit window's counter in one round trip instead of Django's three (add, exists, incr).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0
T = TypeVar("T")


class CacheUnavailable(Exception):
    """The cache could not count: the caller chooses what an unknown count means."""


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, handing out one `redis.Redis` per connection pool instead of a new
    one per call. A `redis.Redis` over a pool holds no connection of its own (each command takes one
    from the pool and gives it back), so sharing it is safe; the pool is the one Django made."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailOpenRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        self._down_until = 0.0

    def _call(self, fallback: T, method: Callable[..., T], *args: Any) -> T:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return method(*args)
        except ResponseError as exc:
            # Redis answered, refusing this one command (out of memory under `noeviction`, say):
            # the cache is up, so nothing else, least of all the rate limits' counters, is skipped.
            logger.warning("cache refused %s (%s); answered as not cached", method.__name__, exc)
            return fallback
        except RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning(
                "cache unavailable (%s: %s); %s answered as not cached for %.0f s",
                type(exc).__name__,
                exc,
                method.__name__,
                RETRY_AFTER_SECONDS,
            )
            return fallback

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(False, super().add, key, value, timeout, version)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._call(default, super().get, key, default, version)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._call(None, super().set, key, value, timeout, version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(False, super().touch, key, timeout, version)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._call(False, super().delete, key, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._call({}, super().get_many, keys, version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._call(False, super().has_key, key, version)

    def set_many(
        self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[str]:
        return self._call(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call(None, super().delete_many, keys, version)

    def clear(self) -> bool:
        return self._call(False, super().clear)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("the cache is unavailable")
        try:
            return super().incr(key, delta, version)
        except RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning("cache unavailable (%s: %s); a counter was not counted", type(exc).__name__, exc)
            raise CacheUnavailable(str(exc)) from exc

    def count(self, key: str, timeout: int, version: int | None = None) -> int:
        """Count one more in `key`, made at 0 to live `timeout` seconds if absent: the new count.

        One round trip, atomic (MULTI, SET NX EX, INCR, EXEC): the key never exists without its
        expiry. Fails like `incr`, with `CacheUnavailable`.
        """
        if timeout <= 0:
            raise ValueError("a counter needs a positive timeout")
        key = self.make_and_validate_key(key, version=version)
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("the cache is unavailable")
        try:
            pipeline = self._cache.get_client(key, write=True).pipeline(transaction=True)
            pipeline.set(key, 0, ex=int(timeout), nx=True)
            pipeline.incr(key)
            return int(pipeline.execute()[1])
        except RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning("cache unavailable (%s: %s); a counter was not counted", type(exc).__name__, exc)
            raise CacheUnavailable(str(exc)) from exc
