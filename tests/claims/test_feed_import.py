"""The subscription and usage feeds (`claims.feeds`, `import_subscriptions`, `import_usage`): what is
saved, what is rejected with which line, column and reason, and that a second run changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import ProtectedError

from claims import feeds
from claims.models import MonthlyUsage, Product, Subscription, Tenant

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)  # a Monday in the middle of November
NORTHWIND = uuid.UUID("6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")
TAILSPIN = uuid.UUID("0d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5")
SUB_A = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
SUB_B = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000002")
USAGE_HEADER = "tenant_id,product_code,month,active_users"
SUBS_HEADER = "subscription_id,tenant_id,product_code,channel,status,seats,start_date,end_date"


@pytest.fixture(autouse=True)
def tenants() -> dict[str, Tenant]:
    return {
        "northwind": Tenant.objects.create(tenant_id=NORTHWIND, name="Northwind Traders"),
        "tailspin": Tenant.objects.create(tenant_id=TAILSPIN, name="Tailspin Toys"),
    }


def usage(text: str, **options: object) -> feeds.ImportResult:
    return feeds.import_usage(io.BytesIO(text.encode()), now=NOW, **options)


def subscriptions(text: str, *, now: dt.datetime = NOW, **options: object) -> feeds.ImportResult:
    return feeds.import_subscriptions(io.BytesIO(text.encode()), now=now, **options)


def rejections(result: feeds.ImportResult) -> list[tuple[int, str]]:
    return [(r.line, r.column) for r in result.rejections]


def usage_rows() -> set[tuple[uuid.UUID, str, str, int]]:
    return {
        (row.tenant.tenant_id, row.product.code, f"{row.month:%Y-%m}", row.active_users)
        for row in MonthlyUsage.objects.select_related("tenant", "product")
    }


def subscription_rows() -> list[tuple[object, ...]]:
    return list(
        Subscription.objects.order_by("subscription_id").values_list(
            "subscription_id",
            "tenant__tenant_id",
            "product__code",
            "channel",
            "status",
            "seats",
            "start_date",
            "end_date",
            "inactive_since",
            "updated_at",
        )
    )


GOOD_USAGE = f"""{USAGE_HEADER}
{NORTHWIND},d365-sales,2026-09,120
{NORTHWIND},d365-sales,2026-10,131
{NORTHWIND},power-apps,2026-10,40
{TAILSPIN},m365-teams,2026-11,900
"""


# ---------------------------------------------------------------------------------------------
# Idempotency and counts


def test_usage_is_saved_and_the_same_file_twice_changes_nothing() -> None:
    first = usage(GOOD_USAGE)
    assert (first.rows_read, first.created, first.updated, first.unchanged, first.rejected) == (4, 4, 0, 0, 0)
    assert usage_rows() == {
        (NORTHWIND, "d365-sales", "2026-09", 120),
        (NORTHWIND, "d365-sales", "2026-10", 131),
        (NORTHWIND, "power-apps", "2026-10", 40),
        (TAILSPIN, "m365-teams", "2026-11", 900),
    }
    ids = set(MonthlyUsage.objects.values_list("pk", flat=True))

    second = usage(GOOD_USAGE)
    assert (second.created, second.updated, second.unchanged, second.changed) == (0, 0, 4, 0)
    assert set(MonthlyUsage.objects.values_list("pk", flat=True)) == ids


def test_a_changed_usage_value_is_updated_in_place() -> None:
    usage(GOOD_USAGE)
    result = usage(
        f"{USAGE_HEADER}\n{NORTHWIND},d365-sales,2026-10,140\n{NORTHWIND},d365-sales,2026-11,150\n"
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    assert (NORTHWIND, "d365-sales", "2026-10", 140) in usage_rows()
    assert MonthlyUsage.objects.count() == 5


def test_subscriptions_twice_change_nothing_not_even_updated_at() -> None:
    text = f"""{SUBS_HEADER}
{SUB_A},{NORTHWIND},d365-sales,direct,active,25,2025-01-01,
{SUB_B},{TAILSPIN},d365-business-central,CSP,Suspended,10,2025-03-01,2027-02-28
"""
    first = subscriptions(text)
    assert (first.created, first.rejected) == (2, 0)
    before = subscription_rows()
    assert before[0][3:9] == ("direct", "active", 25, dt.date(2025, 1, 1), None, None)
    assert before[1][3:9] == ("csp", "suspended", 10, dt.date(2025, 3, 1), dt.date(2027, 2, 28), NOW)

    second = subscriptions(text, now=NOW + dt.timedelta(days=1))
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert subscription_rows() == before


def test_batches_and_duplicates_across_batches() -> None:
    lines = [f"{NORTHWIND},d365-sales,20{25 + m // 12}-{m % 12 + 1:02},{m}" for m in range(9)]
    text = "\n".join([USAGE_HEADER, *lines, lines[1].rsplit(",", 1)[0] + ",999"])
    result = usage(text, batch_rows=2)
    assert (result.created, result.rejected) == (9, 1)
    assert rejections(result) == [(11, "tenant_id + product_code + month")]
    assert "line 3" in result.rejections[0].reason
    assert MonthlyUsage.objects.get(month=dt.date(2025, 2, 1)).active_users == 1


# ---------------------------------------------------------------------------------------------
# inactive_since: the lapse job's clock


def test_leaving_active_sets_inactive_since_and_returning_clears_it() -> None:
    def status(value: str, now: dt.datetime) -> Subscription:
        subscriptions(
            f"{SUBS_HEADER}\n{SUB_A},{NORTHWIND},d365-sales,direct,{value},25,2025-01-01,\n", now=now
        )
        return Subscription.objects.get(subscription_id=SUB_A)

    day = dt.timedelta(days=1)
    assert status("active", NOW).inactive_since is None
    assert status("grace", NOW + day).inactive_since is None
    assert status("suspended", NOW + 2 * day).inactive_since == NOW + 2 * day
    # Still out (suspended, then deleted): the clock keeps running from the first day out.
    assert status("suspended", NOW + 3 * day).inactive_since == NOW + 2 * day
    assert status("deleted", NOW + 4 * day).inactive_since == NOW + 2 * day
    assert status("active", NOW + 5 * day).inactive_since is None
    assert status("deleted", NOW + 6 * day).inactive_since == NOW + 6 * day


def test_a_subscription_first_seen_inactive_starts_its_clock_at_the_import() -> None:
    subscriptions(f"{SUBS_HEADER}\n{SUB_A},{NORTHWIND},d365-sales,direct,deleted,0,2024-01-01,2026-06-30\n")
    assert Subscription.objects.get().inactive_since == NOW


def test_the_command_uses_the_clock() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command(
            "import_subscriptions",
            _file(SUBS_HEADER + f"\n{SUB_A},{NORTHWIND},d365-sales,ea,suspended,1,2025-01-01,\n"),
            stdout=io.StringIO(),
        )
    assert Subscription.objects.get().inactive_since == NOW


# ---------------------------------------------------------------------------------------------
# Bad rows: line, column, reason; good rows still saved


def test_every_kind_of_bad_usage_row_is_reported_and_skipped() -> None:
    text = f"""{USAGE_HEADER}
{NORTHWIND},d365-sales,2026-10,10
not-a-guid,d365-sales,2026-10,10
{uuid.UUID(int=7)},d365-sales,2026-10,10
{TAILSPIN},no-such-product,2026-10,10
{TAILSPIN},d365-sales,2026-10,-3
{TAILSPIN},d365-sales,2026-09,ten
{TAILSPIN},d365-sales,2026-12,10
{TAILSPIN},d365-sales,2026-13,10
{TAILSPIN},d365-sales,10/2026,10
{TAILSPIN},d365-sales,2026-08,99999999999
{TAILSPIN},d365-sales,2026-07
{NORTHWIND},d365-sales,2026-10,11

{TAILSPIN},power-apps,2026-11,5
"""
    result = usage(text)
    assert rejections(result) == [
        (3, "tenant_id"),
        (4, "tenant_id"),
        (5, "product_code"),
        (6, "active_users"),
        (7, "active_users"),
        (8, "month"),
        (9, "month"),
        (10, "month"),
        (11, "active_users"),
        (12, "—"),
        (13, "tenant_id + product_code + month"),
    ]
    reasons = [r.reason for r in result.rejections]
    assert reasons[0] == "“not-a-guid” is not a GUID."
    assert reasons[1] == f"No tenant “{uuid.UUID(int=7)}” in the registry."
    assert reasons[2] == "No product with the code “no-such-product”."
    assert reasons[3] == "“-3” is negative."
    assert reasons[4] == "“ten” is not a whole number."
    assert reasons[5] == "“2026-12” is in the future."
    assert reasons[6] == "“2026-13” is not a month written YYYY-MM."
    assert reasons[8] == "“99999999999” is too large."
    assert reasons[9] == "Expected 4 values separated by “,”, found 3."
    assert reasons[10] == "The same key as line 2."
    assert (result.rows_read, result.created, result.rejected) == (13, 2, 11)
    assert usage_rows() == {(NORTHWIND, "d365-sales", "2026-10", 10), (TAILSPIN, "power-apps", "2026-11", 5)}


def test_every_kind_of_bad_subscription_row_is_reported_and_skipped() -> None:
    text = f"""{SUBS_HEADER}
{SUB_A},{NORTHWIND},d365-sales,direct,active,25,2025-01-01,
{{{SUB_B}}},{TAILSPIN},d365-sales,reseller,active,1,2025-01-01,
{uuid.UUID(int=3)},{TAILSPIN},d365-sales,direct,paused,1,2025-01-01,
{uuid.UUID(int=4)},{TAILSPIN},d365-sales,direct,active,-1,2025-01-01,
{uuid.UUID(int=5)},{TAILSPIN},d365-sales,direct,active,1,2025-02-30,
{uuid.UUID(int=6)},{TAILSPIN},d365-sales,direct,active,1,2025-02-01,2025-01-31
{uuid.UUID(int=7)},{TAILSPIN},d365-sales,direct,active,1,2025-02-01,soon
12345,{TAILSPIN},d365-sales,direct,active,1,2025-02-01,
{SUB_A},{TAILSPIN},d365-sales,direct,active,1,2025-02-01,
"""
    result = subscriptions(text)
    assert rejections(result) == [
        (3, "channel"),
        (4, "status"),
        (5, "seats"),
        (6, "start_date"),
        (7, "end_date"),
        (8, "end_date"),
        (9, "subscription_id"),
        (10, "subscription_id"),
    ]
    assert result.rejections[0].reason == "“reseller” is not one of direct, ea, csp."
    assert result.rejections[4].reason == "The end date is before the start date."
    assert result.rejections[7].reason == "The same key as line 2."
    assert [row[:2] for row in subscription_rows()] == [(SUB_A, NORTHWIND)]


# ---------------------------------------------------------------------------------------------
# Encodings, line endings, separators


def test_windows_1254_bom_and_mixed_line_endings() -> None:
    body = (
        f"{USAGE_HEADER}\r\n{NORTHWIND},d365-sales,2026-10,10\n{NORTHWIND},power-apps,2026-10,20\r"
        f"{TAILSPIN},d365-sales,2026-10,30\r\n{TAILSPIN},ürün-ş,2026-10,1\r\n"
    )
    utf8 = feeds.import_usage(io.BytesIO(b"\xef\xbb\xbf" + body.encode("utf-8")), now=NOW)
    assert (utf8.created, utf8.windows_1254_lines) == (3, 0)
    assert utf8.rejections[0] == feeds.Rejection(5, "product_code", "No product with the code “ürün-ş”.")

    MonthlyUsage.objects.all().delete()
    turkish = feeds.import_usage(io.BytesIO(body.encode("cp1254")), now=NOW, batch_rows=1)
    assert (turkish.created, turkish.windows_1254_lines) == (3, 1)
    assert turkish.rejections[0] == feeds.Rejection(5, "product_code", "No product with the code “ürün-ş”.")


def test_a_crlf_split_between_two_reads_is_one_line_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "CHUNK_BYTES", 7)
    text = f"{USAGE_HEADER}\r\n{NORTHWIND},d365-sales,2026-10,10\r\n\r\n{NORTHWIND},power-apps,2026-10,20\r"
    result = feeds.import_usage(io.BytesIO(text.encode()), now=NOW)
    assert (result.rows_read, result.created, result.rejected) == (2, 2, 0)


def test_turkish_excel_semicolons_quotes_and_spaces() -> None:
    text = f'Tenant_ID ; Product_Code;"month";active_users\n"{NORTHWIND}" ; d365-sales ; 2026-10 ; 12\n'
    result = usage(text)
    assert (result.created, result.rejected) == (1, 0)


def test_an_overlong_line_is_one_rejection_and_the_rest_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "CHUNK_BYTES", 64)
    text = f"{USAGE_HEADER}\n{'x' * 10_000}\n{NORTHWIND},d365-sales,2026-10,10\n"
    result = usage(text)
    assert rejections(result) == [(2, "—")]
    assert result.created == 1


# ---------------------------------------------------------------------------------------------
# The header: a wrong one refuses the file, nothing saved


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "The file is empty"),
        ("\n\n", "The file is empty"),
        ("tenant_id,product_code,month\n", "missing active_users"),
        (f"{USAGE_HEADER},notes\n", "unexpected “notes”"),
        (f"{NORTHWIND},d365-sales,2026-10,10\n", "missing tenant_id, product_code, month, active_users"),
        ("tenant_id,tenant_id,product_code,month,active_users\n", "repeated tenant_id"),
        (SUBS_HEADER + "\n", "missing month, active_users"),
    ],
)
def test_a_wrong_header_refuses_the_whole_file(text: str, words: str) -> None:
    with pytest.raises(feeds.FeedError, match=words):
        usage(text + (f"{NORTHWIND},d365-sales,2026-10,10\n" if text.strip() else ""))
    assert not MonthlyUsage.objects.exists()


def test_a_utf16_file_is_refused_with_a_clear_message() -> None:
    data = (USAGE_HEADER + f"\n{NORTHWIND},d365-sales,2026-10,10\n").encode("utf-16")
    with pytest.raises(feeds.FeedError, match="not the header of the usage feed"):
        feeds.import_usage(io.BytesIO(data), now=NOW)
    assert not MonthlyUsage.objects.exists()


# ---------------------------------------------------------------------------------------------
# The commands: locations, exit status, the errors file


def _file(text: str | bytes, tmp: Path | None = None) -> str:
    import tempfile

    folder = tmp or Path(tempfile.mkdtemp())
    path = folder / "feed.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def test_the_command_reads_a_path_and_a_file_url_and_prints_the_summary(tmp_path: Path) -> None:
    path = _file(GOOD_USAGE + "oops,d365-sales,2026-10,1\n", tmp_path)
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("import_usage", path, stdout=out)
        assert "5 rows read: 4 saved (4 new, 0 changed, 0 unchanged), 1 rejected." in out.getvalue()
        assert "line 6, tenant_id: “oops” is not a GUID." in out.getvalue()
        out = io.StringIO()
        call_command("import_usage", Path(path).as_uri(), stdout=out)
    assert "4 saved (0 new, 0 changed, 4 unchanged), 1 rejected." in out.getvalue()


def test_the_command_reads_a_storage_url(tmp_path: Path, settings: object) -> None:
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "feeds": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    (tmp_path / "2026-11").mkdir()
    (tmp_path / "2026-11" / "usage.csv").write_text(GOOD_USAGE)
    with time_machine.travel(NOW, tick=False):
        call_command("import_usage", "storage://feeds/2026-11/usage.csv", stdout=io.StringIO())
    assert MonthlyUsage.objects.count() == 4
    with pytest.raises(CommandError, match="No file '2026-11/missing.csv' in storage 'feeds'"):
        call_command("import_usage", "storage://feeds/2026-11/missing.csv", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No storage named 'nowhere'"):
        call_command("import_usage", "storage://nowhere/usage.csv", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("/no/such/feed.csv", "No such file"),
        ("file://elsewhere.example/feed.csv", "must name a file on this machine"),
        ("https://example.com/feed.csv", "Cannot read https:// locations"),
    ],
)
def test_a_file_that_cannot_be_read_fails_the_command(location: str, words: str) -> None:
    with pytest.raises(CommandError, match=words):
        call_command("import_usage", location, stdout=io.StringIO())


def test_a_wrong_header_fails_the_command_and_saves_nothing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not the header of the subscription feed"):
        call_command("import_subscriptions", _file(GOOD_USAGE, tmp_path), stdout=io.StringIO())
    assert not Subscription.objects.exists() and not MonthlyUsage.objects.exists()


def test_errors_file_lists_every_rejection_and_the_printout_only_the_first(tmp_path: Path) -> None:
    bad = "".join(f"{NORTHWIND},d365-sales,2026-10,-{n}\n" for n in range(30))
    errors = tmp_path / "errors.csv"
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(
            "import_usage",
            _file(USAGE_HEADER + "\n" + bad, tmp_path),
            "--show",
            "3",
            "--errors",
            str(errors),
            stdout=out,
        )
    printed = out.getvalue()
    assert printed.count("is negative") == 3
    assert f"… and 27 more (all in {errors})." in printed
    listed = errors.read_text().splitlines()
    assert listed[0] == "line,column,reason" and len(listed) == 31
    assert listed[30] == "31,active_users,“-29” is negative."


def test_tenant_and_product_maps_are_loaded_once(django_assert_max_num_queries: object) -> None:
    text = (
        USAGE_HEADER
        + "\n"
        + "".join(
            f"{TAILSPIN},{code},2026-{m:02},{m}\n"
            for m in range(1, 11)
            for code in Product.objects.values_list("code", flat=True)[:5]
        )
    )
    with django_assert_max_num_queries(20):  # type: ignore[operator]
        result = usage(text)
    assert result.created == 50


@pytest.mark.postgres
def test_postgres_path_uses_copy() -> None:
    assert connection.vendor == "postgresql"
    result = usage(GOOD_USAGE)
    assert result.created == 4 and usage(GOOD_USAGE).unchanged == 4


@pytest.mark.django_db(transaction=True)
def test_a_tenant_deleted_mid_import_stops_it_with_a_message_and_keeps_earlier_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Python path's batches; PostgreSQL's SQL path is one transaction (see test_feed_sql.py).
    monkeypatch.setattr(feeds, "_server_reads_utf8", lambda: False)
    doomed = Tenant.objects.create(tenant_id=uuid.UUID(int=99), name="Doomed Ltd")
    text = (
        f"{USAGE_HEADER}\n{NORTHWIND},d365-sales,2026-10,1\nbad,d365-sales,2026-10,1\n"
        f"{doomed.tenant_id},d365-sales,2026-10,1\n{NORTHWIND},power-apps,2026-10,1\n"
    )

    def delete_the_tenant(rejection: feeds.Rejection) -> None:
        Tenant.objects.filter(pk=doomed.pk).delete()  # after its id was loaded into the map

    with pytest.raises(feeds.FeedError, match="The database refused a batch .*run the import again"):
        usage(text, batch_rows=1, on_rejection=delete_the_tenant)
    assert usage_rows() == {(NORTHWIND, "d365-sales", "2026-10", 1)}
    assert usage(GOOD_USAGE).saved == 4  # the connection is usable again


def test_a_spreadsheets_empty_trailing_columns_are_ignored() -> None:
    text = f"{USAGE_HEADER},,\n{NORTHWIND},d365-sales,2026-10,10,,\n{NORTHWIND},power-apps,2026-10,10,x,\n"
    result = usage(text)
    assert result.created == 1
    assert rejections(result) == [(3, "—")]


def test_a_product_named_by_usage_cannot_be_deleted() -> None:
    # MonthlyUsage.product has no index of its own (migration 0017): PROTECT still finds the rows.
    usage(f"{USAGE_HEADER}\n{NORTHWIND},d365-sales,2026-10,1\n")
    product = Product.objects.get(code="d365-sales")
    with pytest.raises(ProtectedError):
        product.delete()
    assert Product.objects.filter(pk=product.pk).exists()
    assert MonthlyUsage.objects.filter(product=product).count() == 1
