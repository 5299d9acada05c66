"""Two imports of the same feed at once (two operators, or the command and the admin page) on
PostgreSQL: both finish, the rows are those of the file once, and between them every row is counted
as new exactly once."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid

import pytest
from django.db import OperationalError, connection, transaction

from claims import feeds
from claims.models import MonthlyUsage, Product, Subscription, Tenant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
STATUS = ("active", "suspended")


def both_at_once(text: str, importer: object) -> list[feeds.ImportResult]:
    barrier = threading.Barrier(2, timeout=30)
    results: list[feeds.ImportResult] = []
    crashes: list[BaseException] = []

    def operator() -> None:
        try:
            barrier.wait()
            results.append(importer(io.BytesIO(text.encode()), now=NOW, batch_rows=50))  # type: ignore[operator]
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=operator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an import is stuck"
    if crashes:
        raise crashes[0]
    return results


def test_two_usage_imports_of_one_file_at_once() -> None:
    tenants = [Tenant.objects.create(tenant_id=uuid.uuid4(), name=f"T{n}") for n in range(5)]
    codes = list(Product.objects.order_by("code").values_list("code", flat=True)[:6])
    lines = [
        f"{tenant.tenant_id},{code},2026-{month:02},{month * 3}"
        for tenant in tenants
        for code in codes
        for month in range(1, 11)
    ]
    results = both_at_once(
        "tenant_id,product_code,month,active_users\n" + "\n".join(lines), feeds.import_usage
    )
    assert MonthlyUsage.objects.count() == len(lines) == 300
    assert sum(r.created for r in results) == 300
    assert all(r.rejected == 0 and r.saved == 300 for r in results)


def test_two_subscription_imports_of_one_file_at_once() -> None:
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), name="T")
    lines = [
        f"{uuid.UUID(int=n)},{tenant.tenant_id},d365-sales,direct,{STATUS[n % 2]},{n},2025-01-01,"
        for n in range(1, 201)
    ]
    header = "subscription_id,tenant_id,product_code,channel,status,seats,start_date,end_date\n"
    results = both_at_once(header + "\n".join(lines), feeds.import_subscriptions)
    assert Subscription.objects.count() == 200
    assert sum(r.created for r in results) == 200
    assert Subscription.objects.filter(inactive_since=NOW).count() == 100


def test_two_usage_imports_with_different_counts_at_once() -> None:
    """The SQL import inserts the keys it did not find and updates the others under a table lock:
    the second import waits for the first, sees all its rows, and updates each one."""
    tenants = [Tenant.objects.create(tenant_id=uuid.uuid4(), name=f"T{n}") for n in range(5)]
    codes = list(Product.objects.order_by("code").values_list("code", flat=True)[:6])
    keys = [(tenant.tenant_id, code, month) for tenant in tenants for code in codes for month in range(1, 11)]
    header = "tenant_id,product_code,month,active_users\n"
    files = {
        extra: header + "\n".join(f"{t},{c},2026-{m:02},{m * 3 + extra}" for t, c, m in keys)
        for extra in (0, 1)
    }
    texts = iter(files.values())
    read: dict[int, str] = {}  # id of each import's result: the file it read
    lock = threading.Lock()

    def importer(stream: io.BytesIO, **options: object) -> feeds.ImportResult:
        with lock:
            text = next(texts)
        result = feeds.import_usage(io.BytesIO(text.encode()), **options)
        read[id(result)] = text
        return result

    first, second = sorted(both_at_once("", importer), key=lambda r: -r.created)
    assert (first.created, first.updated, first.unchanged) == (300, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 300, 0)
    saved = sorted(
        MonthlyUsage.objects.values_list("tenant__tenant_id", "product__code", "month__month", "active_users")
    )
    extra = 0 if read[id(second)] == files[0] else 1
    assert saved == sorted((t, c, m, m * 3 + extra) for t, c, m in keys)


def test_an_import_holding_the_usage_lock_blocks_writers_not_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), name="T")
    product = Product.objects.order_by("code").first()
    assert product is not None
    MonthlyUsage.objects.create(tenant=tenant, product=product, month=dt.date(2026, 1, 1), active_users=1)
    locked, release = threading.Event(), threading.Event()
    held = feeds._references_held  # the first step after the import takes the lock

    def waiting(rows: str) -> bool:
        locked.set()
        assert release.wait(30)
        return held(rows)

    monkeypatch.setattr(feeds, "_references_held", waiting)
    crashes: list[BaseException] = []

    def operator() -> None:
        try:
            feeds.import_usage(
                io.BytesIO(
                    f"tenant_id,product_code,month,active_users\n{tenant.tenant_id},{product.code},2026-02,2\n".encode()
                ),
                now=NOW,
            )
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=operator)
    thread.start()
    try:
        assert locked.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            assert MonthlyUsage.objects.count() == 1  # a reader does not wait
            assert len(MonthlyUsage.objects.select_for_update().filter(tenant=tenant)) == 1
        with pytest.raises(OperationalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
            MonthlyUsage.objects.filter(tenant=tenant).update(active_users=5)  # a writer waits
    finally:
        release.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and not crashes
    assert sorted(MonthlyUsage.objects.values_list("month__month", "active_users")) == [(1, 1), (2, 2)]


def test_an_import_waits_for_the_usage_lock_at_most_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that never lets go of the table (an anti-wraparound vacuum does not give way): the
    import stops after USAGE_LOCK_WAIT with a clear message, saves nothing, and later works."""
    tenant = Tenant.objects.create(tenant_id=uuid.uuid4(), name="T")
    product = Product.objects.order_by("code").first()
    assert product is not None
    text = f"tenant_id,product_code,month,active_users\n{tenant.tenant_id},{product.code},2026-02,2\n"
    monkeypatch.setattr(feeds, "USAGE_LOCK_WAIT", "300ms")
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE claims_monthlyusage IN ROW EXCLUSIVE MODE")
                locked.set()
                assert release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(30)
        with pytest.raises(feeds.FeedError, match="run the import again"):
            feeds.import_usage(io.BytesIO(text.encode()), now=NOW)
    finally:
        release.set()
        thread.join(timeout=60)
    assert not MonthlyUsage.objects.exists()
    # The limit holds for taking the table's lock only: the import's later waits are as before.
    seen: list[str] = []
    held = feeds._references_held

    def noting(rows: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            seen.append(cursor.fetchone()[0])
        return held(rows)

    monkeypatch.setattr(feeds, "_references_held", noting)
    assert feeds.import_usage(io.BytesIO(text.encode()), now=NOW).created == 1
    assert seen == ["0"]
