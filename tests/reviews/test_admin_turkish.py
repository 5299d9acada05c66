"""A Turkish reviewer sees the admin in Turkish: every page a reviewer uses, nothing left in English.

Each page is rendered twice, in English and in Turkish. Any message of the project's catalogue
(`locale/tr/LC_MESSAGES/django.po`) whose Turkish differs, and that shows on the English page,
must not show verbatim on the Turkish one. The claims are written with names that are no message
of the catalogue (no "Partner 1", no "Paula Partner"), so what is found is the page's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim, ClaimEvent, Comment, Partner, Product
from consent.models import ConsentRequest
from reviews.models import SlaDigest
from tests.factories import PartnerFactory, claim_in, reviewer
from tests.test_translations import entries as catalogue_entries

from .admin_pages import button, client_for, page, queue, sla_url

pytestmark = pytest.mark.django_db
S = Claim.Status
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


class VisibleText(HTMLParser):
    """The text a person reads: text nodes and the labels of buttons, links and images.

    Left out: scripts, styles and `<code>` (codes are codes, e.g. a JSON key in a history diff).
    """

    SKIP = frozenset({"script", "style", "code", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        values = dict(attrs)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if values.get(name):
                self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@cache
def catalogue() -> list[str]:
    """The pieces of text of each translated message: its msgid cut at placeholders and markup."""
    pieces: set[str] = set()
    for entry in catalogue_entries():
        msgid, msgstr = entry.parts["msgid"], entry.parts.get("msgstr", "")
        if not msgstr or msgstr == msgid:
            continue
        for piece in PLACEHOLDER.split(visible_text(msgid)):
            piece = piece.strip(" .,:;·—-()“”\"'")
            # "for", "to" and the like are left out: they would be found inside any leftover phrase.
            if len(piece) >= 4 and re.search(r"[A-Za-z]{2}", piece):
                pieces.add(piece)
    return sorted(pieces, key=len, reverse=True)


def shown(piece: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(piece)}(?![\w])", text) is not None


def render(client: Client, language: str, url: str, data: dict | None = None) -> str:
    client.cookies["django_language"] = language
    response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert f'<html lang="{language}"' in html, url
    return html


def stored_text() -> list[str]:
    """What people and the catalogue of products wrote, shown as written in every language."""
    texts = [*Product.objects.values_list("name", flat=True), *Product.objects.values_list("code", flat=True)]
    texts += Partner.objects.values_list("name", flat=True)
    texts += Comment.objects.values_list("body", flat=True)
    texts += ClaimEvent.objects.exclude(note="").values_list("note", flat=True)
    for row in Claim.objects.values_list(
        "name", "customer_name", "dispute_justification", "work_description"
    ):
        texts += row
    return sorted({t for t in texts if t}, key=len, reverse=True)


def without_stored_text(text: str) -> str:
    text = EMAIL.sub(" ", text)
    for stored in stored_text():
        text = text.replace(" ".join(stored.split()), " ")
    return text


def untranslated(client: Client, url: str, data: dict | None = None) -> list[str]:
    english = without_stored_text(visible_text(render(client, "en", url, data)))
    turkish = without_stored_text(visible_text(render(client, "tr", url, data)))
    return [p for p in catalogue() if shown(p, english) and shown(p, turkish)]


@pytest.fixture
def leo() -> object:
    return reviewer(lead=True, first_name="Levent", last_name="Öz")


@pytest.fixture
def claims(leo: object) -> dict[str, Claim]:
    contoso = PartnerFactory(name="Contoso")
    fields = {
        "partner": contoso,
        "name": "Kuzey yaygınlaştırma",
        "customer_name": "Northwind Traders",
        "partner_contact_name": "Pınar Kaya",
        "technical_contact_name": "Tolga Tekin",
        "work_description": "Dynamics 365 Sales kuruldu, ekip eğitildi.",
    }
    by_status = {
        status: claim_in(status, review_by=leo, **fields)
        for status in (S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.REJECTED)
    }
    # Disputed claims are decided by a lead who did not reject them.
    by_status[S.DISPUTED] = claim_in(S.DISPUTED, review_by=reviewer(), **fields)
    SlaDigest.objects.create(day="2026-11-30", breached_count=2, recipients=1)
    return by_status


PAGES: dict[str, Callable[[dict[str, Claim]], str]] = {
    "admin index": lambda c: reverse("admin:index"),
    "review queue": lambda c: queue(),
    "queue, filtered": lambda c: queue() + "?status=under_review&sla=on_time&assigned=none",
    "queue, searched": lambda c: queue() + "?q=northwind",
    "claim page, submitted": lambda c: page(c[S.SUBMITTED]),
    "claim page, under review": lambda c: page(c[S.UNDER_REVIEW]),
    "claim page, partner action required": lambda c: page(c[S.PARTNER_ACTION_REQUIRED]),
    "claim page, approved": lambda c: page(c[S.APPROVED]),
    "claim page, rejected": lambda c: page(c[S.REJECTED]),
    "claim page, disputed": lambda c: page(c[S.DISPUTED]),
    "approve form": lambda c: button(c[S.UNDER_REVIEW], "approve"),
    "request information form": lambda c: button(c[S.UNDER_REVIEW], "request_information"),
    "reject form": lambda c: button(c[S.UNDER_REVIEW], "reject"),
    "reopen form": lambda c: button(c[S.DISPUTED], "reopen"),
    "uphold rejection form": lambda c: button(c[S.DISPUTED], "uphold_rejection"),
    "SLA overview": lambda c: sla_url(),
    "SLA digests": lambda c: reverse("admin:reviews_sladigest_changelist"),
    "event list": lambda c: reverse("admin:claims_claimevent_changelist"),
    "event list, filtered": lambda c: (
        reverse("admin:claims_claimevent_changelist") + "?action__exact=approve"
    ),
    "event page": lambda c: reverse(
        "admin:claims_claimevent_change", args=[ClaimEvent.objects.filter(claim=c[S.APPROVED]).last().pk]
    ),
    "partners": lambda c: reverse("admin:claims_partner_changelist"),
    "partner page": lambda c: reverse("admin:claims_partner_change", args=[c[S.SUBMITTED].partner_id]),
    "products": lambda c: reverse("admin:claims_product_changelist"),
    "tenants": lambda c: reverse("admin:claims_tenant_changelist"),
    "outbound emails": lambda c: reverse("admin:cpor_outboundemail_changelist"),
    "consent requests": lambda c: reverse("admin:consent_consentrequest_changelist"),
    "consent request page": lambda c: reverse(
        "admin:consent_consentrequest_change",
        args=[ConsentRequest.objects.filter(claim=c[S.APPROVED]).first().pk],
    ),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_admin_page_a_reviewer_uses_is_in_turkish(
    name: str, claims: dict[str, Claim], leo: object
) -> None:
    assert untranslated(client_for(leo), PAGES[name](claims)) == []


def test_the_assign_action_form_is_in_turkish(claims: dict[str, Claim], leo: object) -> None:
    data = {"action": "assign_to_action", "_selected_action": [claims[S.SUBMITTED].pk]}
    assert untranslated(client_for(leo), queue(), data) == []


def test_the_queue_names_its_columns_filters_and_actions_in_turkish(
    claims: dict[str, Claim], leo: object
) -> None:
    text = visible_text(render(client_for(leo), "tr", queue()))

    for header in (
        "Talep",
        "İş ortağı",
        "Müşteri",
        "Ürünler",
        "Durum",
        "Atanan inceleyici",
        "SLA son tarihi",
        "SLA durumu",
    ):
        assert shown(header, text) or shown(header.upper(), text) or shown(header.lower(), text), header
    assert "durum süzgecine göre" in text.lower() and "çözüm alanı süzgecine göre" in text.lower()
    assert "Seçili taleplerin incelemesini başlat" in text  # an action
    assert not re.search(r"\b[Cc]laims?\b", text)


def test_the_sidebar_names_apps_and_models_in_turkish(claims: dict[str, Claim], leo: object) -> None:
    text = visible_text(render(client_for(leo), "tr", page(claims[S.SUBMITTED])))

    for words in (
        "Talepler",
        "Talep olayları",
        "İş ortakları",
        "Ürünler",
        "Kiracılar",
        "Giden e-postalar",
        "Müşteri onayı",
        "Onay istekleri",
        "İncelemeler",
        "SLA özetleri",
    ):
        assert shown(words, text), words
    assert not re.search(r"\b(Claims?|Reviews|Partners|Products|Tenants|Outbound)\b", text)


def test_turkish_uppercase_never_meets_an_english_word(claims: dict[str, Claim], leo: object) -> None:
    """Admin CSS uppercases headings; in lang="tr" an English "i" would become "İ" ("CLAİMS")."""
    client = client_for(leo)
    for url in (reverse("admin:index"), queue(), page(claims[S.UNDER_REVIEW])):
        html = render(client, "tr", url)
        for heading in re.findall(r"<caption>(.*?)</caption>|<h2[^>]*>(.*?)</h2>", html, re.S):
            words = visible_text("".join(heading))
            assert not re.search(r"\b(Claims?|Reviews?|Customer|Consent|Outbound)\b", words), words
        # capfirst knows no Turkish: "iş ortağı" would read "Iş ortağı" (dotless capital I).
        assert not re.search(r"\bI[şçğöüns]", without_stored_text(visible_text(html))), url
