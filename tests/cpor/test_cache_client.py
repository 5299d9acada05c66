"""The Redis cache keeps one client per connection pool, and a rate limit counts in one round trip.

Django's Redis cache built a `redis.Redis` (with its table of response callbacks) for every cache
call, and a rate-limit hit took three round trips (add, exists, incr). Both still fail open.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings
from redis.exceptions import ResponseError

from cpor import cache as cpor_cache
from cpor import ratelimit
from cpor.cache import CacheUnavailable, FailOpenRedisCache
from tests.cpor import test_redis_outage as outage


def redis_cache(url: str) -> dict[str, Any]:
    """The outage tests' cache settings, under a key prefix of this test's own."""
    settings = outage.redis_cache(url)
    settings["default"]["KEY_PREFIX"] = f"cpor-test-client-{time.monotonic_ns()}"
    return settings


@pytest.fixture
def dead_cache() -> Iterator[FailOpenRedisCache]:
    with override_settings(CACHES=redis_cache(f"redis://127.0.0.1:{outage.closed_port()}/1")):
        backend = caches["default"]
        assert isinstance(backend, FailOpenRedisCache)
        yield backend


@pytest.fixture
def live_cache(settings: Any) -> Iterator[FailOpenRedisCache]:
    settings.CACHES = redis_cache(settings.REDIS_CACHE_URL)
    backend = caches["default"]
    assert isinstance(backend, FailOpenRedisCache)
    yield backend
    backend.clear()


class CountingPool:
    """Counts the connections taken from a pool: one per round trip."""

    def __init__(self, backend: FailOpenRedisCache) -> None:
        self.pool = backend._cache.get_client(write=True).connection_pool
        self.taken = 0
        self._get = self.pool.get_connection

    def __enter__(self) -> CountingPool:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.taken += 1
            return self._get(*args, **kwargs)

        self.pool.get_connection = counted
        return self

    def __exit__(self, *exc: object) -> None:
        del self.pool.get_connection


def test_one_client_serves_every_call_on_a_pool(dead_cache: FailOpenRedisCache) -> None:
    client = dead_cache._cache.get_client(write=True)
    assert dead_cache._cache.get_client("any key", write=True) is client
    assert dead_cache._cache.get_client() is client  # one server: reads use the same pool
    assert client.connection_pool is dead_cache._cache._get_connection_pool(True)


def test_the_reused_client_still_fails_open(dead_cache: FailOpenRedisCache, caplog: Any) -> None:
    assert dead_cache.get("k", "fallback") == "fallback"
    dead_cache.set("k", 1)  # skipped, not raised
    with pytest.raises(CacheUnavailable):
        dead_cache.count("counter", 60)
    assert "cache unavailable" in caplog.text
    assert dead_cache._down_until > time.monotonic() + cpor_cache.RETRY_AFTER_SECONDS - 1
    # After the pause, Redis is asked again (and found still down) through the same client.
    dead_cache._down_until = 0.0
    assert dead_cache.get_many(["a", "b"]) == {}
    dead_cache._down_until = 0.0
    with pytest.raises(CacheUnavailable):
        dead_cache.incr("counter")


def test_a_rate_limit_lets_requests_through_while_redis_is_down(dead_cache: FailOpenRedisCache) -> None:
    assert all(ratelimit.hit("test", "203.0.113.1", limit=1, window_seconds=60) for _ in range(3))


def test_count_needs_a_positive_timeout(dead_cache: FailOpenRedisCache) -> None:
    with pytest.raises(ValueError):
        dead_cache.count("counter", 0)


@pytest.mark.redis
def test_count_makes_the_key_with_its_expiry_and_counts_in_one_round_trip(
    live_cache: FailOpenRedisCache,
) -> None:
    with CountingPool(live_cache) as pool:
        assert [live_cache.count("c", 30) for _ in range(3)] == [1, 2, 3]
    assert pool.taken == 3  # one round trip each
    key = live_cache.make_and_validate_key("c")
    assert 0 < live_cache._cache.get_client(key).ttl(key) <= 30
    assert live_cache.get("c") == 3  # the same key and value the cache's own calls read
    live_cache.set("d", 5, timeout=30)
    assert live_cache.count("d", 30) == 6  # counts on from what is there, keeping its expiry


@pytest.mark.redis
def test_a_rate_limit_hit_is_one_round_trip_and_its_window_expires(live_cache: FailOpenRedisCache) -> None:
    now = time.time()
    window_start = now - now % 60 + 60  # the start of the next minute: a whole window ahead
    with time_machine.travel(window_start + 1, tick=False), CountingPool(live_cache) as pool:
        answers = [ratelimit.hit("test", "203.0.113.2", limit=2, window_seconds=60) for _ in range(3)]
        assert answers == [True, True, False]
        assert ratelimit.hit("test", "203.0.113.3", limit=2, window_seconds=60)  # another address
    assert pool.taken == 4
    key = live_cache.make_and_validate_key(f"rl:test:203.0.113.2:{int(window_start // 60)}")
    assert 0 < live_cache._cache.get_client(key).ttl(key) <= 65  # the window and 5 s
    with time_machine.travel(window_start + 61, tick=False):  # the next window counts afresh
        assert ratelimit.hit("test", "203.0.113.2", limit=2, window_seconds=60)


def test_a_rate_limit_on_the_per_process_cache_counts_too(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()
    answers = [ratelimit.hit("test", "203.0.113.4", limit=2, window_seconds=60) for _ in range(3)]
    assert answers == [True, True, False]


@pytest.mark.redis
def test_a_command_redis_refuses_is_skipped_without_taking_the_cache_down(
    live_cache: FailOpenRedisCache, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Out of memory under `noeviction`, Redis refuses a write and answers everything else: the
    write is skipped, and reads and the rate limits' counters go on (the cache is not marked down)."""
    client = live_cache._cache.get_client(write=True)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise ResponseError("OOM command not allowed when used memory > 'maxmemory'.")

    live_cache.set("kept", "value")
    monkeypatch.setattr(client, "set", refused)
    live_cache.set("page-body", "x" * 1000)  # skipped, no exception
    assert "cache refused set" in caplog.text
    monkeypatch.undo()
    assert live_cache.get("page-body") is None
    assert live_cache.get("kept") == "value"
    assert live_cache.count("counter", 60) == 1  # not CacheUnavailable: the cache is up
