"""The admin's feed pages: read-only lists of subscriptions and usage, and the upload page that runs
the same import as the commands. Tried as a superuser, as staff given the feed's add and change
permissions, as a reviewer without them, and anonymously."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from claims.models import MonthlyUsage, Product, Subscription, Tenant
from tests.factories import UserFactory, reviewer

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
NORTHWIND = uuid.UUID("6f1c2b1e-1d1a-4c53-9f3e-0a4b1c2d3e4f")
SUB = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
USAGE = (
    "tenant_id,product_code,month,active_users\n"
    f"{NORTHWIND},d365-sales,2026-10,12\n{NORTHWIND},d365-sales,2026-10,13\n"
)
SUBS = (
    "subscription_id,tenant_id,product_code,channel,status,seats,start_date,end_date\n"
    f"{SUB},{NORTHWIND},d365-sales,csp,active,20,2025-01-01,\n"
)
USAGE_UPLOAD = "/admin/claims/monthlyusage/upload/"
SUBS_UPLOAD = "/admin/claims/subscription/upload/"


@pytest.fixture(autouse=True)
def _world() -> None:
    Tenant.objects.create(tenant_id=NORTHWIND, name="Northwind Traders")


@pytest.fixture(autouse=True)
def _clock() -> object:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def client_for(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def superuser() -> object:
    return UserFactory(is_staff=True, is_superuser=True)


def feed_operator() -> object:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="claims",
            codename__in=["add_monthlyusage", "change_monthlyusage", "view_monthlyusage"],
        )
    )
    return user


def upload(client: Client, url: str, text: str | bytes, name: str = "feed.csv") -> object:
    data = text.encode() if isinstance(text, str) else text
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def fingerprint() -> tuple[object, ...]:
    return (
        list(MonthlyUsage.objects.values_list("tenant_id", "product_id", "month", "active_users")),
        list(Subscription.objects.values_list("subscription_id", "status", "seats", "updated_at")),
    )


def test_a_superuser_uploads_usage_and_sees_counts_and_rejections() -> None:
    client = client_for(superuser())
    page = client.get("/admin/claims/monthlyusage/")
    assert page.status_code == 200
    assert USAGE_UPLOAD in page.content.decode()

    response = upload(client, USAGE_UPLOAD, USAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Import finished" in body
    assert "The same key as line 2." in body
    assert list(MonthlyUsage.objects.values_list("active_users", flat=True)) == [12]
    assert response.context["result"].created == 1 and response.context["result"].rejected == 1

    again = upload(client, USAGE_UPLOAD, USAGE)
    assert (again.context["result"].created, again.context["result"].unchanged) == (0, 1)


def test_subscriptions_upload_and_read_only_list_with_filters_and_search() -> None:
    client = client_for(superuser())
    assert upload(client, SUBS_UPLOAD, SUBS).context["result"].created == 1
    listing = client.get("/admin/claims/subscription/", {"channel__exact": "csp", "q": str(SUB)})
    assert listing.status_code == 200
    assert str(SUB) in listing.content.decode()
    assert client.get("/admin/claims/subscription/", {"q": "Northwind"}).context["cl"].result_count == 1
    assert (
        client.get("/admin/claims/subscription/", {"status__exact": "deleted"}).context["cl"].result_count
        == 0
    )
    product = Product.objects.get(code="d365-sales")
    assert client.get("/admin/claims/subscription/", {"product__id__exact": product.pk}).status_code == 200
    row = Subscription.objects.get()
    change = client.get(f"/admin/claims/subscription/{row.pk}/change/")
    assert change.status_code == 200 and 'type="submit"' not in change.content.decode().split("<form")[-1]
    assert client.post(f"/admin/claims/subscription/{row.pk}/delete/").status_code == 403
    assert client.get("/admin/claims/subscription/add/").status_code == 403


def test_staff_with_the_feed_permissions_may_upload_that_feed_only() -> None:
    client = client_for(feed_operator())
    assert upload(client, USAGE_UPLOAD, USAGE).status_code == 200
    assert MonthlyUsage.objects.count() == 1
    before = fingerprint()
    assert upload(client, SUBS_UPLOAD, SUBS).status_code == 403
    assert fingerprint() == before


@pytest.mark.parametrize("who", ["reviewer", "lead", "anonymous"])
def test_others_cannot_upload_and_nothing_changes(who: str) -> None:
    user = {"reviewer": reviewer, "lead": lambda: reviewer(lead=True), "anonymous": lambda: None}[who]()
    client = client_for(user)
    before = fingerprint()
    for url, text in ((USAGE_UPLOAD, USAGE), (SUBS_UPLOAD, SUBS)):
        response = upload(client, url, text)
        assert response.status_code == (302 if user is None else 403)
        if user is None:
            assert "/login/" in response["Location"]
    assert fingerprint() == before
    if user is not None:
        assert USAGE_UPLOAD not in client.get("/admin/claims/monthlyusage/").content.decode()


def test_a_wrong_header_is_shown_next_to_the_field_and_saves_nothing() -> None:
    client = client_for(superuser())
    response = upload(client, USAGE_UPLOAD, SUBS)
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not the header of the usage feed" in body and 'class="errornote"' in body
    assert response.context["result"] is None
    assert not MonthlyUsage.objects.exists() and not Subscription.objects.exists()


def test_no_file_is_a_form_error_not_a_500() -> None:
    client = client_for(superuser())
    response = client.post(USAGE_UPLOAD, {})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert client.post(USAGE_UPLOAD, {"file": SimpleUploadedFile("empty.csv", b"")}).status_code == 200


def test_the_upload_page_in_turkish() -> None:
    client = client_for(superuser())
    client.cookies["django_language"] = "tr"
    response = upload(client, USAGE_UPLOAD, USAGE.encode("cp1254"))
    assert response.status_code == 200
    assert response.context["result"].created == 1
    body = response.content.decode()
    assert "İçe aktarma tamamlandı" in body
    assert "Anahtarı 2. satırla aynı." in body
    assert "Listeye dön" in body
