"""Test set-up: real services when configured, SQLite and no Redis on a laptop.

Under CI (CI=true) PostgreSQL and Redis must be configured and reachable: the run stops with an
error instead of skipping. Outside CI, tests marked `postgres` or `redis` are skipped, saying why.

`CPOR_TEST_TODAY=2026-12-25T10:00:00+00:00` (or `--today=…`) runs the whole suite as if it were
that moment: the clock starts there and ticks on. Tests that depend on the date pin it themselves;
this switch is how we prove the rest does not (weekends, holidays, year-end, DST days).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterator
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--today",
        default=os.environ.get("CPOR_TEST_TODAY", ""),
        help="run the suite as if now were this ISO 8601 moment (default: $CPOR_TEST_TODAY, else now)",
    )


def _start_clock(config: pytest.Config) -> None:
    value = config.getoption("--today")
    if not value:
        return
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--today / CPOR_TEST_TODAY is not an ISO 8601 moment: {value!r}") from exc
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--today / CPOR_TEST_TODAY needs a UTC offset: {value!r}")
    import time_machine

    # tick=True: time passes from there as usual, so timeouts, retries and races still behave.
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    config._cpor_clock = traveller  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    value = config.getoption("--today")
    return f"clock: as if it were {value} (CPOR_TEST_TODAY / --today)" if value else None


def pytest_configure(config: pytest.Config) -> None:
    _start_clock(config)
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
    else:
        # A queue of this run's own, so no developer's worker on the same Redis picks up test messages.
        app.conf.task_default_queue = f"cpor-test-{os.getpid()}"


def pytest_unconfigure(config: pytest.Config) -> None:
    if not REDIS_PROBLEM:
        import redis

        from cpor.celery import app

        redis.Redis.from_url(settings.REDIS_URL).delete(app.conf.task_default_queue)


def _restores_serialized_data(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("serialized_rollback"))


@pytest.hookimpl(trylast=True)  # after pytest-django has put transactional tests last
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and POSTGRES_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {POSTGRES_PROBLEM}"))
        if "redis" in item.keywords and REDIS_PROBLEM:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis: {REDIS_PROBLEM}"))
    # A serialized_rollback test loads the migrated rows back into the tables, which must be empty:
    # a plain transactional test's flush recreates content types (post_migrate), so one of those
    # before it makes the load fail on duplicates. Serialized tests go first among the
    # transactional ones (a stable sort: the order is otherwise kept).
    first_transactional = next((i for i, item in enumerate(items) if _is_transactional(item)), len(items))
    tail = items[first_transactional:]
    tail.sort(key=lambda item: not (_is_transactional(item) and _restores_serialized_data(item)))
    items[first_transactional:] = tail


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


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
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request in Turkish leaves Turkish active in the thread."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def poe_folder(_test_settings: Path) -> Path:
    """This test's private PoE folder (what the storage writes, for assertions on files on disk)."""
    return _test_settings


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table, data migrations' rows included: put them back.

    The product catalogue and the staff groups come from data migrations; a test that runs after
    a `transaction=True` test would otherwise find them gone.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    from django.apps import apps
    from django.contrib.auth.models import Group

    from claims.models import LEAD_GROUP, REVIEWER_GROUP, Product

    request.getfixturevalue("_django_db_helper")
    from earnings.models import FINANCE_GROUP

    staff_groups = [REVIEWER_GROUP, LEAD_GROUP, FINANCE_GROUP]
    if Product.objects.exists() and Group.objects.filter(name__in=staff_groups).count() == len(staff_groups):
        return
    catalogue = importlib.import_module("claims.migrations.0002_product_catalogue")
    catalogue.load(apps, None)
    groups = importlib.import_module("reviews.migrations.0003_group_permissions")
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    finance = importlib.import_module("earnings.migrations.0003_finance_group")
    for name, pairs in {**groups.GROUPS, FINANCE_GROUP: finance.FINANCE}.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in pairs
            ]
        )
