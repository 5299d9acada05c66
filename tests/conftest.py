"""Test set-up: real services when configured, SQLite and no Redis on a laptop.

Under CI (CI=true) PostgreSQL and Redis must be configured and reachable: the run stops with an
error instead of skipping. Outside CI, tests marked `postgres` or `redis` are skipped, saying why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_problem() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL does not point at PostgreSQL"
    import psycopg

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname=db.get("NAME"),
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is unreachable: {exc}"
    return None


def _redis_problem() -> str | None:
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        return f"Redis is unreachable at {settings.REDIS_URL}: {exc}"
    return None


POSTGRES_PROBLEM = _postgres_problem()
REDIS_PROBLEM = _redis_problem()


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and (POSTGRES_PROBLEM or REDIS_PROBLEM):
        raise pytest.UsageError(
            "CI needs PostgreSQL and Redis: " + "; ".join(p for p in (POSTGRES_PROBLEM, REDIS_PROBLEM) if p)
        )
    if not POSTGRES_PROBLEM:
        # One test database per run, so runs side by side on one server never drop each other's.
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_cpor_{os.getpid()}"
    from cpor.celery import app

    if REDIS_PROBLEM:
        # No Redis here: publish to an in-memory broker so after-commit delivery calls still run.
        app.conf.broker_url = "memory://"
        app.conf.broker_transport_options = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and POSTGRES_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {POSTGRES_PROBLEM}"))
        if "redis" in item.keywords and REDIS_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis: {REDIS_PROBLEM}"))


@pytest.fixture(autouse=True)
def _test_settings(settings: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PoE files in a per-test private folder; fast password hashing for the many test users."""
    from django.core.files.storage import storages

    from claims.models import PoeDocument

    settings.STORAGES = {
        **settings.STORAGES,
        "poe": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "poe"), "base_url": None},
        },
    }
    # The field resolved its storage when the model loaded: point it at this test's folder.
    monkeypatch.setattr(PoeDocument._meta.get_field("file"), "storage", storages["poe"])
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path / "poe"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def poe_folder(_test_settings: Path) -> Path:
    """This test's private PoE folder (what the storage writes, for assertions on files on disk)."""
    return _test_settings
