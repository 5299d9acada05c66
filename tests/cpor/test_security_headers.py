"""Every response carries the Content-Security-Policy and refuses framing; the one framed response,
the reviewer's PoE preview, allows its own site only. No template needs an inline exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import Claim
from reviews.sla import _stacked, overview
from tests.factories import claim_in, reviewer
from tests.reviews.admin_pages import client_for, document_url, page

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path for folder in [ROOT / "templates", *ROOT.glob("*/templates")] for path in folder.rglob("*.html")
)
# What a strict policy blocks: a <style> element, a style="" attribute, an inline <script> (one
# without src), an on…="" event handler, a javascript: URL.
INLINE = {
    "<style>": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: rest for name, rest in directives}


def test_templates_hold_no_inline_script_style_or_handler() -> None:
    assert len(TEMPLATES) > 20
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in TEMPLATES
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/consent/not-a-token/"])
def test_pages_carry_the_policy_and_refuse_framing(url: str) -> None:
    response = Client().get(url)
    directives = policy(response)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_pdf_preview_may_be_framed_by_the_claim_page_only() -> None:
    claim = claim_in(Claim.Status.SUBMITTED)
    client = client_for(reviewer())
    claim_page = client.get(page(claim))
    preview = client.get(document_url(claim.documents.get()) + "?inline=1")

    assert preview.status_code == 200 and preview["Content-Disposition"].startswith("inline")
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert policy(preview)["frame-ancestors"] == "'self'"
    assert policy(preview)["script-src"] == "'self'"
    assert claim_page["X-Frame-Options"] == "DENY"
    assert policy(claim_page)["frame-ancestors"] == "'none'"
    assert policy(claim_page)["frame-src"] == "'self'"


def test_the_sla_chart_draws_stacked_segments_without_inline_style() -> None:
    claim_in(Claim.Status.SUBMITTED)
    html = client_for(reviewer(lead=True)).get(reverse("admin:claims_claim_sla")).content.decode()
    assert '<rect class="segment age-0" x="0.0" y="0" width="100.0" height="10">' in html
    assert "style=" not in html.split('id="content-main"', 1)[1]
    rows = _stacked([*overview().by_age[0].bars])
    assert [bar.offset for bar in rows] == [0, 100, 100, 100, 100]


def test_segments_start_where_the_one_before_ends() -> None:
    from reviews.sla import Bar

    bars = _stacked([Bar("a", 1, 12.5, "age-0"), Bar("b", 0, 0, "age-1"), Bar("c", 3, 37.5, "age-2")])
    assert [(bar.offset, bar.percent) for bar in bars] == [(0, 12.5), (12.5, 0), (12.5, 37.5)]
